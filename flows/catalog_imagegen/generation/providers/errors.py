"""What an image API's answer means for the run: retry it, fail this job, or stop the run.

``classify`` is a pure function of the status, body and headers, so every rule is a row in a
table test. The rules follow what a retry would do: a rate limit or a server hiccup passes, so it
is retried; a refused prompt or a bad parameter would be refused (or billed) again, so the job
fails; a rejected key or an empty account fails every request, so the run stops at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({408, 409, 429})
SAFETY_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
OUT_OF_CREDIT_CODES = frozenset(
    {"insufficient_quota", "credit_balance_exhausted", "billing_hard_limit_reached"}
)
# Parameters that differ per job (its prompt, its photo): a refusal of one says nothing of others.
PER_JOB_PARAMS = frozenset({"prompt", "image", "image[]", "images", "mask", "user"})
_EXCERPT = 80


@dataclass(frozen=True, slots=True)
class Retry:
    reason: str
    # Seconds the server asked us to wait (Retry-After), if it said.
    after: float | None = None


@dataclass(frozen=True, slots=True)
class FailJob:
    reason: str
    # A request setting the provider refused (400 invalid_request_error naming a parameter of
    # the settings): every request with the same settings would be refused the same way.
    refused_param: str = ""


@dataclass(frozen=True, slots=True)
class HaltRun:
    reason: str


Verdict = Retry | FailJob | HaltRun


@dataclass(frozen=True, slots=True)
class ApiError:
    """The ``error`` object of an OpenAI-style error body; empty fields when there was none."""

    message: str = ""
    type: str = ""
    code: str = ""
    param: str = ""

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(value for value in (self.code, self.type) if value)


def classify(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    base_url: str = "",
    prompt: str = "",
    now: datetime | None = None,
) -> Verdict:
    """The verdict on one non-200 answer."""
    error = parse_error(body)
    detail = _detail(status, error)
    if status in (401, 403):
        return HaltRun(f"the API key was rejected by {base_url}: {detail}")
    if error.codes & OUT_OF_CREDIT_CODES:
        return HaltRun(f"the account at {base_url} is out of credit or quota: {detail}")
    if status in RETRYABLE_STATUSES or status >= 500:
        return Retry(detail, retry_after(headers, now=now))
    if error.codes & SAFETY_CODES:
        return FailJob(
            f"refused by the provider's safety system (moderation) for the prompt "
            f"{prompt_excerpt(prompt)!r}: {error.message or detail}"
        )
    if error.param:
        refused = (
            error.param
            if status == 400
            and error.type == "invalid_request_error"
            and error.param not in PER_JOB_PARAMS
            else ""
        )
        return FailJob(
            f"the provider rejected the parameter {error.param!r}: {detail}", refused_param=refused
        )
    return FailJob(f"the provider rejected the request: {detail}")


def parse_error(body: bytes) -> ApiError:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ApiError(message=body[:200].decode("utf-8", "replace").strip())
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return ApiError()
    return ApiError(
        message=str(error.get("message") or ""),
        type=str(error.get("type") or ""),
        code=str(error.get("code") or ""),
        param=str(error.get("param") or ""),
    )


def retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if (millis := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def prompt_excerpt(prompt: str) -> str:
    flat = " ".join(prompt.split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 3] + "..."


def _detail(status: int, error: ApiError) -> str:
    parts = [f"HTTP {status}"]
    label = error.code or error.type
    if label:
        parts.append(label)
    text = " ".join(parts)
    return f"{text}: {error.message}" if error.message else text
