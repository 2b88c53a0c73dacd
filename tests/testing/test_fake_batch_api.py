"""The fake's Files and Batches endpoints, driven over real HTTP as a client would drive them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from catalog_imagegen.testing.fake_image_api import FakeImageApi, FakeImageApiConfig
from tests.test_variants import SAMPLE_PHOTO

KEY = "sk-fake-batch"
GENERATE = {"model": "gpt-image-1", "prompt": "A navy t-shirt", "size": "1024x1024"}


@pytest.fixture(scope="module")
def shared_api() -> Iterator[FakeImageApi]:
    with FakeImageApi(api_key=KEY) as running:
        yield running


@pytest.fixture
def client(shared_api: FakeImageApi) -> Iterator[httpx.Client]:
    shared_api.configure(FakeImageApiConfig(api_key=KEY))
    shared_api.reset()
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=shared_api.base_url, headers=headers, timeout=30) as http:
        yield http


def line(custom_id: str, body: dict[str, Any], url: str = "/v1/images/generations") -> str:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body})


def upload(client: httpx.Client, content: bytes, purpose: str = "batch") -> str:
    answer = client.post(
        "/files", data={"purpose": purpose}, files={"file": ("in.jsonl", content, "text/plain")}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["object"] == "file" and answer.json()["bytes"] == len(content)
    return str(answer.json()["id"])


def create(
    client: httpx.Client, lines: list[str], endpoint: str = "/v1/images/generations", **meta: str
) -> dict[str, Any]:
    file_id = upload(client, "\n".join(lines).encode())
    body = {"input_file_id": file_id, "endpoint": endpoint, "completion_window": "24h"}
    answer = client.post("/batches", json={**body, "metadata": meta})
    assert answer.status_code == 200, answer.text
    batch: dict[str, Any] = answer.json()
    return batch


def content_lines(client: httpx.Client, file_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/files/{file_id}/content")
    assert answer.status_code == 200
    return [json.loads(row) for row in answer.content.splitlines()]


def test_a_batch_completes_with_one_output_line_per_request(client: httpx.Client) -> None:
    batch = create(client, [line("a", GENERATE), line("b", {**GENERATE, "prompt": "A red tee"})])
    assert batch["status"] == "validating" and batch["metadata"] is None
    done = client.get(f"/batches/{batch['id']}").json()
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 2, "completed": 2, "failed": 0}
    rows = content_lines(client, done["output_file_id"])
    assert {row["custom_id"] for row in rows} == {"a", "b"}
    body = rows[0]["response"]["body"]
    assert rows[0]["response"]["status_code"] == 200 and rows[0]["error"] is None
    assert base64.b64decode(body["data"][0]["b64_json"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert body["usage"]["output_tokens"] > 0


def test_a_delayed_batch_stays_in_progress_and_can_be_cancelled(
    client: httpx.Client, shared_api: FakeImageApi
) -> None:
    shared_api.configure(batch_delay_s=3600)
    batch = create(client, [line("a", GENERATE)])
    assert client.get(f"/batches/{batch['id']}").json()["status"] == "in_progress"
    cancelled = client.post(f"/batches/{batch['id']}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["output_file_id"] is None
    assert not shared_api.app.batches.billed


def test_listing_is_newest_first_with_metadata_and_pages(client: httpx.Client) -> None:
    ids = [create(client, [line("a", GENERATE)], run=str(n))["id"] for n in range(3)]
    page = client.get("/batches", params={"limit": 2}).json()
    assert [b["id"] for b in page["data"]] == ids[::-1][:2] and page["has_more"]
    assert page["data"][0]["metadata"] == {"run": "2"}
    rest = client.get("/batches", params={"limit": 2, "after": page["last_id"]}).json()
    assert [b["id"] for b in rest["data"]] == [ids[0]] and not rest["has_more"]


def test_moderated_lines_go_to_the_error_file(
    client: httpx.Client, shared_api: FakeImageApi
) -> None:
    shared_api.configure(moderation_pattern="forbidden")
    batch = create(client, [line("ok", GENERATE), line("no", {**GENERATE, "prompt": "forbidden"})])
    done = client.get(f"/batches/{batch['id']}").json()
    assert done["request_counts"] == {"total": 2, "completed": 1, "failed": 1}
    [error] = content_lines(client, done["error_file_id"])
    assert error["custom_id"] == "no" and error["response"]["status_code"] == 400
    assert error["response"]["body"]["error"]["code"] == "moderation_blocked"
    assert dict(shared_api.app.batches.billed) == {"ok": 1}


def test_expiry_finishes_only_part_of_the_work(
    client: httpx.Client, shared_api: FakeImageApi
) -> None:
    shared_api.configure(batch_expire_after=0.5)
    prompts = [line(str(n), {**GENERATE, "prompt": f"tee {n}"}) for n in range(4)]
    done = client.get(f"/batches/{create(client, prompts)['id']}").json()
    assert done["status"] == "expired" and done["request_counts"]["completed"] == 2
    assert len(content_lines(client, done["output_file_id"])) == 2


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("not json", "not valid JSON"),
        (line("a", {**GENERATE, "model": "dall-e-9"}), "Invalid value: 'dall-e-9'"),
        (line("a", {**GENERATE, "style": "vivid"}), "Unknown parameter: 'style'"),
        (line("a", GENERATE, url="/v1/images/edits"), "must be the batch's endpoint"),
        (line("dup", GENERATE), "Duplicate custom_id 'dup'"),
    ],
)
def test_a_bad_line_fails_the_batch_naming_the_line(
    client: httpx.Client, shared_api: FakeImageApi, bad: str, message: str
) -> None:
    batch = create(client, [line("dup", GENERATE), bad])
    assert batch["status"] == "failed"
    [error] = batch["errors"]["data"]
    assert error["line"] == 2 and message in error["message"]
    assert not shared_api.app.batches.billed


def test_edit_lines_refer_to_an_uploaded_photo_by_file_id(
    client: httpx.Client, shared_api: FakeImageApi
) -> None:
    photo = upload(client, SAMPLE_PHOTO.read_bytes(), purpose="vision")
    edit = {"model": "gpt-image-1", "prompt": "Make it red", "images": [{"file_id": photo}]}
    batch = create(client, [line("e", edit, "/v1/images/edits")], endpoint="/v1/images/edits")
    done = client.get(f"/batches/{batch['id']}").json()
    assert done["status"] == "completed", done
    [sent] = shared_api.app.batches.batches[batch["id"]].lines
    assert sent.call.images[0] == SAMPLE_PHOTO.read_bytes()
    missing = {**edit, "images": [{"file_id": "file-nope"}]}
    failed = create(client, [line("m", missing, "/v1/images/edits")], endpoint="/v1/images/edits")
    assert "No such file" in failed["errors"]["data"][0]["message"]


def test_files_and_batches_need_the_key(client: httpx.Client) -> None:
    answer = client.get("/batches", headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 401
