"""What each image model accepts and costs: the model table, as data, and its lookup.

The live API has per-model rules its published schema does not carry (gpt-image-2 refuses
``input_fidelity``; only gpt-image-2 takes free sizes). They ship in ``models.toml`` beside this
module, and ``CATALOG_IMAGEGEN_MODELS_FILE`` names a TOML file whose tables replace the fields
they give, so a user follows the provider's changes without a release. A model the table does not
know (a gateway's own name) gets permissive rules: nothing is refused before the provider says so.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

SHIPPED_TABLE = Path(__file__).with_name("models.toml")
ALL_FORMATS = ("png", "jpeg", "webp")


class ModelTableError(ValueError):
    """The model table file cannot be read; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class FreeSize:
    """gpt-image-2's rule: any WxH within these limits."""

    multiple: int = 16
    longest_side: int = 3840
    max_ratio: float = 3.0
    min_pixels: int = 655_360
    max_pixels: int = 8_294_400


@dataclass(frozen=True, slots=True)
class ModelPrices:
    per_image: Mapping[str, float] = field(default_factory=dict)  # "quality/WxH" -> USD
    per_million_tokens: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelRules:
    name: str  # the table entry that matched ("" for an unknown model)
    refuses: frozenset[str] = frozenset()  # answered with 400: never sent
    ignores: frozenset[str] = frozenset()  # accepted without effect: not sent either
    sizes: tuple[str, ...] | None = None  # None: free sizes within ``free_size`` (or any)
    free_size: FreeSize | None = None
    qualities: tuple[str, ...] | None = None  # None: any
    output_formats: tuple[str, ...] = ALL_FORMATS
    transparent_background: bool = True
    max_input_images: int = 16
    max_prompt_chars: int | None = None
    batch: bool = False
    shutdown: date | None = None
    notice: str = ""
    prices: ModelPrices = field(default_factory=ModelPrices)

    @property
    def known(self) -> bool:
        return bool(self.name)

    def sends(self, parameter: str) -> bool:
        return parameter not in self.refuses and parameter not in self.ignores

    def shut_down_by(self, today: date) -> bool:
        return self.shutdown is not None and self.shutdown <= today


PERMISSIVE = ModelRules(name="")


@dataclass(frozen=True, slots=True)
class ModelTable:
    models: Mapping[str, ModelRules] = field(default_factory=dict)

    def rules_for(self, model: str) -> ModelRules:
        """The exact entry, else the longest family whose name starts ``model`` (``gpt-image-2``
        covers ``gpt-image-2-2026-04-21``), else permissive rules."""
        if model in self.models:
            return self.models[model]
        families = [name for name in self.models if model.startswith(name + "-")]
        if not families:
            return PERMISSIVE
        return self.models[max(families, key=len)]


def model_table(raw: Mapping[str, Mapping[str, Any]]) -> ModelTable:
    """The table from its TOML form (``{"gpt-image-2": {"refuses": [...], ...}}``)."""
    return ModelTable({name: _rules(name, fields) for name, fields in raw.items()})


def load_model_table(path: str | Path | None = None) -> ModelTable:
    """The shipped table, with the file at ``path`` (if any) replacing the fields it gives."""
    raw = _read(SHIPPED_TABLE)
    if path:
        for name, fields in _read(Path(path)).items():
            raw[name] = {**raw.get(name, {}), **fields}
    try:
        return model_table(raw)
    except (TypeError, ValueError, KeyError) as error:
        raise ModelTableError(f"model table {path or SHIPPED_TABLE}: {error}") from None


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ModelTableError(f"cannot read the model table {path}: {error}") from None
    models = document.get("models")
    if not isinstance(models, dict):
        raise ModelTableError(f'model table {path}: no [models."NAME"] tables')
    return {str(name): dict(fields) for name, fields in models.items()}


def _rules(name: str, fields: Mapping[str, Any]) -> ModelRules:
    unknown = set(fields) - _FIELDS
    if unknown:
        raise ValueError(f"models.{name}: unknown field {sorted(unknown)[0]!r}")
    sizes = fields.get("sizes", "free")
    free = fields.get("free_size")
    prices = fields.get("prices", {})
    return ModelRules(
        name=name,
        refuses=frozenset(fields.get("refuses", ())),
        ignores=frozenset(fields.get("ignores", ())),
        sizes=None if sizes == "free" else tuple(sizes),
        free_size=FreeSize(**free) if free is not None else None,
        qualities=tuple(fields["qualities"]) if "qualities" in fields else None,
        output_formats=tuple(fields.get("output_formats", ALL_FORMATS)),
        transparent_background=bool(fields.get("transparent_background", True)),
        max_input_images=int(fields.get("max_input_images", 16)),
        max_prompt_chars=fields.get("max_prompt_chars"),
        batch=bool(fields.get("batch", False)),
        shutdown=_date(fields.get("shutdown")),
        notice=str(fields.get("notice", "")),
        prices=ModelPrices(
            per_image=dict(prices.get("per_image", {})),
            per_million_tokens=dict(prices.get("per_million_tokens", {})),
        ),
    )


def _date(value: object) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


_FIELDS = frozenset(
    [
        "refuses",
        "ignores",
        "sizes",
        "free_size",
        "qualities",
        "output_formats",
        "transparent_background",
        "max_input_images",
        "max_prompt_chars",
        "batch",
        "shutdown",
        "notice",
        "prices",
    ]
)
