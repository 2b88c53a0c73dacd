"""Making the images: bounded async fan-out over jobs, storing each image as it arrives.

One ``ImageMaker`` serves a whole run: its slots (requests in flight) are shared by every chunk
of jobs the flow hands it, so chunks overlap and the provider never idles between them. A job
that depends on another (a colour edited from a base image) waits for its base without holding a
slot, so other products keep the provider busy meanwhile. Uploads happen outside the provider's
slots, bounded separately, so a slow store does not eat request capacity and memory stays flat.
With a ``ReviewSettings``, every image is measured before it is stored (``image_review``): its
flags go on its manifest entry, and a wrong colour may be retried once with a stronger prompt.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from catalog_imagegen.base_images import BaseImages, BaseUnavailable
from catalog_imagegen.image_files import InvalidImage, check_image
from catalog_imagegen.image_review import (
    Flag,
    ImageReview,
    ReviewSettings,
    flag_near_duplicates,
    review_image,
    stronger_colour_prompt,
)
from catalog_imagegen.jobs import Job
from catalog_imagegen.manifest import IMMUTABLE, ManifestEntry
from catalog_imagegen.provenance import (
    ALGORITHMIC_MEDIA,
    TRAINED_ALGORITHMIC_MEDIA,
    mark_source_type,
)
from catalog_imagegen.providers.base import (
    CONTENT_TYPES,
    GeneratedImage,
    ImageProvider,
    ImageRequest,
    JobFailed,
    ProviderResult,
    RunHalted,
    SourceImage,
)
from catalog_imagegen.sources import SourceImageError, SourceLoader
from catalog_imagegen.stores.base import ObjectStore, StoreAccessDenied, StoreError

T = TypeVar("T")
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

    def halt(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    def claim(self, job: Job) -> str | None:
        """Reserve budget for ``job``; the reason it may not be dispatched, or ``None``."""
        if self.stop_reason:
            return self.stop_reason
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


class ImageMaker:
    def __init__(
        self,
        provider: ImageProvider,
        store: ObjectStore,
        sources: SourceLoader,
        *,
        run_id: str,
        concurrency: int,
        control: RunControl,
        on_outcome: OnOutcome | None = None,
        review: ReviewSettings | None = None,
    ) -> None:
        self.provider = provider
        self.store = store
        self.sources = sources
        self.run_id = run_id
        self.control = control
        self.review = review  # None: no colour QA
        self._on_outcome = on_outcome
        self._slots = asyncio.Semaphore(concurrency)
        # Images made but not yet stored. A request slot is given back only once its image has a
        # place here, so a slow store slows the requests instead of piling images up in memory.
        self._unstored = asyncio.Semaphore(max(4, concurrency))
        # Its own threads for storing and checking images: asyncio's default pool has about six,
        # and S3 puts or fsyncs waiting in it would hold back a run of 32 requests in flight.
        self._workers = ThreadPoolExecutor(max(4, concurrency), thread_name_prefix="store")
        self._finished: dict[str, asyncio.Future[JobOutcome]] = {}
        self._bases = BaseImages(store)

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._workers, function, *args)

    def close(self) -> None:
        self._workers.shutdown(wait=True)

    async def make(self, jobs: Sequence[Job]) -> list[JobOutcome]:
        """Make ``jobs``; a dependent must come in the same call as its base (or after it)."""
        loop = asyncio.get_running_loop()
        for job in jobs:
            self._finished.setdefault(job.key, loop.create_future())
            self._bases.expect(job)
        outcomes = list(await asyncio.gather(*(self._make_one(job) for job in jobs)))
        if self.review is not None:
            flag_near_duplicates(outcomes, self.review)
        return outcomes

    async def _make_one(self, job: Job) -> JobOutcome:
        try:
            outcome = await self._attempt(job)
        except Exception as error:  # a bug must fail one job, never the run's bookkeeping
            outcome = JobOutcome(job, "failed", f"internal error: {type(error).__name__}: {error}")
        future = self._finished.pop(job.key, None)
        if future is not None and not future.done():
            future.set_result(outcome)
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        return outcome

    async def _attempt(self, job: Job) -> JobOutcome:
        base: SourceImage | None = None
        if job.depends_on is not None:
            # Waiting for the base holds no slot, so other products keep the provider busy.
            waited = await self._bases.wait(job, self._finished.get(job.depends_on))
            if isinstance(waited, BaseUnavailable):
                return JobOutcome(job, waited.status, waited.reason)
            job, base = waited
        made = await self._generate(job, lambda: self.request_for(job, base), hold_place=True)
        if isinstance(made, JobOutcome):
            return made
        try:
            review = await self._review(job, made)
            if review is not None and review.colour_mismatch and self._retries_colour:
                made, review = await self._retry_colour(job, base, made, review)
            return await self._in_thread(self._store_result, job, made, review)
        finally:
            self._unstored.release()

    async def _generate(
        self, job: Job, build: Callable[[], Awaitable[ImageRequest]], *, hold_place: bool = False
    ) -> ProviderResult | JobOutcome:
        """The provider's answer; with ``hold_place``, also a place among the unstored images,
        taken before the request slot is given back (the caller releases it)."""
        async with self._slots:
            refusal = self.control.claim(job)
            if refusal:
                return JobOutcome(job, "not_dispatched", refusal)
            try:
                result = await self.provider.create_images(await build())
                if hold_place:
                    await self._unstored.acquire()
                return result
            except SourceImageError as error:
                return JobOutcome(job, "failed", str(error))
            except RunHalted as error:
                self.control.halt(error.reason)
                # Refused before sending anything (the run had already stopped): not dispatched.
                status: Status = "failed" if error.attempts else "not_dispatched"
                return JobOutcome(job, status, error.reason, attempts=error.attempts)
            except JobFailed as error:
                return JobOutcome(job, "failed", error.reason, attempts=error.attempts)

    @property
    def _retries_colour(self) -> bool:
        return self.review is not None and self.review.colour_retry

    async def _review(self, job: Job, result: ProviderResult) -> ImageReview | None:
        if self.review is None or not result.images:
            return None
        try:
            return await self._in_thread(review_image, job, result.images[0].data, self.review)
        except (OSError, ValueError):
            return None  # not an image: storing it fails the job with the reason

    async def _retry_colour(
        self, job: Job, base: SourceImage | None, first: ProviderResult, review: ImageReview
    ) -> tuple[ProviderResult, ImageReview]:
        async def stronger() -> ImageRequest:
            request = await self.request_for(job, base)
            return replace(request, prompt=stronger_colour_prompt(job, review))

        retried = await self._generate(job, stronger)
        if isinstance(retried, JobOutcome):
            return first, review  # the retry could not run: keep the first image, flagged
        second = await self._review(job, retried)
        if second is None:
            return first, review
        flags = tuple(
            {**f, "retried": True} if f["kind"] == "colour_mismatch" else f for f in second.flags
        )
        attempts = first.attempts + retried.attempts
        usage = {
            k: first.usage.get(k, 0) + retried.usage.get(k, 0)
            for k in {*first.usage, *retried.usage}
        }
        return replace(retried, attempts=attempts, usage=usage), replace(second, flags=flags)

    async def request_for(self, job: Job, base: SourceImage | None = None) -> ImageRequest:
        images: tuple[SourceImage, ...] = ()
        if base is not None:
            images = (base,)
        elif job.mode == "edit" and job.source_image:
            images = (await self.sources.load(job.source_image),)
        return ImageRequest(
            prompt=job.prompt,
            settings=job.settings,
            mode=job.mode,
            images=images,
            label=job.label,
            colour=job.colour.name,
            colour_rgb=job.colour.rgb,
            season=job.season,
        )

    def _store_result(
        self, job: Job, result: ProviderResult, review: ImageReview | None = None
    ) -> JobOutcome:
        attempts = result.attempts
        usage = dict(result.usage)
        if not result.images:
            return JobOutcome(job, "failed", "provider returned no image", attempts, usage=usage)
        try:
            sizes = [check_image(image.data, job.settings.output_format) for image in result.images]
            images = [
                self._marked(image, size) for image, size in zip(result.images, sizes, strict=True)
            ]
            keys = [_image_key(job, index) for index in range(len(images))]
            digests = [hashlib.sha256(image.data).hexdigest() for image in images]
            # Alternates first, the primary last: the primary's presence means the job is done.
            for index in reversed(range(len(images))):
                self._put_image(job, keys[index], images[index], sizes[index], digests[index])
        except InvalidImage as error:
            return JobOutcome(job, "failed", f"provider returned {error}", attempts, usage=usage)
        except StoreAccessDenied as error:
            self.control.halt(str(error))
            return JobOutcome(job, "failed", str(error), attempts, usage=usage)
        except StoreError as error:
            return JobOutcome(job, "failed", f"upload failed: {error}", attempts, usage=usage)
        primary = images[0]
        self._bases.keep(job, primary.data)
        entry = entry_for(
            job,
            storage_key=keys[0],
            url=self.store.url_for(keys[0]),
            sha256=digests[0],
            size=len(primary.data),
            width=sizes[0][0],
            height=sizes[0][1],
            created_at=now_iso(),
            run_id=self.run_id,
            model=self.provider.model,
            alternates=tuple(keys[1:]),
            flags=review.flags if review else (),
        )
        return JobOutcome(
            job, "generated", attempts=attempts, entry=entry, usage=usage, review=review
        )

    def _marked(self, image: GeneratedImage, size: tuple[int, int]) -> GeneratedImage:
        """The image declaring in its XMP how it was made (Merchant Center asks for AI images)."""
        source_type = ALGORITHMIC_MEDIA if self.provider.is_preview else TRAINED_ALGORITHMIC_MEDIA
        data = mark_source_type(image.data, image.format, source_type, size)
        return GeneratedImage(data, image.format, image.width, image.height)

    def _put_image(
        self, job: Job, key: str, image: GeneratedImage, size: tuple[int, int], sha256: str
    ) -> None:
        self.store.put(
            key,
            image.data,
            content_type=CONTENT_TYPES[image.format],
            cache_control=IMMUTABLE,
            metadata=object_metadata(job, self.provider.model, size, sha256),
        )


def _image_key(job: Job, index: int) -> str:
    if index == 0:
        return job.storage_key
    stem, _, ext = job.storage_key.rpartition(".")
    return f"{stem}-{index + 1}.{ext}"


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
) -> ManifestEntry:
    return ManifestEntry(
        sku=job.sku,
        colour=job.colour.name,
        colour_key=job.colour.key,
        season=job.season,
        template=job.template,
        template_version=job.template_version,
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
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
