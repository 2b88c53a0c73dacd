"""What images cost: an estimate per job before dispatch, and the actual cost from token usage.

The default table holds OpenAI's public prices (USD) for gpt-image-1 and gpt-image-1-mini: per
image by quality and size for estimates, per million tokens for actual cost. gpt-image-2 is priced
like gpt-image-1 until its own prices are put in the table. The offline preview costs nothing.
A JSON file (``CATALOG_IMAGEGEN_PRICES_FILE``) adds models or replaces their prices::

    {"models": {"my-model": {"per_image": {"medium/1024x1024": 0.04},
                             "per_million_tokens": {"input_text": 5, "input_image": 10,
                                                    "output": 40}}}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from catalog_imagegen.generation.providers.offline import PREVIEW_MODEL
from catalog_imagegen.planning.jobs import Job

_GPT_IMAGE_1 = {
    "per_image": {
        "low/1024x1024": 0.011,
        "low/1024x1536": 0.016,
        "low/1536x1024": 0.016,
        "medium/1024x1024": 0.042,
        "medium/1024x1536": 0.063,
        "medium/1536x1024": 0.063,
        "high/1024x1024": 0.167,
        "high/1024x1536": 0.25,
        "high/1536x1024": 0.25,
    },
    "per_million_tokens": {"input_text": 5.0, "input_image": 10.0, "output": 40.0},
}
_GPT_IMAGE_1_MINI = {
    "per_image": {
        "low/1024x1024": 0.005,
        "low/1024x1536": 0.006,
        "low/1536x1024": 0.006,
        "medium/1024x1024": 0.011,
        "medium/1024x1536": 0.015,
        "medium/1536x1024": 0.015,
        "high/1024x1024": 0.036,
        "high/1024x1536": 0.052,
        "high/1536x1024": 0.052,
    },
    "per_million_tokens": {"input_text": 2.0, "input_image": 2.5, "output": 8.0},
}
DEFAULT_PRICES: Mapping[str, Mapping[str, Mapping[str, float]]] = {
    "gpt-image-1": _GPT_IMAGE_1,
    "gpt-image-2": _GPT_IMAGE_1,  # assumption: priced like gpt-image-1
    "gpt-image-1-mini": _GPT_IMAGE_1_MINI,
    PREVIEW_MODEL: {"per_image": {}, "per_million_tokens": {}},
}


# The Batch API charges half the synchronous price, per image and per token alike.
BATCH_PRICE_FRACTION = 0.5


@dataclass(frozen=True, slots=True)
class ModelPrices:
    per_image: Mapping[str, float] = field(default_factory=dict)  # "quality/size" -> USD
    per_million_tokens: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PriceTable:
    models: Mapping[str, ModelPrices] = field(default_factory=dict)

    def estimate(self, job: Job) -> float | None:
        """Estimated USD for a job before it runs; ``None`` when the table has no price."""
        if job.model == PREVIEW_MODEL:
            return 0.0
        prices = self.models.get(job.model)
        if prices is None:
            return None
        per_image = _per_image(prices, job.settings.quality, job.settings.size)
        return None if per_image is None else round(per_image * job.settings.n, 6)

    def actual(self, model: str, usage: Mapping[str, int] | None) -> float | None:
        """USD from the tokens a provider reported; ``None`` without usage or token prices."""
        prices = self.models.get(model)
        if not usage or prices is None or not prices.per_million_tokens:
            return None
        rates = prices.per_million_tokens
        image_in = usage.get("input_image_tokens", 0)
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
    """The listed price; ``auto`` quality or size is estimated at its dearest listed value."""
    if f"{quality}/{size}" in prices.per_image:
        return prices.per_image[f"{quality}/{size}"]
    matching = [
        price
        for name, price in prices.per_image.items()
        if quality in ("auto", name.split("/")[0]) and size in ("auto", name.split("/")[1])
    ]
    return max(matching) if matching else None


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


def load_price_table(path: str | Path | None) -> PriceTable:
    """The default table, with the models of the JSON file at ``path`` (if any) replacing it."""
    raw = dict(DEFAULT_PRICES)
    if path:
        try:
            raw.update(json.loads(Path(path).read_text())["models"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"cannot read the price table {path}: {error}") from None
    return price_table(raw)


DEFAULT_PRICE_TABLE = price_table(DEFAULT_PRICES)
