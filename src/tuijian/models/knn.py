"""Neighbourhood collaborative filtering for implicit feedback: item-based and user-based.

* :class:`ItemKNN` learns a sparse item-item matrix ``W`` (each target item keeps its
  ``n_neighbors`` most similar items) and scores ``history @ W``.
* :class:`UserKNN` compares each requested user's history with every training user,
  keeps the ``n_neighbors`` most similar ones and scores ``sim @ X``. Because it works
  from the history, unknown users (index ``-1``) and fresh events need no retraining.

Similarities: ``"cosine"`` (``alpha`` != 0.5 gives the asymmetric cosine
``<a, b> / (|a|^(2 alpha) |b|^(2 (1 - alpha)))``) and ``"pearson"``, the correlation of
the two full vectors. On implicit data a missing interaction is an observed zero, so
the correlation runs over all users (items); the co-rated-only Pearson of the rating
formulas (:mod:`tuijian.models.rating`) would be 0/0 on binary data. ``shrinkage`` is
added to the denominator, damping similarities built on little evidence.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender, ScoringBatch, UserArg, topk
from tuijian.models.persist import NpzPersistence
from tuijian.models.similarity import check_similarity, item_item_similarity, prune_rows, row_normalisers


def _check_common(similarity: str, n_neighbors: int, shrinkage: float, alpha: float) -> None:
    check_similarity(similarity)
    if not isinstance(n_neighbors, int | np.integer) or n_neighbors < 1:
        raise ConfigError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
    if shrinkage < 0:
        raise ConfigError(f"shrinkage must be >= 0, got {shrinkage!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha must be in [0, 1], got {alpha!r}")


def _weighted(matrix: sp.csr_matrix, binary: bool) -> sp.csr_matrix:
    m = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    if binary:
        m.data[:] = 1.0
    return m


class ItemKNN(NpzPersistence, Recommender):
    """Item-based CF: ``score = history @ W`` with a top-``n_neighbors`` pruned similarity ``W``.

    Parameters
    ----------
    similarity: ``"cosine"`` (default) or ``"pearson"``.
    n_neighbors: neighbours kept per target item.
    shrinkage: added to the similarity denominator.
    alpha: asymmetric-cosine exponent (0.5 = cosine).
    binary: treat every interaction as 1 (default); otherwise use the matrix weights.
    """

    name: ClassVar[str] = "item-knn"
    _persisted: ClassVar[tuple[str, ...]] = ("similarity_",)

    def __init__(
        self,
        similarity: str = "cosine",
        n_neighbors: int = 100,
        shrinkage: float = 0.0,
        alpha: float = 0.5,
        binary: bool = True,
    ) -> None:
        self.similarity = similarity
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage
        self.alpha = alpha
        self.binary = binary

    def _fit(self, interactions: Interactions) -> None:
        _check_common(self.similarity, self.n_neighbors, self.shrinkage, self.alpha)
        x = _weighted(interactions.matrix, self.binary)
        self._similarity_csc_ = None
        #: neighbour x target similarities, float32 CSR
        self.similarity_ = item_item_similarity(
            x,
            similarity=self.similarity,
            n_neighbors=self.n_neighbors,
            shrinkage=self.shrinkage,
            alpha=self.alpha,
        )

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        hist = _weighted(batch.history, self.binary)
        return np.asarray((hist @ self.similarity_).toarray(), dtype=np.float32)

    def similar_items(self, items: UserArg, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items most similar to each given item (the item itself excluded)."""
        self._check_fitted()
        if not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        scalar, idx = self._item_batch(items)
        # W is neighbour x target; similarity is symmetric before pruning, so use the row of
        # each item as "targets it is a top neighbour of" merged with its own top neighbours.
        w = self.similarity_
        if getattr(self, "_similarity_csc_", None) is None or self._similarity_csc_.shape != w.shape:
            self._similarity_csc_ = w.tocsc()
        scores = np.maximum(w[idx].toarray(), self._similarity_csc_[:, idx].T.toarray())
        scores[scores <= 0] = -np.inf
        scores[np.arange(len(idx)), idx] = -np.inf
        ids, top = topk(scores, int(k))
        return (ids[0], top[0]) if scalar else (ids, top)


class UserKNN(NpzPersistence, Recommender):
    """User-based CF: the ``n_neighbors`` training users most similar to the history vote for items.

    ``score(u, i) = sum_v sim(u, v) * x_vi`` over the top neighbours ``v``; a training
    user is never its own neighbour.
    """

    name: ClassVar[str] = "user-knn"
    _persisted: ClassVar[tuple[str, ...]] = ("user_mean_", "user_norm_left_", "user_norm_right_")

    def __init__(
        self,
        similarity: str = "cosine",
        n_neighbors: int = 50,
        shrinkage: float = 0.0,
        alpha: float = 0.5,
        binary: bool = True,
    ) -> None:
        self.similarity = similarity
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage
        self.alpha = alpha
        self.binary = binary

    def _fit(self, interactions: Interactions) -> None:
        _check_common(self.similarity, self.n_neighbors, self.shrinkage, self.alpha)
        x = _weighted(interactions.matrix, self.binary)
        mean, left, right, _ = row_normalisers(x.T.tocsr(), self.similarity, self.alpha)
        self.user_mean_ = mean
        self.user_norm_left_ = left
        self.user_norm_right_ = right
        self._x_ = x
        self._xt_ = x.T.tocsr()

    def _train(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        if getattr(self, "_x_", None) is None or self._x_.shape != self.interactions_.matrix.shape:
            self._x_ = _weighted(self.interactions_.matrix, self.binary)
            self._xt_ = self._x_.T.tocsr()
        return self._x_, self._xt_

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        x, xt = self._train()
        hist = _weighted(batch.history, self.binary)
        n_items = x.shape[1]
        gram = (hist @ xt).toarray().astype(np.float64)  # batch x train users
        sums = np.asarray(hist.sum(axis=1), dtype=np.float64).ravel()
        sq = np.asarray(hist.multiply(hist).sum(axis=1), dtype=np.float64).ravel()
        if self.similarity == "cosine":
            num = gram
            norm = np.power(sq, self.alpha)
            other = self.user_norm_right_
        else:
            mean = sums / n_items
            num = gram - n_items * np.outer(mean, self.user_mean_)
            norm = np.sqrt(np.maximum(sq - n_items * mean * mean, 0.0))
            other = self.user_norm_right_
        denom = np.outer(norm, other) + self.shrinkage
        with np.errstate(divide="ignore", invalid="ignore"):
            sim = np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), 0.0)
        known = np.flatnonzero(batch.users >= 0)
        sim[known, batch.users[known]] = 0.0
        neighbours = prune_rows(sim, self.n_neighbors).astype(np.float32)
        return np.asarray((neighbours @ x).toarray(), dtype=np.float32)
