"""A local Prefect server shared by the commands of one machine, started on first use.

Without ``PREFECT_API_URL``, Prefect starts a temporary server inside every command: 5 to 12 s
before any work, and a ``kill -9`` of the command leaves it running, orphaned. Instead, the first
``run`` or ``backfill`` starts one server in the background (loopback only, its database under
``PREFECT_HOME``) and later commands reuse it; it also serves the Prefect UI. It stops by itself
after ``CATALOG_IMAGEGEN_SERVER_IDLE_MINUTES`` (default 30) without a command using it, and
``catalog-imagegen server stop`` stops it at once.

A command using the server holds a shared ``flock`` on ``server.clients``: the kernel releases it
when the command ends, even by ``kill -9``, so the idle check never waits on a dead command.
``CATALOG_IMAGEGEN_LOCAL_SERVER=off`` keeps Prefect's temporary per-command server instead; a
``PREFECT_API_URL`` in the environment always wins (your own server).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

STARTUP_SECONDS = 120.0
CHECK_SECONDS = 15.0
DEFAULT_IDLE_MINUTES = 30.0
_held: list[IO[bytes]] = []  # the client lock of this process, held until it exits


class LocalServerError(RuntimeError):
    pass


@dataclass(frozen=True)
class ServerState:
    pid: int  # the supervisor: leader of the process group the server runs in
    url: str  # the API URL, http://127.0.0.1:PORT/api


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


def server_dir() -> Path:
    folder = prefect_home() / "catalog-imagegen-server"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def enabled() -> bool:
    setting = os.environ.get("CATALOG_IMAGEGEN_LOCAL_SERVER", "on").strip().lower()
    return setting not in ("off", "0", "false", "no") and not os.environ.get("PREFECT_API_URL")


def use_local_server() -> str | None:
    """Point this process's Prefect at the shared local server, starting it if need be. Call
    before Prefect is imported. Returns the API URL, or ``None`` when it is not used."""
    if not enabled():
        return None
    folder = server_dir()
    with _exclusive(folder / "start.lock"):
        state = running_server()
        if state is None:
            state = start_server(folder)
    _hold_client_lock(folder)
    os.environ["PREFECT_API_URL"] = state.url
    return state.url


def running_server() -> ServerState | None:
    """The shared server, if its state file names one that answers."""
    try:
        raw = json.loads((server_dir() / "state.json").read_text())
        state = ServerState(pid=int(raw["pid"]), url=str(raw["url"]))
    except (OSError, ValueError, KeyError):
        return None
    return state if _alive(state.pid) and healthy(state.url) else None


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def start_server(folder: Path) -> ServerState:
    port = _free_port()
    idle = os.environ.get("CATALOG_IMAGEGEN_SERVER_IDLE_MINUTES", str(DEFAULT_IDLE_MINUTES))
    command = [sys.executable, "-m", __name__, "--port", str(port), "--idle-minutes", idle]
    log = (folder / "server.log").open("ab")
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,  # its own process group: not killed with this command
        close_fds=True,
    )
    log.close()
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        state = running_server()
        if state is not None:
            return state
        time.sleep(0.25)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    raise LocalServerError(
        f"the local Prefect server did not start; see {folder / 'server.log'} "
        "(or set CATALOG_IMAGEGEN_LOCAL_SERVER=off)"
    )


def stop_server() -> ServerState | None:
    """Stop the shared server; the state it had, or ``None`` if none was running."""
    state = running_server()
    path = server_dir() / "state.json"
    if state is None:
        path.unlink(missing_ok=True)
        return None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(state.pid, signal.SIGTERM)
    for _ in range(100):
        if not _alive(state.pid):
            break
        time.sleep(0.1)
    path.unlink(missing_ok=True)
    return state


def supervise(port: int, idle_minutes: float) -> int:
    """The background process: run ``prefect server start`` until nobody has used it for
    ``idle_minutes``, then stop it."""
    folder = server_dir()
    env = os.environ | {
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", str(port)],
        env=env,
    )  # fmt: skip
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    url = f"http://127.0.0.1:{port}/api"
    while server.poll() is None and not healthy(url, timeout=1.0):
        time.sleep(0.25)
    # Written by the server's own supervisor, so a command killed while waiting orphans nothing.
    (folder / "state.json").write_text(json.dumps({"pid": os.getpid(), "url": url}))
    last_used = time.monotonic()
    while server.poll() is None:
        time.sleep(CHECK_SECONDS)
        if _in_use(folder):
            last_used = time.monotonic()
        elif time.monotonic() - last_used > idle_minutes * 60:
            server.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(timeout=30)
    (folder / "state.json").unlink(missing_ok=True)
    return 0


def _in_use(folder: Path) -> bool:
    """Whether a command holds the shared client lock right now."""
    with (folder / "server.clients").open("ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _hold_client_lock(folder: Path) -> None:
    handle = (folder / "server.clients").open("ab")
    fcntl.flock(handle, fcntl.LOCK_SH)
    _held.append(handle)


@contextlib.contextmanager
def _exclusive(path: Path):  # type: ignore[no-untyped-def]
    with path.open("ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the shared local Prefect server (supervisor)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-minutes", type=float, default=DEFAULT_IDLE_MINUTES)
    args = parser.parse_args(argv)
    return supervise(args.port, args.idle_minutes)


if __name__ == "__main__":
    sys.exit(main())
