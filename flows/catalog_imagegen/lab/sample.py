"""Which slots a lab run tries: a few, chosen to cover different categories and colours. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from catalog_imagegen.planning.jobs import Job

LabSlot = tuple[str, str, str]  # sku, colour key, season
DEFAULT_SLOTS = 6


def slot_of(job: Job) -> LabSlot:
    return (job.sku, job.colour.key, job.season)


def pick_slots(jobs: Sequence[Job], categories: Mapping[str, str], limit: int) -> list[LabSlot]:
    """Up to ``limit`` slots of ``jobs``, greedily: each next slot is the first (in plan order)
    that brings the most new things, a category first, then a colour, then a product."""
    candidates = list(dict.fromkeys(slot_of(job) for job in jobs))
    chosen: list[LabSlot] = []
    seen_categories: set[str] = set()
    seen_colours: set[str] = set()
    seen_skus: set[str] = set()
    while candidates and len(chosen) < limit:
        best = max(
            candidates,
            key=lambda slot: (
                categories.get(slot[0], "") not in seen_categories,
                slot[1] not in seen_colours,
                slot[0] not in seen_skus,
            ),
        )
        candidates.remove(best)
        chosen.append(best)
        seen_categories.add(categories.get(best[0], ""))
        seen_colours.add(best[1])
        seen_skus.add(best[0])
    return chosen


def jobs_in(jobs: Iterable[Job], slots: Iterable[LabSlot]) -> list[Job]:
    """The jobs of those slots, with the base image each chained colour is edited from."""
    wanted = set(slots)
    jobs = list(jobs)
    needed = {job.depends_on for job in jobs if slot_of(job) in wanted and job.depends_on}
    return [job for job in jobs if slot_of(job) in wanted or job.key in needed]
