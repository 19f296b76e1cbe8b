"""The Spark path end to end: raw Parquet logs -> cleaning -> interactions -> ALS and item-item
similarities -> batch top lists -> versioned artifacts that ``tuijian serve`` loads unchanged.

Artifacts go where the service's own training puts them, ``<home>/artifacts/<dataset>/<model>/vNNNN``, in the
same format (:func:`tuijian.models.artifacts.save_model`): ``als`` (factors, id maps, training interactions,
``toplists.npz``) and ``item-knn`` (the similarity matrix). With a database URL the ALS version is
registered in the store's ``model_versions`` table, activated if asked, and every running worker hot-swaps
to it (:class:`tuijian.service.versions.VersionWatcher`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from tuijian.data.interactions import WeightConfig
from tuijian.exceptions import ConfigError
from tuijian.models.toplists import TOP_N

log = logging.getLogger("tuijian.spark")

#: the local ALS settings the Spark path trains by default (converted by :func:`training.spark_als_params`)
DEFAULT_ALS: dict[str, Any] = {
    "n_factors": 64,
    "reg": 1.0,
    "alpha": 10.0,
    "n_iterations": 15,
    "random_state": 42,
}


def run_pipeline(
    logs: str | Path,
    *,
    home: str | Path,
    dataset: str,
    spark: Any = None,
    master: str | None = None,
    als_params: dict[str, Any] | None = None,
    n_neighbors: int = 100,
    top_n: int = TOP_N,
    database_url: str | None = None,
    activate: bool = True,
    item_knn: bool = True,
    scratch: str | Path | None = None,
) -> dict[str, Any]:
    """Run the whole Spark path over the raw log at ``logs``; returns what was written and how long each
    step took. ``spark``: an existing session (else one is built for ``master``). ``scratch``: where Spark
    writes the sorted log and the top lists for the driver to read back in batches (default: the system's
    temporary folder; on a cluster, a folder the driver and the executors share)."""
    from tuijian.models.artifacts import save_model
    from tuijian.spark import training as T
    from tuijian.spark.cleaning import clean_online_retail, cleaning_counts
    from tuijian.spark.logs import read_raw
    from tuijian.spark.session import spark_session, storage_level

    if not dataset or "/" in dataset:
        raise ConfigError(f"dataset must be a plain name (it names the artifact folder), got {dataset!r}")
    params = {**DEFAULT_ALS, **(als_params or {})}
    spark = spark or spark_session(master)
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal started
        seconds[step] = round(time.perf_counter() - started, 3)
        log.info("spark step done", extra={"step": step, "seconds": seconds[step]})
        started = time.perf_counter()

    cleaned = clean_online_retail(read_raw(spark, logs), dataset=dataset)
    events = cleaned.events.persist(storage_level(spark))
    lap("clean")
    inter = T.build_interactions(events, WeightConfig(), scratch=scratch)
    events.unpersist()
    lap("interactions")
    ratings = T.matrix_frame(spark, inter.matrix).persist(storage_level(spark))
    spark_params = T.spark_als_params(inter.matrix, params)
    user_f, item_f, used = T.train_als(
        ratings, inter.n_users, inter.n_items, params, spark_params=spark_params
    )
    model = T.als_model(inter, user_f, item_f, params)
    lap("als")
    lists = T.top_lists(spark, model, top_n, scratch=scratch)
    lap("top_lists")

    home = Path(home)
    root = home / "artifacts" / dataset
    store = _open_store(database_url) if database_url else None
    max_id = store.max_event_id() if store is not None else 0
    meta = {"dataset": dataset, "max_event_id": max_id, "trained_by": "spark", "logs": str(logs)}
    version = save_model(
        model,
        root,
        metrics={"train_seconds": seconds["als"], "n_events": len(inter.log), "spark": used,
                 "top_lists_n": lists.n, "top_lists_scored": lists.scored},
        meta={**meta, "spark_als": used},
        top_lists=lists,
    )  # fmt: skip
    out: dict[str, Any] = {
        "dataset": dataset,
        "master": spark.sparkContext.master,
        "cleaning": cleaning_counts(cleaned.report),
        "interactions": {
            "users": inter.n_users,
            "items": inter.n_items,
            "nnz": inter.nnz,
            "events": len(inter.log),
        },
        "als": {"path": str(root / "als" / version), "version": version, "spark": used},
    }
    cleaned.report.to_json(root / "als" / version / "cleaning.json")
    if item_knn:
        sim = T.item_similarities(ratings, inter.n_items, n_neighbors)
        knn = T.item_knn_model(inter, sim, n_neighbors)
        knn_version = save_model(knn, root, metrics={"n_events": len(inter.log)}, meta=meta)
        out["item_knn"] = {
            "path": str(root / "item-knn" / knn_version),
            "version": knn_version,
            "nnz": int(sim.nnz),
        }
        lap("item_knn")
    ratings.unpersist()
    if store is not None:
        from tuijian.service.versions import version_key

        store.add_items(cleaned.items)
        label = f"als:{version}"
        store.register_model_version(
            version_key(dataset, label), "als", dataset, str(root / "als" / version),
            {"train_seconds": seconds["als"], "max_event_id": max_id, "label": label, "trained_by": "spark"},
            activate=activate,
        )  # fmt: skip
        store.close()
        out["registered"] = {"version": label, "active": activate}
    out["seconds"] = seconds
    return out


def _open_store(url: str) -> Any:
    from tuijian.store import open_store

    return open_store(url)
