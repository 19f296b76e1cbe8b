"""Impression logging off the request path.

Recommendation responses enqueue their served list here (one tuple per response, stored as one
``impression_lists`` row); a background thread writes them in batches (one transaction per ``flush_seconds``), so serving never waits for a
disk sync. ``close()`` (graceful shutdown) flushes what is queued. A hard crash can
lose at most the last ``flush_seconds`` of impressions; clicks and purchases sent to
``POST /v1/feedback`` are written synchronously and are durable when acknowledged.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from typing import Any

from tuijian.store import Store
from tuijian.store.records import now_us

_dumps = json.JSONEncoder(ensure_ascii=False).encode

log = logging.getLogger("tuijian.service")


class ImpressionLog:
    """Queues served lists (one tuple each) and writes them in batches from a background thread."""

    def __init__(self, store: Store, flush_seconds: float = 0.25, max_batch: int = 5_000) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.max_batch = max_batch
        self._queue: deque[tuple[str, str | None, str | None, int, str, float | None]] = deque()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tuijian-impressions", daemon=True)
        self.written = 0  # impression lists (served responses) written
        self.failed_batches = 0

    def start(self) -> None:
        self._thread.start()

    def log(
        self,
        request_id: str,
        user: str | None,
        items: list[str],
        model_version: str | None,
        propensity: float | None = None,
    ) -> None:
        """Queue one served list (``items`` in position order); nothing is queued for an empty list.
        ``propensity`` is the probability with which a stochastic policy (the bandit) chose this list;
        None (stored NULL) means a deterministic policy."""
        if items:
            self._queue.append(
                (request_id, user, model_version, now_us(), _dumps([str(i) for i in items]), propensity)
            )

    def log_ranked(
        self,
        request_id: str,
        user: str | None,
        snap: Any,
        ranked: list[tuple[int, float, list[str]]],
        propensity: float | None = None,
    ) -> None:
        """Queue a list the engine ranked (item indices of ``snap``)."""
        if ranked:
            ids = snap.catalog.id_json
            items = "[" + ",".join([ids[r[0]] for r in ranked]) + "]"
            self._queue.append((request_id, user, snap.version, now_us(), items, propensity))

    def flush(self) -> int:
        with self._lock:
            batch: list[tuple[str, str | None, str | None, int, str, float | None]] = []
            while self._queue and len(batch) < self.max_batch:
                batch.append(self._queue.popleft())
            if not batch:
                return 0
            try:
                self.store.log_impression_lists(batch)
            except Exception:  # noqa: BLE001 - put them back and retry on the next tick
                self._queue.extendleft(reversed(batch))
                self.failed_batches += 1
                log.exception("impression flush failed; will retry")
                return 0
            self.written += len(batch)
            return len(batch)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            while self.flush() >= self.max_batch:
                pass

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        while self._queue and self.flush():
            pass

    @property
    def pending(self) -> int:
        return len(self._queue)
