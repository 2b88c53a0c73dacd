"""Answers that break the HTTP exchange itself: a dropped connection, a truncated body, bad base64.

ASGI has no way to close a connection, so the server runs a uvicorn protocol that remembers each
connection's transport by client address; a fault looks its own connection up and closes it.
"""

from __future__ import annotations

import asyncio

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from catalog_imagegen.testing.fake_image_api.config import Truncation


class ConnectionRegistry:
    """Open connections of one server, by the client's ``(host, port)``."""

    def __init__(self) -> None:
        self._transports: dict[tuple[str, int], asyncio.Transport] = {}

    def protocol_class(self) -> type[asyncio.Protocol]:
        """A uvicorn HTTP protocol (h11) that registers its connections here."""
        registry = self

        class TrackedH11Protocol(H11Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                if not isinstance(transport, asyncio.Transport):
                    raise TypeError(f"expected a stream transport, got {transport!r}")
                super().connection_made(transport)
                registry._opened(transport)

            def connection_lost(self, exc: Exception | None) -> None:
                registry._closed(self.transport)
                super().connection_lost(exc)

        return TrackedH11Protocol

    async def close(self, scope: Scope, receive: Receive) -> None:
        """Close the connection this request came on, and wait until uvicorn has noticed."""
        client = scope.get("client")
        transport = self._transports.get((client[0], client[1])) if client else None
        if transport is None:
            raise RuntimeError(
                "untracked connection: serve with ConnectionRegistry.protocol_class()"
            )
        transport.close()
        # Returning before uvicorn sees the close would make it log an error or answer a 500.
        while (await receive())["type"] != "http.disconnect":
            pass

    def _opened(self, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        if peer is not None:
            self._transports[(str(peer[0]), int(peer[1]))] = transport

    def _closed(self, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        if peer is not None:
            self._transports.pop((str(peer[0]), int(peer[1])), None)


class DroppedConnection(Response):
    """No status line at all: the server hangs up after reading the request."""

    def __init__(self, connections: ConnectionRegistry) -> None:
        super().__init__(status_code=200)
        self._connections = connections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._connections.close(scope, receive)


class TruncatedResponse(Response):
    """A 200 whose JSON body stops halfway.

    ``cut_json`` frames the half body correctly, so HTTP succeeds and JSON parsing fails;
    ``early_close`` declares the whole length, sends half and hangs up, so HTTP reading fails.
    """

    def __init__(
        self,
        body: bytes,
        truncation: Truncation,
        connections: ConnectionRegistry,
        headers: dict[str, str],
    ) -> None:
        super().__init__(status_code=200, headers=headers)
        self._whole = body
        self._truncation = truncation
        self._connections = connections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        half = self._whole[: len(self._whole) // 2]
        declared = len(half) if self._truncation == "cut_json" else len(self._whole)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(declared).encode()),
            *((name.encode(), value.encode()) for name, value in self._extra_headers()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        more_body = self._truncation == "early_close"
        await send({"type": "http.response.body", "body": half, "more_body": more_body})
        if more_body:
            await self._connections.close(scope, receive)

    def _extra_headers(self) -> list[tuple[str, str]]:
        return [
            (k, v) for k, v in self.headers.items() if k not in ("content-length", "content-type")
        ]


def corrupt_b64(b64: bytes) -> bytes:
    """Base64 that every decoder rejects: a non-alphabet byte, and 4k+1 data characters.

    A lenient decoder skips the ``!`` but still fails on the length; a strict one fails on both.
    """
    data = b64.rstrip(b"=")
    keep = max(1, len(data) - len(data) % 4 - 3)
    return b"!" + data[:keep]
