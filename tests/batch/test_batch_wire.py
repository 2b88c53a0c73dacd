"""Batch lines out and result lines in, without HTTP."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import replace

import pytest
from PIL import Image

from catalog_imagegen.generation.batch.submissions import Submission, job_from_json, job_to_json
from catalog_imagegen.generation.batch.wire import (
    input_files,
    provider_result,
    read_result_line,
    request_line,
)
from catalog_imagegen.generation.providers.base import ImageRequest, ImageSettings, SourceImage
from catalog_imagegen.generation.providers.model_rules import ModelRules
from catalog_imagegen.generation.providers.openai_wire import edit_form, generation_body
from catalog_imagegen.pipeline import prepare_run
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.renditions.channels import load_channels
from tests.conftest import SAMPLE_CATALOG, TEMPLATES

SETTINGS = ImageSettings(size="1024x1536", quality="high", output_format="webp", background="auto")


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("lines", "max_lines", "max_bytes", "sizes"),
    [
        ([b"x\n"] * 5, 2, 100, [2, 2, 1]),
        ([b"x\n"] * 5, 50, 4, [2, 2, 1]),
        ([b"x\n"] * 4, 50, 100, [4]),
        ([], 50, 100, []),
    ],
)
def test_input_files_respect_the_line_and_byte_limits(
    lines: list[bytes], max_lines: int, max_bytes: int, sizes: list[int]
) -> None:
    files = list(input_files(lines, max_lines=max_lines, max_bytes=max_bytes))
    assert [len(f) for f in files] == sizes


def test_a_generation_line_carries_the_synchronous_body() -> None:
    request = ImageRequest(prompt="A navy tee", settings=SETTINGS)
    document = json.loads(request_line("job-1", request, "gpt-image-2"))
    assert document == {
        "custom_id": "job-1",
        "method": "POST",
        "url": "/v1/images/generations",
        "body": generation_body(request, "gpt-image-2"),
    }


def test_an_edit_line_has_the_form_fields_and_refers_to_the_photo_by_file_id() -> None:
    photo = SourceImage(png(), "p.png", "image/png")
    request = ImageRequest(prompt="Make it red", settings=SETTINGS, mode="edit", images=(photo,))
    document = json.loads(request_line("job-2", request, "gpt-image-2", ["file-abc"]))
    form, _ = edit_form(request, "gpt-image-2")
    body = document["body"]
    assert document["url"] == "/v1/images/edits"
    assert body.pop("images") == [{"file_id": "file-abc"}]
    assert {name: str(value) for name, value in body.items()} == form


def test_result_lines_become_checked_images_or_the_providers_reason() -> None:
    image = base64.b64encode(png()).decode()
    usage = {"input_tokens": 10, "output_tokens": 272}
    ok = {
        "custom_id": "a",
        "response": {"status_code": 200, "body": {"data": [{"b64_json": image}], "usage": usage}},
    }
    result = provider_result(read_result_line(json.dumps(ok).encode()), "png")
    assert not isinstance(result, str)
    assert result.images[0].width == 8 and result.usage["output_tokens"] == 272

    error = {"code": "moderation_blocked", "message": "rejected by the safety system"}
    refused = {"custom_id": "b", "response": {"status_code": 400, "body": {"error": error}}}
    reason = provider_result(read_result_line(json.dumps(refused).encode()), "png", "a prompt")
    assert isinstance(reason, str) and "moderation" in reason and "safety system" in reason

    wrong = provider_result(read_result_line(json.dumps(ok).encode()), "jpeg")
    assert isinstance(wrong, str) and "png" in wrong


def test_submission_records_keep_whole_jobs(tmp_path: object) -> None:
    templates, seasons = load_templates(TEMPLATES), load_seasons(TEMPLATES)
    plan = prepare_run(str(SAMPLE_CATALOG), templates, seasons, model="gpt-image-2")
    channels = tuple(load_channels(TEMPLATES).values())[:2]
    assert channels  # a job's channel profiles travel with it, so collected images get renditions
    jobs = [replace(plan.jobs[0], channels=channels), *plan.jobs[1:20]]
    assert [job_from_json(json.loads(json.dumps(job_to_json(j)))) for j in jobs] == jobs
    submission = Submission(
        "s1", "run-1", "c.csv", "/v1/images/edits", "2026-11-30T10:00:00+00:00", jobs
    )
    again = Submission.from_json(submission.to_json())
    assert again.jobs == jobs and again.due_by == "2026-12-01T10:00:00+00:00"


def test_batch_lines_follow_the_model_rules_as_synchronous_bodies_do() -> None:
    rules = ModelRules(name="strict", refuses=frozenset({"background"}))
    photo = SourceImage(png(), "p.png", "image/png")
    for request in (
        ImageRequest(prompt="A navy tee", settings=SETTINGS),
        ImageRequest(prompt="Make it red", settings=SETTINGS, mode="edit", images=(photo,)),
    ):
        body = json.loads(request_line("j", request, "gpt-image-2", ["file-1"], rules))["body"]
        assert "background" not in body
        assert "background" in json.loads(request_line("j", request, "gpt-image-2", ["f"]))["body"]
