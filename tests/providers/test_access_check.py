"""The live check before any paid request: the answer table, then the provider against the fake
API over real loopback HTTP (bad URL, closed port, rejected key, unknown or shut-down model, a
gateway without a models endpoint)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import date

import pytest

from catalog_imagegen.generation.providers.access_check import (
    ProviderUnusable,
    base_url_problem,
    models_answer_problem,
)
from catalog_imagegen.generation.providers.openai_http import OpenAICompatibleProvider
from catalog_imagegen.generation.providers.rate_limit import RequestLimiter
from catalog_imagegen.settings import Secret
from catalog_imagegen.testing.fake_image_api import FakeImageApi, FakeImageApiConfig

KEY = "sk-test-ACCESS-CHECK-0123456789"
URL = "https://api.example/v1"


def error_body(code: str | None, message: str = "", param: str | None = None) -> bytes:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("status", "body", "stops", "bad_input"),
    [
        (200, b'{"id": "gpt-image-2", "object": "model"}', False, False),
        (401, error_body("invalid_api_key", "Incorrect API key provided"), True, False),
        (403, b"forbidden", True, False),
        (404, error_body("model_not_found", "The model 'x' does not exist"), True, True),
        (404, error_body(None, "Invalid URL (GET /v1/models/x)"), False, False),  # no endpoint
        (404, b"<html>Not Found</html>", False, False),  # a gateway's own 404 page
        (200, b'{"id": "gpt-image-1", "shutdown_date": "2026-10-23"}', True, True),
        (200, b'{"id": "gpt-image-1.5", "shutdown_date": "2026-12-01"}', False, False),
        (200, b'{"id": "m", "shutdown_date": 1792800000}', True, True),  # epoch seconds
        (500, b"oops", False, False),  # a hiccup: the image requests will tell
    ],
)
def test_what_the_models_answer_means(
    status: int, body: bytes, stops: bool, bad_input: bool
) -> None:
    today = date(2027, 1, 1) if b"1792800000" in body else date(2026, 11, 30)
    found = models_answer_problem(status, body, base_url=URL, model="gpt-image-2", today=today)
    assert (found is not None) is stops
    if found is not None:
        assert found.bad_input is bad_input
        assert URL in found.reason and "\n" not in found.reason


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.openai.com/v1", True),
        ("http://127.0.0.1:8080/v1", True),
        ("not-a-url", False),
        ("api.openai.com/v1", False),
        ("ftp://files.example/v1", False),
        ("https:///v1", False),
    ],
)
def test_a_base_url_must_be_http_with_a_host(url: str, ok: bool) -> None:
    problem = base_url_problem(url)
    assert (problem is None) is ok
    if problem:
        assert repr(url) in problem


@pytest.fixture(scope="module")
def shared_api() -> Iterator[FakeImageApi]:
    with FakeImageApi(FakeImageApiConfig(api_key=KEY)) as running:
        yield running


@pytest.fixture
def api(shared_api: FakeImageApi) -> FakeImageApi:
    shared_api.configure(FakeImageApiConfig(api_key=KEY))
    shared_api.reset()
    return shared_api


def provider(
    base_url: str, *, model: str = "gpt-image-2", key: str = KEY
) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        base_url=base_url,
        api_key=Secret(key),
        limiter=RequestLimiter(concurrency=1),
        model=model,
    )


async def refusal(checked: OpenAICompatibleProvider) -> ProviderUnusable | None:
    try:
        await checked.check_access()
    except ProviderUnusable as error:
        return error
    finally:
        await checked.aclose()
    return None


async def test_a_served_model_with_the_right_key_passes(api: FakeImageApi) -> None:
    found = await refusal(provider(api.base_url))
    assert found is None


async def test_a_malformed_base_url_is_named_without_any_request() -> None:
    found = await refusal(provider("not-a-url"))
    assert found is not None and found.bad_input
    assert "'not-a-url'" in found.reason and "OPENAI_BASE_URL" in found.reason


async def test_a_closed_port_is_named() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, and nobody listens once closed
    url = f"http://127.0.0.1:{port}/v1"
    found = await refusal(provider(url))
    assert found is not None and not found.bad_input
    assert f"the image API at {url} cannot be reached" in found.reason


async def test_a_rejected_key_is_named_with_the_url_but_never_echoed(api: FakeImageApi) -> None:
    found = await refusal(provider(api.base_url, key="sk-wrong-key-ABCDEFGHIJ"))
    assert found is not None and not found.bad_input
    assert f"the API key was rejected by {api.base_url}" in found.reason
    assert "sk-wrong-key-ABCDEFGHIJ" not in found.reason


async def test_a_model_the_provider_does_not_serve_stops(api: FakeImageApi) -> None:
    found = await refusal(provider(api.base_url, model="gpt-image-9"))
    assert found is not None and found.bad_input
    assert "does not serve the model 'gpt-image-9'" in found.reason


async def test_a_model_the_provider_says_is_shut_down_stops(api: FakeImageApi) -> None:
    api.configure(shut_down_models=("gpt-image-1",))
    found = await refusal(provider(api.base_url, model="gpt-image-1"))
    assert found is not None and "shut down on 2026-10-23" in found.reason


async def test_a_gateway_without_a_models_endpoint_is_let_through(api: FakeImageApi) -> None:
    api.configure(models_endpoint=False)
    found = await refusal(provider(api.base_url))
    assert found is None
