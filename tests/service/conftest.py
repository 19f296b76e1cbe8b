"""Service fixtures: the embedded Online Retail demo loaded into SQLite and a trained item-knn, once per session."""

from __future__ import annotations

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
