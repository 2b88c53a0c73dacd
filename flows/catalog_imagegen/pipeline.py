"""The run as plain functions: plan a catalog, split off what is done, make the rest, publish.

Each step is usable without Prefect; the flows wrap them in tasks and artifacts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from catalog_imagegen.catalog.model import CatalogRead, Reject
from catalog_imagegen.catalog.reading import read_catalog
from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.plan import PlanOptions, plan_jobs
from catalog_imagegen.planning.templates import PromptTemplate, Season, load_seasons, load_templates
from catalog_imagegen.review.image_review import group_of
from catalog_imagegen.settings import Settings


@dataclass(slots=True)
class PreparedRun:
    catalog: CatalogRead
    jobs: list[Job]
    rejects: list[Reject]


def prepare_run(
    catalog_path: str,
    templates: dict[str, PromptTemplate],
    seasons: dict[str, Season],
    *,
    model: str,
    season_names: Sequence[str] = (),
    template_names: Sequence[str] = (),
    strict: bool = False,
    shard: tuple[int, int] | None = None,
    catalog_format: str | None = None,
    sheet: str | None = None,
    prompt_notes: Mapping[tuple[str, str, str, str], str] | None = None,
    include_archived: bool = False,
) -> PreparedRun:
    catalog = read_catalog(
        catalog_path,
        strict=strict,
        format=catalog_format,
        sheet=sheet,
        include_archived=include_archived,
    )
    loader = SourceLoader(Path(catalog_path).resolve().parent)
    sources = [p.source_image for p in catalog.products if p.source_image] + [
        c.source_image for p in catalog.products for c in p.colours if c.source_image
    ]
    options = PlanOptions(
        model=model,
        seasons=tuple(season_names),
        templates=tuple(template_names),
        source_digests=loader.local_digests(s for s in sources if s),
        shard=shard,
        prompt_notes=prompt_notes or {},
    )
    plan = plan_jobs(catalog.products, templates, seasons, options, file=Path(catalog_path).name)
    return PreparedRun(catalog=catalog, jobs=plan.jobs, rejects=catalog.rejects + plan.rejects)


class PlanRequest:
    """What to plan: the run's selection, the catalog's format, the shard, reviewers' notes.
    A plain class, so Prefect neither walks nor hashes the notes of every rejected image."""

    def __init__(
        self,
        *,
        seasons: Sequence[str] = (),
        templates: Sequence[str] = (),
        strict: bool = False,
        shard: tuple[int, int] | None = None,
        catalog_format: str | None = None,
        sheet: str | None = None,
        prompt_notes: dict[tuple[str, str, str, str], str] | None = None,
        include_archived: bool = False,
    ) -> None:
        self.seasons, self.templates, self.strict = seasons, templates, strict
        self.shard, self.catalog_format, self.sheet = shard, catalog_format, sheet
        self.prompt_notes = prompt_notes or {}
        self.include_archived = include_archived

    def __repr__(self) -> str:
        return f"PlanRequest(seasons={self.seasons}, templates={self.templates})"


def plan_catalog(catalog: str, settings: Settings, request: PlanRequest) -> PreparedRun:
    """Read and plan ``catalog`` with the templates and seasons the settings name."""
    return prepare_run(
        catalog,
        load_templates(settings.templates_dir),
        load_seasons(settings.templates_dir),
        model=settings.model,
        season_names=request.seasons,
        template_names=request.templates,
        strict=request.strict,
        shard=request.shard,
        catalog_format=request.catalog_format,
        sheet=request.sheet,
        prompt_notes=request.prompt_notes,
        include_archived=request.include_archived,
    )


def chunk_jobs(jobs: Sequence[Job], size: int) -> Iterator[list[Job]]:
    """Chunks of about ``size`` jobs. A chunk ends only where a product x season x template group
    does, so a dependent shares its base's chunk and each group's colours are checked together."""
    chunk: list[Job] = []
    for job in jobs:
        if len(chunk) >= size and job.depends_on is None and group_of(job) != group_of(chunk[-1]):
            yield chunk
            chunk = []
        chunk.append(job)
    if chunk:
        yield chunk
