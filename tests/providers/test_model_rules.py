"""The model table and its rules, as tables: lookup, size and settings rules, request bodies."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from catalog_imagegen.generation.providers.base import ImageRequest, ImageSettings, SourceImage
from catalog_imagegen.generation.providers.model_rules import (
    PERMISSIVE,
    ModelTableError,
    load_model_table,
)
from catalog_imagegen.generation.providers.openai_wire import edit_form, generation_body
from catalog_imagegen.generation.providers.rule_checks import (
    prompt_rule_break,
    settings_rule_breaks,
    size_rule_break,
)

TABLE = load_model_table()
PHOTO = SourceImage(b"\x89PNG...", "photo.png", "image/png")


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("gpt-image-2", "gpt-image-2"),
        ("gpt-image-2-2026-04-21", "gpt-image-2"),  # a snapshot follows its family
        ("gpt-image-1.5", "gpt-image-1.5"),
        ("gpt-image-1-mini", "gpt-image-1-mini"),
        ("gpt-image-1", "gpt-image-1"),
        ("wisgate/flux-pro", ""),  # a gateway's own name: permissive
        ("gpt-image-20", ""),  # a prefix is a family only up to a dash
    ],
)
def test_a_model_finds_its_entry_or_its_family(model: str, entry: str) -> None:
    assert TABLE.rules_for(model).name == entry


@pytest.mark.parametrize(
    ("model", "size", "broken"),
    [
        ("gpt-image-2", "1024x1024", None),
        ("gpt-image-2", "2048x2048", None),  # Shopify's recommended square
        ("gpt-image-2", "1664x2400", None),  # Zalando's 1:1.44 portrait
        ("gpt-image-2", "3840x1280", None),  # 3:1, the widest
        ("gpt-image-2", "auto", None),
        ("gpt-image-2", "1000x1000", "multiples of 16"),
        ("gpt-image-2", "4096x2048", "longest side must be at most 3840"),
        ("gpt-image-2", "3840x1264", "aspect ratio must be at most 3:1"),
        ("gpt-image-2", "512x512", "655,360 to 8,294,400 pixels"),
        ("gpt-image-2", "large", "WIDTHxHEIGHT"),
        ("gpt-image-1.5", "1536x1024", None),
        ("gpt-image-1.5", "2048x2048", "takes only 1024x1024, 1536x1024, 1024x1536, auto"),
        ("gpt-image-1-mini", "1664x2400", "takes only"),
        ("wisgate/flux-pro", "1000x1000", None),
    ],
)
def test_size_rules(model: str, size: str, broken: str | None) -> None:
    found = size_rule_break(TABLE.rules_for(model), size)
    if broken is None:
        assert found is None
    else:
        assert found is not None and broken in found.rule and found.setting == "size"


@pytest.mark.parametrize(
    ("model", "settings", "mode", "inputs", "setting"),
    [
        ("gpt-image-2", ImageSettings(background="transparent"), "generate", 0, "background"),
        ("gpt-image-1.5", ImageSettings(background="transparent"), "generate", 0, None),
        (
            "gpt-image-1.5",
            ImageSettings(background="transparent", output_format="jpeg"),
            "generate",
            0,
            "background",
        ),
        ("gpt-image-2", ImageSettings(quality="ultra"), "generate", 0, "quality"),
        ("gpt-image-2", ImageSettings(quality="auto"), "generate", 0, None),
        ("gpt-image-2", ImageSettings(), "edit", 17, "input images"),
        ("gpt-image-2", ImageSettings(input_fidelity="high"), "edit", 1, None),  # left out
    ],
)
def test_settings_rules(
    model: str, settings: ImageSettings, mode: str, inputs: int, setting: str | None
) -> None:
    found = settings_rule_breaks(TABLE.rules_for(model), settings, mode, inputs)  # type: ignore[arg-type]
    assert [b.setting for b in found] == ([setting] if setting else [])


def test_a_prompt_longer_than_the_model_takes_is_a_broken_rule() -> None:
    assert prompt_rule_break(TABLE.rules_for("gpt-image-2"), "x" * 32_000) is None
    found = prompt_rule_break(TABLE.rules_for("gpt-image-2"), "x" * 32_001)
    assert found is not None and "32,000 characters" in found.rule
    assert prompt_rule_break(PERMISSIVE, "x" * 100_000) is None


@pytest.mark.parametrize(
    ("model", "sent"),
    [
        ("gpt-image-2", False),
        ("gpt-image-2-2026-04-21", False),
        ("gpt-image-1-mini", False),
        ("gpt-image-1.5", True),
        ("gpt-image-1", True),
        ("my-gateway-model", True),
    ],
)
def test_an_edit_sends_input_fidelity_only_to_models_that_take_it(model: str, sent: bool) -> None:
    request = ImageRequest(
        "the same bag in red", ImageSettings(input_fidelity="high"), "edit", images=(PHOTO,)
    )
    fields, files = edit_form(request, model, TABLE.rules_for(model))
    assert ("input_fidelity" in fields) is sent
    assert fields["model"] == model and files[0][0] == "image"


def test_a_generation_leaves_out_what_the_table_says_the_model_refuses(tmp_path: Path) -> None:
    override = tmp_path / "models.toml"
    override.write_text(
        '[models."house-model"]\nrefuses = ["moderation"]\nignores = ["background"]\n'
    )
    rules = load_model_table(override).rules_for("house-model")
    request = ImageRequest("a bag", ImageSettings(background="opaque", moderation="low"))
    body = generation_body(request, "house-model", rules)
    assert "background" not in body and "moderation" not in body
    assert body["size"] == "1024x1024"


def test_an_override_file_replaces_only_the_fields_it_names(tmp_path: Path) -> None:
    override = tmp_path / "models.toml"
    override.write_text(
        '[models."gpt-image-2"]\nrefuses = []\nshutdown = "2027-06-30"\n'
        '[models."gpt-image-2".prices]\nper_image = { "medium/1024x1024" = 0.05 }\n'
    )
    rules = load_model_table(override).rules_for("gpt-image-2")
    assert rules.sends("input_fidelity")
    assert rules.shutdown == date(2027, 6, 30)
    assert rules.free_size is not None  # kept from the shipped table
    assert rules.prices.per_image == {"medium/1024x1024": 0.05}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "cannot read the model table"),
        ('[models."m"]\nsizes = ["1024x1024"]\ncolour = "red"\n', "unknown field 'colour'"),
        ('[models."m"]\nshutdown = "soon"\n', "model table"),
        ("title = 'no models here'\n", "no [models"),
    ],
)
def test_a_broken_override_file_is_one_error_naming_it(
    tmp_path: Path, text: str, message: str
) -> None:
    override = tmp_path / "models.toml"
    override.write_text(text)
    with pytest.raises(ModelTableError, match="model table") as raised:
        load_model_table(override)
    assert message in str(raised.value)


def test_the_shipped_table_holds_every_family_of_providers_md() -> None:
    assert {"gpt-image-2", "gpt-image-1.5", "gpt-image-1", "gpt-image-1-mini"} <= set(TABLE.models)
    two = TABLE.rules_for("gpt-image-2")
    assert two.batch and two.max_input_images == 16 and two.max_prompt_chars == 32_000
    assert two.prices.per_million_tokens == {"input_text": 5.0, "input_image": 8.0, "output": 30.0}
    assert TABLE.rules_for("gpt-image-1").shut_down_by(date(2026, 11, 30))
    assert not TABLE.rules_for("gpt-image-1.5").shut_down_by(date(2026, 11, 30))
