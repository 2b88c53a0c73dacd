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

from catalog_imagegen.cli.batch import (
    add_batch_commands,
    add_via_flags,
    batch_run_command,
    chosen_via,
)
from catalog_imagegen.cli.scale_out import (
    add_deploy_command,
    add_shard_flags,
    sharded_run_command,
)
from catalog_imagegen.cli.service import add_service_commands
from catalog_imagegen.cli.summary import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    report_state,
)


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

    from catalog_imagegen.cli.backfill import add_backfill_command, add_status_command

    add_backfill_command(commands, add_run_flags)
    add_status_command(commands, add_store_flags)

    prompts = commands.add_parser("prompts", help="print the rendered prompts and their settings")
    add_selection_flags(prompts)
    prompts.add_argument("--sku", action="append", default=[], help="only this SKU (repeatable)")
    prompts.add_argument("--json", action="store_true", help="one JSON object per line")
    prompts.set_defaults(handler=prompts_command)
    add_service_commands(commands)
    add_deploy_command(commands)
    add_batch_commands(commands, add_store_flags)
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
    add_via_flags(parser)
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
        from catalog_imagegen.cli.backfill import dry_run_command

        return dry_run_command(
            {k: getattr(args, k) for k in ("catalog", "output", "seasons", "templates")}
            | {k: getattr(args, k) for k in ("max_images", "max_cost", "model")}
            | {k: getattr(args, k) for k in ("bucket", "prefix", "public_base_url")}
        )
    if args.shards:
        return sharded_run_command(args)
    via = chosen_via(args)
    if via != "sync" and (code := batch_run_command(args, via)) is not None:
        return code
    from catalog_imagegen.flows.refresh import catalog_refresh

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


def prompts_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.catalog.model import CatalogError
    from catalog_imagegen.pipeline import PlanRequest, plan_catalog
    from catalog_imagegen.planning.templates import TemplateError
    from catalog_imagegen.settings_file import load_settings

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
