"""Where the review app answers, for links from run artifacts (``serve`` sets it)."""

from __future__ import annotations

import os
from urllib.parse import quote

REVIEW_URL_VARIABLE = "CATALOG_IMAGEGEN_REVIEW_URL"


def review_app_link(run_id: str) -> str | None:
    """The run's page in the review app, when one is running for this output."""
    base = os.environ.get(REVIEW_URL_VARIABLE, "").rstrip("/")
    return f"{base}/runs/{quote(run_id)}" if base else None
