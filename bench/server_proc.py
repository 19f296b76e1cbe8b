"""A real ``tuijian serve`` in a subprocess, for the crash and soak benchmarks (issue 11).

The server runs in its own process group (supervisor and uvicorn workers), so :meth:`Server.kill` sends SIGKILL
to every process of it at once, as a machine crash or the OOM killer would. RSS is read from ``/proc`` (Linux)
and summed over the process tree.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
TUIJIAN = Path(sys.executable).with_name("tuijian")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children_of() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            out.setdefault(ppid, []).append(int(entry))
    return out


def tree_pids(pid: int) -> list[int]:
    kids, out, todo = children_of(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def rss_mb(pid: int) -> float:
    """Resident memory (MiB) of ``pid``, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mb(pid: int) -> dict[str, float]:
    """RSS of the supervisor, of each worker, and their total (MiB)."""
    pids = tree_pids(pid)
    per = {p: rss_mb(p) for p in pids}
    return {"total": round(sum(per.values()), 1), **{str(p): round(v, 1) for p, v in per.items()}}


class Server:
    """``tuijian serve`` on 127.0.0.1 with a generated admin key and secret; its output goes to ``log``."""

    def __init__(
        self,
        home: Path,
        database_url: str,
        *,
        model: str = "popularity",
        workers: int = 2,
        extra_env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        self.home = home
        self.database_url = database_url
        self.model = model
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_key = "bench-admin-" + secrets.token_urlsafe(24)
        self.env = {
            **os.environ,
            "TUIJIAN_ADMIN_KEY": self.admin_key,
            "TUIJIAN_SECRET_KEY": secrets.token_urlsafe(32),
            "OPENBLAS_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            **(extra_env or {}),
        }
        self.log = log or home / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        cmd = [
            str(TUIJIAN),
            "serve",
            "--home",
            str(self.home),
            "--database-url",
            self.database_url,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--model",
            self.model,
            "--no-access-log",
        ]
        self.home.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log, "ab")  # noqa: SIM115 - closed in kill()/stop()
        self._log_file.write(f"\n===== start {self.starts + 1} at {time.time():.3f}\n".encode())
        self._log_file.flush()
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1

    def wait_ready(self, timeout: float = 600.0) -> float:
        """Seconds until ``/ready`` answers 200; raises when the server exits or takes too long."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"tuijian serve exited with {self.proc.returncode}; see {self.log}:\n{self.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/ready", timeout=2.0).status_code == 200:
                    return time.monotonic() - t0
            time.sleep(0.1)
        raise RuntimeError(f"tuijian serve not ready after {timeout}s; see {self.log}:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL to the whole process group (supervisor and workers), then reap."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._close_log()

    def stop(self, timeout: float = 30.0) -> int | None:
        """Graceful stop (SIGTERM to the group); SIGKILL when it does not exit in time. Returns the exit code."""
        if self.proc is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        self._close_log()
        return code

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.admin_key}


def fresh_postgres_database(base_url: str, prefix: str) -> tuple[str, Any]:
    """A new, empty database on the server of ``base_url`` (its role needs CREATEDB); returns (url, drop)."""
    from sqlalchemy import create_engine, text

    from tuijian.store.engine import normalize_url

    name = f"{prefix}_{secrets.token_hex(5)}"
    admin = create_engine(normalize_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base_url.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(
                text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return url, drop
