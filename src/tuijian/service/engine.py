"""The online recommender: one swappable :class:`Snapshot`, real-time history from the store, and I/O.

Per request the engine only looks things up and builds one :class:`~tuijian.models.query.RecQuery`:
the user's index, their history **in event-time order** (the model's training sequence plus the events
stored **after** the snapshot's training cut, ``id > trained_max_event_id``, kept per worker by
:class:`~tuijian.service.fresh.FreshEvents`), the session's items when the user has no history, the
exclusions (bought items unless repeats are allowed) and the catalogue filters as a candidate mask.
The library's :class:`~tuijian.models.pipeline.Pipeline` answers it exactly as it would offline: the
model's own ``recommend`` (with its rerankers), the fallback chain for short lists, and the reason codes
(``similar_to:<item>``, ``personalized``, ``repeat``, ``popular``/``trending``/...). A POSTed event
therefore changes the next response of the worker that accepted it at once and of every other worker
within 0.1 s, without retraining.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuijian.exceptions import ConfigError, NotFittedError, UnknownIdError
from tuijian.models.pipeline import Ranked
from tuijian.models.query import RecQuery
from tuijian.service.fresh import FreshEvents
from tuijian.service.snapshot import Snapshot, event_weight
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
    ) -> tuple[Snapshot, Ranked, str]:
        """``(snapshot, [(item index, score, reasons)], source)``: what :meth:`recommend_user` renders."""
        snap, query = self.user_query(user, k, filters, exclude_purchased=exclude_purchased, session=session)
        return snap, snap.pipeline.recommend(query, k), query.source

    def user_query(
        self,
        user: str,
        k: int = 10,
        filters: Filters = Filters(),
        *,
        exclude_purchased: bool = True,
        session: str | None = None,
    ) -> tuple[Snapshot, RecQuery]:
        """``(snapshot, query)``: the :class:`RecQuery` that :meth:`rank_user` answers (and explanations
        explain: :mod:`tuijian.explain`)."""
        snap = self.snapshot
        mask = filters.mask(snap)
        _check_k(k)
        user = self.store.user_key(user)  # the stored id: a keyed pseudonym when TUIJIAN_PSEUDONYM_KEY is set
        u = snap.user_index(user)
        rows = self.fresh.rows(user, snap.trained_max_event_id)
        fresh = None
        if rows:
            index = snap.item_index
            fresh = [
                (i, event_weight(kind), kind == "purchase")
                for i, kind in ((index(r[1]), r[2]) for r in rows if r[1] is not None)
                if i >= 0
            ]
        pipe = snap.pipeline
        items = None
        if session and u < 0 and not fresh:
            items = [i for i in (snap.item_index(x) for x in self.store.session_items(session)) if i >= 0]
        query = pipe.user_query(
            u,
            fresh,
            session=None if items is None else np.asarray(items, np.int64),
            exclude_purchased=exclude_purchased,
            allowed=mask,
        )
        return snap, query

    def recommend_session(
        self, items: list[str], k: int = 10, filters: Filters = Filters(), *, allow_repeats: bool = False
    ) -> dict[str, Any]:
        snap = self.snapshot
        mask = filters.mask(snap)
        _check_k(k)
        idx = np.asarray([snap.item_index(str(i)) for i in items], dtype=np.int64)
        unknown = [str(i) for i, j in zip(items, idx, strict=True) if j < 0]
        query = snap.pipeline.session_query(idx[idx >= 0], allow_repeats=allow_repeats, allowed=mask)
        out = self._response(snap, snap.pipeline.recommend(query, k), query.source)
        out["unknown_items"] = unknown
        return out

    def similar_items(self, item: str, k: int = 10, filters: Filters = Filters()) -> dict[str, Any]:
        snap, ranked = self.rank_similar(item, k, filters)
        return self._response(snap, ranked, "similar", item=str(item))

    def rank_similar(self, item: str, k: int = 10, filters: Filters = Filters()) -> tuple[Snapshot, Ranked]:
        """``(snapshot, [(item index, score, reasons)])``: what :meth:`similar_items` renders."""
        snap = self.snapshot
        i = snap.item_index(str(item))
        if i < 0:
            raise UnknownIdError(
                f"item {item!r} is not known to model {snap.version}; it may be new since the last training"
            )
        _check_k(k)
        return snap, snap.pipeline.similar(i, k, filters.mask(snap))

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
        ranked = snap.pipeline.fill(ranked, np.zeros(0, np.int64), k - len(extra), None, mask)
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

    def _response(
        self, snap: Snapshot, ranked: list[tuple[int, float, list[str]]], source: str, **extra: Any
    ) -> dict[str, Any]:
        static = snap.catalog.records
        items = [{**static[i], "score": round(score, 6), "reasons": reasons} for i, score, reasons in ranked]
        return {"model_version": snap.version, "source": source, **extra, "items": items}


def _check_k(k: int) -> None:
    if not isinstance(k, int) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
