"""A fold-in row's scores at a few items, computed for those items alone, bit for bit as the full row.

An explanation of a stored top list (:mod:`tuijian.models.shown_features`) needs each retriever's score of
the few items a list shows, not the whole row. :meth:`Recommender.score_columns
<tuijian.models.base.Recommender.score_columns>` gives it where a model can compute it without the row and
with exactly the float operations of its ``score`` (``None`` elsewhere: the caller scores the row). The
helpers here replay the two products the linear models use, in the order scipy sums them:

* :func:`sparse_product_columns`: ``x @ W`` for a sparse row ``x`` and a sparse ``W``. scipy's product
  (SMMP) adds, per output column, ``x[j] * W[j, c]`` over the stored entries of ``x`` in their stored order,
  starting from zero, in the product's dtype; a gather of ``W``'s rows and :func:`numpy.add.at` (which adds
  sequentially, in array order) make the same sums.
* :func:`dense_product_columns`: ``x @ B`` for a sparse row and a dense ``B``. scipy's ``csr_matvecs`` does
  ``y += x[j] * B[j, :]`` per stored entry of ``x``, in order, from zero; the same element-wise steps on
  ``B[j, cols]`` give the same values.

Both are checked against the full product by the contract suite (``tests/models/conformance.py``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def row_entries(
    row: sp.spmatrix | sp.sparray, dtype: type | np.dtype = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """The stored entries of a ``1 x n`` sparse row in their stored order: ``(columns, values)``, the values
    cast to ``dtype`` as ``scipy.sparse.csr_matrix(row, dtype=dtype)`` casts them."""
    csr = row if isinstance(row, sp.csr_matrix) else sp.csr_matrix(row)
    lo, hi = int(csr.indptr[0]), int(csr.indptr[1])
    return csr.indices[lo:hi].astype(np.int64), csr.data[lo:hi].astype(dtype)


def row_offsets(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, lens)``: the positions in a CSR matrix's ``indices`` / ``data`` of the stored entries of
    ``rows``, row after row, each row's in stored order, and each row's number of entries (both int64)."""
    rows = np.asarray(rows, np.int64)
    starts = indptr[rows].astype(np.int64)
    lens = indptr[rows + 1].astype(np.int64) - starts
    return np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum())), lens


def sparse_product_columns(
    items: np.ndarray, values: np.ndarray, matrix: sp.csr_matrix, cols: np.ndarray
) -> np.ndarray:
    """``(x @ matrix).toarray()[0, cols]`` for the sparse row ``x`` with entries ``values`` at ``items`` (in
    stored order), with scipy's sums, in the product's dtype."""
    dtype = np.result_type(values.dtype, matrix.dtype)
    out = np.zeros(matrix.shape[1], dtype=dtype)
    items = np.asarray(items, np.int64)
    if len(items):
        offs, lens = row_offsets(matrix.indptr, items)
        if len(offs):
            contrib = matrix.data[offs].astype(dtype) * np.repeat(values.astype(dtype), lens)
            np.add.at(out, matrix.indices[offs], contrib)
    return out[np.asarray(cols, np.int64)]


