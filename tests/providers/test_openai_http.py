"""The HTTP provider against ``httpx.MockTransport``: requests, answers, retries, stops, secrets."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image

from catalog_imagegen.generation.providers.base import (
    ImageRequest,
    ImageSettings,
    JobFailed,
    RunHalted,
    SourceImage,
)
from catalog_imagegen.generation.providers.openai_http import OpenAICompatibleProvider
from catalog_imagegen.generation.providers.rate_limit import RequestLimiter
from catalog_imagegen.settings import Secret

from .openai_contract import assert_valid_request

KEY = "sk-test-DISTINCTIVE-0123456789"
BASE = "https://images.example/v1"
Handler = Callable[[httpx.Request], httpx.Response]


def png(width: int = 64, height: int = 48, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


def images_answer(*images: bytes, usage: dict[str, object] | None = None) -> httpx.Response:
    data = [{"b64_json": base64.b64encode(image).decode()} for image in images]
    return httpx.Response(200, json={"created": 1, "data": data, "usage": usage or {}})


def api_error(
    status: int,
    code: str | None,
    type_: str,
    message: str = "",
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = {"error": {"code": code, "type": type_, "message": message, "param": param}}
    return httpx.Response(status, json=body, headers=headers)


class Recorder:
    """A MockTransport handler that plays ``answers`` in order (the last one repeats)."""

    def __init__(self, *answers: Handler | httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer


class PauseSignallingLimiter(RequestLimiter):
    """The run's limiter, which also says when a sender paused it."""

    def __init__(self, **limits: Any) -> None:
        super().__init__(**limits)
        self.paused = asyncio.Event()

    def pause(self, seconds: float) -> None:
        super().pause(seconds)
        self.paused.set()


def provider_for(
    handler: Handler,
    *,
    max_attempts: int = 6,
    concurrency: int = 2,
    limiter: RequestLimiter | None = None,
) -> tuple[OpenAICompatibleProvider, list[float]]:
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    provider = OpenAICompatibleProvider(
        base_url=BASE,
        api_key=Secret(KEY),
        limiter=limiter or RequestLimiter(concurrency=concurrency),
        max_attempts=max_attempts,
        transport=httpx.MockTransport(handler),
        sleep=no_sleep,
    )
    return provider, sleeps


def generate(prompt: str = "A navy hoodie on white", **settings: object) -> ImageRequest:
    return ImageRequest(prompt=prompt, settings=ImageSettings(**settings))  # type: ignore[arg-type]


def edit(*photos: bytes, fidelity: str | None = None, mask: bytes | None = None) -> ImageRequest:
    images = tuple(SourceImage(p, f"photo{i}.png", "image/png") for i, p in enumerate(photos))
    return ImageRequest(
        prompt="Change the hoodie to navy",
        settings=ImageSettings(input_fidelity=fidelity),
        mode="edit",
        images=images,
        mask=SourceImage(mask, "mask.png", "image/png") if mask else None,
    )


async def test_a_generation_sends_a_valid_json_request_with_the_model_and_reads_the_image() -> None:
    recorder = Recorder(
        images_answer(
            png(),
            usage={
                "input_tokens": 12,
                "output_tokens": 4160,
                "input_tokens_details": {"text_tokens": 12},
            },
        )
    )
    provider, _ = provider_for(recorder)
    result = await provider.create_images(
        generate(size="1536x1024", quality="high", output_format="png", background="opaque")
    )
    sent = recorder.requests[0]
    assert sent.url == f"{BASE}/images/generations"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    body = assert_valid_request(sent)
    assert body == {
        "model": "gpt-image-2",
        "prompt": "A navy hoodie on white",
        "n": 1,
        "size": "1536x1024",
        "quality": "high",
        "output_format": "png",
        "background": "opaque",
    }
    assert (result.images[0].width, result.images[0].height, result.attempts) == (64, 48, 1)
    assert result.usage == {
        "input_tokens": 12,
        "output_tokens": 4160,
        "input_tokens_details.text_tokens": 12,
    }


