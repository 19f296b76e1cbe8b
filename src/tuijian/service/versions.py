"""Training, saving, registering and loading served model versions.

* Training reads **all events in the store** (so ingested events are learned at the
  next retrain), fits the serving model and saves it with
  :func:`tuijian.models.artifacts.save_model` under ``<home>/artifacts/<dataset>/``.
  The highest event id it saw is kept in the artifact's meta: events after it are the
  "fresh" ones the engine adds at request time.
* The ``model_versions`` table says which version is **active** per dataset. Every
  worker polls it (:class:`VersionWatcher`) and hot-swaps when it changes, so a
  retrain in one process reaches all workers within ``poll_seconds``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from tuijian.data.interactions import Interactions, WeightConfig
from tuijian.exceptions import DataError, ModelNotFoundError
from tuijian.explain.stored import EXPLAINED_PER_USER
from tuijian.models.toplists import ROWS_BUDGET_MB, TOP_N
from tuijian.service.snapshot import Catalog, Snapshot
from tuijian.store import Store

log = logging.getLogger("tuijian.service")


def bootstrap_dataset(store: Store, dataset: str, data_dir: str | None = None) -> dict[str, int]:
    """Load ``dataset`` into an empty store (events, catalog, users); a no-op when events exist."""
    if store.count_events() > 0:
        return {"events": 0, "items": 0, "users": 0}
    from tuijian.data.datasets import load_dataset

    ds = load_dataset(dataset, data_dir)
    if ds.events is None or len(ds.events) == 0:
        raise DataError(f"dataset {dataset!r} has no behaviour events to serve recommendations from")
    n_items = store.add_items(ds.items) if ds.items is not None else 0
    users = getattr(ds, "users", None)
    n_users = store.add_users(users) if users is not None and len(users) else 0
    n_events = 0
    for start in range(0, len(ds.events), 50_000):
        n_events += store.add_events(ds.events.iloc[start : start + 50_000]).inserted
    log.info("bootstrapped dataset", extra={"dataset": dataset, "events": n_events, "items": n_items})
    return {"events": n_events, "items": n_items, "users": n_users}


def train_version(
    store: Store,
    dataset: str,
    artifacts_root: Path,
    model_name: str = "auto",
    params: dict[str, Any] | None = None,
    activate: bool = True,
    precompute: bool | None = None,
    top_n: int = TOP_N,
    explained_per_user: int = EXPLAINED_PER_USER,
    rows_budget_mb: float = ROWS_BUDGET_MB,
) -> str:
    """Fit ``model_name`` on every stored event, save it and register it; returns the version label.

    Models that are slow per request (``precompute``: ``True``/``False`` to decide here; ``None``: the
    model's own choice, see :mod:`tuijian.models.toplists`) also get every trained user's top ``top_n``
    scored now and stored with the version, so serving a known user without fresh events is a lookup; the
    first ``explained_per_user`` items of each such user's default request are explained now as well
    (:mod:`tuijian.explain.stored`; 0: explained per request), and the ranker's feature rows of every stored
    candidate are kept while they fit ``rows_budget_mb`` (:attr:`TopLists.rows
    <tuijian.models.toplists.TopLists.rows>`; 0: none, explanations build them per request).
    """
    from tuijian.explain.stored import explainable, precompute_explanations
    from tuijian.models.artifacts import save_model
    from tuijian.models.registry import create
    from tuijian.models.toplists import precompute_top_lists, should_precompute

    events = store.events_frame()
    if events.empty:
        raise DataError("the store has no events to train on; POST /v1/events or start with --dataset")
    max_id = int(events["id"].max())
    started = time.perf_counter()
    inter = Interactions.from_events(events, WeightConfig())
    model = create(model_name, **(params or {}))
    model.fit(inter, **_side_info(store, model))
    seconds = time.perf_counter() - started
    selection = getattr(model, "selection_", None)  # what `auto` chose, and its validation table
    chosen = {"selection": selection} if isinstance(selection, dict) else {}
    top_lists, extra = None, {}
    if should_precompute(model, precompute):
        started = time.perf_counter()
        top_lists = precompute_top_lists(model, top_n, rows_budget_mb=rows_budget_mb)
        extra = {
            "top_lists_seconds": round(time.perf_counter() - started, 3),
            "top_lists_n": top_lists.n,
            "top_lists_scored": top_lists.scored,
            # the stored candidates' feature rows, read by explanations (0: not kept)
            "top_lists_rows_mb": round(top_lists.rows.nbytes / 1e6, 1) if top_lists.rows is not None else 0,
        }
        if explained_per_user > 0 and explainable(model):  # explained requests of these users: lookups too
            started = time.perf_counter()
            stored = precompute_explanations(model, top_lists, explained_per_user)
            top_lists = dataclasses.replace(top_lists, explained=stored)
            if stored.every_candidate:  # no explanation of these lists reads the rows any more
                top_lists = dataclasses.replace(top_lists, rows=None, row_ptr=None)
                extra["top_lists_rows_mb"] = 0
            extra |= {
                "explanations_seconds": round(time.perf_counter() - started, 3),
                "explanations_per_user": explained_per_user,
                "explanations_every_candidate": stored.every_candidate,
                "explanations_mb": round(stored.nbytes / 1e6, 1),
            }
    root = artifacts_root / dataset
    version = save_model(
        model,
        root,
        metrics={"train_seconds": round(seconds, 3), "n_events": len(events), **extra, **chosen},
        meta={"dataset": dataset, "max_event_id": max_id},
        top_lists=top_lists,
    )
    label = f"{model_name}:{version}"
    store.register_model_version(
        version_key(dataset, label),
        model_name,
        dataset,
        str(root / model_name / version),
        {"train_seconds": round(seconds, 3), "max_event_id": max_id, "label": label, **chosen},
        activate=activate,
    )
    log.info("trained model", extra={"dataset": dataset, "version": label, "seconds": round(seconds, 2)})
    return label


def _side_info(store: Store, model: Any) -> dict[str, Any]:
    """The stored catalog and user attributes (and an automatic holdout) for the ``fit`` keywords that
    ``model`` accepts; category lists are joined back into ``|``-separated strings, user attributes
    become columns."""
    from tuijian.evaluate.runner import side_info_kwargs
    from tuijian.models.holdout import Holdout

    items = store.items_frame()
    if len(items):
        items["category"] = ["|".join(map(str, c)) if isinstance(c, list) else c for c in items["category"]]
    users = store.users_frame()
    if len(users):  # one column per stored attribute (gender, age, ...), as the dataset loaders give them
        attrs = pd.json_normalize(list(users["attributes"]))
        users = pd.concat([users[["user_id"]], attrs.set_axis(users.index)], axis=1)
    return side_info_kwargs(
        model, items=items if len(items) else None, users=users if len(users) else None, holdout=Holdout()
    )


def version_key(dataset: str, label: str) -> str:
    return f"{dataset}/{label}"


def load_snapshot(store: Store, row: dict[str, Any]) -> Snapshot:
    """Build a serving snapshot for a ``model_versions`` row."""
    from tuijian.models.artifacts import load_model, load_top_lists, read_config

    folder = Path(row["path"])
    root, name, version = folder.parent.parent, folder.parent.name, folder.name
    if not folder.is_dir():
        raise ModelNotFoundError(
            f"artifact {folder} of version {row['version']} is missing; retrain with POST /v1/admin/retrain"
        )
    model = load_model(root, name, version)
    config = read_config(root, name, version)
    max_id = int((config.get("meta") or {}).get("max_event_id", row["metrics"].get("max_event_id", 0)))
    catalog = Catalog.build(model.interactions_.items.ids, store.items_frame())
    snap = Snapshot(
        version=f"{name}:{version}",
        model=model,
        trained_max_event_id=max_id,
        catalog=catalog,
        info={"dataset": row["dataset"], "path": str(folder), "loaded_at": time.time()},
        top_lists=load_top_lists(root, name, version, model),
    )
    _warm(snap)
    return snap


def _warm(snap: Snapshot) -> None:
    """Run the explanation path once before the snapshot serves (:func:`~tuijian.explain.pipeline.
    warm_explanations`): its lazily built tables would otherwise cost the first explained request of every
    worker ~0.3 s (Beauty's hybrid), and the requests queued behind it. A failure here is logged and left to
    the request that meets it, which answers with the service's usual error."""
    from tuijian.explain.pipeline import warm_explanations

    start = time.perf_counter()
    try:
        warm_explanations(snap.pipeline, snap.catalog.records)
    except Exception:  # noqa: BLE001 - serving goes on; the explained request will report the error
        log.warning("warming the explanations of %s failed", snap.version, exc_info=True)
        return
    snap.info["explain_warm_seconds"] = round(time.perf_counter() - start, 3)


def ensure_version(
    store: Store, dataset: str, artifacts_root: Path, model_name: str, data_dir: str | None = None
) -> str:
    """Make sure an active version exists for ``dataset`` (bootstrap data and train if needed)."""
    row = store.active_model_version(dataset)
    if row is not None and Path(row["path"]).is_dir():
        return row["metrics"].get("label") or row["version"]
    bootstrap_dataset(store, dataset, data_dir)
    return train_version(store, dataset, artifacts_root, model_name)


class VersionWatcher:
    """Polls the active version of a dataset and calls ``on_change(snapshot)`` when it changes.

    Also rebuilds the catalog when items change. Runs in a daemon thread; ``stop()`` ends it.
    """

    def __init__(
        self, store: Store, dataset: str, on_change: Callable[[Snapshot], None], poll_seconds: float = 2.0
    ) -> None:
        self.store = store
        self.dataset = dataset
        self.on_change = on_change
        self.poll_seconds = poll_seconds
        self.current: str | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Load the active version if it differs from the current one; True if swapped."""
        row = self.store.active_model_version(self.dataset)
        if row is None or row["version"] == self.current:
            return False
        snap = load_snapshot(self.store, row)
        self.on_change(snap)
        self.current = row["version"]
        log.info("model swapped in", extra={"version": snap.version, "dataset": self.dataset})
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tuijian-version-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.check()
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - keep serving the current model, report on /ready
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("version check failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
