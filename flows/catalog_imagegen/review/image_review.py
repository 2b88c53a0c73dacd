"""Reviewing generated images: is it the colour we asked for, is it blank, is it a duplicate.

Nobody can eyeball 40,000 images, so every generated image is measured (``colour_qa``) and what
looks wrong becomes a flag on its manifest entry, for the storefront team and for backfills:

- ``{"kind": "colour_mismatch", "expected": "#1f2a44", "measured": "#a01010", "delta_e": 41.2}``
- ``{"kind": "near_blank"}``
- ``{"kind": "near_duplicate", "of": "<storage key>", "distance": 2}``: two colours of one
  product x season x template came out as the same picture in the same colour (the model ignored
  the colour). A correct colour edit keeps the picture but changes the colour, so it is not one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from catalog_imagegen.catalog.colours import RGB, to_hex
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.review import colour_qa
from catalog_imagegen.storage.manifest import LatestManifest, ManifestEntry

Flag = Mapping[str, Any]
Group = tuple[str, str, str]
Slot = tuple[str, str, str, str]
# Two images of one group this close in colour (CIEDE2000) and in picture are the same image.
SAME_COLOUR_DELTA_E = 10.0


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    colour_tolerance: float = 20.0  # CIEDE2000 beyond which the colour is wrong
    duplicate_distance: int = 4  # dHash bits (of 64) within which two pictures are the same
    colour_retry: bool = False  # retry a mismatched colour once, with a stronger instruction
    masks: Mapping[str, colour_qa.Mask] = field(default_factory=dict)  # by template name


@dataclass(frozen=True, slots=True)
class ImageReview:
    measured: RGB | None  # the product's dominant colour; None when the image is near blank
    picture_hash: int
    flags: tuple[Flag, ...] = ()

    @property
    def colour_mismatch(self) -> Flag | None:
        return next((f for f in self.flags if f["kind"] == "colour_mismatch"), None)


def review_image(job: Job, data: bytes, settings: ReviewSettings) -> ImageReview:
    """Measure one image and flag what is wrong with it. Raises on bytes that are no image."""
    decoded = colour_qa.decode(data)
    picture_hash = colour_qa.dhash(decoded)
    if colour_qa.is_near_blank(decoded):
        return ImageReview(None, picture_hash, ({"kind": "near_blank"},))
    measured = colour_qa.dominant_colour(decoded, settings.masks.get(job.template))
    expected = job.colour.rgb
    if expected is None:
        return ImageReview(measured, picture_hash)  # no reference colour: unchecked
    delta_e = colour_qa.rgb_difference(expected, measured)
    if delta_e <= settings.colour_tolerance:
        return ImageReview(measured, picture_hash)
    mismatch = {
        "kind": "colour_mismatch",
        "expected": to_hex(expected),
        "measured": to_hex(measured),
        "delta_e": round(delta_e, 1),
    }
    return ImageReview(measured, picture_hash, (mismatch,))


def stronger_colour_prompt(job: Job, review: ImageReview) -> str:
    """The prompt for a retry after a colour mismatch: the colour, said louder and exactly."""
    mismatch = review.colour_mismatch or {}
    return (
        f"{job.prompt} IMPORTANT: the product's colour must be {job.colour.name} "
        f"({mismatch.get('expected', '')}); a previous attempt came out "
        f"{mismatch.get('measured', 'a different colour')}, which is wrong."
    )


def group_of(job: Job) -> Group:
    """The colours of one product x season x template, which must look like one product."""
    return (job.sku, job.season, job.template)


def near_duplicates(
    reviewed: Iterable[tuple[Job, str, ImageReview]], settings: ReviewSettings
) -> dict[str, Flag]:
    """``near_duplicate`` flags by storage key, for ``(job, storage key, review)`` of made images.

    Each image is compared with the other colours of its group; the closest duplicate is named.
    """
    groups: dict[Group, list[tuple[Job, str, ImageReview]]] = {}
    for item in reviewed:
        groups.setdefault(group_of(item[0]), []).append(item)
    flags: dict[str, Flag] = {}
    for members in groups.values():
        for job, storage_key, review in members:
            nearest = _nearest_duplicate(job, review, members, settings)
            if nearest is not None:
                flags[storage_key] = {
                    "kind": "near_duplicate",
                    "of": nearest[0],
                    "distance": nearest[1],
                }
    return flags


class Reviewed(Protocol):
    """A job's outcome as far as reviewing goes (``execution.JobOutcome``)."""

    job: Job
    entry: ManifestEntry | None
    review: ImageReview | None


def flag_near_duplicates(outcomes: Sequence[Reviewed], settings: ReviewSettings) -> None:
    """Add ``near_duplicate`` flags to the entries of made images that repeat another colour's."""
    reviewed = [
        (o.job, o.entry.storage_key, o.review)
        for o in outcomes
        if o.entry is not None and o.review is not None
    ]
    flags = near_duplicates(reviewed, settings)
    for outcome in outcomes:
        if outcome.entry is not None and outcome.entry.storage_key in flags:
            flag = flags[outcome.entry.storage_key]
            outcome.entry = replace(outcome.entry, flags=(*outcome.entry.flags, flag))


def _nearest_duplicate(
    job: Job,
    review: ImageReview,
    members: Sequence[tuple[Job, str, ImageReview]],
    settings: ReviewSettings,
) -> tuple[str, int] | None:
    best: tuple[str, int] | None = None
    for other_job, other_key, other in members:
        if other_job.colour.key == job.colour.key:
            continue
        distance = colour_qa.hash_distance(review.picture_hash, other.picture_hash)
        if distance > settings.duplicate_distance or not _same_colour(review, other):
            continue
        if best is None or distance < best[1]:
            best = (other_key, distance)
    return best


def _same_colour(first: ImageReview, second: ImageReview) -> bool:
    if first.measured is None or second.measured is None:
        return first.measured is None and second.measured is None  # both blank
    return colour_qa.rgb_difference(first.measured, second.measured) <= SAME_COLOUR_DELTA_E


def flagged_slots(latest: LatestManifest, kinds: Iterable[str] = ()) -> set[Slot]:
    """The slots (sku, colour key, season, template) whose published image carries a flag
    (of one of ``kinds``, when given): what ``backfill --only-flagged`` remakes."""
    wanted = set(kinds)
    return {
        slot
        for slot, entry in latest.entries.items()
        if any(not wanted or flag.get("kind") in wanted for flag in entry.flags)
    }
