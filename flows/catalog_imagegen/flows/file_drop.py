"""Catalog file drop: each new file in the inbox starts one run, then moves with its report.

``poll_inbox`` looks once: every settled, unclaimed file is run (``run_catalog``), then moved to
``processed/`` (the catalog was read; its report lists rejected rows, failures and links) or
``failed/`` (it could not be read, or the run was stopped; the report says why). A file whose bytes
were processed before is not run again: it moves to ``processed/`` with a note saying so.

Two ways to drive it: ``catalog-imagegen watch INBOX`` (one machine, no server) and the
``catalog-file-drop`` deployment (``service.py``), a poller flow the Prefect server runs every
minute; each file's run is a child flow run named after the file, visible in the UI.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.inbox import (
    FAILED,
    PROCESSED,
    DroppedFile,
    InboxStore,
    claim_digest,
    digest_of,
    move_with_reports,
    record_outcome,
    settled_files,
    unchanged_since,
    waiting_files,
)
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import RUNS_PREFIX
from catalog_imagegen.storage.publishing import RunSummary


@dataclass(slots=True)
class RunResult:
    summary: RunSummary | None  # None: the catalog could not be used at all
    message: str = ""


RunCatalog = Callable[[str], Awaitable[RunResult]]
HANDLED_FOLDERS = (PROCESSED, FAILED)
Status = Literal["processed", "failed", "duplicate", "busy", "changed"]


@dataclass(slots=True)
class FileOutcome:
    file: str
    status: Status
    moved_to: str = ""
    run_id: str = ""
    message: str = ""


async def poll_inbox(
    inbox: InboxStore,
    store: ObjectStore,
    run_catalog: RunCatalog,
    *,
    settle: float,
    now: datetime | None = None,
) -> list[FileOutcome]:
    """Look at the inbox once and handle every file that is ready, one after another."""
    ready = settled_files(inbox, now=now or datetime.now(UTC), settle=settle)
    return [await handle_file(inbox, store, dropped, run_catalog) for dropped in ready]


async def handle_file(
    inbox: InboxStore, store: ObjectStore, dropped: DroppedFile, run_catalog: RunCatalog
) -> FileOutcome:
    data = inbox.get(dropped.key)
    if data is None or not unchanged_since(inbox, dropped, data):
        return FileOutcome(dropped.key, "changed", message="changed while read: next look")
    digest = digest_of(data.data)
    record = {"file": dropped.key, "inbox": inbox.describe(), "status": "running"}
    claim = claim_digest(store, digest, record | {"claimed_at": _now()})
    if not claim.won:
        earlier = claim.earlier or {}
        if earlier.get("status") != PROCESSED:
            return FileOutcome(dropped.key, "busy", message="the same file is running now")
        report = duplicate_report(dropped.key, digest, earlier).encode()
        moved = move_with_reports(inbox, dropped.key, PROCESSED, data.data, {".report.txt": report})
        return FileOutcome(dropped.key, "duplicate", moved, str(earlier.get("run_id", "")))
    with local_copy(inbox, dropped.key, data.data) as path:
        result = await run_catalog(str(path))
    summary = result.summary
    folder = PROCESSED if summary is not None and not summary.stop_reason else FAILED
    run_id = summary.run_id if summary else ""
    record_outcome(store, claim, record | _links(summary) | {"status": folder, "run_id": run_id})
    reports = {".report.txt": run_report(dropped.key, digest, result).encode()}
    if summary is not None and summary.rejects:
        rejects = store.get(f"{RUNS_PREFIX}{summary.run_id}/rejects.csv")
        if rejects is not None:
            reports[".rejects.csv"] = rejects.data
    moved = move_with_reports(inbox, dropped.key, folder, data.data, reports)
    status: Status = "processed" if folder == PROCESSED else "failed"
    return FileOutcome(dropped.key, status, moved, run_id, result.message)


@contextmanager
def local_copy(inbox: InboxStore, key: str, data: bytes) -> Iterator[Path]:
    """A path to run: the file itself in a local inbox (so relative photo paths work).

    From a bucket, the file is downloaded to a temporary folder together with the inbox's
    sub-folders (``photos/``...), so photo paths relative to the catalog work there too.
    """
    if isinstance(inbox, LocalDirectoryStore):
        yield inbox.path_for(key)
        return
    with tempfile.TemporaryDirectory(prefix="catalog-drop-") as folder:
        path = Path(folder) / Path(key).name
        path.write_bytes(data)
        download_sub_folders(inbox, Path(folder))
        yield path


def download_sub_folders(inbox: InboxStore, folder: Path) -> None:
    """Copy objects in the inbox's sub-folders, except the handled files, into ``folder``."""
    for key in inbox.list_keys(""):
        top = key.split("/", 1)[0]
        target = (folder / key).resolve()
        if "/" not in key or top in HANDLED_FOLDERS or top.startswith("."):
            continue
        if not target.is_relative_to(folder.resolve()):
            continue  # an object key with ``..`` in it: never written outside the folder
        stored = inbox.get(key)
        if stored is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(stored.data)


