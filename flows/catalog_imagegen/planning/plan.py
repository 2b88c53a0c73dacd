"""Planning: products x colours x seasons x templates -> jobs. Pure: no network, disk or clock.

Every job carries its rendered prompt, its image settings and a key derived from everything that
changes the image (model, prompt, mode, settings, template and version, source image digest,
and the base job for chained variants), so the same inputs give the same key on any machine.
A chained variant's key stays provisional until its base image exists: ``jobs.with_base`` then
adds the base's digest, which only the run can know.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from catalog_imagegen.catalog.model import Colour, Product, Reject
from catalog_imagegen.generation.providers.base import Mode
from catalog_imagegen.planning.jobs import Job, derive_key
from catalog_imagegen.planning.prompt_limits import prompt_limit
from catalog_imagegen.planning.templates import PromptTemplate, Season, TemplateError

DEFAULT_SEASON = "evergreen"


@dataclass(frozen=True, slots=True)
class PlanOptions:
    model: str
    seasons: Sequence[str] = ()  # empty: each product's own seasons, else DEFAULT_SEASON
    templates: Sequence[str] = ()  # empty: each product's own templates, else all templates
    source_digests: Mapping[str, str] = field(default_factory=dict)
    # (index, count): plan only the products of this shard; a product never spans shards.
    shard: tuple[int, int] | None = None
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
        if options.shard and shard_of(product.sku, options.shard[1]) != options.shard[0]:
            continue
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
            if _edits_photo(template) and not explicit and not _has_source(product):
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
            except PromptTooLong as error:
                plan.rejects.append(Reject(file, product.row, "prompt", str(error), product.sku))
    return plan


def shard_of(sku: str, count: int) -> int:
    """The shard a SKU belongs to: stable across machines, about even for any SKU scheme."""
    return int(hashlib.sha256(sku.encode()).hexdigest()[:8], 16) % count


class _MissingSource(Exception):
    pass


class PromptTooLong(Exception):
    """A rendered prompt is longer than the model takes: the provider would refuse it."""


def _edits_photo(template: PromptTemplate) -> bool:
    return template.mode == "edit" or template.variant_strategy == "edit_source"


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
    if template.variant_strategy == "chain":
        return [job for s in seasons for job in _chain(product, template, s, options)]
    mode: Mode = "edit" if _edits_photo(template) else "generate"
    jobs = []
    for season in seasons:
        for colour in product.colours:
            if template.variant_strategy == "edit_source" and colour.implied:
                continue  # an edit into the colour the photo already shows: paid, changes nothing
            source = colour.source_image or product.source_image
            if mode == "edit" and not source:
                raise _MissingSource(
                    f"template '{template.name}' edits the product photo, but the row has no "
                    "source_image"
                )
            prompt = _render(product, colour, season, template)
            note = options.prompt_notes.get((product.sku, colour.key, season.name, template.name))
            if note:
                prompt = f"{prompt}\n\n{note}"
            jobs.append(_job(product, colour, season, template, prompt, mode, source, options))
    return jobs


def _chain(
    product: Product, template: PromptTemplate, season: Season, options: PlanOptions
) -> list[Job]:
    """One base image (an edit of the photo when there is one), then every other colour edited
    from that base, so all colours show the same product in the same pose. The base comes first."""
    if not product.colours:
        return []
    first, *others = product.colours
    source = first.source_image or product.source_image
    mode: Mode = "edit" if source else "generate"
    prompt = _render(product, first, season, template)
    base = _job(product, first, season, template, prompt, mode, source, options)
    jobs = [base]
    for colour in others:
        prompt = _render(product, colour, season, template, base_colour=first.name)
        dependent = _job(product, colour, season, template, prompt, "edit", None, options, base)
        jobs.append(dependent)
    return jobs


def _render(
    product: Product,
    colour: Colour,
    season: Season,
    template: PromptTemplate,
    *,
    base_colour: str = "",
) -> str:
    context = _context(product, colour, season, template)
    context["base_colour"] = base_colour  # chain templates: the colour being edited, "" for bases
    return template.render(context, sku=product.sku)


def _job(
    product: Product,
    colour: Colour,
    season: Season,
    template: PromptTemplate,
    prompt: str,
    mode: Mode,
    source: str | None,
    options: PlanOptions,
    base: Job | None = None,
) -> Job:
    if len(prompt) > (limit := prompt_limit(options.model)):
        raise PromptTooLong(
            f"template '{template.name}' renders a {len(prompt):,}-character prompt; "
            f"{options.model} takes at most {limit:,}"
        )
    source_ref = None
    if mode == "edit" and source:
        source_ref = options.source_digests.get(source, f"uri:{source}")
    settings = template.settings
    if mode == "edit" and settings.input_fidelity is None:
        settings = replace(settings, input_fidelity="high")
    key = derive_key(
        options.model,
        prompt,
        mode,
        settings,
        template.name,
        template.version,
        source_ref,
        product.sku,
        colour.key,
        season.name,
        *(("base", base.key) if base else ()),
    )
    return Job(
        key=key,
        sku=product.sku,
        title=product.title,
        colour=colour,
        season=season.name,
        template=template.name,
        template_version=template.version,
        template_label=template.label,
        prompt=prompt,
        mode=mode,
        settings=settings,
        model=options.model,
        row=product.row,
        source_image=source if mode == "edit" and base is None else None,
        depends_on=base.key if base else None,
        base_storage_key=base.storage_key if base else None,
        channels=template.channels,
        request_key=derive_key(
            "request",
            options.model,
            prompt,
            mode,
            settings,
            source_ref,
            *(("base", base.request_identity) if base else ()),
        ),
    )


def _context(
    product: Product, colour: Colour, season: Season, template: PromptTemplate
) -> dict[str, Any]:
    fields = {"sku": product.sku, "title": product.title, "category": product.category}
    fields.update(product.fields)
    written = "" if colour.implied else colour.name
    return {
        "product": fields,
        "sku": product.sku,
        "title": product.title,
        "category": product.category,
        "colour": written,
        "color": written,
        "coloured_title": coloured_title(product.title, written),
        "colour_key": colour.key,
        "season": season.as_context(),
        "template": template.name,
        "base_colour": "",
    }


def coloured_title(title: str, colour: str) -> str:
    """``Navy Wool Jumper`` for Navy; the title alone when it already names the colour (``Yellow
    Wool Jumper`` for Yellow, not "Yellow Yellow Wool Jumper") or there is no colour to name."""
    if not colour or f" {colour.casefold()} " in f" {title.casefold()} ":
        return title
    return f"{colour} {title}"
