"""Chained colour variants and colour QA end to end: the catalog_refresh flow under a real Prefect
engine, against the fake OpenAI-compatible image API over real HTTP (which paints the colour a
prompt asks for, and edits the image it is sent)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog_imagegen.flows.refresh import catalog_refresh
from catalog_imagegen.request import RunRequest
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.storage.publishing import RunSummary
from catalog_imagegen.testing.fake_image_api import FakeImageApi
from tests.test_variants import CATALOG, CHAIN_TEMPLATE, SAMPLE_PHOTO, SEASONS

pytestmark = pytest.mark.usefixtures("prefect_harness")
KEY = "sk-variants-http-test"


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeImageApi]:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "card.j2").write_text(CHAIN_TEMPLATE)
    (templates / "seasons.toml").write_text(SEASONS)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "jacket.png").write_bytes(SAMPLE_PHOTO.read_bytes())
    (tmp_path / "catalog.csv").write_text(CATALOG)
    with FakeImageApi(api_key=KEY) as api:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        monkeypatch.setenv("CATALOG_IMAGEGEN_TEMPLATES_DIR", str(templates))
        yield api


async def run(tmp_path: Path) -> RunSummary:
    request = RunRequest(
        catalog=str(tmp_path / "catalog.csv"),
        output=str(tmp_path / "out"),
        progress=False,
        concurrency=4,
    )
    state = await catalog_refresh(request, return_state=True)  # type: ignore[arg-type]
    summary = await state.aresult(raise_on_failure=False)
    assert isinstance(summary, RunSummary), state.message
    return summary


def entries(tmp_path: Path) -> dict[tuple[str, str, str, str], Any]:
    return load_latest(LocalDirectoryStore(tmp_path / "out")).entries


async def test_chain_edits_every_colour_from_the_stored_base(
    tmp_path: Path, fake_api: FakeImageApi
) -> None:
    summary = await run(tmp_path)
    assert summary.ok
    assert summary.generated == 9
    bases = [r for r in fake_api.requests if r.succeeded and "Change the colour" not in r.prompt]
    edits = [r for r in fake_api.requests if r.succeeded and "Change the colour" in r.prompt]
    assert len(bases) == 3
    assert len(edits) == 6
    assert all(r.path.endswith("/images/edits") for r in edits)
    latest = entries(tmp_path)
    stored = {
        e.storage_key: hashlib.sha256((tmp_path / "out" / e.storage_key).read_bytes()).hexdigest()
        for e in latest.values()
    }
    for entry in latest.values():
        if entry.base is None:
            continue
        [request] = [r for r in edits if r.prompt == entry.prompt]
        [image] = [f for f in request.files if f.name in ("image", "image[]")]
        assert image.sha256 == stored[entry.base]  # the edit was sent the stored base image
        # gpt-image-2 always edits at high fidelity, and refuses the parameter.
        assert "input_fidelity" not in request.fields
    assert sum(1 for e in latest.values() if e.base) == 6


async def test_the_wrong_colour_is_flagged_and_identical_colours_are_near_duplicates(
    tmp_path: Path, fake_api: FakeImageApi
) -> None:
    fake_api.configure(wrong_colour_pattern="from Yellow to Olive", wrong_colour="magenta")
    summary = await run(tmp_path)
    flagged = {slot: e.flags for slot, e in entries(tmp_path).items() if e.flags}
    assert list(flagged) == [("TEE-1", "olive", "winter", "card")]
    [flag] = flagged[("TEE-1", "olive", "winter", "card")]
    assert flag["kind"] == "colour_mismatch"
    assert flag["expected"] == "#708238"
    assert summary.flagged == 1

    fake_api.configure(wrong_colour_pattern=None, same_image_for_all=True)
    (tmp_path / "catalog.csv").write_text(
        # Another product (an identical request would reuse BAG-1's stored base image instead).
        CATALOG.replace("BAG-1,Canvas Tote", "BAG-2,Canvas Shopper")
    )
    second = await run(tmp_path)
    kinds = {
        slot: {f["kind"] for f in e.flags}
        for slot, e in entries(tmp_path).items()
        if slot[0] == "BAG-2"
    }
    assert second.generated == 3
    assert all("near_duplicate" in k for k in kinds.values())
