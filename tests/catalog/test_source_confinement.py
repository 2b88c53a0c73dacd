"""A catalog row's ``source_image`` reads only what the catalog may show a third-party API."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from catalog_imagegen.catalog.source_http import CheckedAddressBackend
from catalog_imagegen.catalog.source_policy import IPAddress, SourcePolicy, SourceRefused
from catalog_imagegen.catalog.sources import SourceImageError, SourceLoader


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    catalog, inbox, private = tmp_path / "catalog", tmp_path / "inbox", tmp_path / "private"
    for folder in (catalog / "photos", inbox, private):
        folder.mkdir(parents=True)
    (catalog / "photos" / "jacket.png").write_bytes(png())
    (inbox / "dropped.png").write_bytes(png())
    (private / "secret.png").write_bytes(png())
    (catalog / "photos" / "link.png").symlink_to(private / "secret.png")
    return catalog, inbox, private


@dataclass
class PhotoServer:
    port: int
    paths: list[str] = field(default_factory=list)  # every request that reached it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/photo.png"


@pytest.fixture
def photo_server() -> Iterator[PhotoServer]:
    body = png()
    paths: list[str] = []

    class Photo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Photo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield PhotoServer(port=server.server_address[1], paths=paths)
    server.shutdown()
    server.server_close()


def load(loader: SourceLoader, uri: str) -> bytes:
    async def fetch() -> bytes:
        try:
            return (await loader.load(uri)).data
        finally:
            await loader.aclose()

    return asyncio.run(fetch())


def test_photos_in_the_catalog_folder_and_the_inbox_load(folders: tuple[Path, Path, Path]) -> None:
    catalog, inbox, _ = folders
    loader = SourceLoader(catalog, policy=SourcePolicy(folders=(catalog, inbox)))
    assert load(loader, "photos/jacket.png") == png()
    assert load(loader, str(inbox / "dropped.png")) == png()


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("../private/secret.png", "outside the catalog's folder"),
        ("{private}/secret.png", "outside the catalog's folder"),
        ("file://{private}/secret.png", "outside the catalog's folder"),
        ("photos/link.png", "outside the catalog's folder"),  # a symlink pointing out
        ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
        ("http://10.0.0.7/x.png", "private address 10.0.0.7"),
        ("http://[::1]/x.png", "loopback address ::1"),
        ("s3://someone-elses-bucket/x.png", "bucket someone-elses-bucket is not allowed"),
        ("ftp://example.com/x.png", r"only http\(s\)"),
    ],
)
def test_each_refusal_fails_that_source_with_a_reason(
    folders: tuple[Path, Path, Path], uri: str, reason: str
) -> None:
    catalog, _, private = folders
    uri = uri.format(private=private)
    with pytest.raises(SourceImageError, match=reason) as refused:
        load(SourceLoader(catalog, policy=SourcePolicy(folders=(catalog,))), uri)
    assert "refused" in str(refused.value)
    assert SourceLoader(catalog).local_digests([uri]) == {}  # never even read to hash it


def test_loopback_http_needs_the_setting(photo_server: PhotoServer, tmp_path: Path) -> None:
    with pytest.raises(SourceImageError, match=r"loopback address 127\.0\.0\.1"):
        load(SourceLoader(tmp_path), photo_server.url)
    allowed = SourcePolicy(folders=(tmp_path,), allow_private_http=True)
    assert load(SourceLoader(tmp_path, policy=allowed), photo_server.url) == png()
    assert photo_server.paths == ["/photo.png"]


REBINDING_HOST = "photos.rebinding.test"


@pytest.fixture
def rebinding_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile DNS server: its name is public the first time it is asked, loopback after.

    Every resolver in the process (the policy's check, httpx's connection) asks through
    ``socket.getaddrinfo``, so this is what each of them would hear from such a server.
    """
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.215.14"])

    def getaddrinfo(host: str | bytes | None, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name != REBINDING_HOST:
            return real_getaddrinfo(host, *args, **kwargs)
        return real_getaddrinfo(next(answers, "127.0.0.1"), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.usefixtures("rebinding_dns")
def test_a_name_rebound_to_loopback_after_the_check_is_refused(
    photo_server: PhotoServer, tmp_path: Path
) -> None:
    uri = f"http://{REBINDING_HOST}:{photo_server.port}/photo.png"
    with pytest.raises(SourceImageError) as refused:
        load(SourceLoader(tmp_path), uri)
    assert str(refused.value).startswith(f"source image {uri} refused:")
    assert "loopback address 127.0.0.1" in str(refused.value)
    assert photo_server.paths == []  # nothing reached the internal server


def test_a_connection_is_refused_if_any_address_of_its_host_is_not_public(
    photo_server: PhotoServer,
) -> None:
    def resolve(host: str) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.1")]

    backend = CheckedAddressBackend(resolve=resolve)
    with pytest.raises(SourceRefused, match=r"shop\.test is a loopback address 127\.0\.0\.1"):
        asyncio.run(backend.connect_tcp("shop.test", photo_server.port))
    assert photo_server.paths == []


def test_every_redirect_hop_is_checked(tmp_path: Path) -> None:
    def shop(request: httpx.Request) -> httpx.Response:
        moves = {
            "/moved.png": "http://93.184.215.15/photo.png",
            "/metadata.png": "http://169.254.169.254/latest/meta-data/",
        }
        if request.url.path in moves:
            return httpx.Response(302, headers={"location": moves[request.url.path]})
        return httpx.Response(200, content=png())

    def loader() -> SourceLoader:
        return SourceLoader(tmp_path, http=httpx.AsyncClient(transport=httpx.MockTransport(shop)))

    assert load(loader(), "http://93.184.215.14/moved.png") == png()
    with pytest.raises(SourceImageError, match=r"redirects: .*link-local address 169\.254"):
        load(loader(), "http://93.184.215.14/metadata.png")


def test_buckets_are_allowed_by_setting() -> None:
    policy = SourcePolicy(buckets=frozenset({"shop-photos"}))
    policy.check("s3://shop-photos/jackets/navy.png")
    with pytest.raises(ValueError, match="CATALOG_IMAGEGEN_SOURCE_BUCKETS"):
        policy.check("s3://shop-images-private/x.png")
