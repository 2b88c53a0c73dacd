"""The fake images API, driven over real HTTP on loopback as a client under test would drive it."""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from catalog_imagegen.catalog.colours import palette_rgb
from catalog_imagegen.testing.fake_image_api import (
    FakeImageApi,
    FakeImageApiConfig,
    FakeImageApiProcess,
)
from catalog_imagegen.testing.fake_image_api.checks import (
    DALL_E_GENERATION_PARAMS,
    GPT_EDIT_FORM_PARAMS,
    GPT_EDIT_JSON_PARAMS,
    GPT_GENERATION_PARAMS,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "openai" / "openapi-images.json"
GENERATE = {"model": "gpt-image-1", "prompt": "A navy t-shirt on a white background"}


@pytest.fixture(scope="module")
def shared_api() -> Iterator[FakeImageApi]:
    with FakeImageApi() as running:
        yield running


@pytest.fixture
def api(shared_api: FakeImageApi) -> FakeImageApi:
    """The module's server, back to the default configuration with an empty log."""
    shared_api.configure(FakeImageApiConfig())
    shared_api.reset()
    return shared_api


@pytest.fixture
def client(api: FakeImageApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as http:
        yield http


def image_of(item: dict[str, Any]) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(item["b64_json"], validate=True)))
    image.load()
    return image


def dominant_rgb(image: Image.Image) -> tuple[int, ...]:
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None
    rgb = max(colours)[1]
    assert isinstance(rgb, tuple)
    return rgb


def png_bytes(rgb: tuple[int, int, int], size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def test_generation_is_an_image_of_the_asked_size_in_the_prompts_colour(
    client: httpx.Client,
) -> None:
    response = client.post("/images/generations", json={**GENERATE, "size": "1024x1536"})

    assert response.status_code == 200
    body = response.json()
    image = image_of(body["data"][0])
    assert (image.format, image.size) == ("PNG", (1024, 1536))
    # "navy" comes first in the prompt, though colour_names_in lists "white" (longer) first.
    assert dominant_rgb(image) == palette_rgb("navy")
    assert body["size"] == "1024x1536"
    assert body["output_format"] == "png"
    assert body["usage"]["total_tokens"] == (
        body["usage"]["input_tokens"] + body["usage"]["output_tokens"]
    )


@pytest.mark.parametrize(("output_format", "pil_format"), [("jpeg", "JPEG"), ("webp", "WEBP")])
def test_generation_honours_output_format_and_n(
    client: httpx.Client, output_format: str, pil_format: str
) -> None:
    response = client.post(
        "/images/generations",
        json={**GENERATE, "prompt": "a red scarf", "output_format": output_format, "n": 2},
    )

    images = [image_of(item) for item in response.json()["data"]]
    assert [image.format for image in images] == [pil_format, pil_format]
    red = palette_rgb("red")
    assert red is not None
    assert all(abs(a - b) <= 3 for a, b in zip(dominant_rgb(images[0]), red, strict=True))


def test_unknown_colour_gets_a_colour_fixed_by_the_prompt(client: httpx.Client) -> None:
    first, second = (
        client.post("/images/generations", json={**GENERATE, "prompt": "a plain tote bag"})
        for _ in range(2)
    )
    assert first.json()["data"] == second.json()["data"]


def test_edit_reads_repeated_image_parts_and_recolours_the_first(
    api: FakeImageApi, client: httpx.Client
) -> None:
    first, second = png_bytes((10, 200, 10)), png_bytes((0, 0, 0))
    response = client.post(
        "/images/edits",
        data={"model": "gpt-image-1", "prompt": "the same bag in red", "input_fidelity": "high"},
        files=[
            ("image[]", ("bag.png", first, "image/png")),
            ("image[]", ("ref.png", second, "image/png")),
        ],
    )

    assert response.status_code == 200
    image = image_of(response.json()["data"][0]).convert("RGB")
    assert image.getpixel((512, 512)) == palette_rgb("red")
    assert image.getpixel((5, 5)) == (10, 200, 10)
    [recorded] = api.requests
    assert recorded.fields == {
        "model": "gpt-image-1",
        "prompt": "the same bag in red",
        "input_fidelity": "high",
    }
    assert [(f.name, f.filename, f.content_type, f.data) for f in recorded.files] == [
        ("image[]", "bag.png", "image/png", first),
        ("image[]", "ref.png", "image/png", second),
    ]


def test_edit_without_an_image_is_rejected(client: httpx.Client) -> None:
    response = client.post(
        "/images/edits",
        data={"model": "gpt-image-1", "prompt": "red"},
        files={"mask": ("mask.png", png_bytes((0, 0, 0)), "image/png")},
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "image"
    assert response.json()["error"]["code"] == "missing_required_parameter"


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"response_format": "b64_json"}, "response_format", "unknown_parameter"),
        ({"style": "vivid"}, "style", "unknown_parameter"),
        ({"model": None}, "model", "missing_required_parameter"),
        ({"size": "999x999"}, "size", "invalid_value"),
        ({"n": 11}, "n", "integer_above_max_value"),
    ],
)
def test_requests_openai_would_reject_are_rejected(
    client: httpx.Client, change: dict[str, Any], param: str, code: str
) -> None:
    response = client.post("/images/generations", json={**GENERATE, **change})

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    if code == "unknown_parameter":
        assert error["message"] == f"Unknown parameter: '{param}'."


