"""Running the fake images API on a free loopback port: in a thread, or in a child process.

The thread is what tests want (``api.requests`` are live objects, file bytes included). The child
process is for benchmarks: its CPU and memory are not counted in the client's process. Both bind
port 0 and read the real port back, so parallel runs never collide.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import uvicorn

from catalog_imagegen.testing.fake_image_api.app import FakeImageApp
from catalog_imagegen.testing.fake_image_api.config import FakeImageApiConfig
from catalog_imagegen.testing.fake_image_api.log import FakeImageApiStats, RecordedRequest

LOOPBACK = "127.0.0.1"
CLI_MODULE = "catalog_imagegen.testing.fake_image_api"
_BACKLOG = 4096


def bind_loopback(port: int = 0, host: str = LOOPBACK) -> socket.socket:
    """A bound TCP socket; asyncio starts listening on it when uvicorn serves it."""
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle off only on sockets that say TCP, and
    # with Nagle on, uvicorn's separate header and body writes wait ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def uvicorn_config(app: FakeImageApp, *, log_level: str | None = None) -> uvicorn.Config:
    """Tuned so the fake is never the bottleneck of a client under test."""
    return uvicorn.Config(
        app,
        loop="asyncio",
        # h11, tracked, so faults can close a connection (see ``faults.ConnectionRegistry``).
        http=app.connections.protocol_class(),
        lifespan="off",
        access_log=False,
        # None: leave the host process's logging alone.
        log_config=None,
        log_level=log_level,
        backlog=_BACKLOG,
        limit_concurrency=None,
        # Longer than any client's pool keeps idle connections, so the server never closes one a
        # client is about to reuse: a spurious disconnect would look like an injected fault.
        timeout_keep_alive=300,
        timeout_graceful_shutdown=2,
        server_header=False,
    )


class FakeImageApi:
    """The fake images API served from a background thread of this process.

    ``with FakeImageApi(latency_s=0.1) as api:`` (or ``FakeImageApi(config).running()``) serves on
    ``api.base_url`` (``http://127.0.0.1:PORT/v1``) until the block ends.
    """

    def __init__(
        self, config: FakeImageApiConfig | None = None, *, host: str = LOOPBACK, **changes: Any
    ) -> None:
        self.app = FakeImageApp((config or FakeImageApiConfig()).with_changes(changes))
        self._host = host
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float = 10.0) -> Self:
        sock = bind_loopback(0, self._host)
        self._port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn_config(self.app))
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"fake-image-api-{self._port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake image API did not start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    @contextmanager
    def running(self) -> Iterator[Self]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the fake image API is not running")
        return f"http://{self._host}:{self._port}/v1"

    @property
    def config(self) -> FakeImageApiConfig:
        return self.app.config

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.app.log.records()

    @property
    def model_lookups(self) -> list[str]:
        """The models asked about with ``GET /v1/models/{model}`` (not in ``requests``)."""
        return self.app.log.model_lookups()

    def stats(self) -> FakeImageApiStats:
        return self.app.log.stats(time.monotonic())

    def prompt_counts(self) -> Counter[str]:
        return self.app.log.prompt_counts()

    def configure(
        self, config: FakeImageApiConfig | None = None, **changes: Any
    ) -> FakeImageApiConfig:
        """Change some fields; with ``config``, start from it instead of the current one."""
        return self.app.configure(changes, base=config)

    def reset(self) -> None:
        self.app.reset()


class FakeImageApiProcess:
    """The fake images API in a child process; the same inspection API, over ``/_fake``.

    Recorded file parts come back without their bytes (size and sha256 only).
    """

    def __init__(
        self,
        config: FakeImageApiConfig | None = None,
        *,
        startup_timeout_s: float = 30.0,
        **changes: Any,
    ) -> None:
        self.initial_config = (config or FakeImageApiConfig()).with_changes(changes)
        self._startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[str] | None = None
        self._control: httpx.Client | None = None
        self._base_url: str | None = None

    def start(self) -> Self:
        command = [sys.executable, "-m", CLI_MODULE, "--port", "0"]
        command += ["--config-json", json.dumps(self.initial_config.to_json())]
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=_child_env(), text=True
        )
        try:
            self._base_url = self._read_base_url(self._process)
        except BaseException:
            self.stop()
            raise
        origin = self._base_url.removesuffix("/v1")
        self._control = httpx.Client(base_url=origin, timeout=30, trust_env=False)
        return self

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the fake image API process is not running")
        return self._base_url

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def requests(self) -> list[RecordedRequest]:
        return [RecordedRequest.from_json(value) for value in self._get("/_fake/requests")]

    def stats(self) -> FakeImageApiStats:
        return FakeImageApiStats.from_json(self._get("/_fake/stats"))

    def prompt_counts(self) -> Counter[str]:
        return Counter(self.stats().prompt_counts)

    def configure(
        self, config: FakeImageApiConfig | None = None, **changes: Any
    ) -> FakeImageApiConfig:
        """Change some fields; with ``config``, start from it instead of the current one."""
        payload = {**config.to_json(), **changes} if config is not None else changes
        response = self._client().post("/_fake/config", json=payload)
        if response.status_code == 400:
            raise ValueError(response.json()["error"])
        response.raise_for_status()
        return FakeImageApiConfig().with_changes(response.json())

    def reset(self) -> None:
        self._client().post("/_fake/reset").raise_for_status()

    def _get(self, path: str) -> Any:
        response = self._client().get(path)
        response.raise_for_status()
        return response.json()

    def _client(self) -> httpx.Client:
        if self._control is None:
            raise RuntimeError("the fake image API process is not running")
        return self._control

    def _read_base_url(self, process: subprocess.Popen[str]) -> str:
        """Wait for the child's ``READY <base url>`` line."""
        assert process.stdout is not None
        deadline = time.monotonic() + self._startup_timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([process.stdout], [], [], remaining)
            line = process.stdout.readline() if readable else ""
            if line.startswith("READY "):
                return line.split()[1]
            if readable and not line:
                raise RuntimeError(f"the fake image API exited with {process.wait()}")
        raise RuntimeError(f"the fake image API did not start in {self._startup_timeout_s} s")


def _child_env() -> dict[str, str]:
    """This environment, with the directory holding ``catalog_imagegen`` first on PYTHONPATH."""
    package_parent = str(Path(__file__).resolve().parents[3])
    paths = [package_parent, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
