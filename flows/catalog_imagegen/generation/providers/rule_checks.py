"""Whether a model can do what a request asks: each broken rule named, before anything is sent.

Pure functions of the model's rules and the image settings, so every rule is a row in a table
test. The pre-flight check runs them over every template x model of a plan; the fake API keeps
its own copy of the live rules, so a wrong table entry shows up as a refused request in tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog_imagegen.generation.providers.base import ImageSettings, Mode
from catalog_imagegen.generation.providers.model_rules import FreeSize, ModelRules

_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


@dataclass(frozen=True, slots=True)
class RuleBreak:
    setting: str  # "size", "quality", "background", ...
    value: str
    rule: str  # what the model allows, in words


def size_rule_break(rules: ModelRules, size: str) -> RuleBreak | None:
    if rules.sizes is not None:
        if size in rules.sizes:
            return None
        return RuleBreak("size", size, f"{_model(rules)} takes only {', '.join(rules.sizes)}")
    if size == "auto":
        return None
    match = _SIZE.match(size)
    if not match:
        return RuleBreak("size", size, "a size is WIDTHxHEIGHT in pixels, or auto")
    if rules.free_size is None:
        return None
    problem = free_size_problem(rules.free_size, int(match.group(1)), int(match.group(2)))
    return RuleBreak("size", size, f"{_model(rules)}: {problem}") if problem else None


def free_size_problem(limits: FreeSize, width: int, height: int) -> str | None:
    """Which of the free-size limits ``width`` x ``height`` breaks, in words; ``None`` if none."""
    if width % limits.multiple or height % limits.multiple:
        return f"both sides must be multiples of {limits.multiple}"
    if max(width, height) > limits.longest_side:
        return f"the longest side must be at most {limits.longest_side}"
    if max(width, height) > limits.max_ratio * min(width, height):
        return f"the aspect ratio must be at most {limits.max_ratio:g}:1"
    if not limits.min_pixels <= width * height <= limits.max_pixels:
        return f"the image must have {limits.min_pixels:,} to {limits.max_pixels:,} pixels"
    return None


def settings_rule_breaks(
    rules: ModelRules, settings: ImageSettings, mode: Mode, input_images: int = 1
) -> list[RuleBreak]:
    """Every rule of ``rules`` that ``settings`` break (refused parameters are left out, not
    broken: the request builder never sends them)."""
    breaks = [size_rule_break(rules, settings.size)]
    if rules.qualities is not None and settings.quality not in rules.qualities:
        allowed = ", ".join(rules.qualities)
        breaks.append(RuleBreak("quality", settings.quality, f"{_model(rules)} takes {allowed}"))
    if settings.output_format not in rules.output_formats:
        allowed = ", ".join(rules.output_formats)
        breaks.append(
            RuleBreak("output_format", settings.output_format, f"{_model(rules)} makes {allowed}")
        )
    if settings.background == "transparent":
        breaks.append(_transparent_break(rules, settings))
    if mode == "edit" and input_images > rules.max_input_images:
        rule = f"{_model(rules)} edits at most {rules.max_input_images} input images"
        breaks.append(RuleBreak("input images", str(input_images), rule))
    return [found for found in breaks if found is not None]


def _transparent_break(rules: ModelRules, settings: ImageSettings) -> RuleBreak | None:
    if not rules.transparent_background:
        return RuleBreak(
            "background", "transparent", f"{_model(rules)} cannot make transparent backgrounds"
        )
    if settings.output_format == "jpeg":
        return RuleBreak("background", "transparent", "a transparent background needs png or webp")
    return None


def prompt_rule_break(rules: ModelRules, prompt: str) -> RuleBreak | None:
    if rules.max_prompt_chars is None or len(prompt) <= rules.max_prompt_chars:
        return None
    rule = f"{_model(rules)} takes prompts of at most {rules.max_prompt_chars:,} characters"
    return RuleBreak("prompt", f"{len(prompt):,} characters", rule)


def _model(rules: ModelRules) -> str:
    return rules.name or "this model"
