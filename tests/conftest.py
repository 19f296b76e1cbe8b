"""Shared test fixtures. Helpers add their own fixtures here; keep additions additive.

Expensive real-data loads are session-scoped so that each happens once per test run.
"""

from __future__ import annotations

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
