"""A backfill's slice against the store: what to make, what to skip, and what it would cost.

``plan_slice`` reads the latest manifest, the run whose failures are asked for, and one listing of
``images/``; everything else is pure. ``forecast`` is the dry run: the same slice, the same spend
limits (``RunControl``), and no provider call, so its counts are what the real run then does.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from catalog_imagegen.generation.outcomes import JobOutcome, RunControl
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.pricing import PriceTable
from catalog_imagegen.planning.selection import (
    LAST_RUN,
    JobState,
    Selection,
    Slot,
    select_jobs,
    state_of,
)
from catalog_imagegen.renditions.storing import complete_renditions
from catalog_imagegen.review.image_review import flagged_slots
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import load_latest, stored_requests
from catalog_imagegen.storage.resume import recover_entry, split_done
from catalog_imagegen.storage.run_history import UnknownRun, load_run


@dataclass(slots=True)
class SlicePlan:
    todo: list[Job]  # to request from the provider, forced redos included
    skipped: list[JobOutcome]  # already stored, reported as skipped
    selection: Selection
    states: Counter[JobState] = field(default_factory=Counter)
    # Requests whose image the store already holds (for other slots): copied, not requested.
    reusable: frozenset[str] = frozenset()


def plan_slice(
    jobs: Sequence[Job],
    selection: Selection,
    store: ObjectStore,
    run_id: str,
    *,
    recover: bool = True,
) -> SlicePlan:
    """Select the slice and split off what is stored; ``recover=False`` skips manifest entries
    for images stored by a crashed run (a dry run does not need them)."""
    latest = load_latest(store)
    failed = failed_slots(
        store, selection.only_failed or LAST_RUN, required=bool(selection.only_failed)
    )
    flagged = flagged_slots(latest, selection.flag_kinds)
    chosen = select_jobs(jobs, selection, latest.entries, failed, flagged)
    split = split_done(chosen, store, latest)
    stored = {job.key for job in split.done}
    states = Counter(
        state_of(
            job, latest.entries, stored=job.key in stored, failed_last_run=failed, flagged=flagged
        )
        for job in chosen
    )
    if selection.force or selection.only_flagged:  # a flagged image is stored: redo it
        redo = secrets.token_hex(4)  # a new storage key: the stored image stays cacheable
        done = {job.key for job in split.done}
        todo = [replace(job, redo=redo) if job.key in done else job for job in chosen]
        return SlicePlan(todo=todo, skipped=[], selection=selection, states=states)
    reusable = frozenset(stored_requests(latest.entries))
    skipped = [
        JobOutcome(
            job,
            "skipped",
            entry=split.known.get(job.key)
            or (recover_entry(job, store, run_id) if recover else None),
        )
        for job in split.done
    ]
    if recover:  # a stored image missing a channel's rendition: derive it, no request
        skipped = complete_renditions(skipped, store, split.derive_only, run_id)
    return SlicePlan(
        todo=split.todo, skipped=skipped, selection=selection, states=states, reusable=reusable
    )


def failed_slots(store: ObjectStore, run_id: str, *, required: bool) -> set[Slot]:
    try:
        return load_run(store, run_id).failed_slots()
    except UnknownRun:
        if required:
            raise
        return set()


@dataclass(slots=True)
class Forecast:
    states: dict[str, int]
    generate: int
    skip: int
    not_dispatched: int
    estimated_cost: float
    unpriced: int
    stop_reason: str | None = None
    # Images copied from an identical request of the same run: neither requested nor paid.
    shared: int = 0
    prices: list[str] = field(default_factory=list)  # "gpt-image-2 medium/1024x1024 $0.053"
    # The job keys the run would request and those it would skip as stored, in plan order.
    to_make: list[str] = field(default_factory=list)
    to_skip: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        by_state = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in self.states.items())
        lines = [
            f"Dry run: {sum(self.states.values())} jobs selected ({by_state or 'none'})",
            f"  would generate {self.generate}, skip {self.skip} (already stored), "
            f"not dispatch {self.not_dispatched}",
            f"  requests: {self.generate - self.shared}"
            + (f" ({self.shared} images copied from an identical request)" if self.shared else ""),
            f"  estimated cost ${self.estimated_cost:.2f}"
            + (f" ({self.unpriced} jobs without a price)" if self.unpriced else ""),
        ]
        if self.prices:
            lines.append("  prices per image (model table): " + ", ".join(self.prices))
        if self.stop_reason:
            lines.append(f"  would stop dispatching: {self.stop_reason}")
        return lines


def spend_control(settings: Settings, prices: PriceTable) -> RunControl:
    """The limits a run dispatches under; the dry run uses the same ones."""
    return RunControl(
        max_images=settings.max_images, max_cost=settings.max_cost, cost_of=prices.estimate
    )


def forecast(plan: SlicePlan, prices: PriceTable, control: RunControl) -> Forecast:
    """What the run would do, dispatching in plan order under the same limits; a job whose
    request is identical to an earlier one's (of this run, or stored) is copied, not paid."""
    generate = cost = 0.0
    unpriced = shared = 0
    refusal = None
    requested: set[str] = set()
    priced: dict[str, float | None] = {}
    to_make: list[str] = []
    for job in plan.todo:
        stored = not job.redo and job.request_identity in plan.reusable
        if job.depends_on is None and (job.request_identity in requested or stored):
            generate, shared = generate + 1, shared + 1
            to_make.append(job.key)  # made as a copy of the identical request's image
            continue
        refused = control.claim(job)
        if refused:
            refusal = refusal or refused
            continue
        requested.add(job.request_identity)
        generate += 1
        to_make.append(job.key)
        estimate = prices.estimate(job)
        unpriced += estimate is None
        cost += estimate or 0.0
        s = job.settings
        priced[f"{job.model} {s.quality}/{s.size}"] = None if estimate is None else estimate / s.n
    states = {s: plan.states[s] for s in ("new", "done", "changed", "failed_last_time")}
    if plan.states["flagged"]:
        states["flagged"] = plan.states["flagged"]
    return Forecast(
        states=states,
        generate=int(generate),
        skip=len(plan.skipped),
        not_dispatched=len(plan.todo) - int(generate),
        estimated_cost=round(cost, 6),
        unpriced=unpriced,
        stop_reason=refusal,
        shared=shared,
        prices=[
            f"{name} ${price:.3f}" if price is not None else f"{name} unpriced"
            for name, price in sorted(priced.items())
        ],
        to_make=to_make,
        to_skip=[outcome.job.key for outcome in plan.skipped],
    )
