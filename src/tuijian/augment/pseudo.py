"""Pseudo-interactions for sparse users from a trained :class:`~tuijian.augment.cfgan.CFGAN`.

A row (user) is *sparse* when it has between 1 and ``max_history`` observed items. For each
sparse row the generator's ``n_pseudo`` highest-scored unobserved items are added with the weight
``pseudo_weight`` (< 1, so a pseudo-interaction always counts less than a real one); other rows
are left alone. The same function augments the training matrix and, at scoring time, the history
a model scores from, so a trained user is scored from the row the model was trained on.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tuijian.augment.cfgan import CFGAN
from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError


def check_pseudo_params(max_history: int, n_pseudo: int, pseudo_weight: float) -> None:
    """A :class:`ConfigError` naming the first bad parameter, if any."""
    if not isinstance(max_history, int | np.integer) or isinstance(max_history, bool) or max_history < 1:
        raise ConfigError(f"max_history must be a positive integer, got {max_history!r}")
    if not isinstance(n_pseudo, int | np.integer) or isinstance(n_pseudo, bool) or n_pseudo < 1:
        raise ConfigError(f"n_pseudo must be a positive integer, got {n_pseudo!r}")
    if not isinstance(pseudo_weight, int | float) or not 0.0 < float(pseudo_weight) < 1.0:
        raise ConfigError(
            f"pseudo_weight must be in (0, 1) (a pseudo-interaction counts less than a real one), got {pseudo_weight!r}"
        )


def sparse_rows(matrix: sp.spmatrix, max_history: int) -> np.ndarray:
    """Indices of the rows with 1..``max_history`` stored (non-zero) items."""
    m = sp.csr_matrix(matrix)
    counts = np.diff(m.indptr)
    return np.flatnonzero((counts >= 1) & (counts <= max_history))


def pseudo_interactions(
    gan: CFGAN, history: sp.spmatrix, *, max_history: int = 5, n_pseudo: int = 5, pseudo_weight: float = 0.3
) -> sp.csr_matrix:
    """A matrix shaped like ``history`` holding only the pseudo-interactions (see module docstring)."""
    check_pseudo_params(max_history, n_pseudo, pseudo_weight)
    hist = sp.csr_matrix(history, dtype=np.float32)
    hist.eliminate_zeros()
    rows = sparse_rows(hist, max_history)
    n_rows, n_items = hist.shape
    if len(rows) == 0:
        return sp.csr_matrix((n_rows, n_items), dtype=np.float32)
    sub = hist[rows]
    scores = gan.generate(sub)
    r = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
    scores[r, sub.indices] = -np.inf  # only unobserved items become pseudo-interactions
    n = min(int(n_pseudo), n_items - 1)
    top = np.argpartition(-scores, n - 1, axis=1)[:, :n] if n < n_items else np.argsort(-scores, axis=1)
    ok = np.isfinite(np.take_along_axis(scores, top, axis=1))
    out = sp.csr_matrix(
        (
            np.full(int(ok.sum()), float(pseudo_weight), dtype=np.float32),
            (np.repeat(rows, n).reshape(len(rows), n)[ok], top[ok]),
        ),
        shape=(n_rows, n_items),
    )
    out.sum_duplicates()
    return out


def binary_plus(matrix: sp.spmatrix, pseudo: sp.spmatrix) -> sp.csr_matrix:
    """Real interactions as 1.0 plus the pseudo-interactions (which never overlap real ones)."""
    real = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    real.eliminate_zeros()
    real.data[:] = 1.0
    out = sp.csr_matrix(real + sp.csr_matrix(pseudo, dtype=np.float32))
    out.sort_indices()
    return out


def augment_interactions(
    inter: Interactions, gan: CFGAN, *, max_history: int = 5, n_pseudo: int = 5, pseudo_weight: float = 0.3
) -> Interactions:
    """``inter`` with the matrix binarised and the sparse users' pseudo-interactions added.

    The event log is kept as it is (pseudo-interactions are not events): models that read the log
    (sequences, timestamps) see only real behaviour; models that read the matrix see both.
    """
    pseudo = pseudo_interactions(
        gan, inter.matrix, max_history=max_history, n_pseudo=n_pseudo, pseudo_weight=pseudo_weight
    )
    return Interactions(
        matrix=binary_plus(inter.matrix, pseudo), users=inter.users, items=inter.items, log=inter.log
    )
