"""Shared test fixtures. Helpers add their own fixtures here; keep additions additive.

Expensive real-data loads are session-scoped so that each happens once per test run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared dataset root (``TUIJIAN_DATA_DIR`` or ``../shared/datasets``), via ``resolve_data_dir``."""
    from tuijian.data.datasets import resolve_data_dir

    return resolve_data_dir()


@pytest.fixture(scope="session")
def online_retail_raw(data_dir: Path):
    """The raw Online Retail lines (541,909 rows, every column as text)."""
    from tuijian.data.cleaning import read_online_retail

    return read_online_retail(data_dir / "online_retail" / "online_retail.csv.gz")


@pytest.fixture(scope="session")
def online_retail(data_dir: Path):
    """The cleaned Online Retail dataset (``load_dataset("online-retail")``), built once per session."""
    from tuijian.data.datasets import load_dataset

    return load_dataset("online-retail", data_dir)


@pytest.fixture(scope="session")
def prepared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home directory whose SQLite store holds the embedded Online Retail demo and an active item-knn
    version, trained once per session (the service and privacy tests copy it)."""
    from tuijian.service.versions import ensure_version
    from tuijian.store import open_store

    home = tmp_path_factory.mktemp("demo-home")
    store = open_store(f"sqlite:///{home / 'tuijian.sqlite'}")
    ensure_version(store, "online-retail-demo", home / "artifacts", "item-knn")
    store.close()
    return home


@pytest.fixture
def home(prepared_home: Path, tmp_path: Path) -> Path:
    """A private copy of the prepared home (tests may write to it freely)."""
    dst = tmp_path / "home"
    shutil.copytree(prepared_home, dst, ignore=shutil.ignore_patterns("*.lock"))
    return dst
