"""Images and reports, read from the store, so the app works the same over a folder or a bucket."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, HTTPException, Request, Response

from catalog_imagegen.review.app.context import context_of
from catalog_imagegen.storage.manifest import IMMUTABLE

IMAGE_PREFIXES = ("images/", "lab/images/")  # the lab's images sit in its corner (``lab/``)
SERVED_PREFIXES = (*IMAGE_PREFIXES, "manifests/")

router = APIRouter()


@router.get("/files/{key:path}", name="file")
def stored_file(key: str, request: Request) -> Response:
    if not key.startswith(SERVED_PREFIXES) or ".." in key.split("/"):
        raise HTTPException(404, "no such file")
    stored = context_of(request).store.get(key)
    if stored is None:
        raise HTTPException(404, "no such file")
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    if content_type.startswith("text/html"):
        content_type = "text/plain"  # a stored page never runs in the app's origin
    cache = IMMUTABLE if key.startswith(IMAGE_PREFIXES) else "no-cache"
    return Response(stored.data, media_type=content_type, headers={"Cache-Control": cache})
