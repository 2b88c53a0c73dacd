"""Loading product photos for edit jobs, from a local path, an http(s) URL or an ``s3://`` URI.

A source that cannot be loaded, or that ``source_policy`` refuses (outside the catalog's folder, a
private address, a bucket not allowed), fails the jobs that need it, with the reason; it never
stops a run. Relative paths are relative to the catalog file's folder. Loaded photos are cached
for the run, since every colour and season of a product edits the same photo.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

import httpx

from catalog_imagegen.catalog.source_http import source_http_client
from catalog_imagegen.catalog.source_policy import SourcePolicy, SourceRefused
from catalog_imagegen.generation.image_files import InvalidImage, inspect_image
from catalog_imagegen.generation.providers.base import CONTENT_TYPES, SourceImage

MAX_SOURCE_BYTES = 50 * 1024 * 1024
MAX_REDIRECTS = 5
_CACHE_SIZE = 64


class SourceImageError(Exception):
    pass


class SourceLoader:
    def __init__(
        self,
        base_dir: Path,
        *,
        http: httpx.AsyncClient | None = None,
        policy: SourcePolicy | None = None,
    ) -> None:
        """``http`` replaces the client that connects only to checked addresses (``source_http``):
        for tests answering with ``httpx.MockTransport``, never for real fetching."""
        self.base_dir = base_dir
        self.policy = policy or SourcePolicy()
        self._http = http
        self._cache: OrderedDict[str, SourceImage] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self, uri: str) -> SourceImage:
        if uri in self._cache:
            self._cache.move_to_end(uri)
            return self._cache[uri]
        lock = self._locks.setdefault(uri, asyncio.Lock())
        async with lock:
            if uri not in self._cache:
                data = await self._fetch(uri)
                self._cache[uri] = _as_source(uri, data)
                if len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        self._locks.pop(uri, None)
        return self._cache[uri]

    def local_digests(self, uris: Iterable[str]) -> dict[str, str]:
        """sha256 of each local source file, for job keys. URLs are keyed by their address."""
        digests = {}
        for uri in set(uris):
            path = self.local_path(uri)
            if path is not None and self._allowed(uri) and path.is_file():
                digests[uri] = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        return digests

    def local_path(self, uri: str) -> Path | None:
        scheme = urlparse(uri).scheme
        if scheme in ("http", "https", "s3"):
            return None
        path = Path(uri[7:] if uri.startswith("file://") else uri)
        return path if path.is_absolute() else self.base_dir / path

    def _allowed(self, uri: str) -> bool:
        try:
            self.policy.check(uri, self.base_dir)
        except SourceRefused:
            return False
        return True

    async def _fetch(self, uri: str) -> bytes:
        try:
            await asyncio.to_thread(self.policy.check, uri, self.base_dir)  # may resolve a host
        except SourceRefused as refused:
            raise SourceImageError(str(refused)) from None
        scheme = urlparse(uri).scheme
        if scheme in ("http", "https"):
            return await self._fetch_http(uri)
        if scheme == "s3":
            return await asyncio.to_thread(_fetch_s3, uri)
        path = self.local_path(uri)
        assert path is not None
        try:
            if path.stat().st_size > MAX_SOURCE_BYTES:
                raise SourceImageError(f"source image {uri} is larger than 50 MB")
            return await asyncio.to_thread(path.read_bytes)
        except OSError as error:
            raise SourceImageError(
                f"source image {uri} cannot be read ({error.strerror})"
            ) from None

    async def _fetch_http(self, uri: str) -> bytes:
        if self._http is None:
            self._http = source_http_client(self.policy)
        url = uri
        try:
            for _ in range(MAX_REDIRECTS + 1):
                async with self._http.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = str(response.url.join(response.headers["location"]))
                        await asyncio.to_thread(self._check_redirect, uri, url)
                        continue
                    if response.status_code != 200:
                        raise SourceImageError(
                            f"source image {uri} answered HTTP {response.status_code}"
                        )
                    return await _read_capped(uri, response)
        except SourceRefused as refused:  # the address connected to (this hop's or a later one's)
            raise SourceImageError(f"source image {uri} refused: {refused}") from None
        except httpx.HTTPError as error:
            raise SourceImageError(
                f"source image {uri} is unreachable ({type(error).__name__})"
            ) from None
        raise SourceImageError(f"source image {uri} redirects more than {MAX_REDIRECTS} times")

    def _check_redirect(self, uri: str, target: str) -> None:
        """Every hop is checked: a public URL must not redirect to a private address."""
        if urlparse(target).scheme not in ("http", "https"):
            raise SourceImageError(f"source image {uri} redirects to {target}: only http(s)")
        try:
            self.policy.check(target, self.base_dir)
        except SourceRefused as refused:
            raise SourceImageError(f"source image {uri} redirects: {refused}") from None

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()


async def _read_capped(uri: str, response: httpx.Response) -> bytes:
    chunks = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_SOURCE_BYTES:
            raise SourceImageError(f"source image {uri} is larger than 50 MB")
        chunks.append(chunk)
    return b"".join(chunks)


def _as_source(uri: str, data: bytes) -> SourceImage:
    try:
        fmt, _, _ = inspect_image(data)
    except InvalidImage as error:
        raise SourceImageError(f"source image {uri} is {error} (need png, webp or jpeg)") from None
    name = Path(urlparse(uri).path).stem or "image"
    return SourceImage(data=data, filename=f"{name}.{fmt}", content_type=CONTENT_TYPES[fmt])


def _fetch_s3(uri: str) -> bytes:
    import boto3
    import botocore.exceptions

    parsed = urlparse(uri)
    try:
        response = (
            boto3.session.Session()
            .client("s3")
            .get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
        )
        data: bytes = response["Body"].read(MAX_SOURCE_BYTES + 1)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise SourceImageError(f"source image {uri} cannot be read from S3 ({error})") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceImageError(f"source image {uri} is larger than 50 MB")
    return data
