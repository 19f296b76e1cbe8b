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
    from tuijian.service import (
        errors,
        routes_admin,
        routes_experiments,
        routes_ingest,
        routes_ops,
        routes_recs,
    )
    from tuijian.service.auth import KeyChecker
    from tuijian.service.engine import Engine
    from tuijian.service.impressions import ImpressionLog
    from tuijian.service.limits import Guard
    from tuijian.service.observability import (
        Metrics,
        RequestContext,
        configure_logging,
        remove_stale_multiproc_dirs,
    )
    from tuijian.service.versions import VersionWatcher, ensure_version
    from tuijian.store import open_store

    settings = settings or load_settings()
    options = options or ServiceOptions.from_env()
    problems = settings.check_secure()  # raises in production
    configure_logging(settings.log_level)
    if not settings.secret_key:
        settings = settings.model_copy(update={"secret_key": _local_secret(settings.home)})
    if problems:
        _warn_insecure(settings, problems)
    state = ServiceState(settings=settings, options=options, metrics=Metrics())

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        from fastapi.concurrency import run_in_threadpool

        remove_stale_multiproc_dirs()
        state.store = open_store(settings.resolved_database_url)
        state.engine = Engine(state.store)
        state.auth = KeyChecker(state.store, settings.admin_key, options.key_cache_seconds)
        state.impressions = ImpressionLog(state.store, options.impression_flush_seconds)
        state.impressions.start()

        def on_change(snap: Any) -> None:
            state.engine.swap(snap)
            # the assistant and copy writer read the catalogue and shoppers' histories as of the old model
            # (a deleted user among them): every worker rebuilds them on next use
            state.extras.pop("assistant", None)
            state.extras.pop("copy_writer", None)
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
        from tuijian.service.experiment_router import ExperimentRouter  # A/B tests (routes_experiments)

        experiments = state.extras["experiments"] = ExperimentRouter(
            state, options.poll_seconds, options.impression_flush_seconds
        )
        await run_in_threadpool(experiments.start)
        from tuijian.service.bandit import start_bandit  # issue 13: live strategy bandit (off by default)

        bandit = await run_in_threadpool(start_bandit, state)
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
            experiments.close()
            if bandit is not None:
                bandit.close()
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
    for module in (routes_ops, routes_ingest, routes_recs, routes_admin, routes_experiments):
        app.include_router(module.router)
    from tuijian.service import bandit as bandit_routes

    app.include_router(bandit_routes.router)
    from tuijian.service import routes_privacy

    app.include_router(routes_privacy.router)
    _include_optional_routers(app)
    # In front of the framework: request ids, metrics and access log for every request, then the hot path
    # for the two busiest GET routes (see tuijian.service.hotpath), then FastAPI's own middleware and router.
    hot = None
    if options.hot_path:
        from tuijian.service.hotpath import HotPath

        hot = HotPath(state).answer
    context = RequestContext(app.framework, metrics=state.metrics, access_log=options.access_log, hot=hot)
    # the guard is outermost: headers on every answer, and caps, rate limits and keys before any body is read
    app.entry = Guard(context, state)
    app.openapi = lambda: _openapi(app)
    return app


#: documented on every operation that needs a key (the guard and the error handlers answer these)
_KEYED_ERRORS = {
    "401": "no X-API-Key, or an unknown or revoked key",
    "403": "the key's role is too weak for this route",
    "422": "a field, row or parameter is invalid (each one is named), or the body is not valid UTF-8 JSON",
    "429": "the key's rate limit is spent; retry after the Retry-After header's seconds",
}
_BODY_ERRORS = {"413": "the body is over the size limit (or the batch over 10,000 rows)"}


def _openapi(app: Any) -> dict[str, Any]:
    """FastAPI's spec, plus the ingestion bodies' schemas and the error answers each operation can give."""
    if app.openapi_schema is not None:
        return dict(app.openapi_schema)
    from fastapi.openapi.utils import get_openapi

    from tuijian.service.routes_ingest import BODY_SCHEMAS
    from tuijian.service.schemas import ErrorBody

    spec = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in BODY_SCHEMAS.items():
        schemas.setdefault(name, schema)
    schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path_item in spec.get("paths", {}).values():
        for op in path_item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            answers = {k: v for k, v in _KEYED_ERRORS.items() if k != "422"} if op.get("security") else {}
            if "requestBody" in op:
                answers.update(_BODY_ERRORS)
                answers.setdefault("422", _KEYED_ERRORS["422"])
            elif op.get("parameters"):
                answers.setdefault("422", _KEYED_ERRORS["422"])
            for status, text in answers.items():
                op["responses"][status] = {"description": text, "content": error}
    app.openapi_schema = spec
    return dict(spec)


def _local_secret(home: Any) -> str:
    """A random cookie secret kept in ``<home>/run/secret_key`` (mode 0600), shared by the workers of one
    home and kept across restarts; in memory only when the home is not writable."""
    import os
    import secrets
    from pathlib import Path

    path = Path(home) / "run" / "secret_key"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            for _ in range(50):  # another worker is writing it
                text = path.read_text().strip()
                if text:
                    return text
                import time

                time.sleep(0.02)
            raise OSError(f"{path} stays empty") from None
        value = secrets.token_urlsafe(32)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        return value
    except OSError as exc:
        log.warning("cannot keep the local secret; cookies last until restart", extra={"error": str(exc)})
        return secrets.token_urlsafe(32)


def _warn_insecure(settings: Settings, problems: list[str]) -> None:
    """Say loudly (log, and a banner on stderr in development) what would stop a production start."""
    import sys

    log.warning(
        "insecure settings (refused when TUIJIAN_ENV=production)",
        extra={"env": settings.env, "problems": problems},
    )
    if settings.env == "development":
        lines = [
            "TUIJIAN IS RUNNING IN DEVELOPMENT MODE WITH INSECURE SETTINGS:",
            *(f"  - {p}" for p in problems),
            "Do not expose it. For production set TUIJIAN_ENV=production, TUIJIAN_SECRET_KEY and",
            'TUIJIAN_ADMIN_KEY (python -c "import secrets; print(secrets.token_urlsafe(32))"): docs/serving.md',
        ]
        width = max(len(line) for line in lines) + 4
        bar = "!" * width
        print("\n".join([bar, *(f"! {line.ljust(width - 4)} !" for line in lines), bar]), file=sys.stderr)


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
    _trim_malloc()


def _trim_malloc() -> None:
    """Give the freed pages of the previous snapshot back to the system (glibc ``malloc_trim``).

    A swap frees one model and loads the next; without a trim glibc keeps the freed arenas, and a worker's
    resident memory grows with every hot swap (the issue 11 soak: ~320 to ~570 MiB over 14 swaps, flat in
    a single process whose old snapshots were all freed). No-op where glibc is not the allocator.
    """
    import contextlib
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).malloc_trim(0)


def create_app_from_env() -> Any:
    """Factory for uvicorn workers: settings and options from ``TUIJIAN_*`` environment variables."""
    return create_app(load_settings(), ServiceOptions.from_env())


def _version() -> str:
    import tuijian

    return getattr(tuijian, "__version__", "0")
