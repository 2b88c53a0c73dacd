"""What the one cheap call before a run (``GET {base_url}/models/{model}``) says about the run.

A malformed or unreachable base URL, a rejected key, a model the provider does not serve, or one
past its shutdown date would fail every image, so the run stops before the first paid request,
with one line naming the URL or the model. A gateway without a models endpoint (a 404 on the path
itself, not about the model) is let through: the first image request then tells. Pure, so every
answer is a row in a table test; the provider makes the call.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from catalog_imagegen.generation.providers.errors import parse_error
from catalog_imagegen.generation.providers.model_rules import ModelRules

CHECK_TIMEOUT = 4.0  # seconds: the check answers within a second when the endpoint is there
_MODEL_NOT_FOUND = frozenset({"model_not_found", "invalid_model"})


class ProviderUnusable(Exception):
    """No request of this run can succeed. ``bad_input``: a setting is wrong (exit 2), not the
    service or the account (exit 3)."""

    def __init__(self, reason: str, *, bad_input: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.bad_input = bad_input


def base_url_problem(base_url: str) -> str | None:
    """Why ``base_url`` is not an http(s) URL with a host, or ``None``."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"the image API base URL {base_url!r} is not an http(s):// URL (OPENAI_BASE_URL)"
    return None


def shutdown_problem(rules: ModelRules, model: str, today: date) -> str | None:
    if rules.shut_down_by(today):
        return f"the model {model} was shut down on {rules.shutdown} (model table); use gpt-image-2"
    return None


def models_answer_problem(
    status: int, body: bytes, *, base_url: str, model: str, today: date | None = None
) -> ProviderUnusable | None:
    """What stops the run in the answer to ``GET {base_url}/models/{model}``, or ``None``."""
    error = parse_error(body)
    if status in (401, 403):
        detail = f"HTTP {status}" + (f": {error.message}" if error.message else "")
        return ProviderUnusable(f"the API key was rejected by {base_url}: {detail}")
    if status == 404 and (error.code in _MODEL_NOT_FOUND or error.param == "model"):
        return ProviderUnusable(
            f"{base_url} does not serve the model {model!r}: {error.message or 'HTTP 404'}",
            bad_input=True,
        )
    if status != 200:
        return None  # no models endpoint, or a hiccup: the image requests will tell
    shutdown = _shutdown_date(body)
    if shutdown is not None and shutdown <= (today or datetime.now(UTC).date()):
        return ProviderUnusable(
            f"{base_url} says the model {model!r} was shut down on {shutdown}", bad_input=True
        )
    return None


def unreachable(base_url: str, error: Exception) -> ProviderUnusable:
    return ProviderUnusable(
        f"the image API at {base_url} cannot be reached ({type(error).__name__}: {error})"
    )


def _shutdown_date(body: bytes) -> date | None:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    value = document.get("shutdown_date") if isinstance(document, dict) else None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).date()
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None
