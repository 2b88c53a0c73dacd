"""The live endpoint check, made before Prefect starts: a wrong base URL, key or model is
reported in about a second, as one line, instead of after the server's start-up."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

from catalog_imagegen.cli.summary import EXIT_BAD_INPUT, EXIT_STOPPED
from catalog_imagegen.settings import Settings

if TYPE_CHECKING:
    from catalog_imagegen.generation.providers.base import ImageProvider


def endpoint_refusal(settings: Settings) -> int | None:
    """The exit code when the endpoint cannot serve this run, after printing why; else None."""
    if not settings.api_key:
        return None  # offline previews: nothing to reach
    from catalog_imagegen.definitions import build_provider
    from catalog_imagegen.generation.providers.access_check import ProviderUnusable
    from catalog_imagegen.generation.providers.model_rules import ModelTableError

    try:
        asyncio.run(_check(build_provider(settings, {})))
    except ProviderUnusable as error:
        print(f"error: {error.reason}", file=sys.stderr)
        return EXIT_BAD_INPUT if error.bad_input else EXIT_STOPPED
    except ModelTableError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return None


async def _check(provider: ImageProvider) -> None:
    from catalog_imagegen.generation.providers.answered_checks import record_passed_check
    from catalog_imagegen.generation.providers.openai_http import OpenAICompatibleProvider

    try:
        await provider.check_access()
    finally:
        await provider.aclose()
    if isinstance(provider, OpenAICompatibleProvider):  # the flow next takes this answer
        record_passed_check(provider.base_url, provider.model)
