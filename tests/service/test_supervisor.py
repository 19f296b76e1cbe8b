"""The supervisor that gives every uvicorn worker its own listening socket (``tuijian.service.supervisor``).

The last tests run it for real: a small ASGI app (it answers with its worker's process id) under two workers,
connections opened together, a worker killed with SIGKILL, the supervisor stopped with SIGTERM.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.conftest import free_port
from tuijian.exceptions import ConfigError
from tuijian.service.supervisor import balanced, reuse_port_socket

ROOT = Path(__file__).resolve().parents[2]
LINUX = sys.platform.startswith("linux")
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def pid_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """A bare ASGI app: every HTTP request is answered with this worker's process id."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = str(os.getpid()).encode()
    headers = [(b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def test_balanced_only_with_several_workers_on_linux() -> None:
    assert balanced(2, "linux") == hasattr(socket, "SO_REUSEPORT")
    assert not balanced(1, "linux")
    assert not balanced(4, "darwin")  # macOS gives a port's connections to one socket: uvicorn's supervisor
    assert not balanced(4, "win32")


@pytest.mark.skipif(not LINUX, reason="SO_REUSEPORT spreads connections only on Linux")
def test_sockets_share_a_port_and_a_taken_port_is_named() -> None:
    port = free_port()
    a = reuse_port_socket("127.0.0.1", port)
    b = reuse_port_socket("127.0.0.1", port)
    try:
        assert a.getsockname() == b.getsockname() == ("127.0.0.1", port)
    finally:
        a.close()
        b.close()
    with socket.socket() as plain:  # a program that holds the port without SO_REUSEPORT
        plain.bind(("127.0.0.1", 0))
        plain.listen()
        taken = plain.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{taken}: .*choose another --port"):
            reuse_port_socket("127.0.0.1", taken)


@contextlib.contextmanager
def _supervisor(port: int, workers: int = 2) -> Iterator[subprocess.Popen[bytes]]:
    code = (
        "from tuijian.service.supervisor import run_balanced; "
        f"run_balanced('tests.service.test_supervisor:pid_app', host='127.0.0.1', port={port}, "
        f"workers={workers}, log_level='warning', lifespan='on', timeout_graceful_shutdown=5)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


def _pids(port: int, n: int) -> list[int]:
    """The worker that answers each of ``n`` connections opened together, every one kept open until all have
    answered (as a client's pool of keep-alive connections)."""
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(n)]
    try:
        for c in conns:
            c.connect()
        pids = []
        for c in conns:
            c.request("GET", "/")
            pids.append(int(c.getresponse().read()))
        return pids
    finally:
        for c in conns:
            c.close()


def _wait_dead(pid: int, timeout: float = 30) -> None:
    """Until ``pid`` has exited (gone, or a zombie its supervisor has not reaped yet: its sockets are closed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.05)
    raise AssertionError(f"worker {pid} still running {timeout} s after SIGKILL")


def _wait_for_workers(port: int, n: int, timeout: float = 60) -> set[int]:
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            seen = set(_pids(port, 16))
            if len(seen) == n:
                return seen
        time.sleep(0.2)
    raise AssertionError(f"expected {n} workers answering on {port}, saw {sorted(seen)}")


@pytest.mark.skipif(not LINUX, reason="SO_REUSEPORT spreads connections only on Linux")
def test_connections_opened_together_reach_every_worker_and_a_killed_worker_is_replaced() -> None:
    port = free_port()
    with _supervisor(port) as proc:
        first = _wait_for_workers(port, 2)
        # 24 connections opened at once: each worker holds some (uvicorn's shared socket gave one worker
        # all 12 of the load test's connections in 12 of 18 runs)
        split = _pids(port, 24)
        assert set(split) == first
        assert min(split.count(p) for p in first) >= 3, split
        # a worker killed: every new connection is answered (by the survivor, then also its replacement)
        gone = min(first)
        os.kill(gone, signal.SIGKILL)
        _wait_dead(gone)
        deadline = time.monotonic() + 60
        while True:
            answered = [int(httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text) for _ in range(8)]
            assert gone not in answered
            now = set(_pids(port, 16))
            if len(now) == 2:
                break
            assert time.monotonic() < deadline, f"no replacement worker within 60 s: {now}"
            time.sleep(0.2)
        assert gone not in now and len(now & first) == 1
        # SIGTERM stops the workers and the supervisor, and frees the port
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
