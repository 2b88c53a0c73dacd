"""The ``backfill`` and ``status`` commands, and ``--dry-run`` for ``run`` and ``backfill``.

A dry run needs no Prefect: it plans, selects and lists the store, then prints the forecast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalog_imagegen.planning.selection import Selection

from catalog_imagegen.cli.summary import (
    EXIT_ALREADY_RUNNING,
    EXIT_BAD_INPUT,
    EXIT_OK,
    report_state,
)

FLAG_KINDS = ("colour_mismatch", "near_blank", "near_duplicate")  # image_review's flags
STORE_FLAGS = ("output", "bucket", "prefix", "public_base_url")  # cli.add_store_flags
ENDPOINT_AND_STORE = ("rpm", "provider", "base_url", "bucket", "prefix", "public_base_url")


def add_backfill_command(commands: Any, add_run_flags: Any) -> None:
    backfill = commands.add_parser(
        "backfill", help="make (or with --force remake) the images of a slice of the catalog"
    )
    backfill.add_argument("catalog", help="the catalog file (CSV)")
    backfill.add_argument(
        "--sku",
        action="append",
        default=[],
        dest="skus",
        help="a SKU or glob like 'JKT-*' (repeatable); @FILE reads SKUs from a file, one a line",
    )
    for flag, dest in (
        ("--season", "seasons"),
        ("--colour", "colours"),
        ("--template", "templates"),
    ):
        backfill.add_argument(flag, action="append", default=[], dest=dest, help="repeatable")
    backfill.add_argument(
        "--only-failed",
        nargs="?",
        const="last",
        metavar="RUN_ID",
        help="only the jobs that failed in RUN_ID (default: the last run)",
    )
    backfill.add_argument(
        "--changed", action="store_true", help="only jobs whose template or settings changed"
    )
    backfill.add_argument(
        "--force", action="store_true", help="regenerate even images that are stored"
    )
    backfill.add_argument(
        "--only-flagged",
        nargs="*",
        choices=FLAG_KINDS,
        metavar="KIND",
        help="only the images colour QA flagged (of these kinds: colour_mismatch, near_blank, "
        "near_duplicate), made again; put it after the catalog",
    )
    backfill.add_argument("--model", help="image model (default gpt-image-2)")
    add_run_flags(backfill)
    backfill.set_defaults(handler=backfill_command)


def add_status_command(commands: Any, add_store_flags: Any) -> None:
    status = commands.add_parser("status", help="the last runs: what, when, outcomes, cost")
    add_store_flags(status)
    status.add_argument("--limit", type=int, default=10, help="how many runs (default 10)")
    status.add_argument("--json", action="store_true", help="one JSON object per line")
    status.set_defaults(handler=status_command)


def read_skus(values: list[str]) -> list[str]:
    from catalog_imagegen.planning.selection import read_sku_arguments

    return list(read_sku_arguments(values, lambda path: Path(path).read_text(encoding="utf-8")))


def backfill_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.cli.batch import batch_backfill_command, chosen_via
    from catalog_imagegen.flows.backfill import ALREADY_RUNNING, catalog_backfill

    try:
        skus = read_skus(args.skus)
    except OSError as error:
        print(f"error: cannot read SKUs: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    parameters = {
        "catalog": args.catalog,
        "output": args.output,
        "skus": skus,
        "seasons": args.seasons,
        "colours": args.colours,
        "templates": args.templates,
        "only_failed": args.only_failed,
        "changed": args.changed,
        "force": args.force,
        "only_flagged": args.only_flagged,
        "max_images": args.max_images,
        "max_cost": args.max_cost,
        "concurrency": args.concurrency,
        "model": args.model,
        "strict": args.strict,
        "progress": not args.no_progress,
    } | {name: getattr(args, name) for name in ENDPOINT_AND_STORE}
    if args.dry_run:
        return dry_run_command(parameters)
    via = chosen_via(args)
    if via != "sync" and (code := batch_backfill_command(parameters, via, args.wait)) is not None:
        return code
    state: Any = asyncio.run(catalog_backfill(**parameters, return_state=True))  # type: ignore[arg-type]
    if state.name == ALREADY_RUNNING:
        print(state.message)
        return EXIT_ALREADY_RUNNING
    return report_state(state)


def dry_run_command(parameters: dict[str, Any]) -> int:
    """Plan, select and list the store, then print the forecast: no provider, no Prefect."""
    from catalog_imagegen.catalog.model import CatalogError
    from catalog_imagegen.cli.batch import batch_estimate_line
    from catalog_imagegen.definitions import build_store
    from catalog_imagegen.pipeline import PlanRequest, plan_catalog
    from catalog_imagegen.planning.pricing import load_price_table
    from catalog_imagegen.planning.selection import Selection
    from catalog_imagegen.planning.slices import forecast, plan_slice, spend_control
    from catalog_imagegen.planning.templates import TemplateError
    from catalog_imagegen.settings_file import SettingsFileError, load_settings_with
    from catalog_imagegen.storage.base import StoreError
    from catalog_imagegen.storage.run_history import UnknownRun

    is_backfill = "skus" in parameters
    selection = selection_from(parameters) if is_backfill else Selection()
    try:
        names = ("output", "max_images", "max_cost", "model", *ENDPOINT_AND_STORE)
        settings = load_settings_with(**{k: parameters.get(k) for k in names})
        # A run narrows its plan by season and template; a backfill selects from the whole plan.
        request = PlanRequest(
            seasons=() if is_backfill else parameters.get("seasons") or (),
            templates=() if is_backfill else parameters.get("templates") or (),
        )
        prepared = plan_catalog(parameters["catalog"], settings, request)
        store = build_store(settings)
        plan = plan_slice(prepared.jobs, selection, store, "dry-run", recover=False)
    except (CatalogError, TemplateError, UnknownRun, SettingsFileError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    prices = load_price_table(settings.prices_file)
    print("\n".join(forecast(plan, prices, spend_control(settings, prices)).lines()))
    print(batch_estimate_line(plan, prices, settings))
    if not settings.uses_real_provider:
        print("  (no OPENAI_API_KEY: the real run would make offline previews, which cost nothing)")
    return EXIT_OK


def selection_from(parameters: dict[str, Any]) -> Selection:
    from catalog_imagegen.planning.selection import SELECTION_PARAMETERS, selection_of

    return selection_of(**{name: parameters.get(name) for name in SELECTION_PARAMETERS})


def status_command(args: argparse.Namespace) -> int:
    from catalog_imagegen.cli.batch import open_batch_lines
    from catalog_imagegen.definitions import build_store
    from catalog_imagegen.settings_file import SettingsFileError, load_settings_with
    from catalog_imagegen.storage.base import StoreError
    from catalog_imagegen.storage.run_history import recent_runs, status_line

    try:
        store = build_store(load_settings_with(**{k: getattr(args, k) for k in STORE_FLAGS}))
        rows = [status_line(run) for run in recent_runs(store, args.limit)]
    except (SettingsFileError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not rows:
        print(f"no runs yet in {store.describe()}")
    for line in open_batch_lines(store):
        print(line)
    for row in rows:
        if args.json:
            print(json.dumps(row))
            continue
        preview = " (preview, not charged)" if row["preview"] else ""
        print(
            f"{row['run']}  {row['started']} -> {row['finished']}  {row['catalog']} "
            f"[{row['selection']}]\n  {row['done']} done, {row['skipped']} skipped, "
            f"{row['failed']} failed, {row['not_dispatched']} not dispatched; "
            f"estimated ${row['estimated_cost']:.2f}{_actual(row['actual_cost'])}{preview}"
            + (f"\n  stopped: {row['stop_reason']}" if row["stop_reason"] else "")
        )
    return EXIT_OK


def _actual(cost: float | None) -> str:
    return "" if cost is None else f", actual ${cost:.2f}"
