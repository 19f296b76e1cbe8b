"""An immutable serving snapshot: one trained model plus everything a request needs, precomputed.

The engine holds exactly one reference to a :class:`Snapshot`; hot-swapping a model is
replacing that reference (a single atomic assignment), so a request always sees one
consistent model, vocabulary and catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.schema import DEFAULT_EVENT_WEIGHTS
from tuijian.data.vocabulary import Vocabulary
from tuijian.models.base import Recommender


@dataclass(frozen=True)
class Catalog:
    """Item metadata aligned with the model's item indices."""

    title: np.ndarray  # object
    price: np.ndarray  # float64, nan = unknown
    categories: list[list[str]]
    category_index: dict[str, np.ndarray]  # lower-cased category -> bool mask
    records: list[dict[str, Any]]  # per item: the static part of a response entry
    updated_at: int = 0

    @classmethod
    def build(cls, item_ids: np.ndarray, items: pd.DataFrame | None, updated_at: int = 0) -> Catalog:
        n = len(item_ids)
        title = np.full(n, "", dtype=object)
        price = np.full(n, np.nan)
        cats: list[list[str]] = [[] for _ in range(n)]
        index: dict[str, np.ndarray] = {}
        if items is not None and len(items):
            pos = pd.Index(item_ids.astype(str)).get_indexer(items["item_id"].astype(str))
            ok = pos >= 0
            p = pos[ok]
            title[p] = items["title"].to_numpy(dtype=object)[ok]
            price[p] = items["price"].to_numpy(dtype=np.float64)[ok]
            for i, c in zip(p, items["category"].to_numpy(dtype=object)[ok], strict=True):
                cats[i] = list(c)
                for name in c:
                    key = str(name).strip().lower()
                    mask = index.get(key)
                    if mask is None:
                        mask = index[key] = np.zeros(n, dtype=bool)
                    mask[i] = True
        records = [
            {
                "item_id": str(item_ids[i]),
                "title": title[i],
                "price": None if np.isnan(price[i]) else float(price[i]),
                "category": cats[i],
            }
            for i in range(n)
        ]
        return cls(
            title=title,
            price=price,
            categories=cats,
            category_index=index,
            records=records,
            updated_at=updated_at,
        )


@dataclass
class Snapshot:
    """A model and its serving indexes. Treat as read-only once built."""

    version: str
    model: Recommender
    trained_max_event_id: int
    catalog: Catalog
    users: Vocabulary = field(init=False)
    items: Vocabulary = field(init=False)
    n_items: int = field(init=False)
    neighbours: sp.csr_matrix = field(init=False)  # neighbour x target (item-knn W)
    similar: sp.csr_matrix = field(init=False)  # symmetric, for "similar items"
    popularity: np.ndarray = field(init=False)
    pop_order: np.ndarray = field(init=False)
    fast_knn: bool = field(init=False)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        inter = self.model.interactions_
        self.users, self.items, self.n_items = inter.users, inter.items, inter.n_items
        self._user_pos = {uid: k for k, uid in enumerate(inter.users.ids)}
        self._item_pos = {iid: k for k, iid in enumerate(inter.items.ids)}
        self.item_ids = inter.items.ids
        log = inter.log
        u = log["u"].to_numpy(np.int64)
        i = log["i"].to_numpy(np.int64)
        # per-user time-ordered sequences (the log is sorted by user, then time)
        counts = np.bincount(u, minlength=inter.n_users)
        self._seq_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._seq_items = i
        buy = (
            (log["kind"].to_numpy(dtype=object) == "purchase")
            if "kind" in log.columns
            else np.ones(len(log), bool)
        )
        bought = sp.csr_matrix(
            (np.ones(int(buy.sum()), np.float32), (u[buy], i[buy])), shape=inter.matrix.shape
        )
        bought.sum_duplicates()
        self._buy_ptr, self._buy_idx = bought.indptr, bought.indices
        self.popularity = inter.item_popularity()
        self.pop_order = np.argsort(-self.popularity, kind="stable")
        w = getattr(self.model, "similarity_", None)
        self.fast_knn = isinstance(w, sp.spmatrix | sp.sparray) and w.shape == (self.n_items, self.n_items)
        if not self.fast_knn:
            from tuijian.models.registry import create

            w = create("item-knn").fit(inter).similarity_
        w = sp.csr_matrix(w, dtype=np.float32)
        w.sort_indices()
        self.neighbours = w
        sym = w.maximum(w.T).tocsr()
        sym.setdiag(0)
        sym.eliminate_zeros()
        sym.sort_indices()
        self.similar = sym
        self.binary = bool(getattr(self.model, "binary", True))

    # ------------------------------------------------------------------ per-user state
    def user_index(self, user: str) -> int:
        """Dense index of ``user`` (-1 if the model has not seen it)."""
        return self._user_pos.get(user, -1)

    def item_index(self, item: str) -> int:
        """Dense index of ``item`` (-1 if the model has not seen it)."""
        return self._item_pos.get(item, -1)

    def train_sequence(self, u: int) -> np.ndarray:
        if u < 0:
            return np.zeros(0, dtype=np.int64)
        return self._seq_items[self._seq_ptr[u] : self._seq_ptr[u + 1]]

    def train_purchases(self, u: int) -> np.ndarray:
        if u < 0:
            return np.zeros(0, dtype=np.int64)
        return self._buy_idx[self._buy_ptr[u] : self._buy_ptr[u + 1]].astype(np.int64)

    # ------------------------------------------------------------------ scoring
    def knn_scores(
        self, hist: np.ndarray, weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Sparse ``history @ W`` without scipy overhead.

        Returns ``(dense_scores, targets, contributions, sources)``; the last three are
        the raw (target, weight, history item) triples, used for reason codes.
        """
        w = self.neighbours
        ptr, ind, dat = w.indptr, w.indices, w.data
        starts, ends = ptr[hist], ptr[hist + 1]
        lens = ends - starts
        total = int(lens.sum())
        if total == 0:
            return np.zeros(self.n_items), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
        offs = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(total)
        targets = ind[offs]
        contrib = dat[offs] * np.repeat(weights, lens)
        sources = np.repeat(hist, lens)
        return np.bincount(targets, weights=contrib, minlength=self.n_items), targets, contrib, sources

    def model_scores(self, u: int, hist: np.ndarray, weights: np.ndarray, fresh: bool) -> np.ndarray:
        """Scores of any model: the trained row for known users without fresh events, fold-in otherwise."""
        if u >= 0 and not fresh:
            return np.asarray(self.model.score(u), dtype=np.float64)
        row = sp.csr_matrix(
            (weights.astype(np.float32), (np.zeros(len(hist), np.int64), hist)), shape=(1, self.n_items)
        )
        return np.asarray(self.model.score(-1, history=row), dtype=np.float64)


def event_weight(kind: str) -> float:
    return float(DEFAULT_EVENT_WEIGHTS.get(kind, 1.0))
