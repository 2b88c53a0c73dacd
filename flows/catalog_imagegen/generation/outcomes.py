"""What making an image produces, shared by the engine, publishing, reports and review:
a job's outcome, the spend control that decides whether a job may go out, and the manifest entry
and object metadata of a stored image."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.review.image_review import Flag, ImageReview
from catalog_imagegen.storage.manifest import ManifestEntry

Status = Literal["generated", "skipped", "failed", "not_dispatched"]


@dataclass(slots=True)
class JobOutcome:
    job: Job
    status: Status
    reason: str = ""
    attempts: int = 0
    entry: ManifestEntry | None = None
    usage: dict[str, int] | None = None
    review: ImageReview | None = None  # what colour QA measured, when it ran
    # The job whose identical request made this image (copied into this slot, not requested).
    shared_from: str = ""


class RunControl:
    """Whether the run may dispatch another job: spend limits, and a stop after a fatal error."""

    def __init__(
        self,
        *,
        max_images: int | None = None,
        max_cost: float | None = None,
        cost_of: Callable[[Job], float | None] | None = None,
    ) -> None:
        self.max_images = max_images
        self.max_cost = max_cost
        self._cost_of = cost_of or (lambda job: None)
        self.dispatched_images = 0
        self.dispatched_cost = 0.0
        self.stop_reason: str | None = None
        # Template settings the provider refused a parameter of: the same request would fail.
        self._refused: dict[tuple[str, str, str, object], str] = {}

    def halt(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    def refuse_settings(self, job: Job, param: str, reason: str) -> None:
        """The provider refused ``param`` of ``job``'s request: its template's other jobs with
        the same settings are not sent (other templates go on)."""
        self._refused.setdefault(
            _settings_of(job),
            f"not dispatched: the provider refused the parameter {param!r} of template "
            f"'{job.template}' with these settings ({reason})",
        )

    def claim(self, job: Job) -> str | None:
        """Reserve budget for ``job``; the reason it may not be dispatched, or ``None``."""
        if self.stop_reason:
            return self.stop_reason
        if refused := self._refused.get(_settings_of(job)):
            return refused
        images = job.settings.n
        if self.max_images is not None and self.dispatched_images + images > self.max_images:
            return f"--max-images {self.max_images} reached"
        cost = self._cost_of(job)
        if self.max_cost is not None and cost is None:
            s = job.settings
            return f"--max-cost: the price table has no price for {job.model} {s.quality}/{s.size}"
        cost = cost or 0.0
        if self.max_cost is not None and self.dispatched_cost + cost > self.max_cost + 1e-9:
            return f"--max-cost {self.max_cost:g} reached (estimated ${self.dispatched_cost:.2f})"
        self.dispatched_images += images
        self.dispatched_cost += cost
        return None


OnOutcome = Callable[[JobOutcome], None]


def _settings_of(job: Job) -> tuple[str, str, str, object]:
    return (job.template, job.model, job.mode, job.settings)


def object_metadata(job: Job, model: str, size: tuple[int, int], sha256: str) -> dict[str, str]:
    """What an object says about itself (S3 user metadata): ASCII only, so non-ASCII is quoted."""
    values = {
        "sku": job.sku,
        "colour": job.colour.name,
        "season": job.season,
        "template": job.template,
        "template-version": job.template_version,
        "model": model,
        "prompt-sha256": hashlib.sha256(job.prompt.encode()).hexdigest(),
        "job-key": job.key,
        "sha256": sha256,
        "width": str(size[0]),
        "height": str(size[1]),
    }
    return {name: quote(value, safe=" /#+=:,.-_@") for name, value in values.items()}


def entry_for(
    job: Job,
    *,
    storage_key: str,
    url: str,
    sha256: str,
    size: int,
    width: int,
    height: int,
    created_at: str,
    run_id: str,
    model: str,
    alternates: tuple[str, ...] = (),
    flags: tuple[Flag, ...] = (),
    renditions: Mapping[str, Mapping[str, Any]] | None = None,
) -> ManifestEntry:
    return ManifestEntry(
        sku=job.sku,
        colour=job.colour.name,
        colour_key=job.colour.key,
        season=job.season,
        template=job.template,
        template_version=job.template_version,
        template_label=job.template_label,
        key=job.key,
        storage_key=storage_key,
        url=url,
        sha256=sha256,
        bytes=size,
        width=width,
        height=height,
        format=job.settings.output_format,
        model=model,
        prompt=job.prompt,
        created_at=created_at,
        run_id=run_id,
        variant_skus=job.colour.variant_skus,
        base=job.base_storage_key,
        alternates=alternates,
        flags=flags,
        renditions=renditions or {},
        request=job.request_identity,
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
