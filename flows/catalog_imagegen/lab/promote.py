"""Promoting a draft: it replaces the template, and the template it replaces is kept as
``templates/.history/{name}/{label or hash}.j2``, so promoting that file back restores it."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from catalog_imagegen.planning.templates import PromptTemplate, TemplateError, load_template_file

HISTORY_DIR = ".history"


@dataclass(frozen=True, slots=True)
class Promotion:
    template: str
    new: PromptTemplate
    old: PromptTemplate | None
    kept_as: Path | None  # where the replaced template was kept

    def lines(self) -> list[str]:
        new = _version(self.new)
        if self.old is None:
            return [f"{self.template}: new template, version {new}"]
        return [
            f"{self.template}: {_version(self.old)} -> {new}",
            f"  the previous version is kept as {self.kept_as}",
        ]


def promote(draft: Path, name: str, templates_dir: Path) -> Promotion:
    """Copy ``draft`` over template ``name``, keeping the old file in the history first."""
    new = draft_template(draft, name, templates_dir)  # refuse a broken draft up front
    target = templates_dir / f"{name}.j2"
    old = load_template_file(target, templates_dir, name=name) if target.exists() else None
    kept_as = _keep(target, old, templates_dir) if old is not None else None
    _write_atomically(target, draft.read_bytes())
    return Promotion(name, new, old, kept_as)


def draft_template(draft: Path, name: str, templates_dir: Path) -> PromptTemplate:
    """The draft as template ``name`` would be once promoted (its version), changing nothing."""
    if not draft.is_file():
        raise TemplateError(f"{draft}: no such draft file")
    return load_template_file(draft, templates_dir, name=name)


def history_path(templates_dir: Path, template: PromptTemplate) -> Path:
    """``.history/{name}/{label}.j2``; the hash when unlabelled or when the label is taken by
    another version (a label reused across edits must not overwrite the older file)."""
    folder = templates_dir / HISTORY_DIR / template.name
    if template.label:
        labelled = folder / f"{_safe(template.label)}.j2"
        if not labelled.exists() or _same_file(labelled, Path(template.path)):
            return labelled
    return folder / f"{template.version}.j2"


def _keep(target: Path, old: PromptTemplate, templates_dir: Path) -> Path:
    kept = history_path(templates_dir, old)
    kept.parent.mkdir(parents=True, exist_ok=True)
    if not kept.exists():
        _write_atomically(kept, target.read_bytes())
    return kept


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _same_file(a: Path, b: Path) -> bool:
    return a.read_bytes() == b.read_bytes()


def _safe(label: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in label).strip("._")
    return cleaned or "_"


def _version(template: PromptTemplate) -> str:
    return f"{template.label} ({template.version})" if template.label else template.version
