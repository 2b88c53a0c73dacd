"""What of each manifest the review pages read, parsed straight from the stored bytes.

A 10,000-image run manifest is about 10 MB of JSON, and the storefront's current manifest as
much again; most of it is what only publishing needs (checksums, sizes, renditions, request
digests). Parsing all of it into Python objects was most of a big run's first open. pydantic's
JSON parser builds objects only for the fields a shape names and skips the rest, about three times
faster than parsing everything with orjson. Each shape keeps what its pages show:

- ``GRID_RUN``: a run manifest with each image cut to what the grid and the enlarged image show;
  every other field (summary, catalog, jobs) whole.
- ``STOREFRONT``: the storefront manifest's images, cut to what an earlier image shows.
- ``RUN_HEADING``: what the runs list shows of a run manifest, small enough to keep for each.
- ``WHOLE``: everything, for what needs a whole ``ManifestEntry`` (regenerating).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ConfigDict, TypeAdapter, with_config
from typing_extensions import TypedDict


@dataclass(frozen=True)
class DocumentShape:
    name: str
    parse: Callable[[bytes], Any]  # raises ValueError on bytes that are not such a document


@with_config(ConfigDict(extra="ignore"))
class GridImage(TypedDict, total=False):
    key: Any
    storage_key: Any
    colour: Any
    flags: Any
    prompt: Any
    run_id: Any


@with_config(ConfigDict(extra="ignore"))
class EarlierImage(TypedDict, total=False):
    key: Any
    storage_key: Any
    run_id: Any


@with_config(ConfigDict(extra="allow"))
class GridRun(TypedDict, total=False):
    images: dict[str, dict[str, dict[str, dict[str, GridImage]]]]


@with_config(ConfigDict(extra="ignore"))
class Storefront(TypedDict, total=False):
    images: dict[str, dict[str, dict[str, dict[str, EarlierImage]]]]


@with_config(ConfigDict(extra="ignore"))
class HeadingJob(TypedDict, total=False):
    template: Any
    template_label: Any
    template_version: Any


@with_config(ConfigDict(extra="ignore"))
class RunHeading(TypedDict, total=False):
    """What the runs list shows of a run (``run_history.status_line``)."""

    run_id: Any
    started_at: Any
    finished_at: Any
    catalog: Any
    preview: Any
    summary: Any
    jobs: list[HeadingJob]


def _shape(name: str, adapter: TypeAdapter[Any]) -> DocumentShape:
    return DocumentShape(name, adapter.validate_json)


WHOLE = DocumentShape("whole", orjson.loads)
GRID_RUN = _shape("grid run", TypeAdapter(GridRun))
STOREFRONT = _shape("storefront", TypeAdapter(Storefront))
_HEADING = TypeAdapter(RunHeading)


def _run_heading(data: bytes) -> Any:
    heading = _HEADING.validate_json(data)
    # Jobs are read only for template labels (the last labelled row of each template wins), so
    # a heading keeps that row of each and stays small enough to keep for every listed run.
    labelled = {
        job.get("template"): job for job in heading.get("jobs", ()) if job.get("template_label")
    }
    heading["jobs"] = list(labelled.values())
    return heading


RUN_HEADING = DocumentShape("run heading", _run_heading)