def run_report(name: str, digest: str, result: RunResult) -> str:
    summary = result.summary
    if summary is None:
        return f"{name}: FAILED, nothing was made.\nReason: {result.message}\nsha256: {digest}\n"
    lines = [
        f"{name}: run {summary.run_id}" + (" STOPPED" if summary.stop_reason else ""),
        f"Images: {summary.planned} planned, {summary.generated} generated, "
        f"{summary.skipped} already stored, {summary.failed} failed, "
        f"{summary.not_dispatched} not made",
        f"Rejected catalog rows: {summary.rejected_rows}",
        *(f"  {reject}" for reject in summary.rejects),
        *(f"  failed: {f['job']}: {f['reason']}" for f in summary.failures),
    ]
    if summary.stop_reason:
        lines.append(f"Stopped: {summary.stop_reason} (drop the file again to retry)")
    if summary.awaiting_approval:
        command = summary.approve_command or f"catalog-imagegen approve {summary.run_id}"
        lines.append(f"Awaiting approval: {command}")
    lines += [f"{label}: {url}" for label, url in _links(summary).items()]
    lines.append(f"sha256: {digest}")
    return "\n".join(lines) + "\n"


def duplicate_report(name: str, digest: str, earlier: dict[str, Any]) -> str:
    return (
        f"{name}: not run again: the same file ({earlier.get('file')}) was processed by run "
        f"{earlier.get('run_id')}.\n"
        + "".join(
            f"{k}: {v}\n" for k, v in earlier.items() if k.endswith("page") or "manifest" in k
        )
        + f"sha256: {digest}\n"
    )


def _links(summary: RunSummary | None) -> dict[str, str]:
    if summary is None:
        return {}
    return {
        "review page": summary.review_page,
        "run manifest": summary.run_manifest,
        "storefront manifest": summary.manifest,
        "rejects report": summary.rejects_report,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def run_result(state: Any) -> RunResult:
    """What a ``catalog_refresh`` flow run's final state says about the run."""
    summary = await state.aresult(raise_on_failure=False)
    if isinstance(summary, RunSummary):
        return RunResult(summary, state.message or "")
    return RunResult(None, state.message or f"run ended {state.name}")


def watch_inbox(
    location: str | None, *, once: bool, poll: float, settle: float, **store_flags: str | None
) -> int:
    """``catalog-imagegen watch``: poll an inbox on this machine, without a Prefect server.
    ``store_flags``: where the runs store their images (``output``, ``bucket``, ``prefix``,
    ``public_base_url``), checked before the first look, so a store that cannot be used ends the
    command (``StoreError``) instead of failing every file dropped."""
    from catalog_imagegen.definitions import build_inbox, build_store
    from catalog_imagegen.request import RunRequest
    from catalog_imagegen.settings_file import load_settings_with

    settings = load_settings_with(inbox=location, **store_flags)
    if not settings.inbox:
        print("error: give an inbox folder (or set CATALOG_IMAGEGEN_INBOX)", file=sys.stderr)
        return 2
    if "://" not in settings.inbox and not Path(settings.inbox).is_dir():
        print(f"error: {settings.inbox}: no such inbox folder", file=sys.stderr)
        return 2
    from catalog_imagegen.flows.refresh import catalog_refresh

    inbox, store = build_inbox(settings.inbox), build_store(settings)
    store.check_access()

    async def run_catalog(path: str) -> RunResult:
        request = RunRequest(
            catalog=path,
            output=settings.output,
            bucket=settings.bucket,
            prefix=settings.prefix,
            public_base_url=settings.public_base_url,
            progress=settings.progress,
        )
        state = await catalog_refresh(request, return_state=True)
        return await run_result(state)

    print(f"watching {inbox.describe()} (files unchanged for {settle:.0f}s are run)")
    while True:
        outcomes = asyncio.run(poll_inbox(inbox, store, run_catalog, settle=settle))
        for outcome in outcomes:
            print(f"{outcome.file}: {outcome.status} {outcome.moved_to} {outcome.message}".rstrip())
        if once:
            print_waiting(inbox, settle)
            return 1 if any(o.status == "failed" for o in outcomes) else 0
        time.sleep(poll)


def print_waiting(inbox: InboxStore, settle: float) -> None:
    """A single look leaves new files alone: say which, so nobody thinks the drop was lost."""
    for key, unchanged in waiting_files(inbox, now=datetime.now(UTC), settle=settle):
        print(
            f"{key}: waiting: unchanged for {unchanged:.0f} s of {settle:.0f} s; "
            "run again after that (or watch without --once)"
        )
