"""Impression logging off the request path.

Recommendation responses enqueue their impressions here; a background thread writes
them in batches (one transaction per ``flush_seconds``), so serving never waits for a
disk sync. ``close()`` (graceful shutdown) flushes what is queued. A hard crash can
lose at most the last ``flush_seconds`` of impressions; clicks and purchases sent to
``POST /v1/feedback`` are written synchronously and are durable when acknowledged.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from tuijian.store import Store
from tuijian.store.records import now_us

log = logging.getLogger("tuijian.service")


class ImpressionLog:
    def __init__(self, store: Store, flush_seconds: float = 0.25, max_batch: int = 20_000) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.max_batch = max_batch
        self._queue: deque[dict[str, Any]] = deque()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tuijian-impressions", daemon=True)
        self.written = 0
        self.failed_batches = 0

    def start(self) -> None:
        self._thread.start()

    def log(self, request_id: str, user: str | None, items: list[str], model_version: str | None) -> None:
        ts = now_us()
        self._queue.extend(
            {
                "request_id": request_id,
                "user": user,
                "item": it,
                "position": p,
                "event": "impression",
                "model_version": model_version,
                "ts_us": ts,
            }
            for p, it in enumerate(items)
        )

    def flush(self) -> int:
        with self._lock:
            batch: list[dict[str, Any]] = []
            while self._queue and len(batch) < self.max_batch:
                batch.append(self._queue.popleft())
            if not batch:
                return 0
            try:
                self.store.log_feedback(batch)
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
