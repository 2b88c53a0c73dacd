"""The fake's files and batches as values, with the JSON shapes of ``OpenAIFile`` and ``Batch``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from catalog_imagegen.testing.fake_image_api.batch_lines import BatchLine, LineError


@dataclass(slots=True)
class FakeFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int = field(default_factory=lambda: int(time.time()))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "expires_at": None,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }


@dataclass(slots=True)
class FakeBatch:
    id: str
    endpoint: str
    input_file_id: str
    metadata: dict[str, str]
    lines: list[BatchLine]
    errors: list[LineError]
    created_at: float
    status: str = "validating"
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed: int = 0
    failed: int = 0
    ended_at: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        created = int(self.created_at)
        times = {f"{name}_at": self.ended_at.get(name) for name in _TIMESTAMPS}
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": {"object": "list", "data": [e.to_json() for e in self.errors]}
            if self.errors
            else None,
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": created,
            **times,
            "expires_at": created + 24 * 3600,
            "request_counts": {
                "total": len(self.lines),
                "completed": self.completed,
                "failed": self.failed,
            },
            "metadata": self.metadata or None,
        }


_TIMESTAMPS = (
    "in_progress",
    "finalizing",
    "completed",
    "failed",
    "expired",
    "cancelling",
    "cancelled",
)
