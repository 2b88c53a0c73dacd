"""Prompt templates and seasons, loaded from the ``templates/`` folder.

A template is one Jinja file. Its image settings sit in a leading comment written as TOML, so the
prompt and what it asks for travel together and the line numbers in errors are the file's own::

    {#-
    description = "Square product card"
    mode = "generate"            # or "edit": start from the product photo (source_image)
    size = "1024x1024"
    quality = "medium"
    -#}
    Studio photo of {{ product.title }} in {{ colour }} ...

Templates render in a sandbox with strict undefined variables. A template's version is the hash of
its file, so it changes whenever its text or settings change. Seasons are data: ``seasons.toml``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from catalog_imagegen.generation.providers.base import ImageSettings, Mode
from catalog_imagegen.renditions.channels import ChannelError, ChannelProfile, load_channels
from catalog_imagegen.renditions.sizing import size_for_channels

VariantStrategy = Literal["independent", "edit_source", "chain"]
_FRONT_MATTER = re.compile(r"\A\{#-?(.*?)-?#\}\n?", re.DOTALL)
_SETTING_FIELDS = {f for f in ImageSettings.__dataclass_fields__}
_TEMPLATE_FIELDS = {
    "description",
    "mode",
    "variant_strategy",
    "mask",
    "reference_images",
    "label",
    "channels",
}
# The channels a template serves do not change its image, so they stay out of its version.
_CHANNELS_SETTING = re.compile(rb"^[ \t]*channels[ \t]*=[ \t]*\[[^\]]*\][^\n]*\n?", re.MULTILINE)
SEASONS_FILE = "seasons.toml"
CHANNELS_SIZE = "channels"  # size = "channels": the size that best serves the template's channels


class TemplateError(Exception):
    """A template cannot be loaded or rendered. The message names the template and the line."""


@dataclass(frozen=True, slots=True)
class Season:
    name: str
    label: str
    setting: str
    light: str
    props: str
    accent: str = "#dddddd"  # a colour the offline preview uses for the season band

    def as_context(self) -> dict[str, str]:
        return {
            "name": self.name,
            "label": self.label,
            "setting": self.setting,
            "light": self.light,
            "props": self.props,
        }


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    mode: Mode
    settings: ImageSettings
    description: str = ""
    variant_strategy: VariantStrategy = "independent"
    mask: str | None = None  # path of a mask PNG, relative to the templates folder
    reference_images: tuple[str, ...] = ()
    channels: tuple[ChannelProfile, ...] = ()
    path: str = ""
    label: str = ""  # a name people give this version ("product-card-v3"); the hash still rules
    compiled: jinja2.Template | None = field(default=None, compare=False, repr=False)
    globals: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def render(self, context: Mapping[str, Any], *, sku: str) -> str:
        """The prompt for one job, whitespace tidied. Raises ``TemplateError`` naming the line."""
        compiled = self.compiled
        assert compiled is not None
        try:
            # Same as compiled.render(context), minus re-merging the globals ChainMap per call:
            # planning renders a million prompts, and that merge was a fifth of the time.
            variables = {**self.globals, **context}
            text = "".join(compiled.root_render_func(compiled.new_context(variables, shared=True)))
        except Exception:
            text = self._render_for_error(context, sku)
        return " ".join(text.split())

    def _render_for_error(self, context: Mapping[str, Any], sku: str) -> str:
        """Render again the ordinary way: Jinja then rewrites the traceback to template lines."""
        compiled = self.compiled
        assert compiled is not None
        try:
            return compiled.render(context)
        except Exception as error:  # a filter may raise anything; a row must not stop the run
            line = _error_line(error.__traceback__, compiled.filename)
            where = f"line {line}" if line else "render"
            message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            raise TemplateError(f"template '{self.name}' {where}: {message} (SKU {sku})") from None


def load_templates(folder: Path) -> dict[str, PromptTemplate]:
    environment = _environment(folder)
    channels = _folder_channels(folder)
    templates = {}
    for path in sorted(folder.glob("*.j2")):
        templates[path.stem] = _load_template(environment, path, channels)
    if not templates:
        raise TemplateError(f"{folder}: no prompt templates (*.j2) found")
    return templates


def load_template_file(path: Path, folder: Path, *, name: str) -> PromptTemplate:
    """A template file from anywhere (a draft), loaded as template ``name`` of ``folder``: it may
    include the folder's files, and its masks and references are the folder's."""
    environment = _environment(path.parent, folder)
    try:
        return replace(_load_template(environment, path, _folder_channels(folder)), name=name)
    except OSError as error:
        raise TemplateError(f"{path}: cannot read the template ({error.strerror})") from None


def _folder_channels(folder: Path) -> dict[str, ChannelProfile]:
    try:
        return load_channels(folder)
    except ChannelError as error:
        raise TemplateError(str(error)) from None


def load_seasons(folder: Path) -> dict[str, Season]:
    path = folder / SEASONS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(f"{path}: seasons file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(f"{path}: {error}") from None
    seasons = {}
    for name, values in data.items():
        missing = [k for k in ("setting", "light", "props") if k not in values]
        if missing:
            raise TemplateError(f"{path}: season '{name}' lacks {', '.join(missing)}")
        seasons[name] = Season(
            name=name,
            label=str(values.get("label", name.title())),
            setting=str(values["setting"]),
            light=str(values["light"]),
            props=str(values["props"]),
            accent=str(values.get("accent", "#dddddd")),
        )
    return seasons


def _environment(*folders: Path) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(folder) for folder in folders]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _load_template(
    environment: jinja2.Environment, path: Path, channels: Mapping[str, ChannelProfile]
) -> PromptTemplate:
    source = path.read_bytes()
    text = source.decode("utf-8")
    settings = _front_matter(text, path)
    unknown = set(settings) - _SETTING_FIELDS - _TEMPLATE_FIELDS
    if unknown:
        raise TemplateError(f"{path.name}: unknown setting(s) {', '.join(sorted(unknown))}")
    mode = cast(Mode, settings.get("mode", "generate"))
    if mode not in ("generate", "edit"):
        raise TemplateError(f"{path.name}: mode must be 'generate' or 'edit', not '{mode}'")
    strategy = settings.get("variant_strategy", "independent")
    if strategy not in ("independent", "edit_source", "chain"):
        raise TemplateError(f"{path.name}: unknown variant_strategy '{strategy}'")
    served = _channels_of(settings.get("channels", []), channels, path)
    image = _image_fields(settings, mode, served, path)
    try:
        compiled = environment.get_template(path.name)
        image_settings = ImageSettings(**image)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(
            f"template '{path.stem}' line {error.lineno}: {error.message}"
        ) from None
    except TypeError as error:
        raise TemplateError(f"{path.name}: {error}") from None
    return PromptTemplate(
        name=path.stem,
        version=hashlib.sha256(_CHANNELS_SETTING.sub(b"", source, count=1)).hexdigest()[:12],
        mode=mode,
        settings=image_settings,
        description=str(settings.get("description", "")),
        variant_strategy=cast(VariantStrategy, strategy),
        mask=settings.get("mask"),
        reference_images=tuple(settings.get("reference_images", ())),
        channels=served,
        path=str(path),
        label=str(settings.get("label", "")),
        compiled=compiled,
        globals=dict(compiled.globals),
    )


def _image_fields(
    settings: Mapping[str, Any], mode: Mode, served: tuple[ChannelProfile, ...], path: Path
) -> dict[str, Any]:
    """The provider settings; ``size = "channels"`` becomes the size that serves the channels."""
    image = {k: v for k, v in settings.items() if k in _SETTING_FIELDS}
    if image.get("size") == CHANNELS_SIZE:
        if not served:
            raise TemplateError(f'{path.name}: size = "channels" needs a channels list')
        image["size"] = size_for_channels(served)
    if mode == "edit":
        image.setdefault("input_fidelity", "high")
    return image


def _channels_of(
    names: Any, channels: Mapping[str, ChannelProfile], path: Path
) -> tuple[ChannelProfile, ...]:
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise TemplateError(f"{path.name}: channels must be a list of channel names")
    unknown = [name for name in names if name not in channels]
    if unknown:
        known = ", ".join(sorted(channels)) or "none: channels.toml is missing"
        raise TemplateError(
            f"{path.name}: unknown channel(s) {', '.join(unknown)} (known: {known})"
        )
    return tuple(channels[name] for name in dict.fromkeys(names))


def _front_matter(text: str, path: Path) -> dict[str, Any]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}
    try:
        return tomllib.loads(match.group(1))
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(f"{path.name}: settings comment is not valid TOML ({error})") from None


def _error_line(traceback: TracebackType | None, filename: str | None) -> int | None:
    line = None
    while traceback is not None:
        if filename and traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
