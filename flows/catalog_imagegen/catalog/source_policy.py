"""Which product photos a catalog row may name: a catalog must not read what it could not show.

Photos named in ``source_image`` are loaded and sent to a third-party image API, and anyone who
can drop a file into the inbox writes catalog rows. So a row may name:

- a file inside the catalog's own folder (or the inbox's), after following symlinks and ``..``;
- an ``http(s)`` URL whose host resolves only to public addresses: private, loopback,
  link-local (the cloud metadata service at 169.254.169.254) and reserved ones are refused unless
  ``CATALOG_IMAGEGEN_ALLOW_PRIVATE_SOURCES`` is set (each redirect hop is checked again, and
  ``source_http`` connects only to the addresses it has just checked, so a DNS server cannot
  answer a public address to the check and an internal one to the connection);
- an ``s3://`` object in a bucket listed in ``CATALOG_IMAGEGEN_SOURCE_BUCKETS``, not any bucket
  the worker's credentials happen to reach.

A refusal fails the jobs that need that photo, with the reason; the rest of the run goes on.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ALLOW_PRIVATE_VARIABLE = "CATALOG_IMAGEGEN_ALLOW_PRIVATE_SOURCES"
BUCKETS_VARIABLE = "CATALOG_IMAGEGEN_SOURCE_BUCKETS"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class SourceRefused(ValueError):
    """The photo is outside what the settings allow; the message says why and what to set."""


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    folders: tuple[Path, ...] = ()  # empty: only the catalog's own folder
    allow_private_http: bool = False
    buckets: frozenset[str] = frozenset()

    def check(self, uri: str, base_dir: Path | None = None) -> None:
        """Raise ``SourceRefused`` unless ``uri`` may be read."""
        scheme = urlparse(uri).scheme.lower()
        if scheme in ("http", "https"):
            self._check_host(uri)
        elif scheme == "s3":
            bucket = urlparse(uri).netloc
            if bucket not in self.buckets:
                raise SourceRefused(
                    f"source image {uri} refused: bucket {bucket} is not allowed "
                    f"(list the buckets photos may come from in {BUCKETS_VARIABLE})"
                )
        elif len(scheme) > 1 and scheme != "file":  # one letter: a Windows drive
            raise SourceRefused(
                f"source image {uri} refused: only http(s), s3 and files in the catalog's folder"
            )
        else:
            self.confined_path(uri, base_dir or Path.cwd())

    def confined_path(self, uri: str, base_dir: Path) -> Path:
        """The file ``uri`` names, if it lies inside an allowed folder (symlinks followed)."""
        path = Path(uri[7:] if uri.startswith("file://") else uri)
        resolved = (path if path.is_absolute() else base_dir / path).resolve()
        allowed = self.folders or (base_dir,)
        if not any(resolved.is_relative_to(folder.resolve()) for folder in allowed):
            where = "the catalog's folder" + (" or the inbox" if len(allowed) > 1 else "")
            raise SourceRefused(f"source image {uri} refused: it is outside {where}")
        return resolved

    def _check_host(self, uri: str) -> None:
        host = urlparse(uri).hostname
        if not host:
            raise SourceRefused(f"source image {uri} refused: no host")
        if self.allow_private_http:
            return
        try:
            addresses = addresses_of(host)
        except SourceRefused as refused:
            raise SourceRefused(f"source image {uri} refused: {refused}") from None
        reason = refusal_of(host, addresses)
        if reason:
            raise SourceRefused(f"source image {uri} refused: {reason}")


def addresses_of(host: str) -> list[IPAddress]:
    """What ``host`` resolves to now (a hostile DNS server may answer differently next time)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise SourceRefused(f"cannot resolve {host}") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def refusal_of(host: str, addresses: list[IPAddress]) -> str | None:
    """Why ``host`` may not be read at these addresses, or ``None`` if all are public."""
    for address in addresses:
        kind = non_public_kind(address)
        if kind:
            return (
                f"{host} is a {kind} address {address} (set {ALLOW_PRIVATE_VARIABLE}=true to allow)"
            )
    return None


def non_public_kind(address: IPAddress) -> str | None:
    """Why an address is not on the public internet, or ``None`` if it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, test in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved or not address.is_global),
    ):
        if test:
            return kind
    return None
