"""The fake images API as an ASGI app: OpenAI's two image endpoints plus ``/_fake`` controls.

An image request goes through the checks in the order the real service applies them: API key,
quota, the request itself, the rate limiter, moderation; then the configured latency, then at most
one injected fault, else the images.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from catalog_imagegen.generation.providers.base import CONTENT_TYPES
from catalog_imagegen.testing.fake_image_api.batches import FakeBatchService
from catalog_imagegen.testing.fake_image_api.bodies import DecodedBody, decode_body
from catalog_imagegen.testing.fake_image_api.checks import Endpoint, ImageCall, check_call
from catalog_imagegen.testing.fake_image_api.config import FakeImageApiConfig
from catalog_imagegen.testing.fake_image_api.errors import (
    ApiError,
    check_api_key,
    error_response,
    invalid_url,
    model_object,
    moderation_blocked,
    quota_exhausted,
    rate_limited,
    request_id,
    server_error,
)
from catalog_imagegen.testing.fake_image_api.faults import (
    ConnectionRegistry,
    DroppedConnection,
    TruncatedResponse,
    corrupt_b64,
)
from catalog_imagegen.testing.fake_image_api.images import RenderedImage, render_for
from catalog_imagegen.testing.fake_image_api.log import RecordedRequest, RequestLog

_SERVED_IMAGES_KEPT = 4096


@dataclass(slots=True)
class _Facts:
    """What one request turned out to be, filled in while it is handled, then recorded."""

    body: DecodedBody | None = None
    call: ImageCall | None = None
    fault: str | None = None
    error_code: str | None = None
    admitted: bool = False


class FakeImageApp:
    """The ASGI app and its state: configuration, request log, images served by URL."""

    def __init__(self, config: FakeImageApiConfig | None = None) -> None:
        self.config = config or FakeImageApiConfig()
        self.log = RequestLog()
        self.connections = ConnectionRegistry()
        self._attempts: Counter[str] = Counter()
        self._served: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self.batches = FakeBatchService(lambda: self.config)
        self._starlette = Starlette(
            routes=[
                *self.batches.routes,
                Route("/v1/images/generations", self._images, methods=["POST"]),
                Route("/v1/images/edits", self._images, methods=["POST"]),
                Route("/v1/models/{model:path}", self._model, methods=["GET"]),
                Route("/_fake/images/{name}", self._served_image, methods=["GET"]),
                Route("/_fake/requests", self._requests, methods=["GET"]),
                Route("/_fake/stats", self._stats, methods=["GET"]),
                Route("/_fake/config", self._config, methods=["GET", "POST"]),
                Route("/_fake/reset", self._reset, methods=["POST"]),
            ],
            exception_handlers={HTTPException: invalid_url},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._starlette(scope, receive, send)

    def configure(
        self, changes: Mapping[str, Any], base: FakeImageApiConfig | None = None
    ) -> FakeImageApiConfig:
        """Apply ``changes`` to ``base`` (default: the current configuration)."""
        # One reference swap: a request in flight keeps the configuration it started with.
        self.config = (base or self.config).with_changes(changes)
        return self.config

    def reset(self) -> None:
        self.log.reset()
        self._attempts.clear()
        self._served.clear()
        self.batches.reset()

    async def _images(self, request: Request) -> Response:
        endpoint: Endpoint = "edits" if request.url.path.endswith("/edits") else "generations"
        config = self.config
        facts = _Facts()
        started_at = time.time()
        self.log.started()
        # What Starlette answers should handling fail unexpectedly.
        status: int | None = 500
        try:
            try:
                response = await self._answer(request, endpoint, config, facts)
            except ApiError as error:
                facts.error_code = error.code
                response = error_response(error)
            status = None if isinstance(response, DroppedConnection) else response.status_code
            return response
        finally:
            self.log.finished(_record(request, facts, config, started_at, status))

    async def _model(self, request: Request) -> Response:
        """``GET /v1/models/{model}``: the model object, or 404 ``model_not_found``."""
        config = self.config
        self.log.looked_up(request.path_params["model"])
        if not config.models_endpoint:
            raise HTTPException(404)
        try:
            check_api_key(request.headers.get("authorization", ""), config.api_key)
            return JSONResponse(model_object(request.path_params["model"], config))
        except ApiError as error:
            return error_response(error)

    async def _answer(
        self, request: Request, endpoint: Endpoint, config: FakeImageApiConfig, facts: _Facts
    ) -> Response:
        call = facts.call = await self._admit(request, endpoint, config, facts)
        facts.admitted = True
        if config.moderation_pattern and re.search(config.moderation_pattern, call.prompt):
            raise moderation_blocked()
        image = await render_for(call, config)
        if config.latency_s:
            await asyncio.sleep(config.latency_s)
        fault = facts.fault = config.fault_at(self._draw(config.seed, endpoint, call.prompt))
        if fault in ("error_500", "error_503"):
            raise server_error(500 if fault == "error_500" else 503)
        if fault == "rate_limit_429":
            raise rate_limited(
                call.model, config.rpm_limit, call.n, config.random_429_retry_after_s
            )
        if fault == "drop_connection":
            return DroppedConnection(self.connections)
        body = self._success_body(request, call, config, image, corrupt=fault == "invalid_base64")
        headers = {"x-request-id": request_id()}
        if fault == "truncated_body":
            return TruncatedResponse(body, config.truncation, self.connections, headers)
        return Response(body, media_type="application/json", headers=headers)

    async def _admit(
        self, request: Request, endpoint: Endpoint, config: FakeImageApiConfig, facts: _Facts
    ) -> ImageCall:
        """Checks before any work: API key, quota, the request itself, then the rate limit."""
        decode_error: ApiError | None = None
        try:
            facts.body = decode_body(request.headers.get("content-type", ""), await request.body())
        except ApiError as error:
            decode_error = error
        check_api_key(request.headers.get("authorization", ""), config.api_key)
        if config.quota_exhausted:
            raise quota_exhausted()
        if facts.body is None:
            raise decode_error or ApiError(400, "Empty request body.")
        call = check_call(endpoint, facts.body, config.models)
        wait_s = self.log.admit(call.n, config.rpm_limit, time.monotonic())
        if wait_s is not None:
            raise rate_limited(call.model, config.rpm_limit, call.n, wait_s)
        return call

    def _draw(self, seed: int, endpoint: Endpoint, prompt: str) -> float:
        """A number in [0, 1) fixed by the seed, the prompt and how often the prompt came before.

        Drawing per prompt keeps a job's fault sequence the same however requests interleave.
        """
        key = f"{endpoint}\0{prompt}"
        attempt = self._attempts[key]
        self._attempts[key] += 1
        digest = hashlib.sha256(f"{seed}\0{key}\0{attempt}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def _success_body(
        self,
        request: Request,
        call: ImageCall,
        config: FakeImageApiConfig,
        image: RenderedImage,
        *,
        corrupt: bool,
    ) -> bytes:
        by_url = config.response_style == "url" or call.response_format == "url"
        if by_url:
            data = image.data[: len(image.data) // 2] if corrupt else image.data
            urls = [self._serve(request, data, image) for _ in range(call.n)]
            items = [json.dumps({"url": url}).encode() for url in urls]
        else:
            b64 = corrupt_b64(image.b64) if corrupt else image.b64
            # Spliced, not json.dumps'd: base64 needs no escaping, and images can be megabytes.
            items = [b'{"b64_json":"' + b64 + b'"}'] * call.n
        meta = {
            "background": "transparent" if call.transparent else "opaque",
            "output_format": call.output_format,
            "size": f"{image.width}x{image.height}",
            "quality": call.quality,
            "usage": call.usage(),
        }
        head = b'{"created":%d,"data":[' % int(time.time())
        return head + b",".join(items) + b"]," + json.dumps(meta).encode()[1:]

    def _serve(self, request: Request, data: bytes, image: RenderedImage) -> str:
        image_id = secrets.token_hex(12)
        self._served[image_id] = (data, CONTENT_TYPES[image.format])
        while len(self._served) > _SERVED_IMAGES_KEPT:
            self._served.popitem(last=False)
        return f"{str(request.base_url).rstrip('/')}/_fake/images/{image_id}.{image.format}"

    async def _served_image(self, request: Request) -> Response:
        served = self._served.get(request.path_params["name"].split(".", 1)[0])
        if served is None:
            raise HTTPException(404)
        self.log.downloaded()
        return Response(served[0], media_type=served[1])

    async def _requests(self, request: Request) -> Response:
        return JSONResponse([record.to_json() for record in self.log.records()])

    async def _stats(self, request: Request) -> Response:
        return JSONResponse(self.log.stats(time.monotonic()).to_json())

    async def _config(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.configure(await request.json())
            except (ValueError, TypeError, re.error) as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(self.config.to_json())

    async def _reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"reset": True})


def _record(
    request: Request,
    facts: _Facts,
    config: FakeImageApiConfig,
    started_at: float,
    status: int | None,
) -> RecordedRequest:
    body = facts.body
    fields = body.fields if body else {}
    files = body.files if body else ()
    if not config.record_file_bytes:
        files = tuple(replace(file, data=None) for file in files)
    prompt = facts.call.prompt if facts.call else fields.get("prompt")
    model = facts.call.model if facts.call else fields.get("model")
    return RecordedRequest(
        started_at=started_at,
        ended_at=time.time(),
        method=request.method,
        path=request.url.path,
        status=status,
        headers=_headers(request),
        fields=fields,
        files=files,
        prompt=prompt if isinstance(prompt, str) else None,
        n=facts.call.n if facts.call else _n_given(fields),
        model=model if isinstance(model, str) else None,
        fault=facts.fault,
        error_code=facts.error_code,
        admitted=facts.admitted,
    )


def _headers(request: Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _n_given(fields: dict[str, Any]) -> int:
    value = fields.get("n", 1)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 1
