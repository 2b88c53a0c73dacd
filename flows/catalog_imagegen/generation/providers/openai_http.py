"""``OpenAICompatibleProvider``: any OpenAI-compatible images API over HTTP (httpx, async).

Each job is a loop of attempts. Every attempt waits for the run's ``RequestLimiter`` (requests in
flight, images per minute, run-wide pause), sends one request and gets a verdict from
``errors.classify``: images, retry after a backoff (exponential with full jitter, or what
``Retry-After`` says, which also pauses every other sender), fail this job, or halt the run. Once
halted, the provider refuses every new request at once, so a wrong key costs one round of
requests, not a retry storm.

The API key lives in a ``Secret`` and reaches the wire only through ``BearerAuth``; it is not a
default header of the client, so no repr of the client, request or headers can show it, and any
echo of it in a server's error message is scrubbed before it becomes a reason.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Generator

import httpx

from catalog_imagegen.generation.image_files import InvalidImage, check_image
from catalog_imagegen.generation.providers.access_check import (
    CHECK_TIMEOUT,
    ProviderUnusable,
    base_url_problem,
    models_answer_problem,
    unreachable,
)
from catalog_imagegen.generation.providers.answered_checks import take_passed_check
from catalog_imagegen.generation.providers.base import (
    CONTENT_TYPES,
    GeneratedImage,
    ImageRequest,
    JobFailed,
    ProviderResult,
    RunHalted,
)
from catalog_imagegen.generation.providers.errors import FailJob, HaltRun, Retry, classify
from catalog_imagegen.generation.providers.model_rules import PERMISSIVE, ModelRules
from catalog_imagegen.generation.providers.openai_wire import (
    MAX_EDIT_IMAGES,
    MalformedResponse,
    ReturnedImage,
    edit_form,
    generation_body,
    parse_images_answer,
)
from catalog_imagegen.generation.providers.rate_limit import RequestLimiter
from catalog_imagegen.settings import DEFAULT_MODEL, Secret

DEFAULT_READ_TIMEOUT = 360.0  # gpt-image-2 at quality high takes about two minutes per image
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_ATTEMPTS = 6
MAX_RETRY_AFTER = 600.0  # honour a server's wait, but not one that would stall the run for hours
REDACTED = "[redacted]"
MAX_SOURCE_BYTES = 50 * 1024 * 1024
EDIT_CONTENT_TYPES = frozenset(CONTENT_TYPES.values())

Sleep = Callable[[float], Awaitable[None]]


class BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <key>`` as the request leaves; its repr shows no key."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(********)"


class OpenAICompatibleProvider:
    is_preview = False

    def __init__(
        self,
        *,
        base_url: str,
        api_key: Secret,
        limiter: RequestLimiter,
        model: str = DEFAULT_MODEL,
        rules: ModelRules = PERMISSIVE,
        name: str = "openai-compatible",
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.name = name
        self.model = model
        self.rules = rules
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._key = api_key
        self._sleep = sleep
        self.halt_reason: str | None = None
        pool = limiter.concurrency + 2
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            auth=BearerAuth(api_key),
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            transport=transport,
            follow_redirects=True,
        )
        # Image URLs are usually pre-signed storage links: they are fetched without our key.
        self._downloads = httpx.AsyncClient(
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=transport,
            follow_redirects=True,
        )

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(base_url={self.base_url!r}, model={self.model!r})"

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._downloads.aclose()

    async def check_access(self) -> None:
        """One cheap call before any paid one: ``GET {base_url}/models/{model}``. Raises
        ``ProviderUnusable`` when no image request of the run could succeed. A command line
        that asked the same moments ago, in this process, is taken at its word once."""
        if problem := base_url_problem(self.base_url):
            raise ProviderUnusable(problem, bad_input=True)
        if take_passed_check(self.base_url, self.model):
            return
        try:
            response = await self._http.get(f"models/{self.model}", timeout=CHECK_TIMEOUT)
        except (httpx.TransportError, httpx.InvalidURL) as error:
            raise unreachable(self.base_url, error) from None
        problem_found = models_answer_problem(
            response.status_code, response.content, base_url=self.base_url, model=self.model
        )
        if problem_found is not None:
            reason = self._scrub(problem_found.reason)
            raise ProviderUnusable(reason, bad_input=problem_found.bad_input)

    async def create_images(self, request: ImageRequest) -> ProviderResult:
        reason = "no attempt made"
        if problem := request_problem(request):
            raise JobFailed(problem, attempts=0)
        for attempt in range(1, self.max_attempts + 1):
            if self.halt_reason is not None:
                raise RunHalted(self.halt_reason, attempts=attempt - 1)
            verdict = await self._attempt(request)
            if isinstance(verdict, ProviderResult):
                return ProviderResult(verdict.images, attempt, verdict.usage)
            if isinstance(verdict, HaltRun):
                self.halt_reason = self.halt_reason or self._scrub(verdict.reason)
                raise RunHalted(self.halt_reason, attempts=attempt)
            if isinstance(verdict, FailJob):
                raise JobFailed(
                    self._scrub(verdict.reason),
                    attempts=attempt,
                    refused_param=verdict.refused_param,
                )
            reason = self._scrub(verdict.reason)
            if attempt < self.max_attempts:
                await self._back_off(attempt, verdict.after)
        raise JobFailed(
            f"gave up after {self.max_attempts} attempts; last: {reason}",
            attempts=self.max_attempts,
        )

    async def _back_off(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            # The server said how long: every sender of the run waits, in the limiter.
            self.limiter.pause(min(retry_after, MAX_RETRY_AFTER))
            return
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        await self._sleep(random.uniform(0, ceiling))

    async def _attempt(self, request: ImageRequest) -> ProviderResult | Retry | FailJob | HaltRun:
        try:
            async with self.limiter.slot(request.settings.n):
                status, headers, body = await self._send(request)
                if status != 200:
                    return classify(
                        status, body, headers, base_url=self.base_url, prompt=request.prompt
                    )
                return await self._images_from(body, request)
        except httpx.TimeoutException as error:
            return Retry(f"timed out ({type(error).__name__})")
        except (httpx.TransportError, httpx.DecodingError) as error:
            return Retry(f"connection failed ({type(error).__name__})")
        except MalformedResponse as error:
            return Retry(str(error))

    async def _send(self, request: ImageRequest) -> tuple[int, httpx.Headers, bytes]:
        """Status, headers and body. The body is read from the stream, not kept on the response:
        an httpx Response sits in a reference cycle with its stream, so whatever it holds waits
        for the cycle collector, and with 2 MB answers that was hundreds of MB between sweeps."""
        if request.mode == "edit":
            fields, files = edit_form(request, self.model, self.rules)
            stream = self._http.stream("POST", "images/edits", data=fields, files=files)
        else:
            body = generation_body(request, self.model, self.rules)
            stream = self._http.stream("POST", "images/generations", json=body)
        async with stream as response:
            chunks = [chunk async for chunk in response.aiter_bytes()]
            return response.status_code, response.headers, b"".join(chunks)

    async def _images_from(self, body: bytes, request: ImageRequest) -> ProviderResult | FailJob:
        answer = parse_images_answer(body)
        expected = request.settings.output_format
        images = []
        for returned in answer.images:
            data = await self._image_bytes(returned)
            try:
                width, height = check_image(data, expected)
            except InvalidImage as error:
                # A cut-off download is worth another try; a wrong format will not change.
                if "not a readable image" in str(error):
                    raise MalformedResponse(f"the returned image is {error}") from None
                return FailJob(f"the provider returned {error}")
            images.append(GeneratedImage(data, expected, width, height))
        return ProviderResult(tuple(images), usage=answer.usage)

    async def _image_bytes(self, returned: ReturnedImage) -> bytes:
        if returned.data is not None:
            return returned.data
        assert returned.url is not None
        async with self._downloads.stream("GET", returned.url) as response:
            if response.status_code != 200:
                raise MalformedResponse(
                    f"downloading the image answered HTTP {response.status_code}"
                )
            return b"".join([chunk async for chunk in response.aiter_bytes()])

    def _scrub(self, text: str) -> str:
        """The text with any echo of the key (some servers quote it in errors) removed."""
        key = self._key.reveal()
        return text.replace(key, REDACTED) if key else text


def request_problem(request: ImageRequest) -> str | None:
    """Why this request cannot be sent at all (checked before spending an attempt), or ``None``."""
    if request.mode != "edit":
        return None
    if not request.images:
        return f"an edit needs a source image ({request.label})"
    if len(request.images) > MAX_EDIT_IMAGES:
        return f"an edit takes at most {MAX_EDIT_IMAGES} images, got {len(request.images)}"
    for image in (*request.images, *((request.mask,) if request.mask else ())):
        if image.content_type not in EDIT_CONTENT_TYPES:
            return f"source image {image.filename} is {image.content_type}; need png, webp or jpeg"
        if len(image.data) > MAX_SOURCE_BYTES:
            return f"source image {image.filename} is larger than 50 MB"
    return None
