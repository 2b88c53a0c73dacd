"""A word-level diff of a draft's prompt against the current one. Pure."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

Change = Literal["same", "removed", "added"]


@dataclass(frozen=True, slots=True)
class Words:
    change: Change
    text: str


def word_diff(current: str, draft: str) -> list[Words]:
    """The draft's prompt as runs of words kept, removed (from the current) and added."""
    old, new = current.split(), draft.split()
    runs: list[Words] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            runs.append(Words("same", " ".join(old[a1:a2])))
            continue
        if a2 > a1:
            runs.append(Words("removed", " ".join(old[a1:a2])))
        if b2 > b1:
            runs.append(Words("added", " ".join(new[b1:b2])))
    return runs


def changed_words(runs: list[Words]) -> tuple[int, int]:
    """How many words were removed and added."""
    removed = sum(len(r.text.split()) for r in runs if r.change == "removed")
    added = sum(len(r.text.split()) for r in runs if r.change == "added")
    return removed, added
