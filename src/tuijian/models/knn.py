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

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender, ScoringBatch, UserArg, mask_scores, top_of, topk
from tuijian.models.persist import NpzPersistence
from tuijian.models.similarity import check_similarity, item_item_similarity, prune_rows, row_normalisers

if TYPE_CHECKING:
    from tuijian.explain.reasons import Evidence, Explanation
    from tuijian.models.query import RecQuery

#: histories up to this many items are gathered with plain slices, larger ones with one vectorised gather
_SLICE_GATHER_MAX = 48


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
    evidence_floor: ClassVar[float | None] = 0.0

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
        self._similar_: sp.csr_matrix | None = None
        self._ptr_list_: list[int] | None = None
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

    def score_columns(
        self, history: sp.csr_matrix, sequence: np.ndarray, cols: np.ndarray
    ) -> np.ndarray | None:
        """``history @ W`` at ``cols``, summed as scipy sums the full product (base class)."""
        from tuijian.models.column_scores import row_entries, sparse_product_columns

        self._check_fitted()
        items, values = row_entries(history)  # as _weighted(history): float32, 1 when binary
        if self.binary:
            values[:] = 1.0
        return np.asarray(sparse_product_columns(items, values, self.similarity_, cols), dtype=np.float32)

    # ------------------------------------------------------------------ one query, fast
    def recommend_query(self, query: RecQuery, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Exactly what ``recommend`` returns for the query (see the base class), without scipy per request.

        ``history @ W`` as a gather of the history items' rows of ``W``, summed in float32 in the same
        order as scipy's sparse product (so the scores are bit-identical); then the top ``k`` of the
        positive-scored candidates, or, when fewer than ``k`` are positive, the full ranking.
        """
        self._check_fitted()
        if not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        n_users, n_items = self.interactions_.matrix.shape
        query.check(n_items, n_users)
        items, values = query.history_vector(self)
        targets, contrib, lens = self._gather(items, None if self.binary else values)
        scores = np.zeros(n_items, dtype=np.float32)
        np.add.at(scores, targets, contrib)  # sequential float32 sums in scipy's order: bit-identical scores
        if self.binary:  # the unweighted gather also explains the answer (best_sources)
            query.scratch = (self, items, targets, contrib, lens)
        keep = scores > 0
        if query.allowed is not None:
            keep &= query.allowed
        if len(query.exclude):
            keep[query.exclude] = False
        cand = np.flatnonzero(keep)
        if len(cand) >= k:
            return top_of(cand, scores[cand], int(k))
        full = scores[None, :]
        cmask = query.candidate_mask(self.n_items)
        mask_scores(full, None, None if cmask is None else np.flatnonzero(cmask))
        ids, top = topk(full, int(k))
        return ids[0], top[0]

    def _gather(self, items: np.ndarray, values: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, Any]:
        """``(targets, contributions, row lengths)`` of ``W``'s rows of the ascending ``items``, each row's
        entries times its value (``values=None``: 1): the terms of ``row @ W``, in scipy's summation order."""
        w = self.similarity_
        ptr = getattr(self, "_ptr_list_", None)
        if ptr is None or len(ptr) != w.shape[0] + 1:
            ptr = self._ptr_list_ = w.indptr.tolist()  # Python ints: slicing with them is the cheapest gather
        ind, dat = w.indices, w.data
        if len(items) == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32), [0] * 0
        if len(items) <= _SLICE_GATHER_MAX:
            bounds = [(ptr[h], ptr[h + 1]) for h in items.tolist()]
            targets = np.concatenate([ind[a:b] for a, b in bounds])
            if values is None:
                contrib = np.concatenate([dat[a:b] for a, b in bounds])
            else:
                contrib = np.concatenate(
                    [dat[a:b] * x for (a, b), x in zip(bounds, values.astype(np.float32), strict=True)]
                )
            return targets, contrib, [b - a for a, b in bounds]
        starts, ends = w.indptr[items], w.indptr[items + 1]
        lens = ends - starts
        total = int(lens.sum())
        offs = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(total)
        contrib = dat[offs] if values is None else dat[offs] * np.repeat(values.astype(np.float32), lens)
        return ind[offs], contrib.astype(np.float32, copy=False), lens

    def best_sources(self, query: RecQuery, ids: np.ndarray) -> list[int]:
        """Per item of ``ids``, the history item most similar to it (the largest positive ``W[h, item]``; the
        lowest index on ties), ``-1`` if none: what the reason code ``similar_to:<item>`` names."""
        if len(ids) == 0:
            return []
        scratch = query.scratch
        if scratch is not None and scratch[0] is self:
            _, items, targets, contrib, lens = scratch
        else:
            if query.trained:
                m = self.interactions_.matrix
                items = m.indices[m.indptr[query.user] : m.indptr[query.user + 1]].astype(np.int64)
            else:
                items = np.unique(query.sequence)
            targets, contrib, lens = self._gather(items, None)
        marker = np.zeros(self.n_items, dtype=bool)
        marker[ids] = True
        sel = np.flatnonzero(marker[targets])
        if len(sel) == 0:
            return [-1] * len(ids)
        sources = np.repeat(items, lens)[sel].tolist()
        best: dict[int, tuple[float, int]] = {}
        for t, v, h in zip(targets[sel].tolist(), contrib[sel].tolist(), sources, strict=True):
            cur = best.get(t)
            if v > 0 and (cur is None or v > cur[0] or (v == cur[0] and h < cur[1])):
                best[t] = (v, h)
        return [best[t][1] if t in best else -1 for t in ids.tolist()]

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """ "Because you bought h": the history items with the largest terms ``value_h * W[h, item]`` of the
        score ``history @ W`` (:func:`tuijian.explain.attribution.item_item`)."""
        from tuijian.explain.attribution import item_item

        self._check_fitted()
        return item_item(evidence, items, self.similarity_, binary=self.binary)

    # ------------------------------------------------------------------ similar items
    def similar_items(self, items: UserArg, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items most similar to each given item (the item itself excluded; positive similarity only).

        ``W`` is neighbour x target and pruned per target, so an item's similar items are both its own top
        neighbours and the targets it is a top neighbour of: the rows of ``max(W, W^T)``. Each row is kept
        sorted best first (ties by lowest index), so a request is a slice.
        """
        self._check_fitted()
        if not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        lists = self.similar_lists()
        ptr, ind, dat = lists.indptr, lists.indices, lists.data
        if isinstance(items, int | np.integer) and 0 <= items < len(ptr) - 1:  # one item: the common case
            a, b = ptr[items], ptr[items + 1]
            n = min(int(k), b - a)
            ids = np.full(int(k), -1, dtype=np.int64)
            top = np.full(int(k), -np.inf, dtype=np.float32)
            ids[:n], top[:n] = ind[a : a + n], dat[a : a + n]
            return ids, top
        scalar, idx = self._item_batch(items)
        ids = np.full((len(idx), int(k)), -1, dtype=np.int64)
        top = np.full((len(idx), int(k)), -np.inf, dtype=np.float32)
        for r, i in enumerate(idx.tolist()):
            a, b = ptr[i], ptr[i + 1]
            n = min(int(k), b - a)
            ids[r, :n], top[r, :n] = ind[a : a + n], dat[a : a + n]
        return (ids[0], top[0]) if scalar else (ids, top)

    def similar_lists(self) -> sp.csr_matrix:
        """Per item, its similar items best first: ``max(W, W^T)`` without the diagonal and non-positive
        entries, each row ordered by similarity, then index (built once, then cached)."""
        lists = getattr(self, "_similar_", None)
        if lists is None or lists.shape != self.similarity_.shape:
            w = sp.csr_matrix(self.similarity_, dtype=np.float32)
            sym = w.maximum(w.T).tocsr()
            sym.setdiag(0)
            sym.data[sym.data < 0] = 0
            sym.eliminate_zeros()
            sym.sort_indices()
            rows = np.repeat(np.arange(sym.shape[0]), np.diff(sym.indptr))
            order = np.lexsort((sym.indices, -sym.data, rows))
            lists = sp.csr_matrix((sym.data[order], sym.indices[order], sym.indptr), shape=sym.shape)
            lists.has_sorted_indices = False
            self._similar_ = lists
        return lists


class UserKNN(NpzPersistence, Recommender):
    """User-based CF: the ``n_neighbors`` training users most similar to the history vote for items.

    ``score(u, i) = sum_v sim(u, v) * x_vi`` over the top neighbours ``v``; a training
    user is never its own neighbour.
    """

    name: ClassVar[str] = "user-knn"
    evidence_floor: ClassVar[float | None] = 0.0
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

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """ "Shoppers with a history like yours": the score comes from similar users, not from single items."""
        from tuijian.explain.attribution import whole_score

        scores = self.score(evidence.user, history=evidence.row(self.n_items), sequences=[evidence.sequence])
        return whole_score(items, scores, "similar_shoppers")
