"""How long a prompt each model takes. One function, so a per-model table can replace the
constant without touching the planner (OpenAI documents 32,000 characters for the GPT image
models)."""

from __future__ import annotations

GPT_IMAGE_PROMPT_CHARS = 32_000


def prompt_limit(model: str) -> int:
    """The most characters a prompt for ``model`` may have."""
    return GPT_IMAGE_PROMPT_CHARS
