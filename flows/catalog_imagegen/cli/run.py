"""``run`` and ``backfill``, and ``--dry-run`` for both: one request, checked before anything
starts, then forecast (no provider, no Prefect) or handed to its flow."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from catalog_imagegen.catalog.detect import chosen_format
from catalog_imagegen.catalog.reading import check_catalog
from catalog_imagegen.cli.endpoint_check import endpoint_refusal
from catalog_imagegen.cli.request_flags import request_from_args
from catalog_imagegen.cli.summary import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Terminated,
    report_state,
)
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings import Settings
from catalog_imagegen.settings_file import load_settings


def checked_request(args: argparse.Namespace) -> tuple[RunRequest, Settings]:
    """The flags' request and its settings, once the catalog opens with the columns it needs and
    every season and template named exists. Raises the input error otherwise."""
    request = request_from_args(args)
    settings = request.settings_for(load_settings())
    check_catalog(
        request.catalog, format=chosen_format(request.catalog_format), sheet=request.sheet
    )
    request.check_names(
        load_templates(settings.templates_dir), load_seasons(settings.templates_dir)
    )
    return request, settings


def run_command(args: argparse.Namespace) -> int:
    request, settings = checked_request(args)
    if args.dry_run:
        return dry_run_command(request, settings, as_json=args.json)
    if (refused := endpoint_refusal(settings)) is not None:
        return refused  # first: a refused endpoint must leave no trace, not even the folder
    check_store(settings)
    if args.shards:
        from catalog_imagegen.cli.scale_out import sharded_run_command

        return sharded_run_command(args, request, settings)
    if (code := by_batch(request, settings, args.wait)) is not None:
        return code
    server = use_server()
    from catalog_imagegen.flows.refresh import catalog_refresh

    return finished(run_to_end(catalog_refresh(request, return_state=True)), server)


def backfill_command(args: argparse.Namespace) -> int:
    request, settings = checked_request(args)
    if args.dry_run:
        return dry_run_command(request, settings, as_json=args.json)
    if (refused := endpoint_refusal(settings)) is not None:
        return refused  # first: a refused endpoint must leave no trace, not even the folder
    check_store(settings)
    if (code := by_batch(request, settings, args.wait)) is not None:
        return code
    server = use_server()
    from catalog_imagegen.flows.backfill import catalog_backfill

    return finished(run_to_end(catalog_backfill(request, return_state=True)), server)


def check_store(settings: Settings) -> None:
    """Before Prefect starts (about 20 s): a store that cannot be used raises ``StoreError``,
    which ends the command in cli.main as one line, exit 3. Flow runs check it again."""
    from catalog_imagegen.definitions import build_store

    build_store(settings).check_access()


def finished(state: Any, server: str | None) -> int:
    """Print how a run ended (``report_state``: an identical run under way ends this one with
    code 4) and where its Prefect UI is."""
    code = report_state(state)
    print_server_note(server)
    return code


def use_server() -> str | None:
    """The shared local Prefect server's URL (started if need be), or ``None`` when Prefect is
    pointed elsewhere. Before any Prefect import: Prefect reads its API URL once."""
    from catalog_imagegen.flows.local_server import use_local_server

    return use_local_server()


def print_server_note(url: str | None) -> None:
    if url:
        print(
            f"Prefect UI:   {url.removesuffix('/api')} (a local server; it stops after 30 idle "
            "minutes, or now with `catalog-imagegen server stop`)"
        )


def by_batch(request: RunRequest, settings: Settings, wait: bool) -> int | None:
    """``--via batch`` (or ``auto`` choosing it): the exit code; ``None`` to run synchronously."""
    via = request.via or settings.via
    if via == "sync" or (via == "auto" and not settings.api_key):  # previews cost nothing
        return None
    from catalog_imagegen.cli.batch import batch_run_command

    return batch_run_command(request, settings, via, wait)


def run_to_end(flow_run: Any) -> Any:
    """A flow run to its final state. Prefect turns SIGTERM into its own ``TerminationSignal``
    inside a flow run; the command stops on it as it does on SIGTERM anywhere else."""
    from prefect.exceptions import TerminationSignal

    try:
        return asyncio.run(flow_run)
    except TerminationSignal:
        raise Terminated from None


def dry_run_command(request: RunRequest, settings: Settings, *, as_json: bool = False) -> int:
    """Plan and select exactly as the run would, list the store, print the forecast."""
    from catalog_imagegen import pipeline
    from catalog_imagegen.definitions import build_store
    from catalog_imagegen.generation.preflight import check_plan
    from catalog_imagegen.generation.providers.model_rules import ModelTableError, load_model_table
    from catalog_imagegen.planning.pricing import load_price_table

    try:  # a store that cannot be used ends the command in cli.main
        store = build_store(settings)
        prepared = pipeline.prepare(request, settings, store)
        models = load_model_table(settings.models_file)
        prices = load_price_table(settings.prices_file, models)
        forecast = pipeline.dry_run(prepared, request, settings, store, prices)
        by_batch = pipeline.dry_run(prepared, request, settings, store, prices.for_batch())
    except ModelTableError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    check = check_plan(prepared.jobs, models, datetime.now(UTC).date())
    if as_json:
        batch_cost = {"batch_estimated_cost": by_batch.estimated_cost}
        print(json.dumps(asdict(forecast) | {"rejected_rows": len(prepared.rejects)} | batch_cost))
        return EXIT_OK
    print("\n".join(forecast.lines()))
    print(
        "  estimated cost by batch (--via batch, results within 24 h): "
        f"${by_batch.estimated_cost:.2f}"
    )
    if prepared.rejects:
        print(f"  {len(prepared.rejects)} catalog rows rejected (see `prompts` for details)")
    for notice in check.notices:
        print(f"  note: {notice}")
    for problem in check.problems:
        print(f"  the run would stop before any request: {problem}")
    if not settings.uses_real_provider:
        print("  (no OPENAI_API_KEY: the real run would make offline previews, which cost nothing)")
    return EXIT_BAD_INPUT if check.problems and settings.uses_real_provider else EXIT_OK
