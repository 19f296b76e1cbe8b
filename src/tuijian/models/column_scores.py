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

Both are checked against the full product by the contract suite (``tests/models/conformance.py``). The
factor models' dense product, a BLAS GEMV, is not replayed but run on fewer rows: :func:`gemv_columns`
(below; ``tests/models/test_factor_columns.py``).
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


# -------------------------------------------------------------------------------------------- a GEMV row
# A folded-in user's factor scores are one row ``vec @ F.T`` (``n`` items x ``k`` factors), which numpy hands
# to BLAS GEMV (:func:`tuijian.models.mf.factor_scores` with ``as_batch=False``). OpenBLAS's x86-64 GEMV
# (``sgemv_t``) takes ``F``'s rows in groups, a 4x4 kernel per group of 4 rows, then a 4x2 and a 4x1 kernel
# for the last ``n % 4`` rows, and each kernel sums a row's ``k`` products in its own order; numpy computes a
# one-row product by DOT, another order again. So a product over some rows of ``F`` can differ from the full
# row in the last bit (a single row; 30 rows of 12k: ~5% of the entries, those of the subset's own tail). A
# row computed in a whole group, and a tail row computed in the same ``n % B`` tail, get the full product's
# value: :func:`gemv_columns` gathers the aligned groups of ``B`` rows holding the wanted columns, and the
# tail rows after them, into one GEMV (OpenBLAS 0.3.31, SkylakeX kernels, 12101 x 64: every column exact).
# ``B`` depends on the kernel OpenBLAS picks for the CPU and shape (the same build needs groups of 8 for 7
# factors: another kernel), and numpy's BLAS need not be OpenBLAS, so it is not assumed: :func:`gemv_group`
# finds it by checking, or finds none.

GEMV_GROUP_SIZES = (4, 8, 16, 32, 64)


def _group_rows(n: int, cols: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, at)``: the rows of an ``n``-row matrix that one GEMV must take for the columns ``cols``
    (int64, in ``[0, n)``), the aligned groups of ``group`` rows holding them (in increasing order), then the
    last ``n % group`` rows when a column is among them (so ``rows`` is again whole groups and the same tail),
    and each column's position in ``rows``. A one-row tail wanted alone takes the first group along: numpy
    computes a product with one row by DOT, not GEMV."""
    body = n - n % group
    slot = cols // group  # the tail's rows: the slot after the last whole group
    wanted = np.zeros(body // group + 1, bool)
    wanted[slot] = True
    tail = bool(wanted[-1])
    if tail and n - body == 1 and body and not wanted[:-1].any():
        wanted[0] = True
    groups = np.flatnonzero(wanted)
    rows = (groups[:, None] * group + np.arange(group)).ravel()
    if tail:
        rows = rows[: len(rows) - group + n - body]
    return rows, np.searchsorted(groups, slot) * group + cols % group


def _rows_product(vec: np.ndarray, matrix: np.ndarray, rows: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The GEMV of ``vec`` with ``matrix``'s ``rows`` gathered into a C-contiguous array (the layout of the
    matrix itself: the same BLAS call as the whole product), at positions ``at``."""
    return (vec @ matrix.take(rows, axis=0).T)[0, at]


def gemv_columns(vec: np.ndarray, matrix: np.ndarray, cols: np.ndarray, group: int) -> np.ndarray:
    """``(vec @ matrix.T)[0, cols]`` for one row ``vec`` (``1 x k``) and a C-contiguous ``n x k`` ``matrix``,
    bit for bit, from the rows of the aligned groups of ``group`` rows that hold ``cols`` alone, in one GEMV
    (:func:`_group_rows`); ``group`` is the one :func:`gemv_group` found for the matrix. The full product
    where those rows are half the matrix or more (gathering them costs about as much as the product) or a
    column is out of ``[0, n)`` (numpy's indexing decides)."""
    n = matrix.shape[0]
    cols = np.asarray(cols, np.int64)
    if not len(cols):
        return np.empty(0, np.result_type(vec.dtype, matrix.dtype))
    if cols.min() >= 0 and cols.max() < n:
        rows, at = _group_rows(n, cols, group)
        if 2 * len(rows) < n:
            return _rows_product(vec, matrix, rows, at)
    return (vec @ matrix.T)[0, cols]


def _groups_agree(vec: np.ndarray, matrix: np.ndarray, group: int, rng: np.random.Generator) -> bool:
    """Whether every column of ``vec @ matrix.T`` comes out of :func:`gemv_columns`' product on the rows of
    its groups as out of the full GEMV: the tail alone, then the groups in a random order taken 1, 2, 3, 5, 8,
    ... at a time (the tail with the first), each set's columns asked in decreasing order, every column
    once."""
    n = matrix.shape[0]
    full = (vec @ matrix.T)[0]  # factor_scores(vec, matrix, as_batch=False): the served call
    body = n - n % group
    tail = np.arange(body, n)
    sets = [tail[::-1]] if len(tail) else []
    order = rng.permutation(body // group)
    start, size, after = 0, 1, 2
    while start < len(order):
        cols = (order[start : start + size, None] * group + np.arange(group)).ravel()
        sets.append(np.sort(np.concatenate([cols, tail]) if start == 0 else cols)[::-1])
        start, size, after = start + size, after, size + after
    for cols in sets:
        rows, at = _group_rows(n, cols, group)
        if _rows_product(vec, matrix, rows, at).tobytes() != full[cols].tobytes():
            return False
    return True


def gemv_group(matrix: np.ndarray, sizes: tuple[int, ...] = GEMV_GROUP_SIZES) -> int | None:
    """The smallest group size in ``sizes`` with which :func:`gemv_columns` gives every column of a one-row
    product with the C-contiguous ``matrix`` as the full GEMV does, bit for bit, or ``None`` (compute the
    whole row). Checked, with a fixed seed, for one of the matrix's own rows and two random rows, each with
    its own random partition of the groups (the BLAS kernel depends on the matrix's shape, dtype and layout,
    not on its values): about 4 ms for 12k x 64 (10-15 ms as a process's first), done once per process and
    shape by the caller. The answer holds for the BLAS thread count it was found under: a threaded GEMV
    splits the rows at other places."""
    n, k = matrix.shape
    if not n:
        return None
    rng = np.random.default_rng(0)
    vecs = [matrix[n // 2 : n // 2 + 1].copy()]
    vecs += [(rng.random((1, k), dtype=np.float32) - np.float32(0.5)).astype(matrix.dtype) for _ in range(2)]
    for group in sizes:
        if all(_groups_agree(vec, matrix, group, rng) for vec in vecs):
            return group
    return None
