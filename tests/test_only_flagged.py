"""``backfill --only-flagged``: the images colour QA flagged are made again, and only those."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_imagegen.catalog.colours import palette_rgb
from catalog_imagegen.cli.main import main
from catalog_imagegen.flows.backfill import catalog_backfill
from catalog_imagegen.flows.refresh import catalog_refresh
from catalog_imagegen.request import RunRequest
from catalog_imagegen.review.colour_qa import decode, dominant_colour, rgb_difference
from catalog_imagegen.review.image_review import flagged_slots
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.testing.colour_fake import ColourHonouringProvider

pytestmark = pytest.mark.usefixtures("prefect_harness", "tiny_templates")

# One red variant in the catalog: the fake paints it green, so exactly that image is flagged.
CATALOG = """sku,title,category,colours,seasons
JKT-1,Down Jacket,Outerwear,Navy|Red,winter
TEE-1,Crew Tee,T-Shirts,Navy|Yellow,winter
"""
RED_SLOT = ("JKT-1", "red", "winter", "card")


class ReusableColourProvider(ColourHonouringProvider):
    async def aclose(self) -> None:  # one provider serves every run of the test
        return None


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> ReusableColourProvider:
    fake = ReusableColourProvider(wrong_colours={"red": "green"})
    monkeypatch.setattr("catalog_imagegen.definitions.build_provider", lambda settings, s: fake)
    return fake


async def test_only_flagged_remakes_exactly_the_flagged_image(
    provider: ReusableColourProvider, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog, output = tmp_path / "catalog.csv", str(tmp_path / "out")
    catalog.write_text(CATALOG)
    store = LocalDirectoryStore(output)
    await catalog_refresh(RunRequest(catalog=str(catalog), output=output, progress=False))
    before = load_latest(store)
    assert flagged_slots(before) == {RED_SLOT}
    assert before.entries[RED_SLOT].flags[0]["kind"] == "colour_mismatch"

    args = ["backfill", str(catalog), "--output", output, "--dry-run"]
    assert main([*args, "--only-flagged", "colour_mismatch"]) == 0
    out = capsys.readouterr().out
    assert (
        "Dry run: 1 jobs selected (0 new, 0 done, 0 changed, 0 failed last time, 1 flagged)" in out
    )
    assert "would generate 1, skip 0" in out
    assert main([*args, "--only-flagged", "near_blank"]) == 0
    assert "Dry run: 0 jobs selected" in capsys.readouterr().out

    provider.wrong_colours = {}  # the model gets it right this time
    provider.requests.clear()
    request = RunRequest(catalog=str(catalog), output=output, only_flagged=(), progress=False)
    summary = await catalog_backfill(request)
    assert [r.label for r in provider.requests] == ["JKT-1 / Red / winter / card"]
    assert (summary.generated, summary.skipped, summary.flagged) == (1, 0, 0)
    assert summary.selection == {"only_flagged": True}

    after = load_latest(store)
    redone, original = after.entries[RED_SLOT], before.entries[RED_SLOT]
    assert redone.key == original.key  # same inputs ...
    assert redone.storage_key != original.storage_key  # ... a new immutable object
    assert not redone.flags
    image = store.get(redone.storage_key)
    assert image is not None
    red = palette_rgb("red")
    assert red is not None
    assert rgb_difference(red, dominant_colour(decode(image.data))) < 10  # red, as asked
    assert store.head(original.storage_key) is not None  # the cached original stays
    assert {s: e for s, e in after.entries.items() if s != RED_SLOT} == {
        s: e for s, e in before.entries.items() if s != RED_SLOT
    }
