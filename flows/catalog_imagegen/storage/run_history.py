"""Past runs, read back from their manifests (``manifests/runs/{run_id}.json``) in the store.

Run ids start with their UTC start time, so sorting ids sorts runs. One listing finds them all;
only the runs asked for are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog_imagegen.planning.selection import LAST_RUN, Slot
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import RUNS_PREFIX

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class UnknownRun(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    document: Mapping[str, Any] = field(repr=False)

    @property
    def summary(self) -> Mapping[str, Any]:
        summary: Mapping[str, Any] = self.document.get("summary", {})
        return summary

    def failed_slots(self) -> set[Slot]:
        return {
            (row["sku"], row["colour"], row["season"], row["template"])
            for row in self.document.get("jobs", [])
            if row.get("status") == "failed"
        }


def run_ids(store: ObjectStore) -> list[str]:
    """Every run with a manifest, oldest first."""
    ids = [
        key[len(RUNS_PREFIX) : -len(".json")]
        for key in store.list_keys(RUNS_PREFIX)
        if key.endswith(".json") and "/" not in key[len(RUNS_PREFIX) :]
    ]
    return sorted(ids)


def check_run_id(run_id: str) -> str:
    """A run id names one run manifest: no path separators, no ``..``, nothing else."""
    if not RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise UnknownRun(f"{run_id!r} is not a run id (they look like 20261130T120000Z-1a2b3c)")
    return run_id


def load_run(store: ObjectStore, run_id: str) -> RunRecord:
    """A run by id, or the latest run for ``LAST_RUN``."""
    if run_id != LAST_RUN:
        check_run_id(run_id)
    if run_id == LAST_RUN:
        ids = run_ids(store)
        if not ids:
            raise UnknownRun(f"no run has finished yet in {store.describe()}")
        run_id = ids[-1]
    stored = store.get(f"{RUNS_PREFIX}{run_id}.json")
    if stored is None:
        raise UnknownRun(f"no run {run_id} in {store.describe()}")
    return RunRecord(run_id, json.loads(stored.data))


def recent_runs(store: ObjectStore, limit: int) -> Iterator[RunRecord]:
    """The last ``limit`` runs, newest first."""
    for run_id in reversed(run_ids(store)[-limit:]):
        yield load_run(store, run_id)


def status_line(run: RunRecord) -> dict[str, Any]:
    """One row of ``catalog-imagegen status``."""
    summary = run.summary
    selection = summary.get("selection") or {}
    cost = summary.get("actual_cost")
    return {
        "run": run.run_id,
        "started": run.document.get("started_at", ""),
        "finished": run.document.get("finished_at", ""),
        "catalog": run.document.get("catalog", ""),
        "selection": ", ".join(f"{k}={_short(v)}" for k, v in selection.items()) or "all",
        "done": summary.get("generated", 0),
        "skipped": summary.get("skipped", 0),
        "failed": summary.get("failed", 0),
        "not_dispatched": summary.get("not_dispatched", 0),
        "noncompliant": summary.get("noncompliant", 0),
        "estimated_cost": summary.get("estimated_cost", 0.0),
        "actual_cost": cost,
        "preview": run.document.get("preview", False),
        "stop_reason": summary.get("stop_reason") or "",
        "template_labels": _labels(run.document.get("jobs", [])),
    }


def _labels(rows: list[Mapping[str, Any]]) -> dict[str, str]:
    """``{template: "product-card-v3 (c2cfff0f5e64)"}`` for the labelled templates a run used."""
    return {
        row["template"]: f"{row['template_label']} ({row['template_version']})"
        for row in rows
        if row.get("template_label")
    }


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return str(value)
