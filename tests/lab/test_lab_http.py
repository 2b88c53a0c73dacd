"""A lab run against the fake images API over real loopback HTTP, as a user runs it: two drafts
of ``product_card`` beside the current template on three products, kept away from the storefront.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from catalog_imagegen.testing.fake_image_api import FakeImageApi
from tests.lab.lab_setup import (
    CURRENT_WORDS,
    WARM_WORDS,
    medium_square_price,
    production_run,
    run_command,
    write_drafts,
    write_lab_catalog,
)

KEY = "sk-proj-LABTEST-0a1b2c3d4e5f-DISTINCTIVE"
PRICE = medium_square_price()  # gpt-image-2, medium 1024x1024, from the model table
CAP = round(3.5 * PRICE, 3)  # room for three images, not four


@pytest.fixture
def lab_setup(tmp_path: Path, templates_copy: Path) -> dict[str, Path]:
    catalog = write_lab_catalog(tmp_path)
    output = tmp_path / "output"
    production_run(catalog, templates_copy, output, "20261101T000000Z-aaaaaa")
    drafts = write_drafts(tmp_path / "drafts", templates_copy)
    return {
        "catalog": catalog,
        "output": output,
        "templates": templates_copy,
        "warm": drafts.warm,
        "tight": drafts.tight,
    }


def lab(setup: dict[str, Path], base_url: str, *flags: str) -> Any:
    return run_command(
        setup["catalog"].parent,
        setup["templates"],
        "lab",
        str(setup["warm"]),
        str(setup["tight"]),
        "--catalog",
        str(setup["catalog"]),
        "--output",
        str(setup["output"]),
        *flags,
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=base_url,
    )


def lab_manifests(output: Path) -> list[dict[str, Any]]:
    paths = sorted((output / "lab" / "runs").glob("*/manifest.json"))
    return [json.loads(path.read_text()) for path in paths]


def test_two_drafts_on_three_products_make_three_versions_per_slot_and_nothing_else(
    lab_setup: dict[str, Path],
) -> None:
    output = lab_setup["output"]
    pointer = (output / "manifests" / "latest.json").read_bytes()
    production_files = sorted(p for p in (output / "manifests").rglob("*"))
    with FakeImageApi(api_key=KEY) as api:
        done = lab(lab_setup, api.base_url)
        requests = [r for r in api.requests if r.path.endswith("/images/generations")]

    assert done.code == 0, done.stdout + done.stderr
    assert KEY not in done.stdout + done.stderr
    written = [p.read_bytes() for p in output.rglob("*") if p.is_file()]
    assert not any(KEY.encode() in data for data in written)
    # The storefront and production's records are untouched.
    assert (output / "manifests" / "latest.json").read_bytes() == pointer
    assert sorted(p for p in (output / "manifests").rglob("*")) == production_files
    # 3 products x 1 colour x evergreen = 3 slots, each asked for in 3 versions: 9 requests.
    assert len(requests) == 9
    assert {r.model for r in requests} == {"gpt-image-2"}
    prompts = [r.prompt or "" for r in requests]
    assert sum(CURRENT_WORDS in p and "most of the frame" in p for p in prompts) == 3
    assert sum(WARM_WORDS in p for p in prompts) == 3
    assert sum("the whole frame" in p for p in prompts) == 3

    (document,) = lab_manifests(output)
    assert document["template"] == "product_card"
    names = [v["name"] for v in document["versions"]]
    assert names == ["current", "product_card.warm", "product_card.tight"]
    slots = {(s["sku"], s["colour_key"], s["season"]) for s in document["slots"]}
    assert slots == {("JKT-001", "navy", "evergreen"), ("TEE-001", "red", "evergreen"),
                     ("BAG-001", "olive", "evergreen")}  # fmt: skip
    for slot in document["slots"]:
        assert sorted(slot["images"]) == sorted(names)
        for image in slot["images"].values():
            assert image["status"] == "generated"
            assert (output / "lab" / image["entry"]["storage_key"]).is_file()
        versions = {image["entry"]["template_version"] for image in slot["images"].values()}
        assert len(versions) == 3
        assert slot["images"]["product_card.warm"]["entry"]["template_label"] == (
            "product-card-warm"
        )
    lab_images = list((output / "lab" / "images").rglob("*.png"))
    assert len(lab_images) == 9

    # The lab's cost: reported, recorded with the lab run, and not in production's records.
    assert document["cost"]["estimated"] == pytest.approx(9 * PRICE)
    assert f"Lab cost:     estimated ${9 * PRICE:.2f}" in done.stdout
    assert f"Lab spend:    ${9 * PRICE:.2f} in all, over 1 charged lab run(s)" in done.stdout
    status = run_command(
        lab_setup["catalog"].parent, lab_setup["templates"], "status", "--json",
        "--output", str(output),
    )  # fmt: skip
    (row,) = [json.loads(line) for line in status.stdout.splitlines()]
    assert row["run"] == "20261101T000000Z-aaaaaa"  # the production run only


def test_a_second_lab_of_the_same_drafts_reuses_the_lab_images_and_costs_nothing(
    lab_setup: dict[str, Path],
) -> None:
    with FakeImageApi(api_key=KEY) as api:
        first = lab(lab_setup, api.base_url)
        second = lab(lab_setup, api.base_url)
        requests = [r for r in api.requests if r.path.endswith("/images/generations")]
    assert first.code == 0 and second.code == 0, second.stdout + second.stderr
    assert len(requests) == 9
    assert "0 made, 9 already in the lab" in second.stdout
    assert f"Lab spend:    ${9 * PRICE:.2f} in all, over 2 charged lab run(s)" in second.stdout


def test_max_cost_caps_lab_spend_and_keeps_whole_slots_first(
    lab_setup: dict[str, Path],
) -> None:
    with FakeImageApi(api_key=KEY) as api:
        done = lab(lab_setup, api.base_url, "--max-cost", str(CAP))
        requests = [r for r in api.requests if r.path.endswith("/images/generations")]
    assert done.code == 1, done.stdout + done.stderr
    assert len(requests) == 3  # 3 images fit under the cap; a fourth would not
    (document,) = lab_manifests(lab_setup["output"])
    made = [s for s in document["slots"] if all(
        i["status"] == "generated" for i in s["images"].values())]  # fmt: skip
    assert len(made) == 1  # one slot in all three versions, not three currents
    statuses = [i["status"] for s in document["slots"] for i in s["images"].values()]
    assert statuses.count("not_dispatched") == 6
    assert document["cost"]["estimated"] == pytest.approx(3 * PRICE)
    assert f"--max-cost {CAP:g} reached" in json.dumps(document)


def test_a_draft_that_does_not_render_is_one_line_and_exit_2(
    lab_setup: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "product_card.broken.j2"
    broken.write_text("{% if %}broken")
    done = run_command(
        tmp_path, lab_setup["templates"], "lab", str(broken),
        "--catalog", str(lab_setup["catalog"]), "--output", str(lab_setup["output"]),
    )  # fmt: skip
    assert done.code == 2
    assert done.stderr.count("\n") == 1 and "product_card.broken" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (lab_setup["output"] / "lab").exists()
