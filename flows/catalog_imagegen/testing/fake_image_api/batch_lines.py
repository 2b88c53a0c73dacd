"""Reading a batch input file as the Batch API validates it, and answering one line.

Validation follows the published shapes: one JSON object per line with a unique ``custom_id``,
``method`` ``POST``, a ``url`` equal to the batch's endpoint and a ``body`` the synchronous endpoint
would accept (the same ``check_call``, so the same model rules). Any bad line fails the whole
batch at validation, with every bad line's number and message, and nothing is billed. Edits refer
to uploaded files by ``file_id``; those are resolved to the uploaded bytes before the check.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from catalog_imagegen.testing.fake_image_api.bodies import DecodedBody
from catalog_imagegen.testing.fake_image_api.checks import Endpoint, ImageCall, check_call
from catalog_imagegen.testing.fake_image_api.errors import ApiError, request_id
from catalog_imagegen.testing.fake_image_api.images import RenderedImage

MAX_LINES = 50_000
ENDPOINTS: Mapping[str, Endpoint] = {
    "/v1/images/generations": "generations",
    "/v1/images/edits": "edits",
}


@dataclass(frozen=True, slots=True)
class BatchLine:
    custom_id: str
    call: ImageCall


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    message: str
    code: str | None = None
    param: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message, "code": self.code, "param": self.param}


def read_input_file(
    content: bytes,
    endpoint: str,
    models: tuple[str, ...],
    file_bytes: Callable[[str], bytes | None],
) -> tuple[list[BatchLine], list[LineError]]:
    """Every line checked; the lines, or the errors that fail the batch."""
    lines: list[BatchLine] = []
    errors: list[LineError] = []
    seen: set[str] = set()
    rows = content.decode("utf-8", "replace").splitlines()
    if len(rows) > MAX_LINES:
        return [], [LineError(MAX_LINES + 1, f"A batch holds at most {MAX_LINES} requests.")]
    for number, row in enumerate(rows, start=1):
        if not row.strip():
            continue
        try:
            line = _read_line(row, endpoint, models, file_bytes)
        except ApiError as error:
            errors.append(LineError(number, error.message, error.code, error.param))
            continue
        if line.custom_id in seen:
            errors.append(LineError(number, f"Duplicate custom_id '{line.custom_id}'."))
        seen.add(line.custom_id)
        lines.append(line)
    if not lines and not errors:
        errors.append(LineError(1, "The input file holds no requests."))
    return lines, errors


def _read_line(
    row: str, endpoint: str, models: tuple[str, ...], file_bytes: Callable[[str], bytes | None]
) -> BatchLine:
    try:
        request = json.loads(row)
    except ValueError:
        raise ApiError(400, "This line is not valid JSON.", code="invalid_json_line") from None
    if not isinstance(request, dict):
        raise ApiError(400, "Each line must be a JSON object.", code="invalid_json_line")
    custom_id = request.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise ApiError(400, "Missing 'custom_id'.", code="missing_required_parameter")
    if request.get("method") != "POST":
        raise ApiError(400, "Only POST requests are batched.", param="method")
    if request.get("url") != endpoint:
        raise ApiError(400, f"The line's url must be the batch's endpoint {endpoint}.", param="url")
    body = request.get("body")
    if not isinstance(body, dict):
        raise ApiError(400, "Missing 'body' object.", param="body")
    fields = _with_file_bytes(body, file_bytes)
    call = check_call(ENDPOINTS[endpoint], DecodedBody(fields, (), is_json=True), models)
    return BatchLine(custom_id, call)


def _with_file_bytes(
    body: dict[str, Any], file_bytes: Callable[[str], bytes | None]
) -> dict[str, Any]:
    """The body with ``{"file_id": ...}`` image references turned into data URLs."""
    fields = dict(body)
    for name in ("images", "mask"):
        value = fields.get(name)
        refs = value if isinstance(value, list) else [value]
        resolved = [_resolved(ref, name, file_bytes) for ref in refs]
        if isinstance(value, list):
            fields[name] = resolved
        elif value is not None:
            fields[name] = resolved[0]
    return fields


def _resolved(ref: object, name: str, file_bytes: Callable[[str], bytes | None]) -> object:
    if not isinstance(ref, dict) or "file_id" not in ref:
        return ref
    data = file_bytes(str(ref["file_id"]))
    if data is None:
        raise ApiError(400, f"No such file: '{ref['file_id']}'.", param=name)
    return {"image_url": "data:image/png;base64," + base64.b64encode(data).decode()}


def output_line(line: BatchLine, image: RenderedImage) -> bytes:
    """A finished request as the output file holds it: the synchronous response as ``body``."""
    call = line.call
    meta = {
        "background": "transparent" if call.transparent else "opaque",
        "output_format": call.output_format,
        "size": f"{image.width}x{image.height}",
        "quality": call.quality,
        "usage": call.usage(),
    }
    images = b",".join([b'{"b64_json":"' + image.b64 + b'"}'] * call.n)
    body = (
        b'{"created":%d,"data":[' % int(time.time())
        + images
        + b"],"
        + json.dumps(meta)[1:].encode()
    )
    head = {"id": f"batch_req_{secrets.token_hex(12)}", "custom_id": line.custom_id}
    response = b'{"status_code":200,"request_id":"' + request_id().encode() + b'","body":' + body
    return json.dumps(head)[:-1].encode() + b',"response":' + response + b'},"error":null}\n'


def error_line(line: BatchLine, error: ApiError) -> bytes:
    """A failed request as the error file holds it: the synchronous error answer as ``body``."""
    return (
        json.dumps(
            {
                "id": f"batch_req_{secrets.token_hex(12)}",
                "custom_id": line.custom_id,
                "response": {
                    "status_code": error.status,
                    "request_id": request_id(),
                    "body": error.to_json(),
                },
                "error": None,
            }
        ).encode()
        + b"\n"
    )
