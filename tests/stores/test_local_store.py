from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from catalog_imagegen.storage.base import PreconditionFailed, StoreError
from catalog_imagegen.storage.local import LocalDirectoryStore


def test_round_trip_with_metadata(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    etag = store.put(
        "images/a/b.png",
        b"abc",
        content_type="image/png",
        cache_control="public, max-age=31536000, immutable",
        metadata={"sku": "A"},
    )
    stored = store.get("images/a/b.png")
    info = store.head("images/a/b.png")
    assert stored is not None and stored.data == b"abc" and stored.etag == etag
    assert info is not None and info.size == 3 and info.metadata == {"sku": "A"}
    assert info.content_type == "image/png"
    assert store.get("images/missing.png") is None


def test_listing_hides_metadata_and_temporary_files(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    store.put("images/x/1.png", b"1", content_type="image/png")
    store.put("manifests/latest.json", b"{}", content_type="application/json")
    (tmp_path / "images" / "x" / ".2.png.abc.part").write_bytes(b"half")
    assert sorted(store.list_keys("images/")) == ["images/x/1.png"]


def test_conditional_writes(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    first = store.put("p.json", b"1", content_type="application/json", if_none_match=True)
    with pytest.raises(PreconditionFailed):
        store.put("p.json", b"2", content_type="application/json", if_none_match=True)
    second = store.put("p.json", b"2", content_type="application/json", if_match=first)
    with pytest.raises(PreconditionFailed):
        store.put("p.json", b"3", content_type="application/json", if_match=first)
    assert store.get("p.json") == type(store.get("p.json"))(b"2", second)  # type: ignore[misc]


@pytest.mark.parametrize("key", ["../escape.png", "images/../../escape.png", "/etc/passwd"])
def test_keys_cannot_escape_the_root(tmp_path: Path, key: str) -> None:
    store = LocalDirectoryStore(tmp_path / "root")
    with pytest.raises(StoreError, match="escapes"):
        store.put(key, b"x", content_type="image/png")
    assert not (tmp_path / "escape.png").exists()


def _publish_in_process(root: str, sku: str) -> None:
    from catalog_imagegen.storage.manifest import publish
    from tests.test_manifest import entry

    publish(LocalDirectoryStore(root), f"run-{sku}", [entry(sku)], generated_at="t")


def test_processes_sharing_a_folder_all_land_in_latest(tmp_path: Path) -> None:
    import multiprocessing

    from catalog_imagegen.storage.manifest import load_latest

    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_publish_in_process, args=(str(tmp_path), f"SKU-{n}"))
        for n in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    skus = {slot[0] for slot in load_latest(LocalDirectoryStore(tmp_path)).entries}
    assert skus == {f"SKU-{n}" for n in range(4)}


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_objects_follow_the_umask_so_a_web_server_can_serve_them(
    tmp_path: Path, umask: int, mode: int
) -> None:
    store = LocalDirectoryStore(tmp_path)
    previous = os.umask(umask)
    try:
        store.put("images/a/1.png", b"1", content_type="image/png")
        store.put(
            "manifests/latest.json", b"{}", content_type="application/json", if_none_match=True
        )
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "images/a/1.png").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "manifests/latest.json").stat().st_mode) == mode
