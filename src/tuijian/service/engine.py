"""The online recommender: one swappable :class:`Snapshot` plus real-time history from the store.

Per request, a user's history is the model's training sequence for that user plus the
events stored **after** the snapshot's training cut (``id > trained_max_event_id``), kept
per worker by :class:`~tuijian.service.fresh.FreshEvents` (SQLite; an indexed query per
request on PostgreSQL). A POSTed event therefore changes the next response of the worker
that accepted it at once and of every other worker within 0.1 s, without retraining. Cold users fall back to their session's items,
then to popularity. Every returned item carries reason codes:

* ``similar_to:<item>``: the history item contributing most (item-item neighbours),
* ``personalized``: scored by the model without a single dominant neighbour,
* ``repeat``: the user bought it before (only when repeats are allowed),
* ``popular`` / ``trending``: fallback fill.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuijian.exceptions import ConfigError, NotFittedError, UnknownIdError
from tuijian.service.fresh import FreshEvents
from tuijian.service.snapshot import HISTORY_LIMIT, Snapshot, event_weight
from tuijian.store import Store

TRENDING_TTL_S = 5.0


@dataclass(frozen=True)
class Filters:
    """Catalog filters shared by every recommendation endpoint."""

    category: str | None = None
    price_min: float | None = None
    price_max: float | None = None

    def mask(self, snap: Snapshot) -> np.ndarray | None:
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise ConfigError(f"price_min ({self.price_min}) must be <= price_max ({self.price_max})")
        mask = None
        if self.category:
            mask = snap.catalog.category_index.get(self.category.strip().lower())
            if mask is None:
                known = sorted(snap.catalog.category_index)[:10]
                raise ConfigError(f"unknown category {self.category!r}; known categories include {known}")
        if self.price_min is not None or self.price_max is not None:
            price = snap.catalog.price
            pm = np.isfinite(price)
            if self.price_min is not None:
                pm &= price >= self.price_min
            if self.price_max is not None:
                pm &= price <= self.price_max
            mask = pm if mask is None else (mask & pm)
        return mask


class Engine:
    """Holds the current snapshot and answers recommendation queries. Thread-safe."""

    def __init__(
        self, store: Store, snapshot: Snapshot | None = None, fresh_sync_seconds: float = 0.1
    ) -> None:
        self.store = store
        self.fresh = FreshEvents(store, fresh_sync_seconds)
        self._snap = snapshot
        self._trending: tuple[float, int, list[tuple[str, int]]] | None = None
        self._trending_lock = threading.Lock()

    # ------------------------------------------------------------------ model
    @property
    def snapshot(self) -> Snapshot:
        snap = self._snap
        if snap is None:
            raise NotFittedError("no model is loaded yet; the service is still starting (see GET /ready)")
        return snap

    @property
    def ready(self) -> bool:
        return self._snap is not None

    @property
    def version(self) -> str | None:
        snap = self._snap
        return snap.version if snap is not None else None

    def swap(self, snapshot: Snapshot) -> None:
        """Atomically replace the served model (a single reference assignment)."""
        self._snap = snapshot

    # ------------------------------------------------------------------ queries
    def recommend_user(
        self,
        user: str,
        k: int = 10,
        filters: Filters = Filters(),
        *,
        exclude_purchased: bool = True,
        session: str | None = None,
    ) -> dict[str, Any]:
        snap, ranked, source = self.rank_user(
            user, k, filters, exclude_purchased=exclude_purchased, session=session
        )
        return self._response(snap, ranked, source, user=user)

    def rank_user(
        self,
        user: str,
        k: int = 10,
        filters: Filters = Filters(),
        *,
        exclude_purchased: bool = True,
        session: str | None = None,
    ) -> tuple[Snapshot, list[tuple[int, float, list[str]]], str]:
        """``(snapshot, [(item index, score, reasons)], source)``: what :meth:`recommend_user` renders."""
        snap = self.snapshot
        mask = filters.mask(snap)
        u = snap.user_index(user)
        fresh = self.fresh.rows(user, snap.trained_max_event_id)
        bought = snap.train_purchases(u)
        n_fresh = 0
        if fresh:
            index = snap.item_index
            known = [(index(r[1]), r[2]) for r in fresh if r[1] is not None]
            known = [(i, kind) for i, kind in known if i >= 0]
            n_fresh = len(known)
        if n_fresh:
            seq = snap.train_sequence(u)
            fresh_idx = np.fromiter((i for i, _ in known), np.int64, n_fresh)
            fresh_w = np.fromiter((event_weight(kind) for _, kind in known), np.float64, n_fresh)
            fresh_buy = [i for i, kind in known if kind == "purchase"]
            if fresh_buy:
                bought = np.concatenate([bought, np.asarray(fresh_buy, np.int64)])
            hist, weights = _recent_unique(
                np.concatenate([seq, fresh_idx]), np.concatenate([np.ones(len(seq)), fresh_w])
            )
        else:
            hist, weights = snap.train_history(u)  # precomputed: the same as _recent_unique(seq, ones)
        source = "history"
        if len(hist) == 0 and session:
            items = [snap.item_index(i) for i in self.store.session_items(session)]
            hist = np.unique(np.asarray([i for i in items if i >= 0], dtype=np.int64))
            weights, source = np.ones(len(hist)), "session"
        excluded = bought if exclude_purchased else np.zeros(0, np.int64)
        repeat = None if exclude_purchased else bought
        ranked = self._rank(snap, u, hist, weights, n_fresh > 0, k, mask, excluded, repeat)
        return snap, ranked, source if len(hist) else "popular"

    def recommend_session(
        self, items: list[str], k: int = 10, filters: Filters = Filters(), *, allow_repeats: bool = False
    ) -> dict[str, Any]:
        snap = self.snapshot
        mask = filters.mask(snap)
        idx = np.asarray([snap.item_index(str(i)) for i in items], dtype=np.int64)
        unknown = [str(i) for i, j in zip(items, idx, strict=True) if j < 0]
        hist, weights = _recent_unique(idx[idx >= 0], np.ones(int((idx >= 0).sum())))
        excluded = np.zeros(0, np.int64) if allow_repeats else np.unique(hist)
        repeat = np.unique(hist) if allow_repeats else None
        ranked = self._rank(snap, -1, hist, weights, True, k, mask, excluded, repeat)
        out = self._response(snap, ranked, "session" if len(hist) else "popular")
        out["unknown_items"] = unknown
        return out

    def similar_items(self, item: str, k: int = 10, filters: Filters = Filters()) -> dict[str, Any]:
        snap, ranked = self.rank_similar(item, k, filters)
        return self._response(snap, ranked, "similar", item=str(item))

    def rank_similar(
        self, item: str, k: int = 10, filters: Filters = Filters()
    ) -> tuple[Snapshot, list[tuple[int, float, list[str]]]]:
        """``(snapshot, [(item index, score, reasons)])``: what :meth:`similar_items` renders."""
        snap = self.snapshot
        i = snap.item_index(str(item))
        if i < 0:
            raise UnknownIdError(
                f"item {item!r} is not known to model {snap.version}; it may be new since the last training"
            )
        mask = filters.mask(snap)
        s = snap.similar
        cand, vals = s.indices[s.indptr[i] : s.indptr[i + 1]], s.data[s.indptr[i] : s.indptr[i + 1]]
        if mask is not None:
            keep = mask[cand]
            cand, vals = cand[keep], vals[keep]
        top = _top(cand, vals, k)
        reason = [f"similar_to:{item}"]
        ranked = [(t, v, reason) for t, v in top]
        ranked += self._popular_fill(
            snap, k - len(ranked), mask, np.asarray([i] + [t for t, _ in top], np.int64)
        )
        return snap, ranked

    def trending(self, k: int = 10, filters: Filters = Filters(), window_days: float = 7.0) -> dict[str, Any]:
        """Most frequent items over the ``window_days`` before the newest stored event (cached a few seconds)."""
        snap = self.snapshot
        mask = filters.mask(snap)
        counts = self._trending_counts(window_days)
        ranked: list[tuple[int, float, list[str]]] = []
        extra: list[dict[str, Any]] = []
        for item, n in counts:
            i = snap.item_index(item)
            if mask is not None and (i < 0 or not mask[i]):
                continue
            if i >= 0:
                ranked.append((i, float(n), ["trending"]))
            else:  # an item newer than the model: still trending, just without catalog data
                extra.append({"item_id": item, "score": float(n), "reasons": ["trending", "new_item"]})
            if len(ranked) + len(extra) >= k:
                break
        chosen = np.asarray([r[0] for r in ranked], np.int64)
        ranked += self._popular_fill(snap, k - len(ranked) - len(extra), mask, chosen)
        out = self._response(snap, ranked, "trending")
        out["items"] += extra
        out["items"].sort(key=lambda e: -e["score"] if "trending" in e["reasons"] else 0)
        return out

    # ------------------------------------------------------------------ internals
    def _trending_counts(self, window_days: float) -> list[tuple[str, int]]:
        now = time.monotonic()
        cached = self._trending
        if cached is not None and now - cached[0] < TRENDING_TTL_S and cached[1] == int(window_days * 86400):
            return cached[2]
        with self._trending_lock:
            newest = self.store.max_event_ts()
            counts = (
                []
                if newest is None
                else self.store.item_counts_since(newest - int(window_days * 86400e6), 500)
            )
            self._trending = (now, int(window_days * 86400), counts)
        return counts

    def _rank(
        self,
        snap: Snapshot,
        u: int,
        hist: np.ndarray,
        weights: np.ndarray,
        fresh: bool,
        k: int,
        mask: np.ndarray | None,
        excluded: np.ndarray,
        repeat: np.ndarray | None,
    ) -> list[tuple[int, float, list[str]]]:
        if not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        if len(hist) == 0:
            return self._popular_fill(snap, k, mask, excluded)
        w = None if snap.binary else weights  # None: every history item weighs 1
        knn, targets, contrib, sources = snap.knn_scores(hist, w)
        if snap.fast_knn:
            scores = knn  # a fresh array: safe to modify
            if len(excluded):
                scores[excluded] = 0.0
            keep = scores > 0
        else:
            scores = snap.model_scores(u, hist, np.ones(len(hist)) if w is None else w, fresh).copy()
            if len(excluded):
                scores[excluded] = -np.inf
            keep = np.isfinite(scores)
        if mask is not None:
            keep &= mask
        cand = np.flatnonzero(keep)
        top = _top(cand, scores[cand], k)
        top_idx = np.asarray([t for t, _ in top], np.int64)
        best = _best_sources(snap.n_items, top_idx, targets, contrib, sources)
        repeats = set(repeat.tolist()) if repeat is not None and len(repeat) else ()
        because = snap.catalog.similar_reason
        ranked = []
        for t, v in top:
            src = best.get(t)
            reason = because[src] if src is not None else "personalized"
            ranked.append((t, v, ["repeat", reason] if t in repeats else [reason]))
        if len(ranked) < k:
            ranked += self._popular_fill(snap, k - len(ranked), mask, np.concatenate([excluded, top_idx]))
        return ranked

    def _popular_fill(
        self, snap: Snapshot, n: int, mask: np.ndarray | None, excluded: np.ndarray
    ) -> list[tuple[int, float, list[str]]]:
        if n <= 0:
            return []
        order = snap.pop_order if mask is None else snap.pop_order[mask[snap.pop_order]]
        head = order[: n + len(excluded)]
        if len(excluded):
            drop = set(excluded.tolist())
            head = np.asarray([i for i in head.tolist() if i not in drop], np.int64)
        return [(int(i), float(snap.popularity[i]), ["popular"]) for i in head[:n]]

    def _response(
        self, snap: Snapshot, ranked: list[tuple[int, float, list[str]]], source: str, **extra: Any
    ) -> dict[str, Any]:
        static = snap.catalog.records
        items = [{**static[i], "score": round(score, 6), "reasons": reasons} for i, score, reasons in ranked]
        return {"model_version": snap.version, "source": source, **extra, "items": items}


def _recent_unique(items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct items, most recent ``HISTORY_LIMIT`` of them, with summed weights."""
    if len(items) == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    items = items[-4 * HISTORY_LIMIT :]
    weights = weights[-4 * HISTORY_LIMIT :]
    uniq, inv = np.unique(items, return_inverse=True)
    w = np.bincount(inv, weights=weights, minlength=len(uniq))
    if len(uniq) > HISTORY_LIMIT:
        last = np.zeros(len(uniq), np.int64)
        last[inv] = np.arange(len(items))
        keep = np.sort(np.argsort(-last, kind="stable")[:HISTORY_LIMIT])
        uniq, w = uniq[keep], w[keep]
    return uniq.astype(np.int64), w


def _top(cand: np.ndarray, vals: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Top-``k`` of a candidate slice (argpartition, then a stable sort of the k)."""
    if len(cand) > k:
        part = np.argpartition(-vals, k - 1)[:k]
        cand, vals = cand[part], vals[part]
    return sorted(zip(cand.tolist(), vals.tolist(), strict=True), key=lambda cv: (-cv[1], cv[0]))


def _best_sources(
    n_items: int, top: np.ndarray, targets: np.ndarray, contrib: np.ndarray, sources: np.ndarray
) -> dict[int, int]:
    """For each top item, the history item with the largest contribution to its score (the first one
    in history order on ties)."""
    if len(top) == 0 or len(targets) == 0:
        return {}
    marker = np.zeros(n_items, dtype=bool)
    marker[top] = True
    sel = np.flatnonzero(marker[targets])
    # ascending contribution, later-in-history first among ties: the last write per item wins
    order = sel[np.lexsort((-sel, contrib[sel]))]
    return dict(zip(targets[order].tolist(), sources[order].tolist(), strict=True))
