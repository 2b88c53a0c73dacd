"""What a lab run leaves behind under ``lab/runs/{lab id}/``: its manifest (every version's image
per slot, prompts, cost, flags), the reviewers' choices, and the side-by-side page.

Lab spend is the sum of the lab manifests' costs: it is never in ``manifests/runs/``, so
production spend, ``status`` and backfills do not see it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalog_imagegen.generation.outcomes import JobOutcome
from catalog_imagegen.lab.experiment import LabPlan, VersionSlot, version_slot
from catalog_imagegen.lab.versions import LabVersion
from catalog_imagegen.planning.ledger import cost_totals, job_cost
from catalog_imagegen.planning.pricing import PriceTable
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import JSON_TYPE

LAB_RUNS = "runs/"
SCHEMA_VERSION = 1


class UnknownLabRun(LookupError):
    pass


def manifest_key(lab_id: str) -> str:
    return f"{LAB_RUNS}{lab_id}/manifest.json"


def page_key(lab_id: str) -> str:
    return f"{LAB_RUNS}{lab_id}/index.html"


@dataclass(frozen=True, slots=True)
class LabRunInfo:
    lab_id: str
    template: str
    catalog: str
    started_at: str
    provider: str
    model: str
    preview: bool


def lab_document(
    info: LabRunInfo,
    versions: Sequence[LabVersion],
    plan: LabPlan,
    outcomes: Mapping[VersionSlot, JobOutcome],
    prices: PriceTable,
) -> dict[str, Any]:
    """The lab manifest: every version's outcome for every slot, with its cost."""
    rows = []
    for slot in _slots_with_bases(plan):
        images = {}
        for version in versions:
            job = next((j for j in plan.jobs[version.name] if _slot(j) == slot), None)
            if job is not None:
                images[version.name] = _image(outcomes[version_slot(job)], prices, info.model)
        sku, colour_key, season = slot
        colour = next(iter(images.values()), {}).get("colour", colour_key)
        rows.append(
            {"sku": sku, "title": plan.titles.get(sku, ""), "colour": colour,
             "colour_key": colour_key, "season": season, "images": images}
        )  # fmt: skip
    costs = [image for row in rows for image in row["images"].values()]
    return {
        "schema_version": SCHEMA_VERSION,
        **_fields(info),
        "versions": [_version(v) for v in versions],
        "slots": rows,
        "cost": cost_totals(costs),
        "cost_by_version": {
            v.name: cost_totals(r["images"][v.name] for r in rows if v.name in r["images"])
            for v in versions
        },
        "rejects": [r.describe() for r in plan.rejects],
        "choices": [],
    }


def _fields(info: LabRunInfo) -> dict[str, Any]:
    return {name: getattr(info, name) for name in info.__dataclass_fields__}


def _version(version: LabVersion) -> dict[str, Any]:
    t = version.template
    return {
        "name": version.name,
        "draft": version.draft,
        "template": t.name,
        "template_version": t.version,
        "template_label": t.label,
    }


def _image(outcome: JobOutcome, prices: PriceTable, model: str) -> dict[str, Any]:
    job = outcome.job
    image: dict[str, Any] = {
        "colour": job.colour.name,
        "status": outcome.status,
        "reason": outcome.reason,
        "prompt": job.prompt,
        "template_version": job.template_version,
        "template_label": job.template_label,
        "cost": job_cost(outcome, prices, model or job.model),
        "entry": outcome.entry.to_json() if outcome.entry is not None else None,
    }
    return image


def _slot(job: Any) -> tuple[str, str, str]:
    return (job.sku, job.colour.key, job.season)


def _slots_with_bases(plan: LabPlan) -> list[tuple[str, str, str]]:
    extra = [_slot(j) for jobs in plan.jobs.values() for j in jobs if _slot(j) not in plan.slots]
    return list(dict.fromkeys([*extra, *plan.slots]))


def write_lab_document(store: ObjectStore, lab_id: str, document: Mapping[str, Any]) -> str:
    key = manifest_key(lab_id)
    body = json.dumps(document, indent=1, ensure_ascii=False).encode()
    store.put(key, body, content_type=JSON_TYPE, cache_control="no-cache")
    return store.url_for(key)


def load_lab_document(store: ObjectStore, lab_id: str) -> dict[str, Any]:
    stored = store.get(manifest_key(lab_id))
    if stored is None:
        raise UnknownLabRun(f"no lab run {lab_id} in {store.describe()}")
    document: dict[str, Any] = json.loads(stored.data)
    return document


def lab_ids(store: ObjectStore) -> list[str]:
    """Every lab run, oldest first (lab ids start with their UTC start time)."""
    suffix = "/manifest.json"
    keys = store.list_keys(LAB_RUNS)
    return sorted(k[len(LAB_RUNS) : -len(suffix)] for k in keys if k.endswith(suffix))


def lab_spend(store: ObjectStore) -> tuple[float, int]:
    """Estimated USD over every lab run that called a real provider, and how many there were
    (offline previews are priced as if real, to show what a lab would cost, but not charged)."""
    documents = [load_lab_document(store, lab_id) for lab_id in lab_ids(store)]
    charged = [d for d in documents if not d.get("preview")]
    total = sum(d.get("cost", {}).get("estimated") or 0.0 for d in charged)
    return round(total, 6), len(charged)
