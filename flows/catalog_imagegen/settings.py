"""Settings: environment variables (the ecosystem's own names first), then command-line flags.

- ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``: the image API, as the OpenAI SDK names them. No key
  means offline preview images. Other endpoints take their own key (``provider_keys``).
- ``AWS_*`` (profile, region, credentials, ``AWS_ENDPOINT_URL_S3``): read by boto3 itself.
- ``CATALOG_IMAGEGEN_*``: this tool's own (output, model, concurrency, rpm, templates folder,
  ``PRICES_FILE`` for the price table, ``MODELS_FILE`` for the model table,
  ``PREVIEW_LATENCY`` to slow offline previews down,
  ``COLOUR_QA``, ``COLOUR_TOLERANCE``, ``DUPLICATE_DISTANCE``, ``COLOUR_RETRY``, ...).

Secrets are held in ``Secret``, whose ``repr`` and ``str`` never show the value, so a settings
object can be logged, put in an exception or a Prefect parameter without leaking the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "CATALOG_IMAGEGEN_"
PROVIDER_PRESETS = {
    "openai": "https://api.openai.com/v1",
    "wisgate": "https://api.wisgate.ai/v1",
}
DEFAULT_MODEL = "gpt-image-2"


class SettingsError(ValueError):
    """A setting that cannot be used, named with where it came from (variable, file, flag)."""


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Settings:
    output: str = "output"
    templates_dir: Path = field(default_factory=lambda: default_templates_dir())
    model: str = DEFAULT_MODEL
    api_key: Secret | None = field(default=None, repr=False)
    # The variable holding the key for a custom base URL (``provider_keys``); a name, not a key.
    api_key_env: str | None = None
    base_url: str = PROVIDER_PRESETS["openai"]
    concurrency: int = 8
    rpm: int | None = None
    chunk_size: int = 500
    public_base_url: str | None = None
    # S3 output: a bucket (and key prefix), or an ``s3://bucket/prefix`` output. Credentials,
    # region and endpoint (AWS_ENDPOINT_URL_S3) come from boto3's own configuration.
    bucket: str | None = None
    prefix: str = ""
    max_images: int | None = None
    max_cost: float | None = None  # USD, estimated from the price table before dispatch
    prices_file: Path | None = None  # JSON price table replacing the default (``pricing``)
    models_file: Path | None = None  # TOML model table overriding the shipped one (``model_rules``)
    # Seconds each offline preview takes: a demo and testing knob that mimics a slow provider.
    preview_latency: float = 0.0
    progress: bool = True
    # The preset the endpoint came from (``openai``, ``wisgate``), if any: names the provider.
    provider: str | None = None
    read_timeout: float = 360.0
    max_attempts: int = 6
    # Colour QA of generated images (``image_review``): off, thresholds, one retry on a mismatch.
    colour_qa: bool = True
    colour_tolerance: float = 20.0  # CIEDE2000 between the colour asked for and the one measured
    duplicate_distance: int = 4  # dHash bits within which two colours' pictures are the same
    colour_retry: bool = False
    # Which product photos a catalog may name (``catalog.source_policy``):
    allow_private_sources: bool = False  # http(s) photos on private/loopback/link-local hosts
    source_buckets: tuple[str, ...] = ()  # s3:// photos only from these buckets
    # Operating it (service.py, file_drop.py, approval.py):
    catalog: str | None = None  # the catalog the scheduled seasonal refresh reads
    inbox: str | None = None  # a folder or s3:// prefix where catalog files are dropped
    approval_required: bool = False  # CATALOG_IMAGEGEN_APPROVAL=required
    season_lead_days: int = 30  # prepare a season this many days before it starts
    refresh_cron: str = "0 5 * * *"  # when the seasonal refresh runs (server time zone: UTC)
    # Batch mode (``generation/batch``): how runs send requests (sync, batch, or auto: batch when
    # the plan would take longer than ``batch_after_hours`` at ``rpm``), and how often to poll.
    via: str = "sync"
    batch_after_hours: float = 2.0
    batch_poll_seconds: float = 600.0

    @property
    def uses_real_provider(self) -> bool:
        return bool(self.api_key)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Flags win over the environment; ``None`` means the flag was not given."""
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if v is not None and k in known})


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    preset = env.get(f"{ENV_PREFIX}PROVIDER", "").lower()
    if preset and preset not in PROVIDER_PRESETS:
        raise SettingsError(f"{ENV_PREFIX}PROVIDER must be one of {', '.join(PROVIDER_PRESETS)}")
    if preset:
        values["provider"] = preset
    if base := env.get("OPENAI_BASE_URL") or PROVIDER_PRESETS.get(preset):
        values["base_url"] = base.rstrip("/")
    for name, convert in (
        ("output", str),
        ("model", str),
        ("concurrency", int),
        ("rpm", int),
        ("chunk_size", int),
        ("public_base_url", str),
        ("templates_dir", Path),
        ("read_timeout", float),
        ("max_attempts", int),
        ("bucket", str),
        ("prefix", str),
        ("prices_file", Path),
        ("models_file", Path),
        ("preview_latency", float),
        ("colour_qa", _flag),
        ("colour_tolerance", float),
        ("duplicate_distance", int),
        ("colour_retry", _flag),
        ("catalog", str),
        ("inbox", str),
        ("approval_required", approval_setting),
        ("season_lead_days", int),
        ("refresh_cron", str),
        ("api_key_env", str),
        ("allow_private_sources", _flag),
        ("source_buckets", _names),
        ("via", via_setting),
        ("batch_after_hours", float),
        ("batch_poll_seconds", float),
    ):
        raw = env.get(ENV_PREFIX + ENV_NAMES.get(name, name.upper()))
        if raw:
            try:
                values[name] = convert(raw)
            except ValueError:
                variable = ENV_PREFIX + ENV_NAMES.get(name, name.upper())
                raise SettingsError(f"{variable}={raw!r} is not valid") from None
    return Settings(**values)


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _names(raw: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in raw.split(",") if name.strip())


ENV_NAMES = {"approval_required": "APPROVAL"}


def approval_setting(raw: str) -> bool:
    """``CATALOG_IMAGEGEN_APPROVAL``: ``required`` holds runs for ``approve``; ``auto`` does not."""
    value = raw.strip().lower()
    if value in ("required", "on", "true", "1", "yes"):
        return True
    if value in ("auto", "off", "false", "0", "no", "none"):
        return False
    raise ValueError(raw)


VIA_CHOICES = ("sync", "batch", "auto")


def via_setting(raw: str) -> str:
    if raw not in VIA_CHOICES:
        raise ValueError(f"via must be one of {', '.join(VIA_CHOICES)}")
    return raw


def default_templates_dir() -> Path:
    """The checkout's ``templates/`` folder, else the copy bundled into an installed wheel."""
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "bundled_templates"
