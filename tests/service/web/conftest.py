"""Browser-test fixtures: ONE real uvicorn server (a subprocess on 127.0.0.1, free port) on the embedded demo
data in a temp home, and ONE headless Debian Chromium driven by Playwright, shared by every browser test.

The server bootstraps itself exactly as ``tuijian serve`` does (loads ``online-retail-demo`` into SQLite and
trains item-knn on first start). While it starts, the dashboard's quick offline evaluation runs here and writes
``<home>/reports/online-retail-demo-evaluation.json``, the file the dashboard reads.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DATASET = "online-retail-demo"
ADMIN_KEY = "web-test-admin-" + secrets.token_hex(8)
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
START_TIMEOUT_S = 150


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebServer:
    """``uvicorn --factory tuijian.service.app:create_app_from_env`` in a child process."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_key = ADMIN_KEY
        self.log_path = home / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "TUIJIAN_HOME": str(self.home),
            "TUIJIAN_DATASET": DATASET,
            "TUIJIAN_ADMIN_KEY": self.admin_key,
            "TUIJIAN_SECRET_KEY": secrets.token_hex(16),
            "TUIJIAN_ENV": "test",
            "TUIJIAN_ACCESS_LOG": "0",
            "TUIJIAN_SERVING_MODEL": "item-knn",  # the dashboard's retrain stays fast (the default is auto)
            "OPENBLAS_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tuijian.service.app:create_app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.home)

    def wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the server was not ready within {START_TIMEOUT_S} s:\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    from tuijian.service.web.analytics import EvaluationJob

    home = tmp_path_factory.mktemp("web-home")
    server = WebServer(home)
    server.start()
    errors: list[BaseException] = []

    def evaluate() -> None:
        try:
            EvaluationJob(home, DATASET).run()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    job = threading.Thread(target=evaluate)
    job.start()
    try:
        server.wait_ready()
        job.join()
        if errors:
            raise errors[0]
        yield server
    finally:
        job.join()
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `bash scripts/setup-browser.sh` (installs Debian chromium and "
            "fonts-wqy-zenhei; CI runs it). Never `playwright install`."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class ConsoleErrors:
    """Collects console ``error`` messages and uncaught page errors of a page."""

    def __init__(self, page: Any) -> None:
        self.messages: list[str] = []
        page.on(
            "console", lambda m: self.messages.append(f"console: {m.text}") if m.type == "error" else None
        )
        page.on("pageerror", lambda e: self.messages.append(f"pageerror: {e}"))


@pytest.fixture
def browser_page(browser: Any, web_server: WebServer) -> Iterator[tuple[Any, ConsoleErrors]]:
    """A fresh browser context (own cookies) and page, 1280 px wide, with console errors collected."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", base_url=web_server.url
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = ConsoleErrors(page)
    try:
        yield page, errors
    finally:
        context.close()


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path
