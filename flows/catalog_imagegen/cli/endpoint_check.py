"""The live endpoint check, made before Prefect starts: a wrong base URL, key or model is
reported in about a second, as one line, instead of after the server's start-up."""

from __future__ import annotations

import argparse
import asyncio
import sys

from catalog_imagegen.cli.summary import EXIT_BAD_INPUT, EXIT_STOPPED
from catalog_imagegen.definitions import build_provider
from catalog_imagegen.generation.providers.access_check import ProviderUnusable
from catalog_imagegen.generation.providers.base import ImageProvider
from catalog_imagegen.generation.providers.model_rules import ModelTableError
from catalog_imagegen.settings_file import load_settings_with


def endpoint_refusal(args: argparse.Namespace) -> int | None:
    """The exit code when the endpoint cannot serve this run, after printing why; else None."""
    try:
        settings = load_settings_with(
            provider=args.provider, base_url=args.base_url, model=args.model
        )
        if not settings.api_key:
            return None  # offline previews: nothing to reach
        provider = build_provider(settings, {})
        asyncio.run(_check(provider))
    except ProviderUnusable as error:
        print(f"error: {error.reason}", file=sys.stderr)
        return EXIT_BAD_INPUT if error.bad_input else EXIT_STOPPED
    except (ModelTableError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return None


async def _check(provider: ImageProvider) -> None:
    try:
        await provider.check_access()
    finally:
        await provider.aclose()
