"""Which slice of a catalog's jobs a backfill redoes, and what state each job is in. Pure.

A slice narrows the planned jobs by SKU (exact names or globs like ``JKT-*``), colour, season and
template, then optionally to the failures of a run (``only_failed``), to the jobs whose inputs
changed since the latest manifest (``changed``: the slot is published under another job key,
because the template, its settings or the model changed), or to the slots whose published image
carries a colour QA flag (``only_flagged``, of ``flag_kinds`` when given), which are redone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from catalog_imagegen.catalog.colours import colour_key
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.storage.manifest import ManifestEntry

Slot = tuple[str, str, str, str]  # sku, colour key, season, template
JobState = Literal["new", "done", "flagged", "changed", "failed_last_time"]
LAST_RUN = "last"
# The flow's and the command's parameter names that make a Selection (``selection_of``).
SELECTION_PARAMETERS = (
    "skus", "colours", "seasons", "templates", "only_failed", "changed", "force", "only_flagged"
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Selection:
    skus: tuple[str, ...] = ()  # exact SKUs or globs; empty: every SKU
    colours: tuple[str, ...] = ()
    seasons: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    only_failed: str | None = None  # a run id, or LAST_RUN
    changed: bool = False
    force: bool = False
    only_flagged: bool = False  # redo the flagged images (they are stored, so like ``force``)
    flag_kinds: tuple[str, ...] = ()  # only these flags (colour_mismatch...); empty: any flag

    def describe(self) -> dict[str, Any]:
        """The non-default parts, for ledgers, status lines and idempotency keys."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if v}


def selection_of(
    skus: Iterable[str] | None = None,
    colours: Iterable[str] | None = None,
    seasons: Iterable[str] | None = None,
    templates: Iterable[str] | None = None,
    only_failed: str | None = None,
    changed: bool | None = False,
    force: bool | None = False,
    only_flagged: Iterable[str] | None = None,
) -> Selection:
    """A selection from flow or command parameters, where ``None`` means not given.

    ``only_flagged``: flag kinds to redo; an empty list means every flagged image."""
    return Selection(
        tuple(skus or ()),
        tuple(colours or ()),
        tuple(seasons or ()),
        tuple(templates or ()),
        only_failed or None,
        bool(changed),
        bool(force),
        only_flagged is not None,
        tuple(only_flagged or ()),
    )


def slot_of(job: Job) -> Slot:
    return (job.sku, job.colour.key, job.season, job.template)


def select_jobs(
    jobs: Iterable[Job],
    selection: Selection,
    latest: Mapping[Slot, ManifestEntry],
    failed_last_run: Collection[Slot] = (),
    flagged: Collection[Slot] = (),
) -> list[Job]:
    """The jobs of the slice, in plan order (so a base image still comes before its edits).

    ``flagged``: the slots whose published image carries a flag of the selection's kinds."""
    colours = {colour_key(name) for name in selection.colours}
    chosen = []
    for job in jobs:
        if selection.skus and not matches_sku(job.sku, selection.skus):
            continue
        if colours and job.colour.key not in colours:
            continue
        if selection.seasons and job.season not in selection.seasons:
            continue
        if selection.templates and job.template not in selection.templates:
            continue
        if selection.only_failed and slot_of(job) not in failed_last_run:
            continue
        if selection.changed and state_of(job, latest, stored=False) != "changed":
            continue
        if selection.only_flagged and slot_of(job) not in flagged:
            continue
        chosen.append(job)
    return chosen


def matches_sku(sku: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(sku, pattern) for pattern in patterns)


def state_of(
    job: Job,
    latest: Mapping[Slot, ManifestEntry],
    *,
    stored: bool,
    failed_last_run: Collection[Slot] = (),
    flagged: Collection[Slot] = (),
) -> JobState:
    """``done`` (its image is stored), ``flagged`` (stored, and its published image carries a
    flag), ``failed_last_time``, ``changed`` (the slot holds an image made from other inputs) or
    ``new``."""
    if stored:
        return "flagged" if slot_of(job) in flagged else "done"
    if slot_of(job) in failed_last_run:
        return "failed_last_time"
    published = latest.get(slot_of(job))
    if published is not None and published.key != job.key:
        return "changed"
    return "new"


def read_sku_arguments(values: Iterable[str], read_file: Callable[[str], str]) -> tuple[str, ...]:
    """``--sku`` values, where ``@path`` stands for the SKUs in a file (one a line, ``#`` notes).

    ``read_file(path) -> str`` is passed in so this stays pure and testable.
    """
    skus: list[str] = []
    for value in values:
        if value.startswith("@"):
            lines = read_file(value[1:]).splitlines()
            skus.extend(s for line in lines if (s := line.split("#", 1)[0].strip()))
        elif value.strip():
            skus.append(value.strip())
    return tuple(skus)
