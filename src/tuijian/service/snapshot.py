"""An immutable serving snapshot: one trained model plus everything a request needs, precomputed.

The engine holds exactly one reference to a :class:`Snapshot`; hot-swapping a model is
replacing that reference (a single atomic assignment), so a request always sees one
consistent model, vocabulary and catalog.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.schema import DEFAULT_EVENT_WEIGHTS
from tuijian.data.vocabulary import Vocabulary
from tuijian.models.base import Recommender

#: history items used per request (most recent distinct items)
HISTORY_LIMIT = 200
#: small histories are gathered with plain slices, larger ones with one vectorised gather
_SLICE_GATHER_MAX = 48


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

    @cached_property
    def fragments(self) -> list[bytes]:
        """Per item, the start of its response entry as UTF-8 JSON: the static fields, then ``,"score":``
        (see :mod:`tuijian.service.encode`)."""
        return [
            json.dumps(r, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()[:-1]
            + b',"score":'
            for r in self.records
        ]

    @cached_property
    def similar_reason(self) -> list[str]:
        """Per item, the reason code ``similar_to:<item id>``."""
        return [f"similar_to:{r['item_id']}" for r in self.records]

    @cached_property
    def id_json(self) -> list[str]:
        """Per item, its id as a JSON string literal (impression lists are joined from these)."""
        return [json.dumps(r["item_id"], ensure_ascii=False) for r in self.records]


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
        self._buy_ptr, self._buy_idx = bought.indptr, bought.indices.astype(np.int64)
        self._hist_ptr, self._hist_items, self._hist_w = _recent_histories(self._seq_ptr, i, self.n_items)
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
        self._nb_ptr = w.indptr.tolist()  # Python ints: slicing with them is the cheapest gather
        sym = w.maximum(w.T).tocsr()
        sym.setdiag(0)
        sym.eliminate_zeros()
        sym.sort_indices()
        self.similar = sym
        self.binary = bool(getattr(self.model, "binary", True))
        # the per-item response parts, built here (while loading, off the request path) rather than lazily
        self.catalog.fragments, self.catalog.similar_reason, self.catalog.id_json  # noqa: B018 - warm the caches

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
        return self._buy_idx[self._buy_ptr[u] : self._buy_ptr[u + 1]]

    def train_history(self, u: int) -> tuple[np.ndarray, np.ndarray]:
        """The user's distinct training items (sorted) with event counts, precomputed: exactly
        ``recent_unique(train_sequence(u), ones)`` (the latest ``HISTORY_LIMIT`` distinct items of the
        last ``4 * HISTORY_LIMIT`` events)."""
        if u < 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        a, b = self._hist_ptr[u], self._hist_ptr[u + 1]
        return self._hist_items[a:b], self._hist_w[a:b]

    # ------------------------------------------------------------------ scoring
    def knn_scores(
        self, hist: np.ndarray, weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Sparse ``history @ W`` without scipy overhead (``weights=None``: every history item weighs 1).

        Returns ``(dense_scores, targets, contributions, sources)``; the last three are
        the raw (target, weight, history item) triples, used for reason codes.
        """
        w = self.neighbours
        ptr, ind, dat = w.indptr, w.indices, w.data
        if len(hist) <= _SLICE_GATHER_MAX:
            hl = hist.tolist()
            p = self._nb_ptr
            bounds = [(p[h], p[h + 1]) for h in hl]
            lens = [b - a for a, b in bounds]
            if not hl or sum(lens) == 0:
                return np.zeros(self.n_items), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
            targets = np.concatenate([ind[a:b] for a, b in bounds])
            if weights is None:
                contrib = np.concatenate([dat[a:b] for a, b in bounds]).astype(np.float64)
            else:
                contrib = np.concatenate(
                    [dat[a:b] * x for (a, b), x in zip(bounds, weights.tolist(), strict=True)]
                )
            sources = np.repeat(hist, lens)
            return np.bincount(targets, weights=contrib, minlength=self.n_items), targets, contrib, sources
        starts, ends = ptr[hist], ptr[hist + 1]
        lens = ends - starts
        total = int(lens.sum())
        if total == 0:
            return np.zeros(self.n_items), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
        offs = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(total)
        targets = ind[offs]
        contrib = dat[offs].astype(np.float64) if weights is None else dat[offs] * np.repeat(weights, lens)
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


def _recent_histories(
    seq_ptr: np.ndarray, seq_items: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per user (CSR ``ptr, items, counts``): the distinct items of the last ``4 * HISTORY_LIMIT`` events,
    the ``HISTORY_LIMIT`` most recently used of them, sorted by item index, with their event counts."""
    n_users = len(seq_ptr) - 1
    n = len(seq_items)
    if n == 0:
        return np.zeros(n_users + 1, np.int64), np.zeros(0, np.int64), np.zeros(0)
    user = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(seq_ptr))
    pos = np.arange(n, dtype=np.int64)
    keep = seq_ptr[user + 1] - 1 - pos < 4 * HISTORY_LIMIT
    user, pos = user[keep], pos[keep]
    key = user * n_items + seq_items[keep]
    uniq, inv, count = np.unique(key, return_inverse=True, return_counts=True)
    last = np.full(len(uniq), -1, np.int64)
    np.maximum.at(last, inv, pos)
    u_of = uniq // n_items
    order = np.lexsort((-last, u_of))  # per user, most recent first
    first = np.searchsorted(u_of[order], u_of[order], side="left")
    chosen = np.sort(order[np.arange(len(order)) - first < HISTORY_LIMIT])
    u_kept = u_of[chosen]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(u_kept, minlength=n_users))]).astype(np.int64)
    return ptr, (uniq[chosen] % n_items).astype(np.int64), count[chosen].astype(np.float64)


def event_weight(kind: str) -> float:
    return float(DEFAULT_EVENT_WEIGHTS.get(kind, 1.0))
