"""Shared fixtures of the model tests: the official MovieLens-100K u1 fold, read once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from tests.models._ml100k import implicit_split, read_ml100k_fold, topk_metrics
from tuijian.data.interactions import Interactions
from tuijian.models.popularity import Popularity


@pytest.fixture(scope="session", autouse=True)
def _single_blas_thread() -> Iterator[None]:
    """One BLAS thread: on the shared 2-core CI machine threaded LAPACK calls thrash (10x slower)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def ml100k_u1() -> tuple[pd.DataFrame, pd.DataFrame]:
    return read_ml100k_fold(1)


@pytest.fixture(scope="session")
def ml100k_u1_implicit(
    ml100k_u1: tuple[pd.DataFrame, pd.DataFrame],
) -> tuple[Interactions, dict[int, set[int]]]:
    return implicit_split(*ml100k_u1)


@pytest.fixture(scope="session")
def ml100k_u1_popularity(ml100k_u1_implicit: tuple[Interactions, dict[int, set[int]]]) -> dict[str, float]:
    """HR@10 / precision@10 of global popularity on u1: the floor personalised models must clear."""
    inter, relevant = ml100k_u1_implicit
    return topk_metrics(Popularity().fit(inter), relevant)
