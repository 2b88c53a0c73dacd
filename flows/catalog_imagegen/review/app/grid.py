"""A run's review grid as data: every slot's image, status, flags, decision and earlier image,
filtered and cut into pages. Pure: the run manifest, the decisions and the storefront's current
images in, rows out; the pages render it. Images stay JSON objects, cut to what the pages show
(``document_shapes``): making 20,000 ``ManifestEntry`` objects for one page of a big run would cost
more than the page. The decision-free part of a run's grid (``RunGrid``) is built once per pair of
manifests; each request only lays its decisions over it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog_imagegen.review.decisions import Decision, Decisions, Slot, slot_name
from catalog_imagegen.storage.manifest import ManifestEntry

SKUS_PER_PAGE = 10
FILTER_NAMES = ("status", "flag", "undecided", "template", "season", "colour", "q")


# Not frozen, though never changed (the cells of a run are shared by every request): a frozen
# dataclass's __init__ costs three times as much, and a big run's first open makes 10,000 of them.
@dataclass(slots=True)
class GridCell:
    slot: Slot
    colour: str  # as the catalog writes it
    status: str  # generated, skipped, failed, not_dispatched
    reason: str
    template_version: str
    flags: tuple[Mapping[str, Any], ...]
    entry: Mapping[str, Any] | None  # the run manifest's image object
    decision: Decision | None
    earlier: Mapping[str, Any] | None  # what the storefront shows in this slot, when different
    regeneration: Mapping[str, Any] | None

    @property
    def name(self) -> str:
        return slot_name(self.slot)

    @property
    def label(self) -> str:
        return " ".join(self.slot)

    def decided(
        self, decision: Decision | None, regeneration: Mapping[str, Any] | None
    ) -> GridCell:
        """A copy of this cell with a decision and a regeneration (``dataclasses.replace``, only
        faster: a big run has thousands of decisions)."""
        return GridCell(
            self.slot, self.colour, self.status, self.reason, self.template_version, self.flags,
            self.entry, decision, self.earlier, regeneration,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class GridFilter:
    status: str = ""  # "failed": failed or not made
    flag: str = ""  # a flag kind, or "any"
    undecided: bool = False
    template: str = ""
    season: str = ""
    colour: str = ""
    q: str = ""  # part of a SKU, any case

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> GridFilter:
        values = {name: query.get(name, "").strip() for name in FILTER_NAMES}
        return cls(**{**values, "undecided": bool(values["undecided"])})  # type: ignore[arg-type]

    def query(self) -> dict[str, str]:
        return {
            name: ("1" if value is True else str(value))
            for name in FILTER_NAMES
            if (value := getattr(self, name))
        }

    def matches(self, cell: GridCell) -> bool:
        sku, colour_key, season, template = cell.slot
        kinds = {str(flag.get("kind")) for flag in cell.flags}
        return all(
            (
                not self.status or (cell.status in ("failed", "not_dispatched")),
                not self.flag or (self.flag in kinds or (self.flag == "any" and bool(kinds))),
                not self.undecided or (cell.decision is None and cell.entry is not None),
                not self.template or template == self.template,
                not self.season or season == self.season,
                not self.colour or self.colour.lower() in (colour_key, cell.colour.lower()),
                not self.q or self.q.lower() in sku.lower(),
            )
        )


@dataclass(slots=True)
class SkuRow:
    sku: str
    grids: dict[str, dict[tuple[str, str], GridCell]] = field(default_factory=dict)  # template

    def colours(self, template: str) -> list[str]:
        return list(dict.fromkeys(colour for colour, _ in self.grids[template]))

    def seasons(self, template: str) -> list[str]:
        return list(dict.fromkeys(season for _, season in self.grids[template]))

    def cells(self) -> list[GridCell]:
        return [cell for grid in self.grids.values() for cell in grid.values()]


@dataclass(frozen=True, slots=True)
class GridPage:
    rows: list[SkuRow]
    matching: list[GridCell]  # every cell the filter shows, on every page
    page: int
    pages: int


@dataclass(frozen=True, slots=True)
class RunGrid:
    """A run's slots against one storefront version, before any decision: built once per pair
    of (immutable) manifests, then given each request's decisions with ``cells``."""

    undecided: list[GridCell]
    index: dict[str, int]  # slot name -> position in ``undecided``
    templates: list[str]
    seasons: list[str]  # in the run's order
    colours: list[str]
    flag_kinds: list[str]

    @classmethod
    def build(cls, document: Mapping[str, Any], storefront: Mapping[str, Any]) -> RunGrid:
        """``document``: the run manifest; ``storefront``: the nested ``images`` of the manifest
        ``latest.json`` points at."""
        images = document.get("images", {})
        cells = [_cell(job, images, storefront) for job in document.get("jobs", [])]
        return cls(
            undecided=cells,
            index={cell.name: n for n, cell in enumerate(cells)},
            templates=sorted({cell.slot[3] for cell in cells}),
            seasons=list(dict.fromkeys(cell.slot[2] for cell in cells)),
            colours=sorted({cell.colour for cell in cells}),
            flag_kinds=flag_kinds(cells),
        )

    def cells(self, decisions: Decisions) -> list[GridCell]:
        """Every planned slot of the run, in the run's order, with its decision and
        regeneration."""
        cells = list(self.undecided)
        for name in decisions.slots.keys() | decisions.regenerations.keys():
            if (n := self.index.get(name)) is not None:
                cells[n] = cells[n].decided(
                    decisions.slots.get(name), decisions.regenerations.get(name)
                )
        return cells


