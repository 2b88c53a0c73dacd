"""Contract tests: the fake refuses what the live API refuses, per model family of PROVIDERS.md,
with the live status, ``code``, ``param`` and message; and accepts what the live API accepts."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from catalog_imagegen.testing.fake_image_api import FakeImageApi, FakeImageApiConfig


@pytest.fixture(scope="module")
def api() -> Iterator[FakeImageApi]:
    with FakeImageApi(FakeImageApiConfig()) as running:
        yield running


@pytest.fixture
def client(api: FakeImageApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=30) as http:
        yield http


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def edit(client: httpx.Client, **fields: str) -> httpx.Response:
    files = {"image": ("photo.png", photo(), "image/png")}
    return client.post("/images/edits", data={"prompt": "in red", **fields}, files=files)


def generate(client: httpx.Client, **fields: Any) -> httpx.Response:
    return client.post("/images/generations", json={"prompt": "a red bag", **fields})


def refused(response: httpx.Response) -> tuple[int, str | None, str | None, str]:
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    return response.status_code, error["code"], error["param"], error["message"]


@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-2-2026-04-21"])
def test_gpt_image_2_refuses_input_fidelity_as_the_live_api_does(
    client: httpx.Client, model: str
) -> None:
    assert refused(edit(client, model=model, input_fidelity="high")) == (
        400,
        "invalid_input_fidelity_model",
        "input_fidelity",
        f"The model '{model}' does not support the 'input_fidelity' parameter.",
    )
    assert edit(client, model=model).status_code == 200  # without it, the edit works


def test_gpt_image_1_mini_refuses_input_fidelity(client: httpx.Client) -> None:
    status, _, param, message = refused(
        edit(client, model="gpt-image-1-mini", input_fidelity="high")
    )
    assert (status, param) == (400, "input_fidelity")
    assert message.startswith("input_fidelity 'high' is only supported for")


@pytest.mark.parametrize("model", ["gpt-image-1.5", "gpt-image-1"])
@pytest.mark.parametrize("fidelity", ["high", "low"])
def test_gpt_image_1_and_1_5_take_input_fidelity(
    client: httpx.Client, model: str, fidelity: str
) -> None:
    assert edit(client, model=model, input_fidelity=fidelity).status_code == 200


def test_gpt_image_2_refuses_a_transparent_background(client: httpx.Client) -> None:
    status, _, param, message = refused(
        generate(client, model="gpt-image-2", background="transparent")
    )
    assert (status, param) == (400, "background")
    assert "not supported for this model" in message
    assert generate(client, model="gpt-image-1.5", background="transparent").status_code == 200


@pytest.mark.parametrize(
    ("model", "size", "ok"),
    [
        ("gpt-image-2", "2048x2048", True),
        ("gpt-image-2", "1664x2400", True),
        ("gpt-image-2", "3840x1280", True),
        ("gpt-image-2", "1536x1024", True),
        ("gpt-image-2", "1000x1000", False),  # not multiples of 16
        ("gpt-image-2", "512x512", False),  # under 655,360 pixels
        ("gpt-image-2", "4096x2048", False),  # longest side over 3840
        ("gpt-image-2", "3840x1264", False),  # wider than 3:1
        ("gpt-image-1.5", "1024x1536", True),
        ("gpt-image-1.5", "2048x2048", False),
        ("gpt-image-1", "2048x2048", False),
        ("gpt-image-1-mini", "1664x2400", False),
    ],
)
def test_sizes_per_model_family(client: httpx.Client, model: str, size: str, ok: bool) -> None:
    response = generate(client, model=model, size=size, quality="low")
    if ok:
        assert response.status_code == 200, response.text
        assert response.json()["size"] == size
    else:
        status, code, param, message = refused(response)
        assert (status, code, param) == (400, "invalid_value", "size")
        assert size in message


@pytest.mark.parametrize(
    ("model", "quality", "size", "price"),
    [
        ("gpt-image-2", "medium", "1024x1024", 0.053),
        ("gpt-image-2", "medium", "1536x1024", 0.041),
        ("gpt-image-2", "high", "1024x1024", 0.211),
        ("gpt-image-1.5", "medium", "1024x1024", 0.034),
        ("gpt-image-1", "medium", "1024x1024", 0.042),
    ],
)
def test_output_tokens_price_as_the_published_price_per_image(
    client: httpx.Client, model: str, quality: str, size: str, price: float
) -> None:
    per_million = {"gpt-image-2": 30, "gpt-image-1.5": 32, "gpt-image-1": 40}[model]
    usage = generate(client, model=model, quality=quality, size=size).json()["usage"]
    assert usage["output_tokens"] * per_million / 1_000_000 == pytest.approx(price, rel=0.01)


def test_the_models_endpoint_answers_served_models_and_404s_the_others(
    client: httpx.Client,
) -> None:
    answer = client.get("/models/gpt-image-2")
    assert answer.status_code == 200
    assert answer.json()["id"] == "gpt-image-2" and answer.json()["object"] == "model"
    missing = client.get("/models/gpt-image-9")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"
