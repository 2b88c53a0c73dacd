"""Planning: products x colours x seasons x templates -> jobs. Pure: no network, disk or clock.

Every job carries its rendered prompt, its image settings and a key derived from everything that
changes the image (model, prompt, mode, settings, template and version, source image digest,
and the base job for chained variants), so the same inputs give the same key on any machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog_imagegen.catalog.model import Colour, Product, Reject
from catalog_imagegen.jobs import Job, derive_key
from catalog_imagegen.prompt_templates import PromptTemplate, Season, TemplateError

DEFAULT_SEASON = "evergreen"


@dataclass(frozen=True, slots=True)
class PlanOptions:
    model: str
    seasons: Sequence[str] = ()  # empty: each product's own seasons, else DEFAULT_SEASON
    templates: Sequence[str] = ()  # empty: each product's own templates, else all templates
    source_digests: Mapping[str, str] = field(default_factory=dict)
    # Notes appended to the prompt of one slot (sku, colour_key, season, template): a reviewer
    # rejected its image, so the changed prompt gives a new key and the image is made again.
    prompt_notes: Mapping[tuple[str, str, str, str], str] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    jobs: list[Job]
    rejects: list[Reject]


def plan_jobs(
    products: Iterable[Product],
    templates: Mapping[str, PromptTemplate],
    seasons: Mapping[str, Season],
    options: PlanOptions,
    *,
    file: str = "catalog",
) -> Plan:
    plan = Plan(jobs=[], rejects=[])
    for product in products:
        chosen_seasons = _choose(product.seasons, options.seasons, DEFAULT_SEASON)
        chosen_templates = _choose(product.templates, options.templates, *sorted(templates))
        problem = _unknown(chosen_seasons, seasons, "seasons", product, file) or _unknown(
            chosen_templates, templates, "template", product, file
        )
        if problem:
            plan.rejects.append(problem)
            continue
        explicit = bool(product.templates or options.templates)
        for name in chosen_templates:
            template = templates[name]
            if template.mode == "edit" and not explicit and not _has_source(product):
                continue  # an edit template the row did not ask for needs a photo it lacks
            try:
                plan.jobs.extend(
                    _jobs_for(product, template, [seasons[s] for s in chosen_seasons], options)
                )
            except TemplateError as error:
                plan.rejects.append(Reject(file, product.row, "template", str(error), product.sku))
            except _MissingSource as error:
                plan.rejects.append(
                    Reject(file, product.row, "source_image", str(error), product.sku)
                )
    return plan


class _MissingSource(Exception):
    pass


def _has_source(product: Product) -> bool:
    return bool(product.source_image) or all(c.source_image for c in product.colours)


def _choose(own: Sequence[str], selected: Sequence[str], *fallback: str) -> list[str]:
    """The product's own list narrowed by the run's selection; the selection; or the fallback."""
    if own and selected:
        return [name for name in own if name in selected]
    return list(own or selected or fallback)


def _unknown(
    names: Sequence[str], known: Mapping[str, object], column: str, product: Product, file: str
) -> Reject | None:
    missing = [name for name in names if name not in known]
    if not missing:
        return None
    choices = ", ".join(sorted(known))
    reason = f"unknown {column.rstrip('s')} '{missing[0]}' (known: {choices})"
    return Reject(file, product.row, column, reason, product.sku, value=missing[0])


def _jobs_for(
    product: Product, template: PromptTemplate, seasons: Sequence[Season], options: PlanOptions
) -> list[Job]:
    jobs = []
    for season in seasons:
        for colour in product.colours:
            source = colour.source_image or product.source_image
            if template.mode == "edit" and not source:
                raise _MissingSource(
                    f"template '{template.name}' edits the product photo, but the row has no "
                    "source_image"
                )
            prompt = template.render(_context(product, colour, season, template), sku=product.sku)
            note = options.prompt_notes.get((product.sku, colour.key, season.name, template.name))
            if note:
                prompt = f"{prompt}\n\n{note}"
            jobs.append(_job(product, colour, season, template, prompt, source, options))
    return jobs


def _job(
    product: Product,
    colour: Colour,
    season: Season,
    template: PromptTemplate,
    prompt: str,
    source: str | None,
    options: PlanOptions,
) -> Job:
    source_ref = None
    if template.mode == "edit" and source:
        source_ref = options.source_digests.get(source, f"uri:{source}")
    key = derive_key(
        options.model,
        prompt,
        template.mode,
        template.settings,
        template.name,
        template.version,
        source_ref,
        product.sku,
        colour.key,
        season.name,
    )
    return Job(
        key=key,
        sku=product.sku,
        title=product.title,
        colour=colour,
        season=season.name,
        template=template.name,
        template_version=template.version,
        prompt=prompt,
        mode=template.mode,
        settings=template.settings,
        model=options.model,
        row=product.row,
        source_image=source if template.mode == "edit" else None,
    )


def _context(
    product: Product, colour: Colour, season: Season, template: PromptTemplate
) -> dict[str, Any]:
    fields = {"sku": product.sku, "title": product.title, "category": product.category}
    fields.update(product.fields)
    return {
        "product": fields,
        "sku": product.sku,
        "title": product.title,
        "category": product.category,
        "colour": colour.name,
        "color": colour.name,
        "colour_key": colour.key,
        "season": season.as_context(),
        "template": template.name,
    }
