"""The image provider interface: one async method, ``create_images``.

Two providers implement it: ``OfflinePreviewProvider`` (the default with no API key: deterministic
preview images, no network) and ``OpenAICompatibleProvider`` (any OpenAI-compatible images API).
Retries, rate limits and error classification live inside a provider, so the pipeline above only
sees three outcomes: images, a failure of this one job, or an order to stop the whole run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

Mode = Literal["generate", "edit"]
OutputFormat = Literal["png", "jpeg", "webp"]

CONTENT_TYPES: Mapping[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True, slots=True)
class ImageSettings:
    """What a template asks the provider for. Everything here changes the image, so it is keyed."""

    size: str = "1024x1024"
    quality: str = "medium"
    output_format: OutputFormat = "png"
    n: int = 1
    background: str | None = None
    output_compression: int | None = None
    moderation: str | None = None
    input_fidelity: str | None = None

    @property
    def width_height(self) -> tuple[int, int]:
        """Pixel size; ``auto`` previews as a square."""
        if "x" not in self.size:
            return (1024, 1024)
        width, height = self.size.split("x", 1)
        return (int(width), int(height))


@dataclass(frozen=True, slots=True)
class SourceImage:
    """An input image for an edit: the product photo, a reference image or a mask."""

    data: bytes
    filename: str
    content_type: str


@dataclass(frozen=True, slots=True)
class ImageRequest:
    prompt: str
    settings: ImageSettings
    mode: Mode = "generate"
    images: tuple[SourceImage, ...] = ()
    mask: SourceImage | None = None
    user: str | None = None
    # What this request is for ("SKU-1 / navy / winter / product_card"), used only in messages.
    label: str = ""
    # The colour and season the image is for: the offline preview draws them; not sent to APIs.
    colour: str = ""
    colour_rgb: tuple[int, int, int] | None = None
    season: str = ""


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    data: bytes
    format: OutputFormat
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ProviderResult:
    images: tuple[GeneratedImage, ...]
    attempts: int = 1
    # Token usage as the provider reported it (``input_tokens``, ``output_tokens``, ...).
    usage: Mapping[str, int] = field(default_factory=dict)


class ProviderError(Exception):
    """Base of what a provider raises. ``attempts`` counts the requests spent on the job."""

    def __init__(self, reason: str, *, attempts: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


class JobFailed(ProviderError):
    """This job cannot succeed (moderation, invalid request, retries exhausted); others go on.
    ``refused_param``: the provider refused this parameter of the request (a 400
    ``invalid_request_error`` naming it), so every request with the same settings would fail."""

    def __init__(self, reason: str, *, attempts: int = 1, refused_param: str = "") -> None:
        super().__init__(reason, attempts=attempts)
        self.refused_param = refused_param


class RunHalted(ProviderError):
    """Nothing else can succeed either (bad key, out of credit): stop dispatching new jobs."""


class ImageProvider(Protocol):
    name: str
    model: str
    # True when images are placeholders, not what a real model would make.
    is_preview: bool

    async def check_access(self) -> None:
        """One cheap call before any paid request; raises ``ProviderUnusable`` (``access_check``)
        when no request of the run could succeed (bad URL, rejected key, unknown model)."""
        ...

    async def create_images(self, request: ImageRequest) -> ProviderResult: ...

    async def aclose(self) -> None: ...