def grid_cells(
    document: Mapping[str, Any], decisions: Decisions, storefront: Mapping[str, Any]
) -> list[GridCell]:
    """Every planned slot of the run, in the run's order; ``storefront``: the nested ``images``
    of the manifest ``latest.json`` points at."""
    return RunGrid.build(document, storefront).cells(decisions)


def _cell(
    job: Mapping[str, Any], images: Mapping[str, Any], storefront: Mapping[str, Any]
) -> GridCell:
    slot = (job["sku"], job["colour"], job["season"], job["template"])
    entry, current = _image(images, slot), _image(storefront, slot)
    return GridCell(
        slot=slot,
        colour=entry.get("colour", job["colour"]) if entry else job["colour"],
        status=job.get("status", ""),
        reason=job.get("reason", ""),
        template_version=job.get("template_version", ""),
        flags=tuple(entry.get("flags", ()) if entry else job.get("flags", ())),
        entry=entry,
        decision=None,
        earlier=current if current and entry and current["key"] != entry["key"] else None,
        regeneration=None,
    )


def manifest_entry(document: Mapping[str, Any], cell: GridCell) -> ManifestEntry | None:
    """The slot's whole entry in ``document``, the whole run manifest (a cell keeps only what the
    pages show)."""
    data = _image(document.get("images", {}), cell.slot)
    return None if data is None else ManifestEntry.from_json(cell.slot, data)


def _image(images: Mapping[str, Any], slot: Slot) -> Mapping[str, Any] | None:
    sku, colour, season, template = slot
    found: Mapping[str, Any] | None = (
        images.get(sku, {}).get(colour, {}).get(season, {}).get(template)
    )
    return found


def page_of(cells: Sequence[GridCell], wanted: GridFilter, page: int) -> GridPage:
    """The cells ``wanted`` shows, grouped one row per SKU, ``SKUS_PER_PAGE`` SKUs a page."""
    matching = [cell for cell in cells if wanted.matches(cell)]
    skus = list(dict.fromkeys(cell.slot[0] for cell in matching))
    pages = max(1, -(-len(skus) // SKUS_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = set(skus[(page - 1) * SKUS_PER_PAGE : page * SKUS_PER_PAGE])
    return GridPage(_rows(c for c in matching if c.slot[0] in shown), matching, page, pages)


def _rows(cells: Iterable[GridCell]) -> list[SkuRow]:
    rows: dict[str, SkuRow] = {}
    for cell in cells:
        sku, _, season, template = cell.slot
        row = rows.setdefault(sku, SkuRow(sku))
        row.grids.setdefault(template, {})[(cell.colour, season)] = cell
    return list(rows.values())


def flag_kinds(cells: Iterable[GridCell]) -> list[str]:
    return sorted({str(flag.get("kind")) for cell in cells for flag in cell.flags})


def counts(cells: Sequence[GridCell]) -> dict[str, int]:
    decided = [cell.decision.decision for cell in cells if cell.decision is not None]
    return {
        "images": sum(1 for cell in cells if cell.entry is not None),
        "approved": decided.count("approved"),
        "rejected": decided.count("rejected"),
        "failed": sum(1 for cell in cells if cell.status in ("failed", "not_dispatched")),
        "flagged": sum(1 for cell in cells if cell.flags),
    }
