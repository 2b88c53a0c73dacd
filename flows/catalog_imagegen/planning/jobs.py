"""A job: one image to make, with everything that decides what the image looks like."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from catalog_imagegen.catalog.model import Colour
from catalog_imagegen.generation.providers.base import ImageSettings, Mode
from catalog_imagegen.renditions.channels import ChannelProfile

IMAGES_PREFIX = "images/"
_UNSAFE_SEGMENT = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Job:
    key: str  # content address: same inputs, same key, on any machine
    sku: str
    title: str
    colour: Colour
    season: str
    template: str
    template_version: str
    prompt: str
    mode: Mode
    settings: ImageSettings
    model: str
    row: int
    source_image: str | None = None
    # The key of the job whose image this one edits (``chain`` variants), if any, and where that
    # base image is stored. Until ``with_base`` names the base's digest, ``key`` is provisional.
    depends_on: str | None = None
    # A deliberate redo (``--force``) of a stored image: keys are immutable and cached forever,
    # so the redo is stored beside the original under ``{key}-{redo}`` instead of overwriting it.
    redo: str | None = None
    base_storage_key: str | None = None
    base_sha256: str | None = None
    template_label: str = ""  # the template's given name for its version, if it has one
    # The channel deliverables derived from the image. Not in the key: adding a channel to a
    # template derives its renditions from the stored image, never a new image.
    channels: tuple[ChannelProfile, ...] = ()
    # What the provider is sent, as a digest (model, prompt, mode, settings, source photo, base):
    # jobs with the same one are byte-identical requests and share one request and its image.
    request_key: str = ""

    @property
    def request_identity(self) -> str:
        return self.request_key or self.key

    @property
    def storage_key(self) -> str:
        return storage_key_for(self, f"{self.key}-{self.redo}" if self.redo else self.key)

    @property
    def waits_for_base(self) -> bool:
        """A dependent whose base image is not known yet: its key is still provisional."""
        return self.depends_on is not None and self.base_sha256 is None

    @property
    def label(self) -> str:
        return f"{self.sku} / {self.colour.name} / {self.season} / {self.template}"

    @property
    def prompt_hash(self) -> str:
        return hashlib.sha256(self.prompt.encode()).hexdigest()[:16]


def with_base(job: Job, base_sha256: str) -> Job:
    """The dependent ``job`` once its base image is known: its key now covers the base's bytes,
    so a regenerated base gives its dependents new keys (and new images) and nothing else."""
    if job.depends_on is None or job.base_sha256 is not None:
        raise ValueError(f"{job.label}: not a dependent waiting for its base")
    return replace(
        job,
        key=derive_key(job.key, base_sha256),
        request_key=derive_key(job.request_identity, base_sha256),
        base_sha256=base_sha256,
    )


def storage_key_for(job: Job, key: str) -> str:
    return (
        f"{IMAGES_PREFIX}{safe_segment(job.sku)}/{job.template}/{job.season}/"
        f"{job.colour.key}/{key}.{job.settings.output_format}"
    )


def image_key(job: Job, index: int) -> str:
    """Where the job's ``index``-th image is stored: the primary at its storage key, the
    alternates (``n`` > 1) beside it as ``{key}-2``, ``{key}-3``..."""
    if index == 0:
        return job.storage_key
    stem, _, ext = job.storage_key.rpartition(".")
    return f"{stem}-{index + 1}.{ext}"


def key_from_storage_key(storage_key: str) -> str:
    """The job key inside a storage key (its file name without extension)."""
    return storage_key.rsplit("/", 1)[-1].split(".", 1)[0]


def safe_segment(value: str) -> str:
    """A path segment that cannot escape its folder: ``../etc/x`` -> ``etc_x``."""
    cleaned = _UNSAFE_SEGMENT.sub("_", value).strip("._")
    return cleaned[:120] or "_"


def derive_key(*parts: str | int | ImageSettings | None) -> str:
    """A stable 128-bit hex digest of ``parts``. ``repr`` of str/int/None and of the frozen
    settings dataclass is canonical across machines and Python versions."""
    canonical = "\x1f".join(map(repr, parts))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
