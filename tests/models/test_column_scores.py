"""The numpy replays of scipy's one-row sparse operations (:mod:`tuijian.models.column_scores`, and the
one-row feature code of :mod:`tuijian.models.shown_features` built on them) against scipy itself, bit for
bit, on random and adversarial rows: unsorted and repeated columns, explicit zeros, negative values, empty
rows, rows longer than numpy's pairwise blocks (8 and 128 elements)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from tuijian.models.column_scores import (
    dense_product_columns,
    product_row,
    row_dot_columns,
    scale_row,
    sparse_product_columns,
    squared_norm_row,
)
from tuijian.models.ranker_features import content_similarity, gather
from tuijian.models.shown_features import _content_similarity, _history_similarity, _rows_values


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _matrix(rng: np.random.Generator, n_rows: int, n_cols: int, *, canonical: bool = False) -> sp.csr_matrix:
    """A float32 CSR matrix whose rows are unsorted (some sorted, some empty, some long), with repeated
    columns, explicit zeros and negative values unless ``canonical``."""
    indptr, indices, data = [0], [], []
    for r in range(n_rows):
        length = int(rng.choice([0, 1, 3, 9, 40, 200])) if r % 5 else 0
        cols = rng.choice(n_cols, min(length, n_cols), replace=False)
        if canonical or r % 3 == 0:
            cols = np.sort(cols)
        elif r % 4 == 1 and len(cols) > 2:
            cols = np.concatenate([cols, cols[:2]])  # stored twice
        vals = rng.standard_normal(len(cols)).astype(np.float32) * np.float32(10.0) ** rng.integers(-3, 3)
        if not canonical:
            vals[rng.random(len(vals)) < 0.05] = 0.0
        else:
            vals = np.abs(vals) + np.float32(1e-3)
        indices.append(cols)
        data.append(vals)
        indptr.append(indptr[-1] + len(cols))
    return sp.csr_matrix(
        (np.concatenate(data).astype(np.float32), np.concatenate(indices), np.array(indptr)),
        shape=(n_rows, n_cols),
    )


def _row(items: np.ndarray, values: np.ndarray, n: int) -> sp.csr_matrix:
    return sp.csr_matrix((values, items, np.array([0, len(items)])), shape=(1, n))


@pytest.mark.parametrize("seed", range(6))
def test_product_norm_scale_and_dot_replay_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_rows, n_cols = 60, 300
    matrix = _matrix(rng, n_rows, n_cols)
    for length in (0, 1, 2, 7, 8, 9, 40, 130):
        items = rng.integers(0, n_rows, length)  # repeats, in any order
        values = rng.standard_normal(length).astype(np.float32)
        x = _row(items, values, n_rows)
        product = x @ matrix
        columns, sums = product_row(items, values, matrix)
        assert _same(columns, product.indices.astype(np.int64)) and _same(sums, product.data)
        norm = np.asarray(product.multiply(product).sum(axis=1)).ravel()
        assert _same(squared_norm_row(columns, sums), norm)
        factor = (1.0 / np.maximum(np.sqrt(norm), np.float32(1e-12))).astype(np.float32)
        scaled = sp.diags(factor) @ product
        s_cols, s_vals = scale_row(columns, sums, factor)
        assert _same(s_cols, scaled.indices.astype(np.int64)) and _same(s_vals, scaled.data)
        cols = rng.choice(n_rows, 25, replace=False)
        expected = np.asarray((sp.csr_matrix(scaled) @ matrix[cols].T).todense(), dtype=np.float32)[0]
        assert _same(row_dot_columns(s_cols, s_vals, matrix, cols), expected)


def test_squared_norm_of_sorted_and_long_rows() -> None:
    """The canonical kernel (sorted columns) and the general one (any other order) sum in other orders."""
    rng = np.random.default_rng(3)
    for length in (3, 8, 9, 127, 128, 129, 1000):
        columns = rng.choice(5000, length, replace=False)
        values = (rng.standard_normal(length) * 10.0 ** rng.integers(-4, 4, length)).astype(np.float32)
        values[::17] = 0.0
        for cols in (np.sort(columns), columns):
            row = _row(cols, values, 5000)
            assert _same(squared_norm_row(cols, values), np.asarray(row.multiply(row).sum(axis=1)).ravel())


def _ctx(content: sp.csr_matrix, n_items: int) -> Any:
    return SimpleNamespace(content=content, n_items=n_items)


@pytest.mark.parametrize("seed", range(6))
def test_content_similarity_of_one_row_is_the_batch_functions(seed: int) -> None:
    """Histories with repeats, empty, short and long (> 128 items); content rows sorted or not, empty ones
    (items without text); both kernels of ``multiply`` (a one-item history of a sorted row is canonical)."""
    rng = np.random.default_rng(seed)
    n_items, n_terms = 80, 40
    for content in (_matrix(rng, n_items, n_terms, canonical=True), _matrix(rng, n_items, n_terms)):
        sorted_rows = [
            i for i in range(n_items) if np.all(np.diff(content[i].indices) > 0) and content[i].nnz
        ]
        histories = [np.zeros(0, np.int64), np.array(sorted_rows[:1]), rng.integers(0, n_items, 3)]
        histories += [rng.integers(0, n_items, n) for n in (8, 9, 40, 200)]
        for seq in histories:
            items, counts = np.unique(seq, return_counts=True)
            counts = counts.astype(np.float32)
            row = _row(items, counts, n_items)
            for cols in (np.array(sorted_rows[:3]), rng.choice(n_items, 30, replace=False), np.zeros(0, int)):
                cols = np.asarray(cols, np.int64)
                expected = content_similarity(
                    _ctx(content, n_items), row, np.zeros(len(cols), np.int64), cols
                )
                assert _same(_content_similarity(_ctx(content, n_items), items, counts, cols), expected)


@pytest.mark.parametrize("seed", range(4))
def test_rows_values_and_history_similarity_are_scipys(seed: int) -> None:
    """``_rows_values`` is ``gather``; ``_history_similarity`` is ``pair_features``' ``norm_counts @
    similarity`` (histories with repeats, long ones)."""
    rng = np.random.default_rng(seed)
    n_items = 150
    similarity = _matrix(rng, n_items, n_items, canonical=True)
    for seq in [np.zeros(0, np.int64)] + [rng.integers(0, n_items, n) for n in (1, 5, 9, 130, 400)]:
        cols = rng.choice(n_items, 20, replace=False)
        rows = np.concatenate([seq[-3:][::-1], [-1]])
        got = _rows_values(similarity, rows, cols)
        for j, r in enumerate(rows):
            assert _same(got[j], gather(similarity, np.full(len(cols), r), cols))
        items, counts = np.unique(seq, return_counts=True)
        counts = counts.astype(np.float32)
        row = _row(items, counts, n_items)
        norm_counts = sp.diags(1.0 / np.maximum(np.asarray(row.sum(axis=1)).ravel(), 1.0)) @ row
        product = sp.csr_matrix(norm_counts @ similarity, dtype=np.float32)
        expected = gather(product, np.zeros(len(cols), np.int64), cols)
        got = _history_similarity(items, counts, _rows_values(similarity, items[::-1], cols))
        assert _same(got, expected)


@pytest.mark.parametrize("seed", range(4))
def test_product_columns_are_the_full_products_columns(seed: int) -> None:
    """``x @ W`` (sparse ``W``, unsorted and repeated columns) and ``x @ B`` (dense ``B``) at some columns,
    for rows with repeated entries, negative weights, empty and long (> 128 entries)."""
    rng = np.random.default_rng(seed)
    n = 120
    matrix = _matrix(rng, n, n)
    dense = (rng.standard_normal((n, n)) * 10.0 ** rng.integers(-3, 3, (n, n))).astype(np.float32)
    for length in (0, 1, 5, 9, 40, 300):
        items = rng.integers(0, n, length)
        values = rng.standard_normal(length).astype(np.float32)
        x = _row(items, values, n)
        cols = np.concatenate([rng.choice(n, 30, replace=False), [4, 4]])
        expected = np.asarray((x @ matrix).toarray(), np.float32)[0, cols]
        assert _same(sparse_product_columns(items, values, matrix, cols), expected)
        assert _same(dense_product_columns(items, values, dense, cols), np.asarray(x @ dense)[0, cols])
