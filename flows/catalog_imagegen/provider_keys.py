"""Which environment variable holds the key for the endpoint a run calls.

A key is only ever sent to the provider that issued it. OpenAI's endpoint takes
``OPENAI_API_KEY``; the WisGate preset takes ``WISGATE_API_KEY``; any other base URL takes the
variable the settings name (``api_key_env`` in the settings file, or
``CATALOG_IMAGEGEN_API_KEY_ENV``). The one pairing kept from the OpenAI SDK: a gateway named by
``OPENAI_BASE_URL`` in the environment takes ``OPENAI_API_KEY`` from the same environment, since
whoever set one set both. Without a key, OpenAI's endpoint gives offline previews (no provider
was chosen); any other endpoint stops the run with a line naming the variable to set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from catalog_imagegen.settings import PROVIDER_PRESETS, Secret, Settings

OPENAI_KEY = "OPENAI_API_KEY"
PRESET_KEYS = {"openai": OPENAI_KEY, "wisgate": "WISGATE_API_KEY"}


class ProviderKeyError(ValueError):
    """The endpoint has no key of its own: the message names the variable to set."""


def key_variable(settings: Settings, environ: Mapping[str, str]) -> str:
    """The variable that holds the key for ``settings.base_url``."""
    if settings.api_key_env:
        return settings.api_key_env
    for preset, url in PROVIDER_PRESETS.items():
        if settings.base_url == url:
            return PRESET_KEYS[preset]
    if settings.base_url == environ.get("OPENAI_BASE_URL", "").rstrip("/"):
        return OPENAI_KEY
    raise ProviderKeyError(
        f"no API key variable for {settings.base_url}: name the variable that holds its key "
        'with api_key_env = "VARIABLE" in catalog-imagegen.toml or CATALOG_IMAGEGEN_API_KEY_ENV '
        f"(the {OPENAI_KEY} is only sent to OpenAI or to OPENAI_BASE_URL)"
    )


def with_provider_key(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """``settings`` holding the key of the endpoint it calls, and no other provider's key."""
    variable = key_variable(settings, environ)
    if value := environ.get(variable):
        return replace(settings, api_key=Secret(value))
    if variable == OPENAI_KEY and not settings.provider:
        return replace(settings, api_key=None)  # offline previews
    raise ProviderKeyError(f"{variable} is not set: it holds the API key for {settings.base_url}")
