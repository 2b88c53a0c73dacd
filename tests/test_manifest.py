from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import jsonschema

from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import POINTER_KEY, ManifestEntry, load_latest, publish

SCHEMAS = Path(__file__).resolve().parents[1] / "flows" / "catalog_imagegen" / "schemas"


def entry(sku: str, colour: str = "navy", key: str = "0" * 32) -> ManifestEntry:
    return ManifestEntry(
        sku=sku,
        colour=colour.title(),
        colour_key=colour,
        season="winter",
        template="product_card",
        template_version="abc",
        key=key,
        storage_key=f"images/{sku}/product_card/winter/{colour}/{key}.png",
        url="u",
        sha256="f" * 64,
        bytes=10,
        width=4,
        height=4,
        format="png",
        model="m",
        prompt="p",
        created_at="2026-11-21T00:00:00+00:00",
        run_id="r",
    )


def test_publish_merges_with_previous_latest(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    publish(store, "r1", [entry(f"SKU-{i}") for i in range(10)], generated_at="t1")
    publish(store, "r2", [entry("SKU-3", key="1" * 32), entry("NEW")], generated_at="t2")
    latest = load_latest(store)
    assert len(latest.entries) == 11
    assert latest.entries[("SKU-3", "navy", "winter", "product_card")].key == "1" * 32


def test_concurrent_publishers_all_land(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    threads = [
        threading.Thread(
            target=publish, args=(store, f"r{n}", [entry(f"SKU-{n}")]), kwargs={"generated_at": "t"}
        )
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {slot[0] for slot in load_latest(store).entries} == {f"SKU-{n}" for n in range(8)}


def test_published_documents_match_the_shipped_schemas(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    publish(store, "r1", [entry("A"), entry("B", "red")], generated_at="t1")
    pointer = json.loads((tmp_path / POINTER_KEY).read_text())
    manifest = json.loads((tmp_path / pointer["manifest"]).read_text())
    jsonschema.validate(pointer, json.loads((SCHEMAS / "pointer.schema.json").read_text()))
    schema = json.loads((SCHEMAS / "manifest.schema.json").read_text())
    jsonschema.validate(manifest, schema)
    assert manifest["images"]["B"]["red"]["winter"]["product_card"]["sha256"] == "f" * 64
    broken = json.loads(json.dumps(manifest))
    del broken["images"]["A"]["navy"]["winter"]["product_card"]["sha256"]
    assert not jsonschema.Draft202012Validator(schema).is_valid(broken)


def test_publishing_nothing_new_leaves_the_pointer_alone(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    first = publish(store, "r1", [entry("A"), entry("B")], generated_at="t1")
    again = publish(store, "r2", [entry("A")], generated_at="t2")
    assert again.pointer_etag == first.pointer_etag
    assert again.version_key == first.version_key
    changed = publish(store, "r3", [entry("A", key="2" * 32)], generated_at="t3")
    assert changed.pointer_etag != first.pointer_etag
    assert load_latest(store).entries[("A", "navy", "winter", "product_card")].key == "2" * 32


def made_at(sku: str, storage_key: str, created_at: str, run_id: str) -> ManifestEntry:
    return replace(entry(sku), storage_key=storage_key, created_at=created_at, run_id=run_id)


def test_the_newest_image_for_a_slot_wins_whoever_publishes_last(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    original = made_at("A", "images/A/old.png", "2026-11-21T09:00:00+00:00", "first")
    other = made_at("B", "images/B/b.png", "2026-11-21T09:00:00+00:00", "first")
    publish(store, "first", [original, other], generated_at="t1")
    redo = made_at("A", "images/A/redo.png", "2026-11-21T10:00:00.250+00:00", "force")
    publish(store, "force", [redo], generated_at="t2")
    # A long run that started before the redo finishes now, carrying what it skipped.
    newer_b = made_at("B", "images/B/b2.png", "2026-11-21T10:30:00+00:00", "slow")
    publish(store, "slow", [original, newer_b], generated_at="t3")
    latest = load_latest(store)
    assert latest.entries[original.slot].storage_key == "images/A/redo.png"
    assert latest.entries[other.slot].storage_key == "images/B/b2.png"  # its own new image lands


def test_within_one_second_the_precise_time_decides(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    new = made_at("A", "images/A/new.png", "2026-11-21T10:00:00.900+00:00", "f")
    publish(store, "force", [new], generated_at="t1")
    old = made_at("A", "images/A/old.png", "2026-11-21T10:00:00+00:00", "s")
    publish(store, "slow", [old], generated_at="t2")
    assert load_latest(store).entries[entry("A").slot].storage_key == "images/A/new.png"
