"""The ``catalog-imagegen`` command: a thin shell over the flows.

Exit codes: 0 everything done, 1 some images failed or were not dispatched, 2 the input cannot be
used (catalog, template or settings error: one line, no traceback), 3 the run was stopped (bad key,
out of credit, store access denied).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

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
    run.set_defaults(handler=run_command)

    prompts = commands.add_parser("prompts", help="print the rendered prompts and their settings")
    add_selection_flags(prompts)
    prompts.add_argument("--sku", action="append", default=[], help="only this SKU (repeatable)")
    prompts.add_argument("--json", action="store_true", help="one JSON object per line")
    prompts.set_defaults(handler=prompts_command)
    add_service_commands(commands)
    return parser


def add_selection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("catalog", help="the catalog file (CSV)")
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


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", help="output folder (default ./output)")
    parser.add_argument("--concurrency", type=int, help="image requests in flight (default 8)")
    parser.add_argument("--rpm", type=int, help="images per minute the provider allows")
    parser.add_argument("--max-images", type=int, help="stop dispatching after this many images")
    parser.add_argument("--strict", action="store_true", help="stop at the first bad catalog row")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--require-approval",
        action="store_true",
        default=None,
        help="publish only after `catalog-imagegen approve RUN` (CATALOG_IMAGEGEN_APPROVAL)",
    )


def run_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.refresh import catalog_refresh

    state = asyncio.run(
        catalog_refresh(
            catalog=args.catalog,
            output=args.output,
            seasons=args.seasons,
            templates=args.templates,
            concurrency=args.concurrency,
            rpm=args.rpm,
            max_images=args.max_images,
            model=args.model,
            strict=args.strict,
            progress=not args.no_progress,
            approval=args.require_approval,
            return_state=True,
        )  # type: ignore[call-overload]
    )
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
    print(f"Output:       {summary.output}", file=out)
    print(f"Manifest:     {summary.manifest}", file=out)
    print(f"Run manifest: {summary.run_manifest}", file=out)
    print(f"Images CSV:   {summary.images_report}", file=out)
    print(f"Rejects:      {summary.rejects_report}", file=out)
    print(f"Review page:  {summary.review_page}", file=out)
    if summary.awaiting_approval:
        print(f"\nAWAITING APPROVAL: catalog-imagegen approve {summary.run_id}", file=out)
    if summary.preview:
        from catalog_imagegen.definitions import PREVIEW_NOTICE

        print(f"\nNOTE: {PREVIEW_NOTICE}", file=out)


def prompts_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.catalog.model import CatalogError
    from catalog_imagegen.prompt_templates import TemplateError, load_seasons, load_templates
    from catalog_imagegen.settings import settings_from_env
    from catalog_imagegen.steps import prepare_run

    settings = settings_from_env().with_overrides(model=args.model)
    try:
        prepared = prepare_run(
            args.catalog,
            load_templates(settings.templates_dir),
            load_seasons(settings.templates_dir),
            model=settings.model,
            season_names=args.seasons,
            template_names=args.templates,
        )
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