async def test_jpeg_settings_send_compression_and_moderation_never_dalle_fields() -> None:
    recorder = Recorder(images_answer(png(fmt="JPEG"), png(fmt="JPEG")))
    provider, _ = provider_for(recorder)
    request = ImageRequest(
        prompt="p",
        settings=ImageSettings(output_format="jpeg", output_compression=80, moderation="low", n=2),
        user="merch-42",
    )
    result = await provider.create_images(request)
    body = assert_valid_request(recorder.requests[0])
    assert body["output_compression"] == 80
    assert body["moderation"] == "low"
    assert body["n"] == 2
    assert body["user"] == "merch-42"
    assert "response_format" not in body
    assert "style" not in body
    assert len(result.images) == 2


async def test_an_edit_sends_the_photo_as_multipart_image_with_high_fidelity() -> None:
    recorder = Recorder(images_answer(png()))
    provider, _ = provider_for(recorder)
    await provider.create_images(edit(png(32, 32)))
    sent = recorder.requests[0]
    assert sent.url == f"{BASE}/images/edits"
    assert sent.headers["content-type"].startswith("multipart/form-data")
    body = assert_valid_request(sent)
    assert body["input_fidelity"] == "high"
    assert body["model"] == "gpt-image-2"
    assert isinstance(body["image"], str)
    assert body["image"].startswith("<file photo0.png image/png")


async def test_several_photos_go_as_repeated_image_parts_with_a_mask() -> None:
    recorder = Recorder(images_answer(png()))
    provider, _ = provider_for(recorder)
    await provider.create_images(edit(png(), png(), png(), fidelity="low", mask=png()))
    body = assert_valid_request(recorder.requests[0])
    assert len(body["image"]) == 3
    assert body["mask"].startswith("<file mask.png")
    assert body["input_fidelity"] == "low"


async def test_an_edit_without_a_usable_photo_fails_without_a_request() -> None:
    recorder = Recorder(images_answer(png()))
    provider, _ = provider_for(recorder)
    gif = ImageRequest(
        prompt="p",
        settings=ImageSettings(),
        mode="edit",
        images=(SourceImage(b"GIF89a", "x.gif", "image/gif"),),
    )
    with pytest.raises(JobFailed, match="need png, webp or jpeg"):
        await provider.create_images(gif)
    with pytest.raises(JobFailed, match="at most 16"):
        await provider.create_images(edit(*[png()] * 17))
    assert recorder.requests == []


async def test_a_url_answer_is_downloaded_without_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.example":
            return httpx.Response(200, content=png(20, 10))
        return httpx.Response(200, json={"data": [{"url": "https://cdn.example/i/1.png"}]})

    recorder = Recorder(handler)
    provider, _ = provider_for(recorder)
    result = await provider.create_images(generate())
    download = recorder.requests[1]
    assert "authorization" not in download.headers
    assert (result.images[0].width, result.images[0].height) == (20, 10)


@pytest.mark.parametrize(
    "fault",
    [
        httpx.Response(500, json={"error": {"type": "server_error", "message": "oops"}}),
        httpx.Response(503, text="unavailable"),
        httpx.Response(408, text="timeout"),
        httpx.Response(200, content=b'{"data": [{"b64_json": "iVBORw0KGgo'),  # truncated
        httpx.Response(200, json={"data": [{"b64_json": "not base64 at all!"}]}),
        httpx.Response(200, json={"data": [{"b64_json": base64.b64encode(png()[:40]).decode()}]}),
        httpx.Response(200, json={"data": []}),
    ],
)
async def test_passing_faults_are_retried_with_backoff(fault: httpx.Response) -> None:
    recorder = Recorder(fault, images_answer(png()))
    provider, sleeps = provider_for(recorder)
    result = await provider.create_images(generate())
    assert result.attempts == 2
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 1.0


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
)
async def test_connection_errors_and_timeouts_are_retried(error: Exception) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    recorder = Recorder(fail, images_answer(png()))
    provider, _ = provider_for(recorder)
    assert (await provider.create_images(generate())).attempts == 2


