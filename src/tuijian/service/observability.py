"""Structured JSON logs, request ids and Prometheus metrics (one pure-ASGI middleware).

Metrics with several workers: when ``PROMETHEUS_MULTIPROC_DIR`` is set before start
(``tuijian serve`` does this when ``--workers > 1``), every worker writes its samples
there and ``GET /metrics`` aggregates all workers; without it, each process reports
its own counters.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import time
import uuid
from typing import Any

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str = "info") -> None:
    """JSON logs on stderr for the ``tuijian`` loggers (idempotent)."""
    logger = logging.getLogger("tuijian")
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level.upper())


class Metrics:
    """The service's Prometheus instruments."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        buckets = (
            0.0005,
            0.001,
            0.002,
            0.003,
            0.005,
            0.0075,
            0.01,
            0.015,
            0.025,
            0.05,
            0.1,
            0.25,
            0.5,
            1.0,
            2.5,
            10.0,
        )
        self.requests = _get_or_make(
            Counter, "tuijian_http_requests_total", "HTTP requests", ["route", "method", "status"]
        )
        self.latency = _get_or_make(
            Histogram,
            "tuijian_http_request_duration_seconds",
            "request latency",
            ["route", "method"],
            buckets=buckets,
        )
        self.model_info = _get_or_make(
            Gauge,
            "tuijian_model_info",
            "served model version (1 = served by a live worker)",
            ["version"],
            multiprocess_mode="liveall",
        )
        self.events = _get_or_make(Counter, "tuijian_events_ingested_total", "events written", ["result"])
        self._version: str | None = None

    def set_model(self, version: str) -> None:
        if self._version is not None and self._version != version:
            self.model_info.labels(version=self._version).set(0)
        self.model_info.labels(version=version).set(1)
        self._version = version

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _get_or_make(cls: Any, name: str, doc: str, labels: list[str], **kwargs: Any) -> Any:
    """Instruments are process-global; reuse them when several apps are built (tests)."""
    from prometheus_client import REGISTRY

    existing = REGISTRY._names_to_collectors.get(name) or REGISTRY._names_to_collectors.get(
        name.removesuffix("_total")
    )
    if existing is not None:
        return existing
    if cls.__name__ != "Gauge":
        kwargs.pop("multiprocess_mode", None)
    return cls(name, doc, labels, **kwargs)


def remove_stale_multiproc_dirs() -> list[str]:
    """Remove the ``prometheus-<pid>`` folders next to ``PROMETHEUS_MULTIPROC_DIR`` whose process is gone.

    ``tuijian serve`` gives each run a fresh ``<home>/run/prometheus-<pid>``; a run that crashed (or was
    killed) leaves its folder behind. Every worker calls this on start, so a crash's folder lives until the
    next start. Folders of live processes, and anything not named ``prometheus-<digits>``, are kept.
    """
    current = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not current:
        return []
    import shutil
    from pathlib import Path

    here = Path(current).resolve()
    removed = []
    try:
        siblings = list(here.parent.iterdir())
    except OSError:
        return []
    for path in siblings:
        name = path.name
        if not name.startswith("prometheus-") or not name[11:].isdigit() or path.resolve() == here:
            continue
        if _alive(int(name[11:])):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(str(path))
    if removed:
        logging.getLogger("tuijian.service").info("removed stale metrics folders", extra={"folders": removed})
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class RequestContext:
    """Pure ASGI middleware: request id (``X-Request-ID`` in and out), latency/count metrics, access log."""

    def __init__(self, app: Any, metrics: Metrics, access_log: bool = True, hot: Any = None) -> None:
        self.app = app
        self.hot = hot  # HotPath.answer(scope) -> (body, route path) or None: answered here, without the app
        self.metrics = metrics
        self.access_log = access_log
        self.log = logging.getLogger("tuijian.access")
        # labelled metric children, looked up once per (route, method, status)
        self._latency: dict[tuple[str, str], Any] = {}
        self._count: dict[tuple[str, str, int], Any] = {}
        # request ids: a random per-process prefix and a counter (unique without a syscall per request)
        self._rid_prefix = uuid.uuid4().hex[:8]
        self._rid_next = itertools.count(1).__next__

    def _observe(self, path: str, method: str, status: int, elapsed: float) -> None:
        latency = self._latency.get((path, method))
        if latency is None:
            latency = self._latency[(path, method)] = self.metrics.latency.labels(route=path, method=method)
        count = self._count.get((path, method, status))
        if count is None:
            count = self._count[(path, method, status)] = self.metrics.requests.labels(
                route=path, method=method, status=str(status)
            )
        latency.observe(elapsed)
        count.inc()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                rid = value.decode("latin-1")[:64]
                break
        rid = rid or f"{self._rid_prefix}{self._rid_next() & 0xFFFFFFFF:08x}"
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", rid.encode())
        if self.hot is not None:
            answer = self.hot(scope)
            if answer is not None:
                body, path = answer
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", b"%d" % len(body)),
                            header,
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                self._done(scope, rid, path, 200, time.perf_counter() - started)
                return

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(header)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            self._done(
                scope, rid, getattr(route, "path", None) or "unmatched", status, time.perf_counter() - started
            )

    def _done(self, scope: dict[str, Any], rid: str, path: str, status: int, elapsed: float) -> None:
        method = scope.get("method", "")
        self._observe(path, method, status, elapsed)
        if self.access_log:
            self.log.info(
                "request",
                extra={
                    "request_id": rid,
                    "method": method,
                    "path": scope.get("path"),
                    "route": path,
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                },
            )
