"""Batch files: request lines out, result lines in. Pure, so tested with tables.

A request line's body is built by the same functions as the synchronous client's request
(``openai_wire``), so the model rules apply to both; an edit refers to its photos by ``file_id``.
Result lines are read one at a time: an output file of images is large, and a line holds one
request's images, so memory follows the images in flight, not the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from catalog_imagegen.generation.image_files import InvalidImage, check_image
from catalog_imagegen.generation.providers.base import (
    GeneratedImage,
    ImageRequest,
    OutputFormat,
    ProviderResult,
)
from catalog_imagegen.generation.providers.errors import classify
from catalog_imagegen.generation.providers.model_rules import PERMISSIVE, ModelRules
from catalog_imagegen.generation.providers.openai_wire import (
    MalformedResponse,
    edit_json_body,
    generation_body,
    images_answer,
)

MAX_LINES = 50_000
MAX_FILE_BYTES = 200 * 1024 * 1024
GENERATIONS = "/v1/images/generations"
EDITS = "/v1/images/edits"


@dataclass(frozen=True, slots=True)
class ResultLine:
    """One line of an output or error file: the job's answer, or the provider's reason."""

    custom_id: str
    status_code: int
    body: Any  # the decoded response body: what a synchronous answer would have been


def endpoint_for(request: ImageRequest) -> str:
    return EDITS if request.mode == "edit" else GENERATIONS


def request_line(
    custom_id: str,
    request: ImageRequest,
    model: str,
    file_ids: Iterable[str] = (),
    rules: ModelRules = PERMISSIVE,
) -> bytes:
    """One JSONL line under the model's ``rules``; an edit's photos are the files ``file_ids``."""
    if request.mode == "edit":
        refs = [{"file_id": file_id} for file_id in file_ids]
        body = edit_json_body(request, model, refs, rules)
    else:
        body = generation_body(request, model, rules)
    line = {"custom_id": custom_id, "method": "POST", "url": endpoint_for(request), "body": body}
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def input_files(
    lines: Iterable[bytes], *, max_lines: int = MAX_LINES, max_bytes: int = MAX_FILE_BYTES
) -> Iterator[list[bytes]]:
    """The lines cut into files of at most ``max_lines`` lines and ``max_bytes`` bytes."""
    current: list[bytes] = []
    size = 0
    for line in lines:
        if len(line) > max_bytes:
            raise ValueError(f"one batch line is larger than {max_bytes} bytes")
        if current and (len(current) >= max_lines or size + len(line) > max_bytes):
            yield current
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        yield current


def read_result_line(raw: bytes) -> ResultLine:
    """A line of an output or error file (``{"custom_id", "response": {...}, "error": ...}``)."""
    try:
        document = json.loads(raw)
    except ValueError:
        raise MalformedResponse("a batch result line is not valid JSON") from None
    custom_id = document.get("custom_id") if isinstance(document, dict) else None
    if not isinstance(custom_id, str):
        raise MalformedResponse("a batch result line has no custom_id")
    response = document.get("response")
    if isinstance(response, dict) and isinstance(response.get("status_code"), int):
        return ResultLine(custom_id, response["status_code"], response.get("body"))
    return ResultLine(custom_id, 500, {"error": document.get("error") or {}})


def result_lines(raw_lines: Iterable[bytes]) -> Iterator[ResultLine]:
    for raw in raw_lines:
        if raw.strip():
            yield read_result_line(raw)


def provider_result(
    line: ResultLine, expected: OutputFormat, prompt: str = ""
) -> ProviderResult | str:
    """The checked images of a finished line, or why the job failed (the provider's reason)."""
    if line.status_code != 200:
        body = json.dumps(line.body).encode()
        return classify(line.status_code, body, {}, prompt=prompt).reason
    try:
        answer = images_answer(line.body)
        images = []
        for returned in answer.images:
            if returned.data is None:
                return "the batch answered with an image URL, not the image"
            width, height = check_image(returned.data, expected)
            images.append(GeneratedImage(returned.data, expected, width, height))
    except (MalformedResponse, InvalidImage) as error:
        return f"the provider returned {error}"
    return ProviderResult(tuple(images), usage=answer.usage)
