"""The fake's Files and Batches endpoints: upload, create, retrieve, list, cancel, file content.

A batch's work happens when it is next looked at once ``batch_delay_s`` has passed since it was
created: every line is answered as the synchronous endpoint would answer it (the same checks and
images), prompts matching ``moderation_pattern`` go to the error file, and with
``batch_expire_after`` only that fraction of the lines is done before the batch expires. ``billed``
counts, per ``custom_id``, the lines a real account would have paid for.
"""

from __future__ import annotations

import asyncio
import math
import re
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from catalog_imagegen.testing.fake_image_api.batch_lines import (
    ENDPOINTS,
    BatchLine,
    error_line,
    output_line,
    read_input_file,
)
from catalog_imagegen.testing.fake_image_api.batch_objects import FakeBatch, FakeFile
from catalog_imagegen.testing.fake_image_api.bodies import decode_body
from catalog_imagegen.testing.fake_image_api.config import FakeImageApiConfig
from catalog_imagegen.testing.fake_image_api.errors import (
    ApiError,
    check_api_key,
    error_response,
    moderation_blocked,
)
from catalog_imagegen.testing.fake_image_api.images import render_for

MAX_FILE_BYTES = 200 * 1024 * 1024
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
PURPOSES = frozenset({"batch", "vision", "user_data", "batch_output"})


