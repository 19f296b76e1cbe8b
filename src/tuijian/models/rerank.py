"""Rerankers: the last stage of the pipeline (candidates -> scorer -> ranker -> **rerankers**).

A reranker takes ranked lists (a batch of rows of item indices, best first, with
their scores; ``-1`` pads) and returns new lists of at most ``k`` items. It may
reorder (diversity, exploration) or remove (business rules, privacy) items, but
never invents scores for items it was not given. Anything with a
``rerank(ids, scores, k, context)`` method is a :class:`Reranker`, so privacy
filters, bandit exploration and A/B variants slot in without touching the models.

* :class:`MMR` - maximal marginal relevance: trade relevance for dissimilarity to
  the items already chosen (``relevance_weight`` = lambda; 1.0 = no change).
* :class:`BusinessFilter` - category allow/deny lists, a price range, in-stock only
  and explicit item exclusions.
* :func:`apply_rerankers` - run several in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from tuijian.exceptions import ConfigError


@dataclass
class RerankContext:
    """What rerankers may look at; every array is indexed by item index.

    ``similarity``: item x item similarity (sparse or dense) for diversity;
    ``category``: an int code per item (``-1`` unknown); ``price``: float per item
    (``NaN`` unknown); ``in_stock``: bool per item; ``users``: the requested users;
    ``seed``: base seed for randomised rerankers (combine with the user index so
    results do not depend on request order).
    """

    n_items: int
    similarity: sp.csr_matrix | np.ndarray | None = None
    category: np.ndarray | None = None
    price: np.ndarray | None = None
    in_stock: np.ndarray | None = None
    users: np.ndarray | None = None
    seed: int = 0
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Reranker(Protocol):
    """Reorders or filters ranked lists; returns ``(ids, scores)`` of shape ``(B, k)``, ``-1`` padded."""

    def rerank(
        self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext
    ) -> tuple[np.ndarray, np.ndarray]: ...


def _pad(rows: list[list[int]], vals: list[list[float]], k: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.full((len(rows), k), -1, dtype=np.int64)
    out = np.full((len(rows), k), -np.inf, dtype=np.float32)
    for r, (row, v) in enumerate(zip(rows, vals, strict=True)):
        n = min(len(row), k)
        ids[r, :n] = row[:n]
        out[r, :n] = v[:n]
    return ids, out


def _check_lists(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.atleast_2d(np.asarray(ids, dtype=np.int64))
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float32))
    if ids.shape != scores.shape:
        raise ConfigError(f"ids and scores must have the same shape, got {ids.shape} and {scores.shape}")
    if not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    return ids, scores


class MMR:
    """Maximal marginal relevance (Carbonell & Goldstein 1998).

    Greedily picks ``argmax relevance_weight * rel(i) - (1 - relevance_weight) * max_j sim(i, j)``
    over the items ``j`` already picked, where ``rel`` is the list's scores min-max
    scaled to [0, 1] per row and ``sim`` comes from ``context.similarity``.
    The returned scores are the original scores of the picked items.
    """

    def __init__(self, relevance_weight: float = 0.7) -> None:
        if not 0.0 <= relevance_weight <= 1.0:
            raise ConfigError(f"relevance_weight must be in [0, 1], got {relevance_weight!r}")
        self.relevance_weight = relevance_weight

    def rerank(
        self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext
    ) -> tuple[np.ndarray, np.ndarray]:
        ids, scores = _check_lists(ids, scores, k)
        if context.similarity is None:
            raise ConfigError("MMR needs context.similarity (an item x item similarity matrix)")
        sim_all = context.similarity
        lam = self.relevance_weight
        out_ids: list[list[int]] = []
        out_scores: list[list[float]] = []
        for row, sc in zip(ids, scores, strict=True):
            ok = row >= 0
            cand, s = row[ok], sc[ok].astype(np.float64)
            if len(cand) == 0:
                out_ids.append([])
                out_scores.append([])
                continue
            finite = np.isfinite(s)
            lo, hi = (s[finite].min(), s[finite].max()) if finite.any() else (0.0, 0.0)
            rel = np.where(finite, (s - lo) / (hi - lo) if hi > lo else 1.0, 0.0)
            sub = sim_all[cand][:, cand]
            sim = sub.toarray() if sp.issparse(sub) else np.asarray(sub, dtype=np.float64)
            chosen: list[int] = []
            max_sim = np.zeros(len(cand))
            free = np.ones(len(cand), dtype=bool)
            for _ in range(min(k, len(cand))):
                value = np.where(free, lam * rel - (1.0 - lam) * max_sim, -np.inf)
                j = int(np.argmax(value))  # first index wins ties: keeps the original order
                chosen.append(j)
                free[j] = False
                max_sim = np.maximum(max_sim, sim[j])
            out_ids.append([int(cand[j]) for j in chosen])
            out_scores.append([float(sc[ok][j]) for j in chosen])
        return _pad(out_ids, out_scores, k)


class BusinessFilter:
    """Removes items that break the shop's rules; order is kept.

    Parameters
    ----------
    include_categories: if given, only items whose category code is in it stay.
    exclude_categories: items in these category codes go.
    min_price, max_price: price range (inclusive); items with unknown price go when a range is set.
    in_stock_only: drop items whose ``context.in_stock`` is False.
    exclude_items: item indices never to show (e.g. recalled or adult items).
    """

    def __init__(
        self,
        include_categories: Iterable[int] | None = None,
        exclude_categories: Iterable[int] | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        in_stock_only: bool = False,
        exclude_items: Iterable[int] | None = None,
    ) -> None:
        if min_price is not None and max_price is not None and min_price > max_price:
            raise ConfigError(f"min_price ({min_price}) must be <= max_price ({max_price})")
        self.include_categories = None if include_categories is None else {int(c) for c in include_categories}
        self.exclude_categories = {int(c) for c in exclude_categories or ()}
        self.min_price = min_price
        self.max_price = max_price
        self.in_stock_only = in_stock_only
        self.exclude_items = {int(i) for i in exclude_items or ()}

    def allowed(self, context: RerankContext) -> np.ndarray:
        """Boolean mask over all items: True where an item may be shown."""
        ok = np.ones(context.n_items, dtype=bool)
        if self.include_categories is not None or self.exclude_categories:
            if context.category is None:
                raise ConfigError("category filters need context.category (an int code per item)")
            cat = np.asarray(context.category)
            if self.include_categories is not None:
                ok &= np.isin(cat, list(self.include_categories))
            if self.exclude_categories:
                ok &= ~np.isin(cat, list(self.exclude_categories))
        if self.min_price is not None or self.max_price is not None:
            if context.price is None:
                raise ConfigError("price filters need context.price (a price per item)")
            price = np.asarray(context.price, dtype=np.float64)
            known = ~np.isnan(price)
            lo = -np.inf if self.min_price is None else self.min_price
            hi = np.inf if self.max_price is None else self.max_price
            ok &= known & (np.nan_to_num(price, nan=-np.inf) >= lo) & (np.nan_to_num(price, nan=np.inf) <= hi)
        if self.in_stock_only:
            if context.in_stock is None:
                raise ConfigError("in_stock_only needs context.in_stock (a bool per item)")
            ok &= np.asarray(context.in_stock, dtype=bool)
        if self.exclude_items:
            bad = np.fromiter(self.exclude_items, dtype=np.int64)
            ok[bad[(bad >= 0) & (bad < context.n_items)]] = False
        return ok

    def rerank(
        self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext
    ) -> tuple[np.ndarray, np.ndarray]:
        ids, scores = _check_lists(ids, scores, k)
        ok = self.allowed(context)
        keep = (ids >= 0) & ok[np.where(ids >= 0, ids, 0)]
        rows = [row[m].tolist() for row, m in zip(ids, keep, strict=True)]
        vals = [sc[m].tolist() for sc, m in zip(scores, keep, strict=True)]
        return _pad(rows, vals, k)


def apply_rerankers(
    rerankers: Sequence[Reranker], ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``rerankers`` in order (filters first keeps diversity from wasting slots); cut to ``k``."""
    ids, scores = _check_lists(ids, scores, k)
    width = ids.shape[1]
    for rr in rerankers:
        if not isinstance(rr, Reranker):
            raise ConfigError(
                f"{type(rr).__name__} is not a Reranker: it needs rerank(ids, scores, k, context)"
            )
        ids, scores = rr.rerank(ids, scores, width, context)
    return ids[:, :k], scores[:, :k]
