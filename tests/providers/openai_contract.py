"""Contract check: does a captured HTTP request match OpenAI's official images request schemas?

The schemas come from OpenAI's OpenAPI document (a copy of ../shared/openai-images, in
tests/fixtures/openai). Multipart bodies are parsed first: text parts are typed by the schema
(``n`` becomes an integer), file parts become placeholders, and repeated ``image[]`` parts become
the ``image`` array. The official schemas allow unknown properties, but the API answers 400
"Unknown parameter" to them, so the check is stricter and refuses any property it does not list.
"""

from __future__ import annotations

import copy
import json
from email.parser import BytesParser
from email.policy import HTTP
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "openai" / "openapi-images.json"
REQUEST_SCHEMAS = {
    "/images/generations": "CreateImageRequest",
    "/images/edits": "CreateImageEditRequest",
}


@cache
def openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    for name in REQUEST_SCHEMAS.values():
        document["components"]["schemas"][name]["additionalProperties"] = False
    return document


def request_schema(name: str) -> dict[str, Any]:
    return openapi_document()["components"]["schemas"][name]  # type: ignore[no-any-return]


def validation_errors(payload: dict[str, Any], schema_name: str) -> list[str]:
    """Schema violations of ``payload`` against ``#/components/schemas/<schema_name>``."""
    root = copy.copy(openapi_document())
    root["$ref"] = f"#/components/schemas/{schema_name}"
    validator = Draft202012Validator(root)
    return [
        f"{'/'.join(map(str, e.path)) or '<body>'}: {e.message}"
        for e in validator.iter_errors(payload)
    ]


def captured_payload(path: str, content_type: str, body: bytes) -> tuple[str, dict[str, Any]]:
    """(schema name, the body as the schema sees it) for a request to an images endpoint."""
    endpoint = next((e for e in REQUEST_SCHEMAS if path.endswith(e)), None)
    if endpoint is None:
        raise AssertionError(f"{path} is not an images endpoint")
    schema_name = REQUEST_SCHEMAS[endpoint]
    if content_type.startswith("multipart/form-data"):
        return schema_name, multipart_payload(body, content_type, request_schema(schema_name))
    if content_type.startswith("application/json"):
        return schema_name, json.loads(body)
    raise AssertionError(f"unexpected content type {content_type!r}")


def multipart_payload(body: bytes, content_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise AssertionError("multipart body does not parse")
    payload: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        raw = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(raw, bytes)
        if part.get_filename() is not None:
            value: Any = f"<file {part.get_filename()} {part.get_content_type()} {len(raw)} bytes>"
        else:
            value = typed_field(raw.decode(), schema["properties"].get(name.removesuffix("[]"), {}))
        if name.endswith("[]"):
            payload.setdefault(name.removesuffix("[]"), []).append(value)
        elif name in payload:
            raise AssertionError(f"part {name!r} sent twice without []")
        else:
            payload[name] = value
    return payload


def typed_field(text: str, property_schema: dict[str, Any]) -> Any:
    kind = property_schema.get("type")
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    if kind == "boolean":
        return {"true": True, "false": False}[text]
    return text


def assert_valid_request(request: httpx.Request) -> dict[str, Any]:
    """Fail with every violation if ``request`` breaks its schema; else return its payload."""
    return assert_valid(request.url.path, request.headers.get("content-type", ""), request.read())


def assert_valid(path: str, content_type: str, body: bytes) -> dict[str, Any]:
    schema_name, payload = captured_payload(path, content_type, body)
    errors = validation_errors(payload, schema_name)
    assert not errors, f"{path} breaks {schema_name}: {errors}"
    return payload


def recorded_payload(
    path: str, fields: dict[str, Any], files: list[tuple[str, str]]
) -> tuple[str, dict[str, Any]]:
    """(schema name, payload) for a request a server recorded as form ``fields`` and file parts
    ``(part name, description)``; JSON bodies come as ``fields`` with no files."""
    endpoint = next(e for e in REQUEST_SCHEMAS if path.endswith(e))
    schema_name = REQUEST_SCHEMAS[endpoint]
    if not files:
        return schema_name, dict(fields)
    properties = request_schema(schema_name)["properties"]
    payload: dict[str, Any] = {
        name: typed_field(value, properties.get(name, {})) if isinstance(value, str) else value
        for name, value in fields.items()
    }
    for name, description in files:
        if name.endswith("[]"):
            payload.setdefault(name.removesuffix("[]"), []).append(description)
        else:
            payload[name] = description
    return schema_name, payload