async def test_retry_after_pauses_every_sender_of_the_run() -> None:
    arrivals: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        prompt = json.loads(request.content)["prompt"]
        arrivals.append((prompt, time.monotonic()))
        if prompt == "first" and len(arrivals) == 1:
            return api_error(429, "rate_limit_exceeded", "requests", headers={"retry-after": "0.3"})
        return images_answer(png())

    limiter = PauseSignallingLimiter(concurrency=2)
    provider, sleeps = provider_for(handler, limiter=limiter)
    first = asyncio.ensure_future(provider.create_images(generate("first")))
    await limiter.paused.wait()  # the 429 has arrived, however slow the machine
    second = await provider.create_images(generate("second"))  # sent after the 429 arrived
    assert (await first).attempts == 2
    assert second.attempts == 1
    rate_limited_at = arrivals[0][1]
    assert all(at - rate_limited_at >= 0.29 for _, at in arrivals[1:]), arrivals
    assert sleeps == []  # the wait was the server's, not a backoff of our own


async def test_attempts_are_bounded_and_the_last_reason_is_given() -> None:
    recorder = Recorder(httpx.Response(502, text="bad gateway"))
    provider, sleeps = provider_for(recorder, max_attempts=4)
    with pytest.raises(JobFailed) as failure:
        await provider.create_images(generate())
    assert failure.value.attempts == 4
    assert len(recorder.requests) == 4
    assert "gave up after 4 attempts" in failure.value.reason
    assert "HTTP 502" in failure.value.reason
    ceilings = [1, 2, 4]  # exponential, full jitter
    assert all(0 <= s <= c for s, c in zip(sleeps, ceilings, strict=True))


async def test_a_moderation_400_fails_the_job_at_once() -> None:
    recorder = Recorder(
        api_error(
            400,
            "moderation_blocked",
            "image_generation_user_error",
            "Your request was rejected by the safety system.",
        )
    )
    provider, _ = provider_for(recorder)
    with pytest.raises(JobFailed, match="safety system") as failure:
        await provider.create_images(generate("A hoodie with a banned slogan"))
    assert "A hoodie with a banned slogan" in failure.value.reason
    assert failure.value.attempts == 1
    assert len(recorder.requests) == 1


async def test_a_wrong_image_format_fails_the_job() -> None:
    provider, _ = provider_for(Recorder(images_answer(png(fmt="JPEG"))))
    with pytest.raises(JobFailed, match="expected a png image, got jpeg"):
        await provider.create_images(generate())


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (
            api_error(
                401, "invalid_api_key", "invalid_request_error", "Incorrect API key provided"
            ),
            f"the API key was rejected by {BASE}",
        ),
        (
            api_error(403, None, "permission_error", "forbidden"),
            f"the API key was rejected by {BASE}",
        ),
        (
            api_error(429, "insufficient_quota", "insufficient_quota", "You exceeded your quota"),
            "out of credit",
        ),
        (api_error(429, None, "credit_balance_exhausted", "No credit left"), "out of credit"),
    ],
)
async def test_a_bad_key_or_empty_account_halts_and_later_requests_are_refused_unsent(
    answer: httpx.Response, words: str
) -> None:
    recorder = Recorder(answer)
    provider, sleeps = provider_for(recorder)
    with pytest.raises(RunHalted, match=words) as first:
        await provider.create_images(generate())
    assert first.value.attempts == 1
    assert sleeps == []
    with pytest.raises(RunHalted) as later:
        await provider.create_images(generate())
    assert later.value.attempts == 0
    assert len(recorder.requests) == 1


async def test_the_key_never_shows_in_reprs_or_reasons() -> None:
    echo = api_error(401, "invalid_api_key", "invalid_request_error", f"Incorrect API key {KEY}")
    recorder = Recorder(echo)
    provider, _ = provider_for(recorder)
    with pytest.raises(RunHalted) as halted:
        await provider.create_images(generate())
    shown = [
        repr(provider),
        str(provider.__dict__),
        repr(halted.value),
        halted.value.reason,
        repr(recorder.requests[0]),
        repr(recorder.requests[0].headers),
        repr(provider._http.auth),
    ]
    assert all(KEY not in text for text in shown), shown
    assert "[redacted]" in halted.value.reason
    await provider.aclose()


async def test_edit_fields_validate_as_the_official_schema_sees_them() -> None:
    recorder = Recorder(images_answer(png()))
    provider, _ = provider_for(recorder)
    await provider.create_images(edit(png()))
    body = assert_valid_request(recorder.requests[0])
    assert json.dumps(sorted(body)) == json.dumps(
        sorted(
            ["model", "prompt", "n", "size", "quality", "output_format", "input_fidelity", "image"]
        )
    )
