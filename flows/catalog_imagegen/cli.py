"""The ``catalog-imagegen`` command: a thin shell over the flows.

Exit codes: 0 everything done, 1 some images failed or were not dispatched, 2 the input cannot be
used (catalog, template or settings error: one line, no traceback), 3 the run was stopped (bad key,
out of credit, store access denied), 4 an identical backfill is already running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from catalog_imagegen.scale_out_commands import (
    add_deploy_command,
    add_shard_flags,
    sharded_run_command,
)
from catalog_imagegen.service_commands import add_service_commands

EXIT_OK, EXIT_FAILURES, EXIT_BAD_INPUT, EXIT_STOPPED = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("interrupted: stored images are kept; run again to finish", file=sys.stderr)
        return 130
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalog-imagegen",
        description="Catalog in, product images and a storefront manifest out.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="make every image a catalog needs, and publish them")
    add_selection_flags(run)
    add_run_flags(run)
    add_shard_flags(run)
    run.set_defaults(handler=run_command)

    from catalog_imagegen.backfill_cli import add_backfill_command, add_status_command

    add_backfill_command(commands, add_run_flags)
    add_status_command(commands, add_store_flags)

    prompts = commands.add_parser("prompts", help="print the rendered prompts and their settings")
    add_selection_flags(prompts)
    prompts.add_argument("--sku", action="append", default=[], help="only this SKU (repeatable)")
    prompts.add_argument("--json", action="store_true", help="one JSON object per line")
    prompts.set_defaults(handler=prompts_command)
    add_service_commands(commands)
    add_deploy_command(commands)
    return parser


def add_selection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "catalog",
        help="the catalog file: CSV/TSV, Excel .xlsx, Shopify export, Merchant Center feed",
    )
    parser.add_argument(
        "--format",
        choices=("auto", "generic", "shopify", "merchant-center", "excel"),
        default="auto",
        help="the catalog's format (default: detected from its header and file type)",
    )
    parser.add_argument("--sheet", help="the Excel sheet to read (default: the first)")
    parser.add_argument(
        "--season",
        action="append",
        default=[],
        dest="seasons",
        help="only this season (repeatable); default: the catalog's seasons",
    )
    parser.add_argument(
        "--template",
        action="append",
        default=[],
        dest="templates",
        help="only this template (repeatable); default: all templates",
    )
    parser.add_argument("--model", help="image model (default gpt-image-2)")


def add_store_flags(parser: argparse.ArgumentParser) -> None:
    """Where images and manifests are stored: a folder, or an S3 bucket and prefix."""
    parser.add_argument("--output", help="output folder or s3://bucket/prefix (default ./output)")
    parser.add_argument("--bucket", help="S3 bucket (endpoint and credentials: boto3's own)")
    parser.add_argument("--prefix", help="key prefix inside the bucket")
    parser.add_argument("--public-base-url", help="CDN or public URL in front of the bucket")


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    add_store_flags(parser)
    parser.add_argument("--concurrency", type=int, help="image requests in flight (default 8)")
    parser.add_argument("--rpm", type=int, help="images per minute the provider allows")
    parser.add_argument(
        "--provider", choices=["openai", "wisgate"], help="endpoint preset (key: OPENAI_API_KEY)"
    )
    parser.add_argument("--base-url", help="any OpenAI-compatible endpoint (wins over --provider)")
    parser.add_argument("--max-images", type=int, help="stop dispatching after this many images")
    parser.add_argument(
        "--max-cost", type=float, help="stop dispatching at this estimated cost (USD)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would happen; call no provider"
    )
    parser.add_argument("--strict", action="store_true", help="stop at the first bad catalog row")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--require-approval",
        action="store_true",
        default=None,
        help="publish only after `catalog-imagegen approve RUN` (CATALOG_IMAGEGEN_APPROVAL)",
    )


def run_command(args: argparse.Namespace) -> int:
    if args.dry_run:
        from catalog_imagegen.backfill_cli import dry_run_command

        return dry_run_command(
            {k: getattr(args, k) for k in ("catalog", "output", "seasons", "templates")}
            | {k: getattr(args, k) for k in ("max_images", "max_cost", "model")}
            | {k: getattr(args, k) for k in ("bucket", "prefix", "public_base_url")}
        )
    if args.shards:
        return sharded_run_command(args)
    from catalog_imagegen.refresh import catalog_refresh

    state: Any = asyncio.run(
        catalog_refresh(  # type: ignore[arg-type]
            catalog=args.catalog,
            output=args.output,
            seasons=args.seasons,
            templates=args.templates,
            concurrency=args.concurrency,
            rpm=args.rpm,
            max_images=args.max_images,
            max_cost=args.max_cost,
            model=args.model,
            strict=args.strict,
            progress=not args.no_progress,
            catalog_format=args.format,
            sheet=args.sheet,
            provider=args.provider,
            bucket=args.bucket,
            prefix=args.prefix,
            public_base_url=args.public_base_url,
            base_url=args.base_url,
            approval=args.require_approval,
            return_state=True,
        )
    )
    return report_state(state)


def report_state(state: Any) -> int:
    """Print a finished run's summary (or its one-line error) and choose the exit code."""
    summary = state.result(raise_on_failure=False)
    if summary is None or isinstance(summary, BaseException):
        print(f"error: {state.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print_summary(summary)
    if summary.stop_reason:
        return EXIT_STOPPED
    return EXIT_OK if summary.ok else EXIT_FAILURES


def print_summary(summary: Any) -> None:
    out = sys.stdout
    print(
        f"\nRun {summary.run_id}: {summary.planned} images planned, {summary.generated} generated, "
        f"{summary.skipped} skipped (already done), {summary.failed} failed, "
        f"{summary.not_dispatched} not dispatched; {summary.rejected_rows} catalog rows rejected",
        file=out,
    )
    if summary.stop_reason:
        print(f"STOPPED: {summary.stop_reason}", file=out)
    for failure in summary.failures[:20]:
        print(f"  failed: {failure['job']}: {failure['reason']}", file=out)
    if len(summary.failures) > 20:
        print(f"  ... and {len(summary.failures) - 20} more (see the run manifest)", file=out)
    for reject in summary.rejects[:20]:
        print(f"  {reject}", file=out)
    actual = "" if summary.actual_cost is None else f", actual ${summary.actual_cost:.2f}"
    if summary.estimated_cost or summary.actual_cost:
        print(f"Cost:         estimated ${summary.estimated_cost:.2f}{actual}", file=out)
    print_flags(summary.flags, out)
    for label, value in (
        ("Output", summary.output),
        ("Manifest", summary.manifest),
        ("Run manifest", summary.run_manifest),
        ("Images CSV", summary.images_report),
        ("Rejects", summary.rejects_report),
        ("Shopify CSV", getattr(summary, "shopify_import", "")),
        ("Review page", summary.review_page),
    ):
        if value:
            print(f"{label + ':':<14}{value}", file=out)
    if summary.awaiting_approval:
        print(f"\nAWAITING APPROVAL: catalog-imagegen approve {summary.run_id}", file=out)
    if summary.preview:
        from catalog_imagegen.definitions import PREVIEW_NOTICE

        print(f"\nNOTE: {PREVIEW_NOTICE}", file=out)


def print_flags(flags: list[dict[str, Any]], out: Any) -> None:
    """Colour QA flags: counts by kind, then the first few with what was measured."""
    if not flags:
        return
    counts: dict[str, int] = {}
    for flag in flags:
        counts[flag["kind"]] = counts.get(flag["kind"], 0) + 1
    print("Flagged:      " + ", ".join(f"{n} {kind}" for kind, n in counts.items()), file=out)
    for flag in flags[:20]:
        details = ", ".join(
            f"{k} {v}" for k, v in flag.items() if k not in ("job", "kind", "image")
        )
        print(f"  {flag['kind']}: {flag['job']}" + (f" ({details})" if details else ""), file=out)
    if len(flags) > 20:
        print(f"  ... and {len(flags) - 20} more (see the run manifest)", file=out)


def prompts_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.catalog.model import CatalogError
    from catalog_imagegen.prompt_templates import TemplateError
    from catalog_imagegen.settings_file import load_settings
    from catalog_imagegen.steps import PlanRequest, plan_catalog

    settings = load_settings().with_overrides(model=args.model)
    request = PlanRequest(
        seasons=args.seasons, templates=args.templates, catalog_format=args.format, sheet=args.sheet
    )
    try:
        prepared = plan_catalog(args.catalog, settings, request)
    except (CatalogError, TemplateError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for job in prepared.jobs:
        if args.sku and job.sku not in args.sku:
            continue
        s = job.settings
        if args.json:
            print(
                json.dumps(
                    {
                        "sku": job.sku,
                        "colour": job.colour.name,
                        "season": job.season,
                        "template": job.template,
                        "template_version": job.template_version,
                        "mode": job.mode,
                        "model": job.model,
                        "size": s.size,
                        "quality": s.quality,
                        "output_format": s.output_format,
                        "n": s.n,
                        "source_image": job.source_image,
                        "key": job.key,
                        "prompt": job.prompt,
                    }
                )
            )
            continue
        print(
            f"# {job.label}  [{job.mode}, {job.model}, {s.size}, {s.quality}, "
            f"{s.output_format}, n={s.n}, template v{job.template_version}]"
        )
        if job.source_image:
            print(f"# source image: {job.source_image}")
        print(job.prompt + "\n")
    for reject in prepared.rejects:
        print(reject.describe(), file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
