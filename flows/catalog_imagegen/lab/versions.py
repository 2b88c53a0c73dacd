"""The versions a lab run compares: the current template and each draft that would replace it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from catalog_imagegen.planning.templates import PromptTemplate, TemplateError, load_template_file

CURRENT = "current"


@dataclass(frozen=True, slots=True)
class LabVersion:
    name: str  # "current", or the draft's file name without .j2 (made unique)
    template: PromptTemplate
    draft: str | None = None  # the draft file, for drafts

    @property
    def describe(self) -> str:
        """``product-card-v3 (c2cfff0f5e64)`` or ``c2cfff0f5e64``."""
        t = self.template
        return f"{t.label} ({t.version})" if t.label else t.version


def target_template(drafts: Sequence[Path], known: Sequence[str], against: str | None) -> str:
    """The template the drafts would replace: ``--against``, else the longest template name the
    draft file names start with (``product_card.sunset.j2`` -> ``product_card``)."""
    if against:
        if against not in known:
            raise TemplateError(f"--against: no template '{against}' (known: {', '.join(known)})")
        return against
    guesses = {_guess(draft, known) for draft in drafts}
    if len(guesses) != 1 or None in guesses:
        raise TemplateError(
            f"{drafts[0]}: cannot tell which template the drafts replace; say --against NAME"
        )
    return str(guesses.pop())


def lab_versions(
    current: PromptTemplate, drafts: Sequence[Path], templates_dir: Path
) -> list[LabVersion]:
    """The current version first, then one version per draft, each named after its file."""
    versions = [LabVersion(CURRENT, current)]
    names = {CURRENT}
    for path in drafts:
        if not path.is_file():
            raise TemplateError(f"{path}: no such draft file")
        template = load_template_file(path, templates_dir, name=current.name)
        name = path.name.removesuffix(".j2")
        while name in names:
            name += "+"
        names.add(name)
        versions.append(LabVersion(name, template, str(path)))
    return versions


def _guess(draft: Path, known: Sequence[str]) -> str | None:
    matches = [name for name in known if draft.name.startswith(name)]
    return max(matches, key=len) if matches else None
