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


def sparse_product_columns(
    items: np.ndarray, values: np.ndarray, matrix: sp.csr_matrix, cols: np.ndarray
) -> np.ndarray:
    """``(x @ matrix).toarray()[0, cols]`` for the sparse row ``x`` with entries ``values`` at ``items`` (in
    stored order), with scipy's sums, in the product's dtype."""
    dtype = np.result_type(values.dtype, matrix.dtype)
    out = np.zeros(matrix.shape[1], dtype=dtype)
    items = np.asarray(items, np.int64)
    if len(items):
        starts, ends = matrix.indptr[items], matrix.indptr[items + 1]
        lens = ends - starts
        total = int(lens.sum())
        if total:
            offs = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(total)
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
    out = np.zeros(len(cols), dtype=dtype)
    for j, v in zip(np.asarray(items, np.int64).tolist(), values.astype(dtype), strict=True):
        out += v * dense[j, cols].astype(dtype, copy=False)
    return out