class FakeBatchService:
    """Files and batches kept in memory; ``routes`` are mounted by ``FakeImageApp``."""

    def __init__(self, config: Callable[[], FakeImageApiConfig]) -> None:
        self._config = config
        self.files: dict[str, FakeFile] = {}
        self.batches: dict[str, FakeBatch] = {}
        self.billed: Counter[str] = Counter()

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/v1/files", self._upload, methods=["POST"]),
            Route("/v1/files/{file_id}", self._file, methods=["GET"]),
            Route("/v1/files/{file_id}/content", self._content, methods=["GET"]),
            Route("/v1/batches", self._batches, methods=["GET", "POST"]),
            Route("/v1/batches/{batch_id}", self._retrieve, methods=["GET"]),
            Route("/v1/batches/{batch_id}/cancel", self._cancel, methods=["POST"]),
        ]

    def reset(self) -> None:
        self.files.clear()
        self.batches.clear()
        self.billed.clear()

    def created_lines(self) -> Counter[str]:
        """How often each ``custom_id`` was sent in a batch that passed validation."""
        return Counter(
            line.custom_id
            for batch in self.batches.values()
            if batch.status != "failed"
            for line in batch.lines
        )

    async def _guarded(self, request: Request, answer: Callable[[], Awaitable[Any]]) -> Response:
        try:
            check_api_key(request.headers.get("authorization", ""), self._config().api_key)
            result = await answer()
        except ApiError as error:
            return error_response(error)
        return result if isinstance(result, Response) else JSONResponse(result)

    async def _upload(self, request: Request) -> Response:
        async def answer() -> dict[str, Any]:
            body = decode_body(request.headers.get("content-type", ""), await request.body())
            parts = [f for f in body.files if f.name == "file"]
            purpose = body.fields.get("purpose")
            if not parts or purpose not in PURPOSES:
                raise ApiError(400, "Upload needs a 'file' part and a supported 'purpose'.")
            data = parts[0].data or b""
            if len(data) > MAX_FILE_BYTES:
                raise ApiError(400, "File is larger than 200 MB.", param="file")
            upload = FakeFile(
                f"file-{secrets.token_hex(12)}", parts[0].filename or "", purpose, data
            )
            self.files[upload.id] = upload
            return upload.to_json()

        return await self._guarded(request, answer)

    async def _file(self, request: Request) -> Response:
        async def answer() -> dict[str, Any]:
            return self._file_named(request.path_params["file_id"]).to_json()

        return await self._guarded(request, answer)

    async def _content(self, request: Request) -> Response:
        async def answer() -> Response:
            data = self._file_named(request.path_params["file_id"]).data
            return Response(data, media_type="application/octet-stream")

        return await self._guarded(request, answer)

    async def _batches(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._guarded(request, lambda: self._create(request))
        return await self._guarded(request, lambda: self._list(request))

    async def _create(self, request: Request) -> dict[str, Any]:
        body = decode_body("application/json", await request.body()).fields
        endpoint, window = str(body.get("endpoint")), body.get("completion_window")
        if endpoint not in ENDPOINTS or window != "24h":
            raise ApiError(400, "endpoint must be an images endpoint and completion_window 24h.")
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict) or len(metadata) > 16:
            raise ApiError(400, "metadata holds at most 16 string pairs.", param="metadata")
        source = self._file_named(str(body.get("input_file_id")))
        config = self._config()
        lines, errors = read_input_file(
            source.data, endpoint, config.models, lambda file_id: self._bytes_of(file_id)
        )
        batch = FakeBatch(
            id=f"batch_{secrets.token_hex(12)}",
            endpoint=endpoint,
            input_file_id=source.id,
            metadata={str(k): str(v) for k, v in metadata.items()},
            lines=lines,
            errors=errors,
            created_at=time.time(),
        )
        if errors:
            batch.status = "failed"
            batch.ended_at["failed"] = int(time.time())
        self.batches[batch.id] = batch
        if config.batch_create_stall_s:
            await asyncio.sleep(config.batch_create_stall_s)
        return batch.to_json()

    async def _list(self, request: Request) -> dict[str, Any]:
        newest_first = sorted(self.batches.values(), key=lambda b: b.created_at, reverse=True)
        after = request.query_params.get("after")
        if after:
            ids = [batch.id for batch in newest_first]
            newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
        limit = max(1, min(100, int(request.query_params.get("limit", "20"))))
        page = newest_first[:limit]
        for batch in page:
            await self._advance(batch)
        return {
            "object": "list",
            "data": [batch.to_json() for batch in page],
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
            "has_more": len(newest_first) > limit,
        }

    async def _retrieve(self, request: Request) -> Response:
        async def answer() -> dict[str, Any]:
            batch = self._batch_named(request.path_params["batch_id"])
            await self._advance(batch)
            return batch.to_json()

        return await self._guarded(request, answer)

    async def _cancel(self, request: Request) -> Response:
        async def answer() -> dict[str, Any]:
            batch = self._batch_named(request.path_params["batch_id"])
            await self._advance(batch)
            if batch.status not in TERMINAL:
                # Nothing was finished yet: the batch ends with no output.
                batch.ended_at["cancelling"] = batch.ended_at["cancelled"] = int(time.time())
                batch.status = "cancelled"
            return batch.to_json()

        return await self._guarded(request, answer)

    async def _advance(self, batch: FakeBatch) -> None:
        """Do the batch's work once its delay has passed."""
        if batch.status in TERMINAL:
            return
        config = self._config()
        now = time.time()
        batch.status = "in_progress"
        batch.ended_at.setdefault("in_progress", int(now))
        if now - batch.created_at < config.batch_delay_s:
            return
        expire = config.batch_expire_after
        done = len(batch.lines) if expire is None else math.floor(len(batch.lines) * expire)
        output, errors = await self._answer_lines(batch.lines[:done], config)
        if output:
            batch.output_file_id = self._keep_output(batch, "output", output)
        if errors:
            batch.error_file_id = self._keep_output(batch, "errors", errors)
        batch.status = "completed" if expire is None else "expired"
        batch.ended_at["finalizing"] = batch.ended_at[batch.status] = int(now)

    async def _answer_lines(
        self, lines: list[BatchLine], config: FakeImageApiConfig
    ) -> tuple[list[bytes], list[bytes]]:
        output: list[bytes] = []
        errors: list[bytes] = []
        for line in lines:
            pattern = config.moderation_pattern
            if pattern and re.search(pattern, line.call.prompt):
                errors.append(error_line(line, moderation_blocked()))
                continue
            try:
                image = await render_for(line.call, config)
            except ApiError as error:
                errors.append(error_line(line, error))
                continue
            output.append(output_line(line, image))
            self.billed[line.custom_id] += 1
        return output, errors

    def _keep_output(self, batch: FakeBatch, kind: str, lines: list[bytes]) -> str:
        if kind == "output":
            batch.completed = len(lines)
        else:
            batch.failed = len(lines)
        kept = FakeFile(
            f"file-{secrets.token_hex(12)}",
            f"{batch.id}_{kind}.jsonl",
            "batch_output",
            b"".join(lines),
        )
        self.files[kept.id] = kept
        return kept.id

    def _bytes_of(self, file_id: str) -> bytes | None:
        found = self.files.get(file_id)
        return found.data if found else None

    def _file_named(self, file_id: str) -> FakeFile:
        found = self.files.get(file_id)
        if found is None:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return found

    def _batch_named(self, batch_id: str) -> FakeBatch:
        found = self.batches.get(batch_id)
        if found is None:
            raise ApiError(404, f"No batch found with id '{batch_id}'.", param="batch_id")
        return found
