"""Every kind of answer an image API gives, and what the run does about it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from catalog_imagegen.generation.providers.errors import (
    FailJob,
    HaltRun,
    Retry,
    classify,
    prompt_excerpt,
    retry_after,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def error_body(code: str | None, type_: str, message: str = "m", param: str | None = None) -> bytes:
    return json.dumps(
        {"error": {"code": code, "type": type_, "message": message, "param": param}}
    ).encode()


@pytest.mark.parametrize(
    ("status", "body", "headers", "verdict"),
    [
        (429, error_body("rate_limit_exceeded", "requests"), {"retry-after": "2"}, Retry),
        (429, error_body(None, "rate_limit_exceeded"), {}, Retry),
        (429, b"slow down", {}, Retry),
        (408, b"", {}, Retry),
        (409, error_body(None, "conflict"), {}, Retry),
        (500, error_body(None, "server_error"), {}, Retry),
        (502, b"<html>bad gateway</html>", {}, Retry),
        (503, b"", {"retry-after-ms": "1500"}, Retry),
        (400, error_body("moderation_blocked", "image_generation_user_error"), {}, FailJob),
        (400, error_body("content_policy_violation", "invalid_request_error"), {}, FailJob),
        (400, error_body(None, "invalid_request_error", "Unknown parameter", "style"), {}, FailJob),
        (404, error_body("model_not_found", "invalid_request_error"), {}, FailJob),
        (401, error_body("invalid_api_key", "invalid_request_error"), {}, HaltRun),
        (403, b"forbidden", {}, HaltRun),
        (429, error_body("insufficient_quota", "insufficient_quota"), {}, HaltRun),
        (429, error_body(None, "insufficient_quota"), {"retry-after": "1"}, HaltRun),
        (429, error_body("credit_balance_exhausted", "billing_error"), {}, HaltRun),
        (402, error_body(None, "credit_balance_exhausted"), {}, HaltRun),
    ],
)
def test_every_answer_gets_the_verdict_a_retry_deserves(
    status: int, body: bytes, headers: dict[str, str], verdict: type
) -> None:
    assert (
        type(classify(status, body, headers, base_url="https://api.example/v1", now=NOW)) is verdict
    )


def test_retry_after_is_carried_in_the_verdict() -> None:
    assert classify(429, b"", {"Retry-After": "7"}) == Retry("HTTP 429", 7.0)
    assert classify(503, b"", {"retry-after-ms": "250"}).after == 0.25  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "1200", "retry-after": "9"}, 1.2),
        ({"Retry-After": "Wed, 01 Jan 2026 12:00:30 GMT"}, 30.0),
        ({"Retry-After": "Wed, 01 Jan 2026 11:00:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"retry-after-ms": "x"}, None),
        ({}, None),
    ],
)
def test_retry_after_reads_seconds_milliseconds_and_http_dates(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert retry_after(headers, now=NOW) == seconds


def test_a_moderation_refusal_says_it_was_the_safety_system_and_which_prompt() -> None:
    prompt = "A red hoodie with a forbidden motif " + "and a very long description " * 10
    verdict = classify(
        400,
        error_body("moderation_blocked", "image_generation_user_error", "Request was rejected"),
        {},
        prompt=prompt,
    )
    assert isinstance(verdict, FailJob)
    assert "safety system" in verdict.reason
    assert "A red hoodie with a forbidden motif" in verdict.reason
    assert prompt not in verdict.reason  # an excerpt, not the whole prompt
    assert len(prompt_excerpt(prompt)) <= 80


def test_an_invalid_request_names_the_parameter() -> None:
    verdict = classify(
        400, error_body(None, "invalid_request_error", "Unknown parameter: 'style'.", "style"), {}
    )
    assert isinstance(verdict, FailJob)
    assert "'style'" in verdict.reason
    assert "Unknown parameter" in verdict.reason


def test_a_rejected_key_names_the_endpoint() -> None:
    verdict = classify(
        401,
        error_body("invalid_api_key", "invalid_request_error", "Incorrect API key provided"),
        {},
        base_url="https://api.wisgate.ai/v1",
    )
    assert verdict == HaltRun(
        "the API key was rejected by https://api.wisgate.ai/v1: "
        "HTTP 401 invalid_api_key: Incorrect API key provided"
    )


def test_out_of_credit_says_so() -> None:
    verdict = classify(
        429, error_body("insufficient_quota", "insufficient_quota"), {}, base_url="u"
    )
    assert isinstance(verdict, HaltRun)
    assert "out of credit" in verdict.reason
