"""The FastAPI application: ``create_app(settings)`` wires store, engine, auth, metrics and routers.

Run it with ``tuijian serve`` (uvicorn, several workers), or
``uvicorn --factory tuijian.service.app:create_app_from_env``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tuijian.service.options import ServiceOptions
from tuijian.settings import Settings, load_settings

log = logging.getLogger("tuijian.service")


class Retrainer:
    """Retrains in a background thread (one at a time per process) and swaps the result in."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state
        self._lock = threading.Lock()
        self._schedule_stop = threading.Event()
        self.last_error: str | None = None
        self.last_version: str | None = None

    @property
    def running(self) -> bool:
        return self._lock.locked()

    def run(self, model: str | None = None) -> str:
        from tuijian.service.versions import train_version

        with self._lock:
            st = self.state
            try:
                label = train_version(
                    st.store, st.dataset, st.settings.artifacts_dir, model or st.options.model
                )
                if st.watcher is not None:
                    st.watcher.check()  # swap here at once; other workers follow within poll_seconds
                self.last_error, self.last_version = None, label
                return label
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise

    def start(self, model: str | None = None) -> bool:
        if self.running:
            return False

        def target() -> None:
            with contextlib.suppress(Exception):  # recorded in last_error, logged below
                self.run(model)
            if self.last_error:
                log.error("background retrain failed", extra={"error": self.last_error})

        threading.Thread(target=target, name="tuijian-retrain", daemon=True).start()
        return True

    def schedule(self, minutes: float) -> None:
        def loop() -> None:
            while not self._schedule_stop.wait(minutes * 60):
                with contextlib.suppress(Exception):
                    self.run()

        threading.Thread(target=loop, name="tuijian-retrain-schedule", daemon=True).start()

    def stop(self) -> None:
        self._schedule_stop.set()


@dataclass
class ServiceState:
    settings: Settings
    options: ServiceOptions
    store: Any = None
    engine: Any = None
    auth: Any = None
    metrics: Any = None
    impressions: Any = None
    watcher: Any = None
    retrainer: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def dataset(self) -> str:
        return self.settings.dataset


def _include_optional_routers(app: Any) -> None:
    """Routers written elsewhere (storefront pages, assistant) are included when present."""
    import importlib

    for name in ("tuijian.service.web", "tuijian.service.routes_assistant"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        if callable(getattr(module, "register", None)):
            module.register(app)
        elif getattr(module, "router", None) is not None:
            app.include_router(module.router)


def create_app(settings: Settings | None = None, options: ServiceOptions | None = None) -> Any:
    """A ready-to-run FastAPI app. On start it opens the store, makes sure a model version exists
    (bootstrapping the dataset and training if needed) and loads it; on shutdown it flushes impressions."""
    from tuijian.service import errors, routes_admin, routes_ingest, routes_ops, routes_recs
    from tuijian.service.auth import KeyChecker
    from tuijian.service.engine import Engine
    from tuijian.service.impressions import ImpressionLog
    from tuijian.service.observability import Metrics, RequestContext, configure_logging
    from tuijian.service.versions import VersionWatcher, ensure_version
    from tuijian.store import open_store

    settings = settings or load_settings()
    options = options or ServiceOptions.from_env()
    settings.check_secure()
    configure_logging(settings.log_level)
    state = ServiceState(settings=settings, options=options, metrics=Metrics())

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        from fastapi.concurrency import run_in_threadpool

        state.store = open_store(settings.resolved_database_url)
        state.engine = Engine(state.store)
        state.auth = KeyChecker(state.store, settings.admin_key, options.key_cache_seconds)
        state.impressions = ImpressionLog(state.store, options.impression_flush_seconds)
        state.impressions.start()

        def on_change(snap: Any) -> None:
            state.engine.swap(snap)
            state.metrics.set_model(snap.version)
            _freeze_heap()

        state.watcher = VersionWatcher(state.store, settings.dataset, on_change, options.poll_seconds)
        state.retrainer = Retrainer(state)
        if options.bootstrap:
            data_dir = str(settings.data_dir) if settings.data_dir else None
            await run_in_threadpool(
                ensure_version, state.store, settings.dataset, settings.artifacts_dir, options.model, data_dir
            )
        try:
            await run_in_threadpool(state.watcher.check)
        except Exception as exc:  # noqa: BLE001 - start anyway; /ready says why
            state.watcher.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("no model loaded at start")
        state.watcher.start()
        if options.retrain_every_minutes > 0:
            state.retrainer.schedule(options.retrain_every_minutes)
        log.info(
            "service started",
            extra={"dataset": settings.dataset, "model": state.engine.version, "database": state.store.url},
        )
        try:
            yield
        finally:
            state.retrainer.stop()
            state.watcher.stop()
            state.impressions.close()
            state.store.close()
            log.info("service stopped", extra={"impression_lists_written": state.impressions.written})

    app = _app_class()(
        title="Tuijian",
        version=_version(),
        summary="Personalised recommendations for online shops",
        description="Auth: send an API key in the `X-API-Key` header (roles admin > ingest > read).",
        lifespan=lifespan,
    )
    app.state.tuijian = state
    errors.install(app)
    for module in (routes_ops, routes_ingest, routes_recs, routes_admin):
        app.include_router(module.router)
    _include_optional_routers(app)
    # In front of the framework: request ids, metrics and access log for every request, then the hot path
    # for the two busiest GET routes (see tuijian.service.hotpath), then FastAPI's own middleware and router.
    hot = None
    if options.hot_path:
        from tuijian.service.hotpath import HotPath

        hot = HotPath(state).answer
    app.entry = RequestContext(app.framework, metrics=state.metrics, access_log=options.access_log, hot=hot)
    return app


def _app_class() -> Any:
    """``FastAPI`` whose ASGI entry point runs :class:`RequestContext` (and the hot path) first."""
    from fastapi import FastAPI

    class TuijianAPI(FastAPI):
        entry: Any = None

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if self.entry is None:
                await super().__call__(scope, receive, send)
            else:
                await self.entry(scope, receive, send)

        async def framework(self, scope: Any, receive: Any, send: Any) -> None:
            """The plain FastAPI application (middleware stack and router)."""
            await super().__call__(scope, receive, send)

    return TuijianAPI


def _freeze_heap() -> None:
    """Move what is alive now (the snapshot's millions of small objects) out of the cyclic GC's reach.

    Otherwise every full collection walks the whole model and catalogue, which costs each request a few
    per cent on average. Unfreezing first lets the previous snapshot's cycles be collected on a swap.
    The young-generation threshold is raised too: a request allocates a few hundred short-lived containers,
    and at the default (700) a collection would run every few requests.
    """
    import gc

    gc.set_threshold(20_000, 20, 20)
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def create_app_from_env() -> Any:
    """Factory for uvicorn workers: settings and options from ``TUIJIAN_*`` environment variables."""
    return create_app(load_settings(), ServiceOptions.from_env())


def _version() -> str:
    import tuijian

    return getattr(tuijian, "__version__", "0")
