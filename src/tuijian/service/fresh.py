"""Per-worker index of the events newer than the served model: real-time history without a query per request.

A user's serving history is their training history plus the events stored after the model's training cut
(``id > trained_max_event_id``). Instead of asking the database for those on every request, each worker keeps
them in memory, grouped by user, and brings the index up to date with one incremental query
(``id > last id seen``) whenever

* this process has written events (``Store.event_writes`` moved: read-your-writes in the worker that
  accepted a POST, before its 2xx reaches the client), or
* ``sync_seconds`` (default 0.1 s) have passed since the last sync: events accepted by *other* workers
  reach every worker within that time, well inside the 1-second real-time budget.

It is used on SQLite only, where a single writer commits ids in increasing order, so "every id above the last
one seen" never skips a commit. On PostgreSQL concurrent transactions can commit ids out of order, so the
engine keeps the indexed per-request query there (``enabled`` is False). The index is relative to one model:
when a new model is swapped in it is rebuilt from that model's cut. Should it grow beyond ``max_events``
(a very long time without retraining) it switches itself off until the next model, and the engine falls back
to the per-request query.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from tuijian.service.snapshot import HISTORY_LIMIT
from tuijian.store import Store

log = logging.getLogger("tuijian.service")

#: events fetched per incremental query
_BATCH = 50_000


class FreshEvents:
    """``rows(user, cut)``: the user's latest events after ``cut`` as ``(id, item, kind, ts_us)``, oldest first."""

    def __init__(self, store: Store, sync_seconds: float = 0.1, max_events: int = 1_000_000) -> None:
        self.store = store
        self.sync_seconds = sync_seconds
        self.max_events = max_events
        self.enabled = store.dialect == "sqlite"
        self._lock = threading.Lock()
        self._cut: int | None = None
        self._last_id = 0
        self._by_user: dict[str, list[tuple[Any, ...]]] = {}
        self._n = 0
        self._writes_seen = -1
        self._next_sync = 0.0
        self.overflowed = False

    def rows(self, user: str, cut: int) -> list[tuple[Any, ...]]:
        if not self.enabled or (self.overflowed and cut == self._cut):
            return self.store.recent_event_rows(user, limit=HISTORY_LIMIT, since_id=cut)
        if (
            cut != self._cut
            or self.store.event_writes != self._writes_seen
            or time.monotonic() >= self._next_sync
        ):
            self._sync(cut)
            if self.overflowed:
                return self.store.recent_event_rows(user, limit=HISTORY_LIMIT, since_id=cut)
        events = self._by_user.get(user)
        return events[-HISTORY_LIMIT:] if events else []

    @property
    def size(self) -> int:
        """Events held in the index."""
        return self._n

    def _sync(self, cut: int) -> None:
        with self._lock:
            writes = self.store.event_writes  # read before the query: later writes trigger another sync
            started = time.monotonic()
            if cut != self._cut:
                self._cut, self._last_id, self._by_user, self._n, self.overflowed = cut, cut, {}, 0, False
            if self.overflowed:
                return
            by_user = self._by_user
            while True:
                batch = self.store.events_after(self._last_id, _BATCH)
                for event_id, user, item, kind, ts in batch:
                    events = by_user.get(user)
                    if events is None:
                        by_user[user] = [(event_id, item, kind, ts)]
                    else:
                        events.append((event_id, item, kind, ts))
                        if len(events) >= 2 * HISTORY_LIMIT:
                            self._n -= len(events) - HISTORY_LIMIT
                            by_user[user] = events[-HISTORY_LIMIT:]
                if batch:
                    self._last_id = int(batch[-1][0])
                    self._n += len(batch)
                if self._n > self.max_events:
                    self.overflowed, self._by_user, self._n = True, {}, 0
                    log.warning(
                        "fresh-event index over its limit; reading each user's events per request until the "
                        "next model",
                        extra={"max_events": self.max_events},
                    )
                    return
                if len(batch) < _BATCH:
                    break
            self._writes_seen = writes
            self._next_sync = started + self.sync_seconds
