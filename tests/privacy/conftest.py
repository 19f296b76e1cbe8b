"""Privacy fixtures: the embedded Online Retail demo (real purchases) in SQLite, and a service over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ADMIN = "privacy-test-admin-key-0123456789"
DATASET = "online-retail-demo"


@pytest.fixture(scope="session")
def demo() -> Any:
    from tuijian.data.datasets import load_dataset

    return load_dataset(DATASET)


def make_app(home: Path) -> Any:
    from tuijian.service.app import create_app
    from tuijian.service.options import ServiceOptions
    from tuijian.settings import load_settings

    settings = load_settings(
        home=home,
        database_url=f"sqlite:///{home / 'tuijian.sqlite'}",
        dataset=DATASET,
        admin_key=ADMIN,
        env="test",
    )
    options = ServiceOptions(model="item-knn", access_log=False, key_cache_seconds=0.0, poll_seconds=0.5)
    return create_app(settings, options)


@pytest.fixture
def client(home: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(make_app(home)) as c:
        c.headers["X-API-Key"] = ADMIN
        yield c
