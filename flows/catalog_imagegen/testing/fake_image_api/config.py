"""How the fake images API behaves: latency, rate limit, injected faults and content quirks.

One frozen value, swapped whole when a test changes it, so a request in flight always sees one
consistent configuration. Fault rates are probabilities of one shared draw per request: at most
one fault fires, and their sum must stay at or below 1.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from catalog_imagegen.catalog.colours import RGB, palette_rgb, parse_hex

ResponseStyle = Literal["b64", "url"]
# "cut_json": a well-framed 200 whose JSON stops halfway (the client's JSON parser fails).
# "early_close": headers promise the whole body, half is sent, then the connection closes.
Truncation = Literal["cut_json", "early_close"]

OPENAI_IMAGE_MODELS = (
    "gpt-image-1",
    "gpt-image-1-mini",
    "gpt-image-1.5",
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "chatgpt-image-latest",
    "dall-e-2",
    "dall-e-3",
)

# In the order their probability bands are laid out on the shared draw.
FAULT_NAMES = (
    "error_500",
    "error_503",
    "rate_limit_429",
    "drop_connection",
    "truncated_body",
    "invalid_base64",
)


@dataclass(frozen=True, slots=True)
class FakeImageApiConfig:
    latency_s: float = 0.0
    # Images (not requests) accepted per sliding 60 s window; None means unlimited.
    rpm_limit: int | None = None
    error_500: float = 0.0
    error_503: float = 0.0
    rate_limit_429: float = 0.0
    drop_connection: float = 0.0
    truncated_body: float = 0.0
    invalid_base64: float = 0.0
    seed: int = 0
    truncation: Truncation = "cut_json"
    # Retry-After sent with the random ``rate_limit_429`` fault.
    random_429_retry_after_s: float = 1.0
    moderation_pattern: str | None = None
    quota_exhausted: bool = False
    api_key: str | None = None
    wrong_colour_pattern: str | None = None
    # A palette name or ``#hex`` drawn instead of the prompt's colour.
    wrong_colour: str = "magenta"
    same_image_for_all: bool = False
    # Generations show a small product (a third of the frame) on a light grey studio background:
    # what a marketplace's white-background and product-fill rules reject.
    small_product_on_grey: bool = False
    response_style: ResponseStyle = "b64"
    # Pad every image to about this many bytes (still a valid image), e.g. for memory benchmarks.
    image_bytes: int | None = None
    models: tuple[str, ...] = OPENAI_IMAGE_MODELS
    # Served models whose ``GET /v1/models/{model}`` carries a past ``shutdown_date``.
    shut_down_models: tuple[str, ...] = ()
    # False: no ``/v1/models`` endpoint at all (404 on the path), as some gateways have.
    models_endpoint: bool = True
    # False keeps only the size and sha256 of uploaded files, so long benchmarks stay small.
    record_file_bytes: bool = True
    # Batches: seconds from creation until a batch's work is done, and, when set, the fraction of
    # its lines finished before it expires (the rest are not done).
    batch_delay_s: float = 0.0
    batch_expire_after: float | None = None
    # Seconds the answer to a batch creation is held back after the batch exists, so a test can
    # kill its client between the batch being created and the client recording it.
    batch_create_stall_s: float = 0.0

    def __post_init__(self) -> None:
        rates = [getattr(self, name) for name in FAULT_NAMES]
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError(f"fault rates must be in [0, 1] and sum to at most 1, got {rates}")
        if self.latency_s < 0 or (self.rpm_limit is not None and self.rpm_limit < 1):
            raise ValueError("latency_s must be >= 0 and rpm_limit >= 1 (or None)")
        if self.batch_delay_s < 0 or not 0.0 <= (self.batch_expire_after or 0.0) <= 1.0:
            raise ValueError("batch_delay_s must be >= 0 and batch_expire_after in [0, 1]")
        if self.response_style not in ("b64", "url"):
            raise ValueError(f"response_style must be 'b64' or 'url', not {self.response_style!r}")
        if self.truncation not in ("cut_json", "early_close"):
            raise ValueError(f"truncation must be 'cut_json' or 'early_close': {self.truncation!r}")
        for pattern in (self.moderation_pattern, self.wrong_colour_pattern):
            if pattern is not None:
                re.compile(pattern)
        if self.wrong_colour_rgb is None:
            raise ValueError(
                f"wrong_colour is neither a palette name nor #hex: {self.wrong_colour}"
            )

    @property
    def wrong_colour_rgb(self) -> RGB | None:
        return parse_hex(self.wrong_colour) or palette_rgb(self.wrong_colour)

    def fault_at(self, draw: float) -> str | None:
        """The fault whose probability band holds ``draw`` (a number in [0, 1)), if any."""
        upper = 0.0
        for name in FAULT_NAMES:
            upper += getattr(self, name)
            if draw < upper:
                return name
        return None

    def with_changes(self, changes: Mapping[str, Any]) -> FakeImageApiConfig:
        """A copy with ``changes`` applied, as sent by ``configure(**changes)`` or as JSON."""
        known = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(unknown)}")
        coerced = dict(changes)
        for name in ("models", "shut_down_models"):
            if name in coerced:
                coerced[name] = tuple(coerced[name])
        for name, value in coerced.items():
            _check_type(name, value, getattr(self, name), known[name].default)
        return dataclasses.replace(self, **coerced)

    def to_json(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["models"] = list(self.models)
        values["shut_down_models"] = list(self.shut_down_models)
        return values


def _check_type(name: str, value: object, current: object, default: object) -> None:
    """Reject JSON values of the wrong kind early, with a message naming the field."""
    nullable = name in _NULLABLE
    if value is None:
        if not nullable:
            raise ValueError(f"{name} cannot be null")
        return
    expected = _FIELD_KINDS.get(name) or type(current if current is not None else default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ValueError(f"{name} must be {expected.__name__}, got {value!r}")


_NULLABLE = {
    "batch_expire_after",
    "rpm_limit",
    "moderation_pattern",
    "api_key",
    "wrong_colour_pattern",
    "image_bytes",
}
_FIELD_KINDS: dict[str, type] = {
    "rpm_limit": int,
    "batch_expire_after": float,
    "image_bytes": int,
    "moderation_pattern": str,
    "api_key": str,
    "wrong_colour_pattern": str,
}
