"""``catalog-imagegen status``: the last runs in an output, what they did and what they cost."""

from __future__ import annotations

import argparse
import json

from catalog_imagegen.cli.batch import open_batch_lines
from catalog_imagegen.cli.request_flags import store_flags
from catalog_imagegen.cli.summary import EXIT_OK
from catalog_imagegen.definitions import build_store
from catalog_imagegen.settings_file import load_settings_with
from catalog_imagegen.storage.run_history import recent_runs, status_line


def status_command(args: argparse.Namespace) -> int:
    store = build_store(load_settings_with(**store_flags(args)))
    rows = [status_line(run) for run in recent_runs(store, args.limit)]  # StoreError: cli.main
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
            f"{row['failed']} failed, {row['not_dispatched']} not dispatched"
            f"{_noncompliant(row['noncompliant'])}; "
            f"estimated ${row['estimated_cost']:.2f}{_actual(row['actual_cost'])}{preview}"
            + (f"\n  stopped: {row['stop_reason']}" if row["stop_reason"] else "")
            + "".join(f"\n  {t}: {v}" for t, v in row["template_labels"].items())
        )
    return EXIT_OK


def _noncompliant(count: int) -> str:
    return f", {count} renditions noncompliant" if count else ""


def _actual(cost: float | None) -> str:
    return "" if cost is None else f", actual ${cost:.2f}"
