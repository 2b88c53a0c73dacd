"""The HTTP client product photos are fetched with: it connects only to addresses it has checked.

``SourcePolicy.check`` resolves a URL's host and refuses private, loopback and link-local
addresses, but a connection that resolved the name again could hear another answer (DNS
rebinding: a public address for the check, 127.0.0.1 or 169.254.169.254 for the connection).
So each connection resolves its host once, checks every address with the policy's own rule
(``refusal_of``) and connects to those very addresses. TLS still verifies the certificate
against the URL's host name: httpcore passes the origin's host to ``start_tls``, not the address.

Proxies named in the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``) are not used
for photos: a proxy resolves the name itself, where no check can follow. Nor is ``~/.netrc``
read, so no credentials go to hosts that catalog rows name. With
``CATALOG_IMAGEGEN_ALLOW_PRIVATE_SOURCES`` set nothing is checked and httpx's defaults apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import anyio.to_thread
import httpcore
import httpx

from catalog_imagegen.catalog.source_policy import (
    IPAddress,
    SourcePolicy,
    SourceRefused,
    addresses_of,
    refusal_of,
)

TIMEOUT_SECONDS = 60


class CheckedAddressBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to public addresses it resolved itself."""

    def __init__(
        self,
        resolve: Callable[[str], list[IPAddress]] = addresses_of,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._resolve = resolve
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Raise ``SourceRefused`` if ``host`` resolves to any non-public address."""
        addresses = await anyio.to_thread.run_sync(self._resolve, host)
        reason = refusal_of(host, addresses)
        if reason:
            raise SourceRefused(reason)
        error: httpcore.ConnectError | httpcore.ConnectTimeout
        error = httpcore.ConnectError(f"{host} resolves to no address")
        for address in dict.fromkeys(addresses):  # in the resolver's order, each once
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
        raise error

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class CheckedAddressTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over a ``CheckedAddressBackend``."""

    def __init__(self, backend: CheckedAddressBackend) -> None:
        super().__init__()
        # httpx 0.28 takes no ``network_backend=`` (encode/httpx#3749 would add it), so the
        # pool it built is swapped for one that has it; the rebinding test fails if this breaks.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def source_http_client(policy: SourcePolicy) -> httpx.AsyncClient:
    """The client ``SourceLoader`` fetches http(s) photos with (it follows redirects itself)."""
    if policy.allow_private_http:
        return httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    return httpx.AsyncClient(
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        trust_env=False,
        transport=CheckedAddressTransport(CheckedAddressBackend()),
    )
