"""A reviewer's choice of a draft, with a note and who chose, kept in the lab run's manifest so a
promotion later says who chose what and why."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from catalog_imagegen.generation.outcomes import now_iso
from catalog_imagegen.lab.record import (
    UnknownLabRun,
    lab_ids,
    load_lab_document,
    manifest_key,
)
from catalog_imagegen.storage.base import ObjectStore, PreconditionFailed
from catalog_imagegen.storage.manifest import JSON_TYPE


class UnknownVersion(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Choice:
    lab_id: str
    version: str
    template_version: str
    template_label: str
    note: str
    by: str
    at: str

    def describe(self) -> str:
        label = f"{self.template_label} ({self.template_version})"
        what = label if self.template_label else self.template_version
        note = f': "{self.note}"' if self.note else ""
        where = f"in lab run {self.lab_id}: {self.version}, {what}"
        return f"chosen by {self.by} on {self.at} {where}{note}"


def choose(store: ObjectStore, lab_id: str, version: str, *, note: str, by: str) -> Choice:
    """Record ``version`` of lab run ``lab_id`` as preferred (compare-and-swap on its manifest)."""
    for _ in range(10):
        stored = store.get(manifest_key(lab_id))
        if stored is None:
            raise UnknownLabRun(f"no lab run {lab_id} in {store.describe()}")
        document = json.loads(stored.data)
        choice = _choice(document, lab_id, version, note=note, by=by)
        document.setdefault("choices", []).append(_as_json(choice))
        body = json.dumps(document, indent=1, ensure_ascii=False).encode()
        try:
            store.put(
                manifest_key(lab_id),
                body,
                content_type=JSON_TYPE,
                cache_control="no-cache",
                if_match=stored.etag,
            )
        except PreconditionFailed:
            continue  # someone chose at the same moment: add ours to theirs
        return choice
    raise PreconditionFailed(f"lab run {lab_id}: too many reviewers choosing at once")


def choices_of(template_version: str, store: ObjectStore) -> Iterator[Choice]:
    """Every recorded choice of this template version, newest lab run first."""
    for lab_id in reversed(lab_ids(store)):
        for raw in load_lab_document(store, lab_id).get("choices", []):
            if raw.get("template_version") == template_version:
                yield Choice(**{k: raw.get(k, "") for k in Choice.__dataclass_fields__})


def _choice(
    document: Mapping[str, Any], lab_id: str, version: str, *, note: str, by: str
) -> Choice:
    versions = {v["name"]: v for v in document.get("versions", [])}
    if version not in versions:
        known = ", ".join(versions)
        raise UnknownVersion(f"lab run {lab_id} has no version '{version}' (it has: {known})")
    chosen = versions[version]
    return Choice(
        lab_id=lab_id,
        version=version,
        template_version=chosen["template_version"],
        template_label=chosen.get("template_label", ""),
        note=note,
        by=by,
        at=now_iso(),
    )


def _as_json(choice: Choice) -> dict[str, str]:
    return {name: getattr(choice, name) for name in Choice.__dataclass_fields__}
