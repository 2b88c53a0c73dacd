"""Channel profiles: what each marketplace accepts, loaded from ``templates/channels.toml``.

A profile is data, so users add a channel by adding a table. Each one says what its deliverable
is (an exact size, or limits on the longest side), how it is encoded (format, quality, largest
file) and what it must look like (a pure white border, a minimum product fill, the AI marker).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

CHANNELS_FILE = "channels.toml"
Fit = Literal["pad", "crop"]
FORMATS = ("jpeg", "png", "webp")
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FIELDS = {
    "description",
    "size",
    "fit",
    "min_side",
    "max_side",
    "aspect",
    "format",
    "quality",
    "max_bytes",
    "background",
    "min_fill",
    "marker",
    "fix_background",
    "white_tolerance",
}


class ChannelError(ValueError):
    """A channel profile cannot be used. The message names the file, the channel and the field."""


@dataclass(frozen=True, slots=True)
class ChannelProfile:
    name: str
    format: str = "jpeg"
    size: tuple[int, int] | None = None  # exact output size; else the side limits apply
    fit: Fit = "pad"
    min_side: int | None = None  # of the longest side
    max_side: int | None = None
    aspect: float | None = None  # width / height, for a profile given by side limits
    aspect_text: str = ""  # as written: "1:1.44"
    quality: int = 90
    max_bytes: int | None = None
    white_background: bool = False
    min_fill: float | None = None
    marker: bool = False
    fix_background: bool = False
    white_tolerance: int = 6  # per RGB channel, below 255
    description: str = ""

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def rendition_key(image_key: str, profile: ChannelProfile) -> str:
    """Where a rendition is stored: beside its image, in a folder named by the image's key
    (``images/.../{key}.png`` -> ``images/.../{key}/amazon_main.jpg``)."""
    return f"{image_key.rsplit('.', 1)[0]}/{profile.name}.{profile.extension}"


def load_channels(folder: Path) -> dict[str, ChannelProfile]:
    """The profiles in ``folder/channels.toml``; none when the file does not exist."""
    path = folder / CHANNELS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        raise ChannelError(f"{path}: {error}") from None
    return {name: profile_from(name, values, path.name) for name, values in data.items()}


def profile_from(name: str, values: Mapping[str, Any], file: str = CHANNELS_FILE) -> ChannelProfile:
    where = f"{file}: channel '{name}'"
    if not isinstance(values, Mapping):
        raise ChannelError(f"{where}: must be a table")
    if not _NAME.match(name):
        raise ChannelError(f"{where}: a name is lower-case letters, digits, '_' and '-'")
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise ChannelError(f"{where}: unknown field(s) {', '.join(unknown)}")
    fmt = str(values.get("format", "jpeg")).lower().replace("jpg", "jpeg")
    if fmt not in FORMATS:
        raise ChannelError(f"{where}: format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    fit = values.get("fit", "pad")
    if fit not in ("pad", "crop"):
        raise ChannelError(f"{where}: fit must be 'pad' or 'crop', not {fit!r}")
    background = values.get("background", "any")
    if background not in ("white", "any"):
        raise ChannelError(f"{where}: background must be 'white' or 'any', not {background!r}")
    return ChannelProfile(
        name=name,
        format=fmt,
        size=_size(values.get("size"), where),
        fit=fit,
        min_side=_positive(values, "min_side", where),
        max_side=_positive(values, "max_side", where),
        aspect=_aspect(values.get("aspect"), where),
        aspect_text=str(values.get("aspect", "")),
        quality=_bounded(values, "quality", where, 90, 1, 100),
        max_bytes=_positive(values, "max_bytes", where),
        white_background=background == "white",
        min_fill=_fraction(values.get("min_fill"), where),
        marker=bool(values.get("marker", False)),
        fix_background=bool(values.get("fix_background", False)),
        white_tolerance=_bounded(values, "white_tolerance", where, 6, 0, 64),
        description=str(values.get("description", "")),
    )


def _size(value: Any, where: str) -> tuple[int, int] | None:
    if value is None:
        return None
    width, _, height = str(value).partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise ChannelError(f"{where}: size must be WIDTHxHEIGHT in pixels, not {value!r}")
    return (int(width), int(height))


def _aspect(value: Any, where: str) -> float | None:
    if value is None:
        return None
    width, _, height = str(value).partition(":")
    try:
        ratio = float(width) / float(height)
    except (ValueError, ZeroDivisionError):
        ratio = 0.0
    if not ratio > 0:
        raise ChannelError(f'{where}: aspect must be WIDTH:HEIGHT like "1:1.44", not {value!r}')
    return ratio


def _positive(values: Mapping[str, Any], field: str, where: str) -> int | None:
    value = values.get(field)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ChannelError(f"{where}: {field} must be a whole number above 0, not {value!r}")
    return value


def _bounded(
    values: Mapping[str, Any], field: str, where: str, default: int, low: int, high: int
) -> int:
    value = values.get(field, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ChannelError(f"{where}: {field} must be a whole number {low}-{high}, not {value!r}")
    return value


def _fraction(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 1:
        raise ChannelError(f"{where}: min_fill must be a share of the frame (0-1], not {value!r}")
    return float(value)
