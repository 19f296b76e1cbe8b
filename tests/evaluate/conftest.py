"""Session-scoped real-data fixtures for the evaluation tests (each built once per run)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ml1m_recbole():
    """The ML-1M RecBole protocol split (loads movielens-1m from the shared datasets)."""
    from tuijian.evaluate.protocols import make_protocol

    return make_protocol("recbole", "movielens-1m")


@pytest.fixture(scope="session")
def beauty_loo():
    """The Amazon Beauty leave-one-out split."""
    from tuijian.evaluate.protocols import make_protocol

    return make_protocol("loo", "amazon-beauty")


@pytest.fixture(scope="session")
def retail_time(online_retail):
    """The Online Retail ``time`` split, built from the session's cleaned dataset."""
    from tuijian.evaluate.protocols import make_protocol

    return make_protocol("time", online_retail)
