"""``BatchClient``: the Files and Batches endpoints of an OpenAI-compatible API, over httpx.

Thin on purpose: bodies are built in ``wire``, what to do with answers is decided by the callers.
The key reaches the wire only through ``BearerAuth`` (as for the synchronous client), and a
file's content is read as a stream of lines, so an output file of 20,000 images never sits in
memory whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from catalog_imagegen.generation.providers.errors import parse_error
from catalog_imagegen.generation.providers.openai_http import BearerAuth
from catalog_imagegen.settings import Secret

OPEN_STATUSES = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
LIST_PAGE = 100


class BatchApiError(Exception):
    """The Files or Batches endpoint refused a request; the message is the provider's."""


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """What a batch says about itself (the ``Batch`` object, the fields this project reads)."""

    id: str
    status: str
    endpoint: str = ""
    input_file_id: str = ""
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    errors: tuple[dict[str, Any], ...] = ()
    completed: int = 0
    failed: int = 0
    total: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> BatchInfo:
        counts = value.get("request_counts") or {}
        errors = (value.get("errors") or {}).get("data") or ()
        return cls(
            id=value["id"],
            status=value["status"],
            endpoint=value.get("endpoint") or "",
            input_file_id=value.get("input_file_id") or "",
            output_file_id=value.get("output_file_id"),
            error_file_id=value.get("error_file_id"),
            created_at=int(value.get("created_at") or 0),
            metadata=dict(value.get("metadata") or {}),
            errors=tuple(errors),
            completed=int(counts.get("completed") or 0),
            failed=int(counts.get("failed") or 0),
            total=int(counts.get("total") or 0),
        )


class BatchClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: Secret,
        timeout: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            auth=BearerAuth(api_key),
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
            follow_redirects=True,
        )

    def __repr__(self) -> str:
        return f"BatchClient(base_url={self.base_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def upload(self, filename: str, data: bytes, *, purpose: str) -> str:
        """The new file's id."""
        files = {"file": (filename, data, "application/octet-stream")}
        answer = await self._call("POST", "files", data={"purpose": purpose}, files=files)
        return str(answer["id"])

    async def create(
        self, input_file_id: str, endpoint: str, metadata: dict[str, str]
    ) -> BatchInfo:
        body = {
            "input_file_id": input_file_id,
            "endpoint": endpoint,
            "completion_window": "24h",
            "metadata": metadata,
        }
        return BatchInfo.from_json(await self._call("POST", "batches", json=body))

    async def retrieve(self, batch_id: str) -> BatchInfo:
        return BatchInfo.from_json(await self._call("GET", f"batches/{batch_id}"))

    async def cancel(self, batch_id: str) -> BatchInfo:
        return BatchInfo.from_json(await self._call("POST", f"batches/{batch_id}/cancel"))

    async def batches(self) -> AsyncIterator[BatchInfo]:
        """Every batch of the account, newest first, page by page."""
        params: dict[str, Any] = {"limit": LIST_PAGE}
        while True:
            page = await self._call("GET", "batches", params=params)
            for value in page.get("data") or ():
                yield BatchInfo.from_json(value)
            if not page.get("has_more") or not page.get("last_id"):
                return
            params["after"] = page["last_id"]

    async def lines(self, file_id: str) -> AsyncIterator[bytes]:
        """The file's content, one line at a time."""
        async with self._http.stream("GET", f"files/{file_id}/content") as response:
            if response.status_code != 200:
                await response.aread()
                raise BatchApiError(_message(response))
            parts: list[bytes] = []  # the line so far; joined once, as lines can be megabytes
            async for chunk in response.aiter_bytes():
                start = 0
                while (end := chunk.find(b"\n", start)) != -1:
                    parts.append(chunk[start:end])
                    yield b"".join(parts)
                    parts, start = [], end + 1
                if start < len(chunk):
                    parts.append(chunk[start:])
            if parts:
                yield b"".join(parts)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise BatchApiError(f"{self.base_url}/{path}: {type(error).__name__}") from None
        if response.status_code != 200:
            raise BatchApiError(_message(response))
        answer: dict[str, Any] = response.json()
        return answer


def _message(response: httpx.Response) -> str:
    error = parse_error(response.content)
    detail = error.message or response.text[:200]
    request = response.request
    return f"{request.method} {request.url.path}: HTTP {response.status_code}: {detail}"
