"""The flags that make a ``RunRequest``, and the one place the command line builds it.

``run`` and ``backfill`` take the same flags and build the same request; ``--dry-run`` forecasts
that request, and ``prompts`` renders it. A flag value the request refuses is reported as one
line naming the flag, before anything else starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from catalog_imagegen.planning.selection import read_sku_arguments
from catalog_imagegen.request import FLAG_KINDS, RequestError, RunRequest, Shard

FORMATS = ("auto", "generic", "shopify", "merchant-center", "excel")
# What ``add_store_flags`` adds, as settings names: every command that reads a store takes these.
STORE_FLAGS = ("output", "bucket", "prefix", "public_base_url")


def add_catalog_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "catalog",
        help="the catalog file: CSV/TSV, Excel .xlsx, Shopify export, Merchant Center feed",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        help="the catalog's format (default: detected from its header and file type)",
    )
    parser.add_argument("--sheet", help="the Excel sheet to read (default: the first)")
    parser.add_argument(
        "--include-archived",
        action="store_true",
        help="also products a Shopify export marks archived (default: skipped; drafts are made)",
    )
    parser.add_argument("--model", help="image model (default gpt-image-2)")


def add_selection_flags(parser: argparse.ArgumentParser) -> None:
    for flag, dest, text in (
        ("--season", "seasons", "only this season"),
        ("--template", "templates", "only this template"),
        ("--sku", "skus", "a SKU or glob like 'JKT-*'; @FILE reads SKUs from a file, one a line"),
        ("--colour", "colours", "only this colour"),
    ):
        parser.add_argument(
            flag, dest=dest, action="append", default=[], help=f"{text} (repeatable)"
        )


def add_store_flags(parser: argparse.ArgumentParser) -> None:
    """Where images and manifests are stored: a folder, or an S3 bucket and prefix."""
    parser.add_argument("--output", help="output folder or s3://bucket/prefix (default ./output)")
    parser.add_argument("--bucket", help="S3 bucket (endpoint and credentials: boto3's own)")
    parser.add_argument("--prefix", help="key prefix inside the bucket")
    parser.add_argument("--public-base-url", help="CDN or public URL in front of the bucket")


def store_flags(args: argparse.Namespace) -> dict[str, str | None]:
    """What ``add_store_flags`` read, by settings name (``load_settings_with``, ``RunRequest``)."""
    return {name: getattr(args, name) for name in STORE_FLAGS}


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """Limits, provider and store: every flag of ``run`` and ``backfill`` but the selection."""
    add_store_flags(parser)
    parser.add_argument("--concurrency", type=int, help="image requests in flight (default 8)")
    parser.add_argument("--rpm", type=int, help="images per minute the provider allows")
    parser.add_argument(
        "--provider",
        choices=["openai", "wisgate"],
        help="endpoint preset (key: OPENAI_API_KEY or WISGATE_API_KEY)",
    )
    parser.add_argument("--base-url", help="any OpenAI-compatible endpoint (wins over --provider)")
    parser.add_argument("--max-images", type=int, help="stop dispatching after this many images")
    parser.add_argument(
        "--max-cost", type=float, help="stop dispatching at this estimated cost (USD)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would happen; call no provider"
    )
    parser.add_argument(
        "--json", action="store_true", help="with --dry-run: the forecast and job keys as JSON"
    )
    parser.add_argument("--strict", action="store_true", help="stop at the first bad catalog row")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--via",
        choices=("sync", "batch", "auto"),
        help="synchronous requests, the Batch API (half price, up to 24 h), or auto: batch when "
        "the plan would take longer than 2 h at --rpm (default: settings, else sync)",
    )
    parser.add_argument("--wait", action="store_true", help="--via batch: stay until collected")
    parser.add_argument(
        "--require-approval",
        action="store_true",
        default=None,
        help="publish only after `catalog-imagegen approve RUN` (CATALOG_IMAGEGEN_APPROVAL)",
    )


def add_backfill_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only-failed",
        nargs="?",
        const="last",
        metavar="RUN_ID",
        help="only the jobs that failed in RUN_ID (default: the last run)",
    )
    parser.add_argument(
        "--changed", action="store_true", help="only jobs whose template or settings changed"
    )
    parser.add_argument(
        "--force", action="store_true", help="regenerate even images that are stored"
    )
    parser.add_argument(
        "--only-flagged",
        nargs="*",
        choices=FLAG_KINDS,
        metavar="KIND",
        help="only the flagged images (of these kinds: colour_mismatch, near_blank, "
        "near_duplicate, noncompliant), made again; put it after the catalog",
    )


def request_from_args(args: argparse.Namespace, *, shard: Shard | None = None) -> RunRequest:
    """The request the flags ask for; ``RequestError`` names the first bad flag."""
    return RunRequest.checked(
        catalog=args.catalog,
        catalog_format=args.format,
        sheet=args.sheet,
        include_archived=args.include_archived,
        skus=read_skus(getattr(args, "skus", [])),
        colours=tuple(getattr(args, "colours", [])),
        seasons=tuple(args.seasons),
        templates=tuple(args.templates),
        only_failed=getattr(args, "only_failed", None),
        changed=getattr(args, "changed", False),
        only_flagged=getattr(args, "only_flagged", None),
        force=getattr(args, "force", False),
        concurrency=args.concurrency,
        rpm=args.rpm,
        max_images=args.max_images,
        max_cost=args.max_cost,
        output=args.output,
        bucket=args.bucket,
        prefix=args.prefix,
        public_base_url=args.public_base_url,
        provider=args.provider,
        model=args.model,
        base_url=args.base_url,
        approval=args.require_approval,
        strict=args.strict,
        shard=shard,
        progress=not args.no_progress,
        via=getattr(args, "via", None),
    )


def read_skus(values: list[str]) -> tuple[str, ...]:
    """``--sku`` values, where ``@FILE`` stands for the SKUs in FILE, one a line."""
    try:
        return read_sku_arguments(values, lambda path: Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise RequestError(f"--sku @{error.filename}: cannot read it ({error.strerror})") from None