def dense_product_columns(
    items: np.ndarray, values: np.ndarray, dense: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """``(x @ dense)[0, cols]`` for the sparse row ``x`` with entries ``values`` at ``items`` (in stored
    order) and a dense ``n x m`` matrix, with scipy's sums, in the product's dtype."""
    dtype = np.result_type(values.dtype, dense.dtype)
    cols = np.asarray(cols, np.int64)
    items = np.asarray(items, np.int64)
    # row i + 1: the i-th entry's terms; running sums down the rows from a row of zeros are scipy's sums
    terms = np.zeros((len(items) + 1, len(cols)), dtype=dtype)
    terms[1:] = values.astype(dtype)[:, None] * dense[items[:, None], cols[None, :]].astype(dtype, copy=False)
    return np.add.accumulate(terms, axis=0)[-1]


# ------------------------------------------------------------------------------------------ one sparse row
# The helpers below replay, for one ``1 x n`` row held as ``(columns, values)`` in stored order, the scipy
# operations a profile goes through (a product, its squared norm, a diagonal scaling), keeping scipy's stored
# order too: that order decides the order of later sums. scipy's kernels, for one row:
#
# * ``csr @ csr`` (``csr_matmat``, SMMP): per stored entry ``(j, v)`` of the row, in order, per stored entry
#   ``(c, w)`` of ``W``'s row ``j``, in order: ``sums[c] += v * w`` from 0; a column enters a linked list at
#   its first contribution and the product stores the columns in the reverse order of those first
#   contributions, dropping sums equal to 0;
# * ``csr.multiply(csr)`` (``csr_binop_csr``): when both operands are canonical (every row's columns strictly
#   increasing), a merge, in increasing column order; otherwise the columns in the reverse order of their
#   first appearance in the left operand's row, then the right's; products equal to 0 dropped;
# * ``csr.sum(axis=1)``: :func:`numpy.add.reduceat` on the data of the non-empty rows (numpy's pairwise
#   summation).


def product_row(
    items: np.ndarray, values: np.ndarray, matrix: sp.csr_matrix
) -> tuple[np.ndarray, np.ndarray]:
    """``x @ matrix`` for the sparse row ``x`` with entries ``values`` at ``items`` (in stored order), as
    scipy's product stores it: ``(columns, sums)`` in its stored order, zero sums left out, in the product's
    dtype."""
    dtype = np.result_type(values.dtype, matrix.dtype)
    items = np.asarray(items, np.int64)
    if not len(items):
        return np.zeros(0, np.int64), np.zeros(0, dtype)
    offs, lens = row_offsets(matrix.indptr, items)
    total = len(offs)
    if not total:
        return np.zeros(0, np.int64), np.zeros(0, dtype)
    targets = matrix.indices[offs]
    contrib = matrix.data[offs].astype(dtype) * np.repeat(values.astype(dtype), lens)
    sums = np.zeros(matrix.shape[1], dtype=dtype)
    np.add.at(sums, targets, contrib)  # sequential, in the order of the contributions, from 0
    first = np.full(matrix.shape[1], total, dtype=np.int64)
    np.minimum.at(first, targets, np.arange(total))  # each column's first contribution
    columns = np.flatnonzero(first < total)
    columns = columns[np.argsort(-first[columns])]  # the reverse order of first contributions
    sums = sums[columns]
    keep = sums != 0
    return columns[keep].astype(np.int64), sums[keep]


def is_canonical_row(columns: np.ndarray) -> bool:
    """Whether a row's stored columns are strictly increasing (scipy's test of canonical format)."""
    return bool(len(columns) < 2 or (np.diff(columns) > 0).all())


def squared_norm_row(columns: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``row.multiply(row).sum(axis=1)`` of one stored row (a length-1 array, in the values' dtype)."""
    squares = values * values
    if not is_canonical_row(columns):  # the general kernel lists the columns in reverse order
        squares = squares[::-1]
    squares = np.ascontiguousarray(squares[squares != 0])
    out = np.zeros(1, dtype=values.dtype)
    if len(squares):
        out[0] = np.add.reduceat(squares, np.zeros(1, np.intp))[0]
    return out


def scale_row(columns: np.ndarray, values: np.ndarray, factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``diags(factor) @ row`` for a one-element ``factor`` (the product of a ``1 x 1`` matrix and the row):
    ``(columns, values)`` in the product's stored order (reversed), zero products left out."""
    scaled = (factor.astype(np.result_type(factor.dtype, values.dtype)) * values)[::-1]
    columns = columns[::-1]
    keep = scaled != 0
    return columns[keep], scaled[keep]


def row_dot_columns(
    columns: np.ndarray, values: np.ndarray, matrix: sp.csr_matrix, cols: np.ndarray
) -> np.ndarray:
    """``(row @ matrix[cols].T).toarray()[0]`` for the stored row ``(columns, values)`` (distinct columns, as
    a product stores them): scipy converts ``matrix[cols].T`` to CSR (per column of the row, the selected
    rows in ``cols`` order) and its product adds, per selected row ``c``, ``value * matrix[c, column]`` over
    the row's entries in stored order (a column ``matrix[c]`` stores twice: both, in its stored order), from
    0, in the product's dtype."""
    dtype = np.result_type(values.dtype, matrix.dtype)
    cols = np.asarray(cols, np.int64)
    out = np.zeros(len(cols), dtype=dtype)
    if not len(cols) or not len(columns):
        return out
    where = np.full(matrix.shape[1], -1, np.int64)
    where[columns] = np.arange(len(columns))
    offs, lens = row_offsets(matrix.indptr, cols)
    if not len(offs):
        return out
    at = where[matrix.indices[offs]]
    hit = at >= 0
    offs, at = offs[hit], at[hit]
    target = np.repeat(np.arange(len(cols)), lens)[hit]
    order = np.lexsort((offs, at))  # the row's entries in stored order, each one's stored entries in order
    contrib = values.astype(dtype)[at] * matrix.data[offs].astype(dtype)
    np.add.at(out, target[order], contrib[order])
    return out
