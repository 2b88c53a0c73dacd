"""A fake OpenAI-compatible images API that speaks real HTTP on loopback, for tests and benchmarks.

``FakeImageApi`` serves it from a thread of this process, ``FakeImageApiProcess`` from a child
process; both take a ``FakeImageApiConfig`` (or its fields as keywords) and expose ``base_url``,
``requests``, ``stats()``, ``prompt_counts()``, ``configure(**changes)`` and ``reset()``.
"""

from catalog_imagegen.testing.fake_image_api.app import FakeImageApp
from catalog_imagegen.testing.fake_image_api.config import FakeImageApiConfig
from catalog_imagegen.testing.fake_image_api.log import (
    FakeImageApiStats,
    RecordedFile,
    RecordedRequest,
)
from catalog_imagegen.testing.fake_image_api.servers import FakeImageApi, FakeImageApiProcess

__all__ = [
    "FakeImageApi",
    "FakeImageApiConfig",
    "FakeImageApiProcess",
    "FakeImageApiStats",
    "FakeImageApp",
    "RecordedFile",
    "RecordedRequest",
]
