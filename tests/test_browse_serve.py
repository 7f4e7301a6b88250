"""`trialmatch serve` as a user runs it: a real process listening on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from browse_registry import build_fixture_registry
from conftest import REPO
from processes import alive, children_of
from test_cli import trialmatch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the listening TCP sockets on ``port``, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                address, port_hex = local.split(":")
                if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


@pytest.fixture
def registry(tmp_path):
    return build_fixture_registry(tmp_path / "trials.db")


def wait_until_answering(url: str, server: subprocess.Popen, seconds: float = 60) -> requests.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"serve exited with {server.returncode}: {server.stderr.read()}")
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            time.sleep(0.2)
    pytest.fail(f"nothing answered at {url} within {seconds} s")


def test_serve_binds_127_0_0_1_and_answers(registry):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "matcher", "--db", str(registry), "serve", "--port", str(port)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        response = wait_until_answering(f"http://127.0.0.1:{port}/trials/trials.json?_shape=objects", server)
        assert response.status_code == 200 and len(response.json()["rows"]) == 5
        assert listening_addresses(port) == {"127.0.0.1"}
        assert requests.get(f"http://127.0.0.1:{port}/trials/trials/NCT09000002", timeout=5).status_code == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output and "read-only" in output


def test_serve_without_a_database_says_so(tmp_path):
    result = trialmatch("--db", tmp_path / "absent.db", "serve", "--port", free_port())
    assert result.returncode == 2 and "no database" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_serve_refuses_a_database_that_is_not_a_registry(tmp_path):
    other = tmp_path / "other.db"
    other.write_bytes(b"not sqlite at all, just text " * 200)
    result = trialmatch("--db", other, "serve", "--port", free_port())
    assert result.returncode == 2 and "not a SQLite database" in result.stderr


def test_serve_on_a_port_in_use_says_so(registry):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = trialmatch("--db", registry, "serve", "--port", taken.getsockname()[1])
    assert result.returncode == 2 and "cannot listen on 127.0.0.1" in result.stderr


def test_serve_needs_at_least_one_ranker(registry):
    result = trialmatch("--db", registry, "serve", "--port", free_port(), "--rankers", "0")
    assert result.returncode == 2 and "--rankers must be between 1 and 64, not 0" in result.stderr


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads processes from /proc (Linux)")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_ranker_processes_end_with_the_server(registry, stop):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "matcher", "--db", str(registry), "serve", "--port", str(port), "--rankers", "2"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/find?diagnosis=asthma", server)
        deadline = time.monotonic() + 60
        while len(rankers := children_of(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(rankers) >= 2
    finally:
        server.send_signal(stop)
        server.communicate(timeout=60)
    deadline = time.monotonic() + 20
    while alive(rankers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(rankers), "ranker processes outlived the server"
