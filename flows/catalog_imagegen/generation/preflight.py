"""The check before any paid request: can the model do every template of the plan, and does the
endpoint answer for this key and model?

Offline, every template x model of the plan is checked against the model table; a size,
background, format, quality, number of input images or prompt the model cannot take stops the run
(exit 2) with one line naming the template, the setting, the model and the rule. An offline
preview run asks nothing of a provider, so there the same findings are warnings. Then the
provider's own ``check_access`` makes its one cheap call. Notices (a parameter the model always
refuses, an unknown model, a shutdown coming) are said once per run, not once per image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from catalog_imagegen.generation.providers.access_check import ProviderUnusable, shutdown_problem
from catalog_imagegen.generation.providers.base import ImageProvider
from catalog_imagegen.generation.providers.model_rules import ModelTable
from catalog_imagegen.generation.providers.rule_checks import (
    prompt_rule_break,
    settings_rule_breaks,
)
from catalog_imagegen.planning.jobs import Job

SHUTDOWN_WARNING = timedelta(days=60)


class RunRefused(Exception):
    """The run cannot go ahead. ``bad_input``: a template, flag or setting is wrong (exit 2)."""

    def __init__(self, reason: str, *, bad_input: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.bad_input = bad_input


@dataclass(slots=True)
class PlanCheck:
    problems: list[str] = field(default_factory=list)  # each stops a paid run
    notices: list[str] = field(default_factory=list)  # said once per run


def check_plan(
    jobs: Sequence[Job], table: ModelTable, today: date, *, model: str | None = None
) -> PlanCheck:
    """Every template x model x settings of ``jobs`` against the table, once each; ``model``:
    the model the provider sends instead of the planned one. Pure."""
    check = PlanCheck()
    seen: set[tuple[str, str, object, str]] = set()
    for job in jobs:
        sent = model or job.model
        rules = table.rules_for(sent)
        inputs = 1 if job.mode == "edit" else 0
        if (job.template, sent, job.settings, job.mode) not in seen:
            seen.add((job.template, sent, job.settings, job.mode))
            for found in settings_rule_breaks(rules, job.settings, job.mode, inputs):
                check.problems.append(
                    f"template '{job.template}': {found.setting} {found.value} cannot be made "
                    f"by {sent}: {found.rule}"
                )
        if (found_prompt := prompt_rule_break(rules, job.prompt)) is not None:
            check.problems.append(
                f"template '{job.template}' ({job.label}): prompt of {found_prompt.value} "
                f"for {sent}: {found_prompt.rule}"
            )
    for name in sorted({model or job.model for job in jobs}):
        edits = any(job.mode == "edit" and (model or job.model) == name for job in jobs)
        _model_notices(check, table, name, today, edits=edits)
    check.problems = list(dict.fromkeys(check.problems))
    return check


def _model_notices(
    check: PlanCheck, table: ModelTable, model: str, today: date, *, edits: bool
) -> None:
    rules = table.rules_for(model)
    if not rules.known:
        check.notices.append(
            f"the model table does not know {model!r}: nothing is checked before sending, "
            "the provider's answers decide (add it to CATALOG_IMAGEGEN_MODELS_FILE)"
        )
    if rules.notice and edits:  # the shipped notices are about what edits leave out
        check.notices.append(rules.notice)
    if problem := shutdown_problem(rules, model, today):
        check.problems.append(problem)
    elif rules.shutdown is not None and rules.shutdown - today <= SHUTDOWN_WARNING:
        check.notices.append(f"the model {model} shuts down on {rules.shutdown}")


async def check_before_spending(
    jobs: Sequence[Job], provider: ImageProvider, table: ModelTable, *, today: date | None = None
) -> list[str]:
    """The notices to say once; raises ``RunRefused`` when no paid request should go out."""
    # A preview stands in for the planned model; a real provider sends its own.
    sent = None if provider.is_preview else provider.model
    check = check_plan(jobs, table, today or datetime.now(UTC).date(), model=sent)
    if provider.is_preview:
        return check.notices + [f"the real run would stop: {p}" for p in check.problems]
    if check.problems:
        more = f" (and {len(check.problems) - 1} more)" if len(check.problems) > 1 else ""
        raise RunRefused(check.problems[0] + more)
    try:
        await provider.check_access()
    except ProviderUnusable as error:
        raise RunRefused(error.reason, bad_input=error.bad_input) from None
    return check.notices
