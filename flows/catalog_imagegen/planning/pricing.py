"""What images cost: an estimate per job before dispatch, and the actual cost from token usage.

Prices come from the model table (``generation/providers/models.toml``; per image by quality and
size for estimates, per million tokens for actual cost), so a model's rules and prices are kept
and overridden in one place. gpt-image-2's free sizes are estimated from the listed size of the
same shape (square, or 3:2) scaled by pixels. The offline preview costs nothing. A JSON file
(``CATALOG_IMAGEGEN_PRICES_FILE``) still adds models or replaces their prices::

    {"models": {"my-model": {"per_image": {"medium/1024x1024": 0.04},
                             "per_million_tokens": {"input_text": 5, "input_image": 10,
                                                    "output": 40}}}}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from catalog_imagegen.generation.providers.model_rules import (
    ModelPrices,
    ModelTable,
    load_model_table,
)
from catalog_imagegen.generation.providers.offline import PREVIEW_MODEL
from catalog_imagegen.planning.jobs import Job

_SIZE = re.compile(r"^(\d+)x(\d+)$")
_SQUARE, _WIDE, _TALL = "1024x1024", "1536x1024", "1024x1536"
# The Batch API charges half the synchronous price, per image and per token alike.
BATCH_PRICE_FRACTION = 0.5


@dataclass(frozen=True, slots=True)
class PriceTable:
    models: Mapping[str, ModelPrices] = field(default_factory=dict)

    def prices_for(self, model: str) -> ModelPrices | None:
        """The exact model's prices, else its family's (``gpt-image-2-2026-04-21``)."""
        if model in self.models:
            return self.models[model]
        families = [name for name in self.models if model.startswith(name + "-")]
        return self.models[max(families, key=len)] if families else None

    def estimate(self, job: Job) -> float | None:
        """Estimated USD for a job before it runs; ``None`` when the table has no price."""
        if job.model == PREVIEW_MODEL:
            return 0.0
        prices = self.prices_for(job.model)
        if prices is None:
            return None
        per_image = _per_image(prices, job.settings.quality, job.settings.size)
        return None if per_image is None else round(per_image * job.settings.n, 6)

    def actual(self, model: str, usage: Mapping[str, int] | None) -> float | None:
        """USD from the tokens a provider reported; ``None`` without usage or token prices."""
        prices = self.prices_for(model)
        if not usage or prices is None or not prices.per_million_tokens:
            return None
        rates = prices.per_million_tokens
        image_in = usage.get(
            "input_image_tokens", usage.get("input_tokens_details.image_tokens", 0)
        )
        text_in = usage.get("input_text_tokens", usage.get("input_tokens", 0) - image_in)
        output = usage.get("output_tokens", 0)
        dollars = (
            text_in * rates.get("input_text", 0.0)
            + image_in * rates.get("input_image", rates.get("input_text", 0.0))
            + output * rates.get("output", 0.0)
        ) / 1_000_000
        return round(dollars, 6)

    def for_batch(self, fraction: float = BATCH_PRICE_FRACTION) -> PriceTable:
        """The same table at Batch API prices."""
        return PriceTable(
            {
                model: ModelPrices(
                    per_image={k: round(v * fraction, 6) for k, v in prices.per_image.items()},
                    per_million_tokens={
                        k: v * fraction for k, v in prices.per_million_tokens.items()
                    },
                )
                for model, prices in self.models.items()
            }
        )


def _per_image(prices: ModelPrices, quality: str, size: str) -> float | None:
    """The listed price; ``auto`` quality or size is estimated at its dearest listed value; a
    free size at the listed size of its shape, scaled by pixels."""
    if f"{quality}/{size}" in prices.per_image:
        return prices.per_image[f"{quality}/{size}"]
    if (match := _SIZE.match(size)) and quality != "auto":
        return _free_size_price(prices, quality, int(match.group(1)), int(match.group(2)))
    matching = [
        price
        for name, price in prices.per_image.items()
        if quality in ("auto", name.split("/")[0]) and size in ("auto", name.split("/")[1])
    ]
    return max(matching) if matching else None


def _free_size_price(prices: ModelPrices, quality: str, width: int, height: int) -> float | None:
    """Output tokens grow with pixels; gpt-image-2's 3:2 images cost less per pixel than its
    squares, so the nearer shape is the reference."""
    ratio = max(width, height) / min(width, height)
    reference = _SQUARE if ratio < 1.25 else _WIDE if width > height else _TALL
    price = prices.per_image.get(f"{quality}/{reference}")
    if price is None:
        return None
    ref_width, ref_height = (int(side) for side in reference.split("x"))
    return round(price * width * height / (ref_width * ref_height), 6)


def price_table(raw: Mapping[str, Mapping[str, Mapping[str, float]]]) -> PriceTable:
    return PriceTable(
        {
            model: ModelPrices(
                per_image=dict(prices.get("per_image", {})),
                per_million_tokens=dict(prices.get("per_million_tokens", {})),
            )
            for model, prices in raw.items()
        }
    )


def prices_of(table: ModelTable) -> dict[str, ModelPrices]:
    """Every priced model of the model table, and the offline preview at no cost."""
    priced = {name: rules.prices for name, rules in table.models.items() if rules.prices.per_image}
    return {**priced, PREVIEW_MODEL: ModelPrices()}


def load_price_table(path: str | Path | None, models: ModelTable | None = None) -> PriceTable:
    """The model table's prices, with the models of the JSON file at ``path`` (if any)
    replacing them."""
    table = dict(prices_of(models or load_model_table()))
    if path:
        try:
            table.update(price_table(json.loads(Path(path).read_text())["models"]).models)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"cannot read the price table {path}: {error}") from None
    return PriceTable(table)


DEFAULT_PRICE_TABLE = PriceTable(prices_of(load_model_table()))
