"""Service fixtures: the embedded Online Retail demo loaded into SQLite and a trained item-knn, once per session."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tuijian.service.options import ServiceOptions
from tuijian.settings import Settings, load_settings

ADMIN = "test-admin-key-0123456789"
DATASET = "online-retail-demo"


@pytest.fixture(scope="session")
def prepared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home directory whose SQLite store holds the demo data and an active trained version."""
    from tuijian.service.versions import ensure_version
    from tuijian.store import open_store

    home = tmp_path_factory.mktemp("svc-home")
    store = open_store(f"sqlite:///{home / 'tuijian.sqlite'}")
    ensure_version(store, DATASET, home / "artifacts", "item-knn")
    store.close()
    return home


@pytest.fixture
def home(prepared_home: Path, tmp_path: Path) -> Path:
    """A private copy of the prepared home (tests may write to it freely)."""
    dst = tmp_path / "home"
    shutil.copytree(prepared_home, dst, ignore=shutil.ignore_patterns("*.lock"))
    return dst


def make_settings(home: Path) -> Settings:
    return load_settings(
        home=home,
        database_url=f"sqlite:///{home / 'tuijian.sqlite'}",
        dataset=DATASET,
        admin_key=ADMIN,
        env="test",
    )


def make_options(**kw: Any) -> ServiceOptions:
    """Test options: the fixtures' item-knn (retrains stay fast; the service's default is ``auto``)."""
    base: dict[str, Any] = {
        "model": "item-knn",
        "access_log": False,
        "key_cache_seconds": 0.0,
        "poll_seconds": 0.5,
    }
    base.update(kw)
    return ServiceOptions(**base)


@pytest.fixture
def client(home: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from tuijian.service.app import create_app

    with TestClient(create_app(make_settings(home), make_options())) as c:
        c.headers["X-API-Key"] = ADMIN
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, lifespan="on"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live(home: Path) -> Iterator[LiveServer]:
    from tuijian.service.app import create_app

    with LiveServer(create_app(make_settings(home), make_options())) as server:
        yield server