def test_param_sets_match_the_official_schemas() -> None:
    schemas = json.loads(SCHEMAS.read_text())["components"]["schemas"]

    def params(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    assert GPT_GENERATION_PARAMS | {"response_format", "style"} == params("CreateImageRequest")
    assert params("CreateImageRequest") >= DALL_E_GENERATION_PARAMS
    assert GPT_EDIT_FORM_PARAMS - {"image[]"} | {"response_format"} == params(
        "CreateImageEditRequest"
    )
    assert params("EditImageBodyJsonParam") == GPT_EDIT_JSON_PARAMS


def test_rate_limit_counts_images_and_says_when_to_retry(
    api: FakeImageApi, client: httpx.Client
) -> None:
    api.configure(rpm_limit=3)
    statuses = [client.post("/images/generations", json={**GENERATE, "n": n}) for n in (2, 1, 1)]

    assert [r.status_code for r in statuses] == [200, 200, 429]
    limited = statuses[2]
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert limited.json()["error"]["type"] == "requests"
    assert limited.headers["retry-after"] == "60"
    assert 59_000 <= int(limited.headers["retry-after-ms"]) <= 60_000
    stats = api.stats()
    assert stats.max_images_in_any_60s_window == 3
    assert (stats.count_429, stats.rate_limited) == (1, 1)


def test_moderation_pattern_blocks_matching_prompts(
    api: FakeImageApi, client: httpx.Client
) -> None:
    api.configure(moderation_pattern=r"(?i)swimwear")
    blocked = client.post("/images/generations", json={**GENERATE, "prompt": "Red SWIMWEAR"})

    assert blocked.status_code == 400
    assert blocked.json()["error"]["code"] == "moderation_blocked"
    assert blocked.json()["error"]["type"] == "image_generation_user_error"
    assert client.post("/images/generations", json=GENERATE).status_code == 200


def test_exhausted_quota_answers_insufficient_quota(
    api: FakeImageApi, client: httpx.Client
) -> None:
    api.configure(quota_exhausted=True)
    response = client.post("/images/generations", json=GENERATE)

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "insufficient_quota"
    assert "retry-after" not in response.headers


def test_api_key_is_required_when_set(api: FakeImageApi, client: httpx.Client) -> None:
    api.configure(api_key="sk-right-key")
    wrong = client.post(
        "/images/generations", json=GENERATE, headers={"Authorization": "Bearer sk-wrong-key"}
    )
    right = client.post(
        "/images/generations", json=GENERATE, headers={"Authorization": "Bearer sk-right-key"}
    )

    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert "sk-wrong-key" not in wrong.text
    assert right.status_code == 200
    assert [r.headers["authorization"] for r in api.requests] == [
        "Bearer sk-wrong-key",
        "Bearer sk-right-key",
    ]


def test_dropped_connection_is_a_transport_error(api: FakeImageApi, client: httpx.Client) -> None:
    api.configure(drop_connection=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/images/generations", json=GENERATE)

    [recorded] = api.requests
    assert (recorded.status, recorded.fault) == (None, "drop_connection")
    api.configure(drop_connection=0.0)
    assert client.post("/images/generations", json=GENERATE).status_code == 200


def test_truncated_body_is_invalid_json(api: FakeImageApi, client: httpx.Client) -> None:
    api.configure(truncated_body=1.0)
    response = client.post("/images/generations", json=GENERATE)

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_early_close_truncation_is_a_transport_error(
    api: FakeImageApi, client: httpx.Client
) -> None:
    api.configure(truncated_body=1.0, truncation="early_close")
    with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
        client.post("/images/generations", json=GENERATE)


def test_invalid_base64_fails_lenient_and_strict_decoders(
    api: FakeImageApi, client: httpx.Client
) -> None:
    api.configure(invalid_base64=1.0)
    b64 = client.post("/images/generations", json=GENERATE).json()["data"][0]["b64_json"]

    for validate in (False, True):
        with pytest.raises(binascii.Error):
            base64.b64decode(b64, validate=validate)
    assert api.prompt_counts() == {}


def test_fault_draws_repeat_for_the_same_seed(api: FakeImageApi, client: httpx.Client) -> None:
    def statuses() -> list[int]:
        api.reset()
        return [client.post("/images/generations", json=GENERATE).status_code for _ in range(12)]

    api.configure(error_500=0.3, error_503=0.2, seed=7)
    first = statuses()
    assert first == statuses()
    assert {200, 500, 503} <= set(first)


def test_url_style_serves_images_from_the_same_server(
    api: FakeImageApi, client: httpx.Client
) -> None:
    api.configure(response_style="url")
    data = client.post("/images/generations", json=GENERATE).json()["data"]

    downloaded = client.get(data[0]["url"])
    assert downloaded.headers["content-type"] == "image/png"
    assert dominant_rgb(Image.open(io.BytesIO(downloaded.content))) == palette_rgb("navy")
    assert api.stats().image_downloads == 1


def test_wrong_colour_and_same_image_quirks(api: FakeImageApi, client: httpx.Client) -> None:
    api.configure(wrong_colour_pattern="navy", wrong_colour="#00ff00")
    assert dominant_rgb(
        image_of(client.post("/images/generations", json=GENERATE).json()["data"][0])
    ) == (0, 255, 0)

    api.configure(wrong_colour_pattern=None, same_image_for_all=True)
    red, blue = (
        client.post("/images/generations", json={**GENERATE, "prompt": p}).json()["data"]
        for p in ("red", "blue")
    )
    assert red == blue


def test_padded_images_stay_valid(api: FakeImageApi, client: httpx.Client) -> None:
    api.configure(image_bytes=300_000)
    for output_format in ("png", "jpeg", "webp"):
        body = client.post("/images/generations", json={**GENERATE, "output_format": output_format})
        item = body.json()["data"][0]
        assert 300_000 <= len(base64.b64decode(item["b64_json"])) < 301_000
        assert image_of(item).size == (1024, 1024)


async def test_stats_count_concurrency_and_the_image_window(api: FakeImageApi) -> None:
    # Long enough for all eight to be in flight together even on a loaded machine.
    api.configure(latency_s=0.5)
    async with httpx.AsyncClient(base_url=api.base_url, trust_env=False) as http:
        responses = await asyncio.gather(
            *(http.post("/images/generations", json={**GENERATE, "n": 1 + i % 2}) for i in range(8))
        )

    assert {r.status_code for r in responses} == {200}
    stats = api.stats()
    assert stats.max_in_flight == 8
    assert stats.in_flight == 0
    assert stats.max_images_in_any_60s_window == 12
    assert stats.images_returned == 12
    assert api.prompt_counts() == {GENERATE["prompt"]: 8}


def test_control_endpoints_report_and_reconfigure(api: FakeImageApi, client: httpx.Client) -> None:
    client.post(
        "/images/edits",
        data={"model": "gpt-image-1", "prompt": "red"},
        files={"image": ("a.png", png_bytes((1, 2, 3)), "image/png")},
    )
    origin = api.base_url.removesuffix("/v1")

    [logged] = client.get(f"{origin}/_fake/requests").json()
    assert logged["files"][0]["size"] > 0
    assert "data" not in logged["files"][0]
    assert client.get(f"{origin}/_fake/stats").json()["count_by_status"] == {"200": 1}
    assert client.post(f"{origin}/_fake/config", json={"rpm_limit": 5}).json()["rpm_limit"] == 5
    assert api.config.rpm_limit == 5
    assert client.post(f"{origin}/_fake/config", json={"rpm_limt": 5}).status_code == 400
    client.post(f"{origin}/_fake/reset")
    assert api.requests == []


def test_config_rejects_impossible_fault_rates() -> None:
    with pytest.raises(ValueError, match="sum to at most 1"):
        FakeImageApiConfig(error_500=0.7, drop_connection=0.5)


def test_child_process_server_is_inspected_over_http() -> None:
    with (
        FakeImageApiProcess(rpm_limit=1) as server,
        httpx.Client(base_url=server.base_url, trust_env=False) as http,
    ):
        statuses = [http.post("/images/generations", json=GENERATE).status_code for _ in range(2)]
        assert statuses == [200, 429]
        assert server.stats().count_by_status == {200: 1, 429: 1}
        assert [r.status for r in server.requests] == [200, 429]
        server.configure(rpm_limit=10)
        assert http.post("/images/generations", json=GENERATE).status_code == 200
        assert server.prompt_counts() == {GENERATE["prompt"]: 2}
