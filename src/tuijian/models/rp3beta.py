"""RP3beta: three-step random walks on the user-item graph, popularity-penalised (Paudel et al., 2017).

``W[i, j] = sum_u P(u | i) P(j | u) / pop(j) ** beta``: the probability of walking from item
``i`` to a user who had it and on to item ``j``, divided by ``j``'s popularity to the power
``beta``. Rows are pruned to the ``n_neighbors`` largest weights; ``score = history @ W``.
A strong, cheap graph baseline whose popularity discount differs from EASE's ridge shrinkage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender, ScoringBatch, UserArg, topk
from tuijian.models.persist import NpzPersistence

if TYPE_CHECKING:
    from tuijian.explain.reasons import Evidence, Explanation


class RP3beta(NpzPersistence, Recommender):
    """Item-item random-walk similarity with a popularity penalty.

    Parameters
    ----------
    alpha: exponent applied to the transition probabilities (1 = plain random walk).
    beta: popularity penalty exponent of the destination item (0 = P3alpha).
    n_neighbors: weights kept per item row (largest first).
    """

    name: ClassVar[str] = "rp3beta"
    _persisted: ClassVar[tuple[str, ...]] = ("weights_",)

    def __init__(self, alpha: float = 1.0, beta: float = 0.5, n_neighbors: int = 200) -> None:
        self.alpha = alpha
        self.beta = beta
        self.n_neighbors = n_neighbors

    def _fit(self, interactions: Interactions) -> None:
        if not (isinstance(self.alpha, int | float) and self.alpha > 0):
            raise ConfigError(f"alpha must be a positive number, got {self.alpha!r}")
        if not (isinstance(self.beta, int | float) and self.beta >= 0):
            raise ConfigError(f"beta must be a non-negative number, got {self.beta!r}")
        if not isinstance(self.n_neighbors, int | np.integer) or self.n_neighbors < 1:
            raise ConfigError(f"n_neighbors must be a positive integer, got {self.n_neighbors!r}")
        x = sp.csr_matrix(interactions.matrix, dtype=np.float64, copy=True)
        x.data[:] = 1.0
        n_items = x.shape[1]
        user_deg = np.asarray(x.sum(axis=1)).ravel()
        item_deg = np.asarray(x.sum(axis=0)).ravel()
        p_ui = sp.diags(1.0 / np.maximum(user_deg, 1.0)) @ x  # P(j | u)
        p_iu = sp.diags(1.0 / np.maximum(item_deg, 1.0)) @ x.T.tocsr()  # P(u | i)
        if self.alpha != 1.0:
            p_ui = p_ui.power(float(self.alpha))
            p_iu = p_iu.power(float(self.alpha))
        w = sp.csr_matrix(p_iu @ p_ui)
        penalty = np.where(item_deg > 0, np.maximum(item_deg, 1.0) ** -float(self.beta), 0.0)
        w = sp.csr_matrix(w @ sp.diags(penalty))
        w.setdiag(0.0)
        w.eliminate_zeros()
        #: item x item weights (row = history item, column = scored item), top ``n_neighbors`` per row
        self.weights_ = _prune_rows(w, int(self.n_neighbors), n_items).astype(np.float32)

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        hist = sp.csr_matrix(batch.history, dtype=np.float32, copy=True)
        hist.data[:] = 1.0
        return np.asarray((hist @ self.weights_).toarray(), dtype=np.float32)

    def score_columns(
        self, history: sp.csr_matrix, sequence: np.ndarray, cols: np.ndarray
    ) -> np.ndarray | None:
        """``binary(history) @ W`` at ``cols``, summed as scipy sums the full product (base class)."""
        from tuijian.models.column_scores import row_entries, sparse_product_columns

        self._check_fitted()
        items, values = row_entries(history)
        values[:] = 1.0
        return np.asarray(sparse_product_columns(items, values, self.weights_, cols), dtype=np.float32)

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """ "Because you bought h": the largest walk weights ``W[h, item]`` among the history items."""
        from tuijian.explain.attribution import item_item

        self._check_fitted()
        return item_item(evidence, items, self.weights_, binary=True)

    def similar_items(self, items: UserArg, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items with the largest walk weight from each given item, the item itself excluded."""
        self._check_fitted()
        if not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        scalar, idx = self._item_batch(items)
        scores = self.weights_[idx].toarray()
        scores[scores <= 0] = -np.inf
        scores[np.arange(len(idx)), idx] = -np.inf
        ids, top = topk(scores, int(k))
        return (ids[0], top[0]) if scalar else (ids, top)


def _prune_rows(w: sp.csr_matrix, k: int, n_cols: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row."""
    w = sp.csr_matrix(w)
    counts = np.diff(w.indptr)
    if counts.max(initial=0) <= k:
        return w
    rows = np.repeat(np.arange(w.shape[0]), counts)
    order = np.lexsort((-w.data, rows))
    rank = np.arange(len(order)) - w.indptr[rows[order]]
    keep = order[rank < k]
    out = sp.csr_matrix((w.data[keep], (rows[keep], w.indices[keep])), shape=(w.shape[0], n_cols))
    out.sort_indices()
    return out
