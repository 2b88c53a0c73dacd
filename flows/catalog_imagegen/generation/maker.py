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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from catalog_imagegen.catalog.sources import SourceImageError, SourceLoader
from catalog_imagegen.generation.base_images import BaseImages, BaseUnavailable
from catalog_imagegen.generation.outcomes import (
    JobOutcome,
    OnOutcome,
    RunControl,
    Status,
)
from catalog_imagegen.generation.providers.base import (
    ImageProvider,
    ImageRequest,
    JobFailed,
    ProviderResult,
    RunHalted,
    SourceImage,
)
from catalog_imagegen.generation.shared_requests import SharedRequests, copied_outcome
from catalog_imagegen.generation.stored_answers import store_answer
from catalog_imagegen.generation.template_inputs import TemplateInputs
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.review.image_review import (
    ImageReview,
    ReviewSettings,
    flag_near_duplicates,
    review_image,
    stronger_colour_prompt,
)
from catalog_imagegen.storage.base import ObjectStore, StoreAccessDenied, StoreError
from catalog_imagegen.storage.manifest import ManifestEntry

T = TypeVar("T")


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
        template_inputs: Mapping[str, TemplateInputs] | None = None,
        stored_requests: Mapping[str, ManifestEntry] | None = None,
    ) -> None:
        self.provider = provider
        self.store = store
        self.sources = sources
        self.run_id = run_id
        self.control = control
        self.review = review  # None: no colour QA
        self.template_inputs = template_inputs or {}  # masks and reference images, by template
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
        # Images earlier runs stored, by request digest: an identical request reuses them.
        self._shared = SharedRequests(stored_requests)

    async def in_worker(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._workers, function, *args)

    def close(self) -> None:
        self._workers.shutdown(wait=True)

    async def close_all(self) -> None:
        """Close the photo loader's connections and the storing threads (not the provider)."""
        await self.sources.aclose()
        self.close()

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
            outcome = await self._shared.outcome_for(job, self._attempt, self.copy)
        except Exception as error:  # a bug must fail one job, never the run's bookkeeping
            outcome = JobOutcome(job, "failed", f"internal error: {type(error).__name__}: {error}")
        future = self._finished.pop(job.key, None)
        if future is not None and not future.done():
            future.set_result(outcome)
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        return outcome

    async def copy(self, job: Job, source: ManifestEntry, shared_from: str) -> JobOutcome | None:
        """``job``'s slot filled with the stored image of an identical request: no request.
        ``None`` when that image is gone from the store."""
        model = self.provider.model
        try:
            copied = await self.in_worker(
                lambda: copied_outcome(
                    job, source, shared_from, self.store, run_id=self.run_id, model=model
                )
            )
        except StoreAccessDenied as error:
            self.control.halt(str(error))
            return JobOutcome(job, "failed", str(error), shared_from=shared_from)
        except StoreError as error:
            return JobOutcome(job, "failed", f"upload failed: {error}", shared_from=shared_from)
        if copied is None:
            return None
        outcome, primary = copied
        self._bases.keep(job, primary)
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
            return await self.in_worker(self._store_result, job, made, review)
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
                if error.refused_param:
                    self.control.refuse_settings(job, error.refused_param, error.reason)
                return JobOutcome(job, "failed", error.reason, attempts=error.attempts)

    @property
    def _retries_colour(self) -> bool:
        return self.review is not None and self.review.colour_retry

    async def _review(self, job: Job, result: ProviderResult) -> ImageReview | None:
        if self.review is None or not result.images:
            return None
        try:
            return await self.in_worker(review_image, job, result.images[0].data, self.review)
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
        inputs = self.template_inputs.get(job.template) if images else None
        return image_request(job, images, inputs)

    async def keep_answer(self, job: Job, result: ProviderResult) -> JobOutcome:
        """Check, review and store an image made elsewhere (a batch's output line), exactly as
        a synchronous answer is; a batch cannot be asked again, so a wrong colour stays flagged."""
        await self._unstored.acquire()
        try:
            review = await self._review(job, result)
            return await self.in_worker(self._store_result, job, result, review)
        finally:
            self._unstored.release()

    def _store_result(
        self, job: Job, result: ProviderResult, review: ImageReview | None = None
    ) -> JobOutcome:
        try:
            outcome, primary = store_answer(
                self.store, job, result, review,
                model=self.provider.model, run_id=self.run_id, preview=self.provider.is_preview,
            )  # fmt: skip
        except StoreAccessDenied as error:
            self.control.halt(str(error))
            return JobOutcome(job, "failed", str(error), result.attempts, usage=dict(result.usage))
        if primary is not None:
            self._bases.keep(job, primary)
        return outcome


def image_request(
    job: Job, images: tuple[SourceImage, ...] = (), inputs: TemplateInputs | None = None
) -> ImageRequest:
    """What a job asks the provider for; the same for synchronous requests and batch lines. An
    edit carries its template's reference images after the photo, and its mask."""
    return ImageRequest(
        prompt=job.prompt,
        settings=job.settings,
        mode=job.mode,
        images=(*images, *inputs.references) if inputs else images,
        mask=inputs.mask if inputs else None,
        label=job.label,
        colour=job.colour.name,
        colour_rgb=job.colour.rgb,
        season=job.season,
    )
