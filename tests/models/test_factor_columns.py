"""A factor model's scores at a few columns from the GEMV on the aligned row groups that hold them
(:func:`tuijian.models.column_scores.gemv_columns`, used by ``ALS`` / ``BPR.score_columns``) against the whole
row's GEMV, bit for bit: every ``n % 4``, a matrix smaller than a group, ``k`` a multiple of 4 or not (BPR's
bias column), edge columns (first, last, the tail rows, repeats, none, unsorted); and the self-check that
picks the group size (:func:`~tuijian.models.column_scores.gemv_group`), which must refuse a grouping that
sums in another order and leave the whole row's GEMV in place when it does or BLAS runs threaded."""

from __future__ import annotations

import functools
import platform
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.models import column_scores, mf
from tuijian.models.column_scores import gemv_columns, gemv_group
from tuijian.models.mf import ALS, BPR, factor_scores, gemv_row_group


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _column_sets(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """First and last item, each tail row (``n % 4`` and ``n % 8`` last rows) alone and together, repeats,
    none, unsorted random sets with and without the tail, and one of over half the items (whole row)."""
    sets = [[0], [n - 1], [n - 1, 0], [0, 0, n - 1, n - 1, 0], []]
    for b in (4, 8):
        tail = list(range(n - n % b, n))
        sets += [[c] for c in tail] + [tail, tail[::-1] + [0]]
    for size in (1, 3, 30, 200):
        size = min(size, n)
        sets.append(rng.choice(n, size, replace=False).tolist())
        sets.append(rng.choice(n, size, replace=True).tolist() + [n - 1])
    sets.append(rng.permutation(n)[: n // 2 + 1].tolist())
    return [np.asarray(s, np.int64) for s in sets]


@functools.cache
def _groups_expected() -> bool:
    """Whether numpy's BLAS is one whose GEMV is known to take rows in groups (OpenBLAS on x86-64: its
    ``sgemv_t`` kernels take 4 rows at a time), so that finding no group size fails a test, not skips it."""
    from threadpoolctl import threadpool_info

    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    return platform.machine().lower() in ("x86_64", "amd64") and any(
        lib["internal_api"] == "openblas" for lib in blas
    )


def _group_of(matrix: np.ndarray) -> int:
    group = gemv_group(matrix)
    if group is None:
        assert not _groups_expected(), f"no group size found for OpenBLAS on x86-64, {matrix.shape}"
        pytest.skip("this BLAS computes no row group alone as in the whole product")
    return group


@pytest.fixture
def spy_groups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of columns of each GEMV that ran on gathered row groups (not the whole row)."""
    calls: list[int] = []
    original = column_scores._group_rows

    def spy(n: int, cols: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray]:
        rows, at = original(n, cols, group)
        if 2 * len(rows) < n:
            calls.append(len(cols))
        return rows, at

    monkeypatch.setattr(column_scores, "_group_rows", spy)
    return calls


@pytest.mark.parametrize("n", [4096, 4097, 4098, 4099, 12101, 1, 3, 5, 6, 7])
@pytest.mark.parametrize("k", [64, 65, 7])
def test_grouped_gemv_is_the_whole_rows_gemv(n: int, k: int, spy_groups: list[int]) -> None:
    """Every column set gives the full GEMV's values, bit for bit (float32), for rows of the matrix and
    random rows; sets of a few columns are computed from their groups alone (one GEMV on many concatenated
    groups for the larger ones, the tail rows after them)."""
    rng = np.random.default_rng(n * 100 + k)
    matrix = rng.standard_normal((n, k), dtype=np.float32)
    group = _group_of(matrix)
    vecs = [matrix[[n // 3]].copy()] + [rng.standard_normal((1, k), dtype=np.float32) for _ in range(4)]
    for vec in vecs:
        full = factor_scores(vec, matrix, as_batch=False)[0]
        for cols in _column_sets(n, rng):
            got = gemv_columns(vec, matrix, cols, group)
            assert _same(got, full[cols]), (group, cols, got, full[cols])
    if n > 2 * 8 * 200:  # up to 200 columns of 8-row groups: gathered, not the whole row
        assert len(spy_groups) >= 5 * 10 and max(spy_groups) >= 200


def test_the_check_refuses_a_grouping_that_sums_in_another_order() -> None:
    """Where a row's product alone differs from the whole row's (it does with OpenBLAS's GEMV kernels), a
    group of one row fails the check; any group size found agrees with the whole row for every column."""
    rng = np.random.default_rng(5)
    matrix = rng.standard_normal((12101, 64), dtype=np.float32)
    vec = rng.standard_normal((1, 64), dtype=np.float32)
    full = factor_scores(vec, matrix, as_batch=False)[0]
    alone = np.array([(vec @ matrix[[c]].T)[0, 0] for c in range(0, 12101, 7)])
    if _same(alone, full[::7]):
        pytest.skip("this BLAS sums a row alone as in the whole product")
    assert gemv_group(matrix, (1,)) is None
    group = gemv_group(matrix)
    if group is not None:
        cols = np.arange(12101)
        rows, at = column_scores._group_rows(12101, cols, group)
        assert _same((vec @ matrix[rows].T)[0, at], full)


def test_the_check_fails_on_a_wrong_grouping(monkeypatch: pytest.MonkeyPatch) -> None:
    """A grouping that gathers other rows than it claims (here: each group's rows shifted by one) fails the
    self-check whatever the BLAS: no group size is found."""
    original = column_scores._group_rows

    def shifted(n: int, cols: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray]:
        rows, at = original(n, cols, group)
        return np.minimum(rows + 1, n - 1), at

    monkeypatch.setattr(column_scores, "_group_rows", shifted)
    matrix = np.random.default_rng(1).standard_normal((1001, 16), dtype=np.float32)
    assert gemv_group(matrix) is None


def _fitted(cls: type[ALS] | type[BPR], n_items: int) -> ALS | BPR:
    """A small model on random histories over ``n_items`` items (every item seen)."""
    rng = np.random.default_rng(n_items)
    users, items = [], []
    for u in range(40):
        chosen = rng.choice(n_items, min(n_items, int(rng.integers(2, 12))), replace=False)
        users += [f"u{u}"] * len(chosen)
        items += [str(i) for i in chosen]
    users += ["all"] * n_items
    items += [str(i) for i in range(n_items)]
    frame = pd.DataFrame({"user": users, "item": items, "ts": np.arange(len(users))})
    inter = Interactions.from_events(frame, items=Vocabulary([str(i) for i in range(n_items)]))
    if cls is ALS:
        return ALS(n_factors=8, n_iterations=5, random_state=0, num_threads=1).fit(inter)
    return BPR(n_factors=8, n_iterations=20, random_state=0).fit(inter)  # 9 factors: the bias column


@pytest.fixture
def fresh_groups(monkeypatch: pytest.MonkeyPatch) -> dict[Any, Any]:
    groups: dict[Any, Any] = {}
    monkeypatch.setattr(mf, "_GEMV_GROUPS", groups)
    return groups


def _check_score_columns(model: ALS | BPR, rng: np.random.Generator) -> None:
    n = model.n_items
    histories = [
        model.interactions_.matrix[[3]],
        sp.csr_matrix(
            (rng.uniform(0.5, 2.0, 3).astype(np.float32), rng.choice(n, 3, replace=False), [0, 3]),
            shape=(1, n),
        ),
    ]
    for history in histories:
        full = np.asarray(model.score(-1, history=history), np.float32)
        for cols in _column_sets(n, rng):
            got = model.score_columns(history, np.zeros(0, np.int64), cols)
            assert got is not None and _same(got, full[cols]), (type(model).__name__, n, cols)


@pytest.mark.parametrize("cls", [ALS, BPR])
@pytest.mark.parametrize("n_items", [100, 101, 102, 103, 7, 3])
def test_score_columns_are_the_rows_columns(
    cls: type[ALS] | type[BPR], n_items: int, spy_groups: list[int], fresh_groups: dict[Any, Any]
) -> None:
    """``score_columns`` equals ``score``'s fold-in row at the columns, bit for bit, for every ``n % 4`` and
    fewer items than a group; with 100+ items the few-column sets come from their groups alone."""
    model = _fitted(cls, n_items)
    _check_score_columns(model, np.random.default_rng(n_items))
    group = gemv_row_group(model.item_factors_)
    assert list(fresh_groups.values()) == [group]
    assert group is not None or not _groups_expected()
    if n_items >= 100 and group is not None and group <= 8:
        assert spy_groups  # the grouped path ran


@pytest.mark.parametrize("cls", [ALS, BPR])
def test_score_columns_without_a_group_is_the_whole_rows_gemv(
    cls: type[ALS] | type[BPR],
    monkeypatch: pytest.MonkeyPatch,
    spy_groups: list[int],
    fresh_groups: dict[Any, Any],
) -> None:
    """When the self-check finds no group size (made to fail here), ``score_columns`` takes the whole row's
    GEMV, still bit for bit, and remembers the answer."""
    checks: list[int] = []

    def failing(vec: np.ndarray, matrix: np.ndarray, group: int, rng: np.random.Generator) -> bool:
        checks.append(group)
        return False

    monkeypatch.setattr(column_scores, "_groups_agree", failing)
    model = _fitted(cls, 101)
    _check_score_columns(model, np.random.default_rng(0))
    assert not spy_groups and list(fresh_groups.values()) == [None]
    assert checks == list(column_scores.GEMV_GROUP_SIZES)  # each size refused once, then remembered


def test_threaded_blas_takes_the_whole_row(spy_groups: list[int], fresh_groups: dict[Any, Any]) -> None:
    """With BLAS on two threads (a threaded GEMV splits the rows elsewhere) no group is used or checked, and
    ``score_columns`` is still the row's columns."""
    from threadpoolctl import threadpool_limits

    model = _fitted(ALS, 102)
    with threadpool_limits(limits=2, user_api="blas"):
        assert gemv_row_group(model.item_factors_) is None
        _check_score_columns(model, np.random.default_rng(1))
    assert not spy_groups and not fresh_groups
