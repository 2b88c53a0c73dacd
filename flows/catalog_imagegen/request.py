"""One run request: everything a run, a backfill or a dry run is asked to do, in one frozen model.

The command line, the settings file and the environment build it in one place
(``cli.request_flags``); the served deployments, file drops and shards build the same object.
Both flows take it as their one parameter, so Prefect shows it as a form and deployments pass it
as JSON. It never holds a secret: keys stay in the environment of whoever makes the images.

``None`` means "not asked": the settings (environment, then settings file) decide. A request is
checked when it is made; a bad value raises ``RequestError`` naming the flag.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from catalog_imagegen.planning.selection import Selection
from catalog_imagegen.settings import PROVIDER_PRESETS, Settings
from catalog_imagegen.settings_file import with_key

CatalogFormat = Literal["auto", "generic", "shopify", "merchant-center", "excel"]
# review.image_review's flags, and renditions.checks' failed channel checks
FLAG_KINDS = ("colour_mismatch", "near_blank", "near_duplicate", "noncompliant")

# The command-line flag of each field, for error messages; the field name otherwise.
FLAGS: Mapping[str, str] = {
    "catalog_format": "--format",
    "skus": "--sku",
    "colours": "--colour",
    "seasons": "--season",
    "templates": "--template",
    "approval": "--require-approval",
}


class RequestError(ValueError):
    """A request that cannot run: one line naming the flag (or field) and what is wrong."""


class Shard(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0)
    count: int = Field(ge=1)

    @model_validator(mode="after")
    def _index_in_range(self) -> Shard:
        if self.index >= self.count:
            raise ValueError(f"shard index {self.index} is not below the count {self.count}")
        return self


class RunRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # What to read.
    catalog: str = Field(min_length=1)
    catalog_format: CatalogFormat = "auto"
    sheet: str | None = None
    include_archived: bool = False  # Shopify products marked archived (default: skipped)
    # Which slice of the plan: empty means everything.
    skus: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    seasons: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    only_failed: str | None = None  # a run id, or "last"
    changed: bool = False
    only_flagged: tuple[str, ...] | None = None  # flag kinds; () means any flag
    force: bool = False
    # Limits.
    concurrency: int | None = Field(default=None, ge=1)
    rpm: int | None = Field(default=None, ge=1)
    max_images: int | None = Field(default=None, ge=0)
    max_cost: float | None = Field(default=None, ge=0)
    # Where images go, and who makes them.
    output: str | None = None
    bucket: str | None = None
    prefix: str | None = None
    public_base_url: str | None = None
    provider: Literal["openai", "wisgate"] | None = None
    model: str | None = None
    base_url: str | None = None
    # How.
    approval: bool | None = None
    strict: bool = False
    shard: Shard | None = None
    progress: bool = True
    # Synchronous requests, the Batch API (half price, results within 24 h), or ``auto`` (batch
    # when the plan would outlast ``batch_after_hours`` at ``rpm``); None: the settings decide.
    via: Literal["sync", "batch", "auto"] | None = None

    @field_validator("only_flagged")
    @classmethod
    def _known_flag_kinds(cls, kinds: tuple[str, ...] | None) -> tuple[str, ...] | None:
        unknown = sorted(set(kinds or ()) - set(FLAG_KINDS))
        if unknown:
            raise ValueError(f"no such flag kind (known: {', '.join(FLAG_KINDS)})")
        return kinds

    @classmethod
    def checked(cls, **fields: Any) -> RunRequest:
        """A request from these fields, or ``RequestError`` naming the first bad flag."""
        try:
            return cls(**fields)
        except ValidationError as error:
            raise RequestError(describe_error(error)) from None

    def selection(self) -> Selection:
        return Selection(
            skus=self.skus,
            colours=self.colours,
            seasons=self.seasons,
            templates=self.templates,
            only_failed=self.only_failed,
            changed=self.changed,
            force=self.force,
            only_flagged=self.only_flagged is not None,
            flag_kinds=self.only_flagged or (),
        )

    def settings_for(self, settings: Settings) -> Settings:
        """The worker's settings with what this request asks for laid over them."""
        resolved = settings.with_overrides(
            output=self.output,
            concurrency=self.concurrency,
            rpm=self.rpm,
            max_images=self.max_images,
            max_cost=self.max_cost,
            model=self.model,
            bucket=self.bucket,
            prefix=self.prefix,
            public_base_url=self.public_base_url,
            progress=self.progress,
            approval_required=self.approval,
        )
        if self.provider is not None:
            resolved = resolved.with_overrides(
                provider=self.provider, base_url=PROVIDER_PRESETS[self.provider]
            )
        if self.base_url is not None:
            resolved = resolved.with_overrides(base_url=self.base_url.rstrip("/"))
        if self.provider is not None or self.base_url is not None:
            resolved = with_key(resolved, os.environ)  # that endpoint's own key, never another's
        return resolved

    def check_names(self, templates: Mapping[str, object], seasons: Mapping[str, object]) -> None:
        """Seasons and templates the request names must exist: a typo is the flag's error, not
        a reject on every catalog row."""
        for flag, names, known in (
            ("--season", self.seasons, seasons),
            ("--template", self.templates, templates),
        ):
            for name in names:
                if name not in known:
                    choices = ", ".join(sorted(known)) or "none"
                    raise RequestError(f"{flag} {name}: no such {flag[2:]} (known: {choices})")

    def lock_parameters(self, settings: Settings) -> dict[str, Any]:
        """What makes two runs the same run (with the catalog's bytes): the selection, and where
        and with what the images are made, as ``settings_for`` resolved them."""
        return {
            "selection": asdict(self.selection()),
            "seasons": list(self.seasons),
            "templates": list(self.templates),
            "shard": self.shard.model_dump() if self.shard else None,
            "model": settings.model,
            "output": settings.output,
            "bucket": settings.bucket,
            "prefix": settings.prefix,
            "max_images": settings.max_images,
            "max_cost": settings.max_cost,
        }

    def described(self) -> dict[str, Any]:
        """The fields that differ from the defaults, for summaries, ledgers and logs."""
        return self.model_dump(mode="json", exclude_defaults=True)


def describe_error(error: ValidationError) -> str:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "request"
    flag = FLAGS.get(field, "--" + field.replace("_", "-"))
    value = first.get("input")
    shown = "" if isinstance(value, dict) else f" {value}"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{flag}{shown}: {message}"
