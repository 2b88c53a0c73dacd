"""The settings file: ``catalog-imagegen.toml`` in the working folder, or the path in
``CATALOG_IMAGEGEN_SETTINGS``. It overrides the environment; command-line flags override both.

API keys are never read from the file (it gets committed, copied and shared): it may only name
the environment variable that holds the key, ``api_key_env = "WISGATE_API_KEY"``.

    provider = "wisgate"            # or base_url = "https://gateway.example/v1"
    api_key_env = "WISGATE_API_KEY"
    model = "gpt-image-2"
    concurrency = 4
    rpm = 50
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from catalog_imagegen.provider_keys import ProviderKeyError, with_provider_key
from catalog_imagegen.settings import (
    ENV_PREFIX,
    PROVIDER_PRESETS,
    VIA_CHOICES,
    Settings,
    SettingsError,
    settings_from_env,
)

SETTINGS_FILE_NAME = "catalog-imagegen.toml"
_FILE_KEYS: Mapping[str, type] = {
    "output": str,
    "model": str,
    "base_url": str,
    "provider": str,
    "concurrency": int,
    "rpm": int,
    "chunk_size": int,
    "public_base_url": str,
    "templates_dir": str,
    "read_timeout": float,
    "max_attempts": int,
    "api_key_env": str,
    "via": str,
    "batch_after_hours": float,
    "batch_poll_seconds": float,
}


class SettingsFileError(SettingsError):
    pass


def load_settings(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Environment, then the settings file if there is one, then the endpoint's own key."""
    env = os.environ if environ is None else environ
    return with_key(_settings_without_key(env, cwd or Path.cwd()), env)


def _settings_without_key(env: Mapping[str, str], cwd: Path) -> Settings:
    settings = settings_from_env(env)
    path = settings_file_path(env, cwd)
    if path is None:
        return settings
    return apply_settings_file(settings, read_settings_file(path), env, source=str(path))


def with_key(settings: Settings, environ: Mapping[str, str]) -> Settings:
    try:
        return with_provider_key(settings, environ)
    except ProviderKeyError as error:
        raise SettingsFileError(str(error)) from None


def settings_file_path(environ: Mapping[str, str], cwd: Path) -> Path | None:
    if named := environ.get(f"{ENV_PREFIX}SETTINGS"):
        path = Path(named)
        if not path.is_file():
            raise SettingsFileError(f"{ENV_PREFIX}SETTINGS={named}: no such file")
        return path
    default = cwd / SETTINGS_FILE_NAME
    return default if default.is_file() else None


def read_settings_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsFileError(f"settings file {path} cannot be read: {error}") from None


def apply_settings_file(
    settings: Settings, values: Mapping[str, Any], environ: Mapping[str, str], *, source: str
) -> Settings:
    if any("key" in name and name != "api_key_env" for name in values):
        raise SettingsFileError(
            f"{source}: API keys are not read from the settings file; put the key in an "
            'environment variable and name it with api_key_env = "VARIABLE"'
        )
    unknown = sorted(set(values) - set(_FILE_KEYS))
    if unknown:
        raise SettingsFileError(f"{source}: unknown settings {', '.join(unknown)}")
    checked = {name: _checked(source, name, value) for name, value in values.items()}
    if checked.get("via", "sync") not in VIA_CHOICES:
        raise SettingsFileError(f"{source}: via must be one of {', '.join(VIA_CHOICES)}")
    key_env = checked.pop("api_key_env", None)
    if key_env is not None:
        if not environ.get(key_env):
            raise SettingsFileError(f"{source} says api_key_env = {key_env!r}, but it is not set")
        settings = replace(settings, api_key_env=key_env)
    if "templates_dir" in checked:
        checked["templates_dir"] = Path(checked["templates_dir"])
    provider, base_url = checked.pop("provider", None), checked.pop("base_url", None)
    return with_endpoint(settings.with_overrides(**checked), provider=provider, base_url=base_url)


def with_endpoint(
    settings: Settings, *, provider: str | None = None, base_url: str | None = None
) -> Settings:
    """Point at a preset (``--provider wisgate``) or an explicit ``--base-url`` (which wins)."""
    if provider is not None:
        provider = provider.lower()
        if provider not in PROVIDER_PRESETS:
            raise SettingsFileError(f"provider must be one of {', '.join(PROVIDER_PRESETS)}")
        settings = replace(settings, provider=provider, base_url=PROVIDER_PRESETS[provider])
    if base_url is not None:
        settings = replace(settings, base_url=base_url.rstrip("/"))
    return settings


def _checked(source: str, name: str, value: Any) -> Any:
    wanted = _FILE_KEYS[name]
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, wanted) or isinstance(value, bool):
        raise SettingsFileError(f"{source}: {name} must be a {wanted.__name__}, got {value!r}")
    return value


def load_settings_with(
    *, provider: str | None = None, base_url: str | None = None, **overrides: Any
) -> Settings:
    """Environment, settings file, then flags (``None``: not given), then ``--provider`` /
    ``--base-url``, then the key of that endpoint: the order every run, backfill and command
    loads its settings in."""
    settings = _settings_without_key(os.environ, Path.cwd()).with_overrides(**overrides)
    return with_key(with_endpoint(settings, provider=provider, base_url=base_url), os.environ)
