"""Reading a request body: a JSON object, or multipart/form-data fields and file parts.

Starlette's form parser needs ``python-multipart``, which this project does not depend on; the
format is simple enough to split here, with the stdlib reading each part's headers.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from catalog_imagegen.testing.fake_image_api.errors import ApiError
from catalog_imagegen.testing.fake_image_api.log import RecordedFile


@dataclass(frozen=True, slots=True)
class DecodedBody:
    # The JSON object, or the multipart fields (a repeated field as a list of strings).
    fields: dict[str, Any]
    files: tuple[RecordedFile, ...]
    is_json: bool


def decode_body(content_type: str, body: bytes) -> DecodedBody:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        return _decode_multipart(content_type, body)
    try:
        fields = json.loads(body)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON "
            "payload (or multipart/form-data for edits), but what was sent was not valid JSON.",
        )
    return DecodedBody(fields=fields, files=(), is_json=True)


def _decode_multipart(content_type: str, body: bytes) -> DecodedBody:
    """Split a multipart/form-data body on its boundary; headers are read by the stdlib."""
    header = email.parser.HeaderParser().parsestr(f"Content-Type: {content_type}\r\n\r\n")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ApiError(400, "multipart/form-data without a boundary.")
    fields: dict[str, Any] = {}
    files: list[RecordedFile] = []
    for part in (b"\r\n" + body).split(b"\r\n--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        headers = email.parser.BytesHeaderParser().parsebytes(head.lstrip(b" \t\r\n") + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ApiError(400, "A multipart part has no name.")
        filename = headers.get_param("filename", header="content-disposition")
        if isinstance(filename, str):
            files.append(_recorded_file(name, filename, headers.get_content_type(), content))
        else:
            _add_field(fields, name, content.decode("utf-8", "replace"))
    return DecodedBody(fields=fields, files=tuple(files), is_json=False)


def _add_field(fields: dict[str, Any], name: str, value: str) -> None:
    if name not in fields:
        fields[name] = value
    elif isinstance(fields[name], list):
        fields[name].append(value)
    else:
        fields[name] = [fields[name], value]


def _recorded_file(name: str, filename: str, content_type: str, data: bytes) -> RecordedFile:
    return RecordedFile(
        name=name,
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )
