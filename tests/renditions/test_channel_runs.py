"""Channel renditions end to end: the catalog_refresh flow under a real Prefect engine, against the
fake OpenAI-compatible image API over real HTTP, answering with a small product on light grey."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from PIL import Image

from catalog_imagegen.cli.main import main
from catalog_imagegen.flows.refresh import catalog_refresh
from catalog_imagegen.renditions.channels import load_channels
from catalog_imagegen.request import RunRequest
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import POINTER_KEY, ManifestEntry, load_latest
from catalog_imagegen.storage.publishing import RunSummary
from catalog_imagegen.testing.fake_image_api import FakeImageApi
from tests.conftest import SAMPLE_CATALOG

pytestmark = pytest.mark.usefixtures("prefect_harness")
KEY = "sk-renditions-test"
ALL_CHANNELS = ["amazon_main", "google_shopping", "shopify", "zalando", "etsy", "ebay"]
IMAGES = 2 * 3 * 2  # two products, three colours, two seasons, one template
PIL_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}
SCHEMA = Path(__file__).resolve().parents[2] / "flows/catalog_imagegen/schemas/manifest.schema.json"


@pytest.fixture
def fake_api(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, templates_copy: Path
) -> Iterator[FakeImageApi]:
    lines = SAMPLE_CATALOG.read_text().splitlines(keepends=True)
    (tmp_path / "catalog.csv").write_text("".join(lines[:3]))  # the header and two products
    shutil.copytree(SAMPLE_CATALOG.parent / "photos", tmp_path / "photos")
    with FakeImageApi(api_key=KEY) as api:
        api.configure(small_product_on_grey=True)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        monkeypatch.setenv("CATALOG_IMAGEGEN_TEMPLATES_DIR", str(templates_copy))
        yield api


def serve_channels(templates: Path, channels: list[str]) -> None:
    card = templates / "product_card.j2"
    text = "\n".join(line for line in card.read_text().split("\n") if "channels" not in line)
    card.write_text(text.replace("n = 1\n", f"n = 1\nchannels = {channels!r}\n".replace("'", '"')))


async def run(tmp_path: Path) -> RunSummary:
    request = RunRequest(
        catalog=str(tmp_path / "catalog.csv"),
        output=str(tmp_path / "out"),
        templates=("product_card",),
        progress=False,
        concurrency=4,
    )
    state = await catalog_refresh(request, return_state=True)  # type: ignore[arg-type]
    summary = await state.aresult(raise_on_failure=False)
    assert isinstance(summary, RunSummary), state.message
    return summary


def entries(tmp_path: Path) -> list[ManifestEntry]:
    return list(load_latest(LocalDirectoryStore(tmp_path / "out")).entries.values())


def noncompliant(entry: ManifestEntry, channel: str) -> dict[str, dict[str, Any]]:
    return {
        str(flag["check"]): dict(flag)
        for flag in entry.flags
        if flag["kind"] == "noncompliant" and flag["channel"] == channel
    }


async def test_every_channel_gets_its_exact_file_and_amazon_flags_the_grey_backdrop(
    tmp_path: Path,
    fake_api: FakeImageApi,
    templates_copy: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serve_channels(templates_copy, ALL_CHANNELS)
    profiles = load_channels(templates_copy)
    summary = await run(tmp_path)
    assert (summary.ok, summary.generated) == (True, IMAGES)
    assert len(fake_api.requests) == IMAGES  # renditions cost no request
    assert summary.renditions == IMAGES * len(ALL_CHANNELS)
    assert summary.noncompliant == IMAGES * 2  # renditions: amazon_main's and zalando's
    out = tmp_path / "out"
    for entry in entries(tmp_path):
        assert sorted(entry.renditions) == sorted(ALL_CHANNELS)
        for channel, rendition in entry.renditions.items():
            profile = profiles[channel]
            assert rendition["key"] == f"{entry.storage_key[: -len('.png')]}/{channel}.jpg"
            data = (out / rendition["key"]).read_bytes()
            with Image.open(io.BytesIO(data)) as image:
                assert PIL_FORMATS[str(image.format)] == profile.format == rendition["format"]
                assert image.size == (rendition["width"], rendition["height"])
                if profile.size is not None:
                    assert image.size == profile.size
                else:
                    assert profile.min_side is not None
                    assert max(image.size) >= profile.min_side
            assert len(data) == rendition["bytes"] <= (profile.max_bytes or 0)
        amazon = noncompliant(entry, "amazon_main")
        assert sorted(amazon) == ["background", "fill"]
        assert amazon["fill"]["message"] == "amazon_main: fill 0.33 < 0.85"
        assert (
            amazon["background"]["message"] == "amazon_main: background #e8e8e8, white 0.00 < 0.98"
        )
        assert entry.renditions["amazon_main"]["compliant"] is False
        assert entry.renditions["shopify"]["compliant"] is True

    pointer = json.loads((out / POINTER_KEY).read_text())
    manifest = json.loads((out / pointer["manifest"]).read_text())
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))
    sku = entries(tmp_path)[0].sku
    card = next(iter(next(iter(manifest["images"][sku].values())).values()))["product_card"]
    assert card["renditions"]["amazon_main"]["checks"]["fill"] == {
        "ok": False,
        "measured": 0.33,
        "rule": ">= 0.85",
    }

    review = next((out / "manifests" / "runs").glob("*/review.html")).read_text()
    assert review.count("amazon_main: fill 0.33 &lt; 0.85") == IMAGES
    assert main(["status", "--output", str(out)]) == 0
    assert f"{IMAGES * 2} renditions noncompliant" in capsys.readouterr().out
    args = ["backfill", str(tmp_path / "catalog.csv"), "--output", str(out), "--dry-run"]
    assert main([*args, "--template", "product_card", "--only-flagged", "noncompliant"]) == 0
    assert f"{IMAGES} flagged" in capsys.readouterr().out


async def test_a_new_channel_is_derived_from_stored_images_with_no_request(
    tmp_path: Path, fake_api: FakeImageApi, templates_copy: Path
) -> None:
    serve_channels(templates_copy, ["google_shopping"])
    first = await run(tmp_path)
    assert (first.generated, first.renditions) == (IMAGES, IMAGES)
    before = {e.key: e for e in entries(tmp_path)}
    requests = len(fake_api.requests)

    serve_channels(templates_copy, ["google_shopping", "amazon_main"])
    channels = templates_copy / "channels.toml"
    channels.write_text(
        channels.read_text().replace("[amazon_main]\n", "[amazon_main]\nfix_background = true\n")
    )
    second = await run(tmp_path)
    assert len(fake_api.requests) == requests  # not one request
    assert (second.generated, second.skipped, second.renditions) == (0, IMAGES, IMAGES)
    for entry in entries(tmp_path):
        assert entry.storage_key == before[entry.key].storage_key  # the same stored image
        assert (
            entry.renditions["google_shopping"] == before[entry.key].renditions["google_shopping"]
        )
        assert (tmp_path / "out" / entry.renditions["amazon_main"]["key"]).is_file()
        amazon = noncompliant(entry, "amazon_main")
        assert sorted(amazon) == ["fill"]  # the background was fixed; the product is still small
        assert amazon["fill"]["background_fixed"] is True
        checks = entry.renditions["amazon_main"]["checks"]
        assert checks["background"]["ok"] is True
        assert checks["background_fixed"]["ok"] is True

    third = await run(tmp_path)
    assert (third.generated, third.renditions, len(fake_api.requests)) == (0, 0, requests)
