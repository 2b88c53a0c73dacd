"""Storing a provider's answer: checked, marked as AI-made, its renditions derived, then stored.

The same for synchronous answers and a batch's output lines (``ImageMaker._store_result``). The
primary image is written last: its presence means the job is done, and a rerun derives any
rendition still missing from it. Blocking: the maker runs it in its storing threads.
"""

from __future__ import annotations

import hashlib

from catalog_imagegen.generation.image_files import InvalidImage, check_image
from catalog_imagegen.generation.outcomes import (
    JobOutcome,
    entry_for,
    made_at_now,
    object_metadata,
)
from catalog_imagegen.generation.provenance import (
    ALGORITHMIC_MEDIA,
    TRAINED_ALGORITHMIC_MEDIA,
    mark_source_type,
)
from catalog_imagegen.generation.providers.base import (
    CONTENT_TYPES,
    GeneratedImage,
    ProviderResult,
)
from catalog_imagegen.planning.jobs import Job, image_key
from catalog_imagegen.renditions.storing import store_renditions
from catalog_imagegen.review.image_review import ImageReview
from catalog_imagegen.storage.base import ObjectStore, StoreAccessDenied, StoreError
from catalog_imagegen.storage.manifest import IMMUTABLE


def store_answer(
    store: ObjectStore,
    job: Job,
    result: ProviderResult,
    review: ImageReview | None,
    *,
    model: str,
    run_id: str,
    preview: bool,
) -> tuple[JobOutcome, bytes | None]:
    """The job's outcome, and the primary image's bytes once stored (a chained variant's base).
    ``StoreAccessDenied`` is raised: the run must stop, not just this job."""
    attempts, usage = result.attempts, dict(result.usage)
    if not result.images:
        return JobOutcome(job, "failed", "provider returned no image", attempts, usage=usage), None
    try:
        sizes = [check_image(image.data, job.settings.output_format) for image in result.images]
        answered = zip(result.images, sizes, strict=True)
        images = [marked(image, size, preview) for image, size in answered]
        keys = [image_key(job, index) for index in range(len(images))]
        digests = [hashlib.sha256(image.data).hexdigest() for image in images]
        renditions = store_renditions(
            store, job, keys[0], images[0].data, model=model, run_id=run_id
        )
        for index in reversed(range(len(images))):
            store.put(
                keys[index],
                images[index].data,
                content_type=CONTENT_TYPES[images[index].format],
                cache_control=IMMUTABLE,
                metadata=object_metadata(job, model, sizes[index], digests[index]),
            )
    except InvalidImage as error:
        reason = f"provider returned {error}"
        return JobOutcome(job, "failed", reason, attempts, usage=usage), None
    except StoreAccessDenied:
        raise
    except StoreError as error:
        return JobOutcome(job, "failed", f"upload failed: {error}", attempts, usage=usage), None
    primary = images[0]
    entry = entry_for(
        job,
        storage_key=keys[0],
        url=store.url_for(keys[0]),
        sha256=digests[0],
        size=len(primary.data),
        width=sizes[0][0],
        height=sizes[0][1],
        created_at=made_at_now(),
        run_id=run_id,
        model=model,
        alternates=tuple(keys[1:]),
        flags=(*(review.flags if review else ()), *renditions.flags),
        renditions=renditions.renditions,
    )
    outcome = JobOutcome(
        job, "generated", attempts=attempts, entry=entry, usage=usage, review=review
    )
    return outcome, primary.data


def marked(image: GeneratedImage, size: tuple[int, int], preview: bool) -> GeneratedImage:
    """The image declaring in its XMP how it was made (Merchant Center asks for AI images)."""
    source_type = ALGORITHMIC_MEDIA if preview else TRAINED_ALGORITHMIC_MEDIA
    data = mark_source_type(image.data, image.format, source_type, size)
    return GeneratedImage(data, image.format, image.width, image.height)
