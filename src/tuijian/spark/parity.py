"""Spark against the local path on the same raw log and the same split.

1. The raw Online Retail CSV is written once as Parquet (:func:`tuijian.spark.logs.write_raw_parquet`);
   both cleaners read that file. Their :func:`~tuijian.spark.cleaning.cleaning_counts` must be equal, and the
   cleaned events too (user, item, quantity, time, invoice, line, in the same order).
2. Each path's events go through the ``time`` protocol (test = the last 30 days, validation the 30 before;
   fit on train + valid). The two splits are checked to be the same matrices.
3. The local :class:`~tuijian.models.mf.ALS` (``implicit``) and Spark MLlib ALS are fitted with the same
   settings (:func:`tuijian.spark.training.spark_als_params` converts them) and scored by the same
   :func:`tuijian.evaluate.runner.evaluate_model`: the Spark factors are served by the local ALS class.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from tuijian.exceptions import ConfigError
from tuijian.spark.pipeline import DEFAULT_ALS

#: datasets with an Online Retail-shaped raw log, and the file under the dataset root
RAW_LOGS: dict[str, str] = {"online-retail": "online_retail.csv.gz", "online-retail-demo": ""}


def _raw_csv(dataset: str, data_dir: str | None) -> Path:
    from tuijian.data.datasets import dataset_path, demo_file

    if dataset not in RAW_LOGS:
        raise ConfigError(f"parity runs on a raw Online Retail log: {', '.join(RAW_LOGS)}; got {dataset!r}")
    if dataset == "online-retail-demo":
        return demo_file(dataset)
    return dataset_path(dataset, data_dir) / RAW_LOGS[dataset]


def run_parity(
    dataset: str = "online-retail",
    *,
    data_dir: str | None = None,
    master: str | None = None,
    spark: Any = None,
    als_params: dict[str, Any] | None = None,
    work_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Clean, split, train and score both ways; returns the parity record (see the module docstring)."""
    from pyspark import StorageLevel

    from tuijian.data.cleaning import clean_online_retail, read_online_retail
    from tuijian.data.schema import EVENT_COLUMNS
    from tuijian.evaluate.protocols import make_protocol
    from tuijian.evaluate.runner import evaluate_model
    from tuijian.models.mf import ALS
    from tuijian.spark import training as T
    from tuijian.spark.cleaning import clean_online_retail as spark_clean
    from tuijian.spark.cleaning import cleaning_counts
    from tuijian.spark.logs import read_raw, read_raw_pandas, write_raw_parquet
    from tuijian.spark.session import spark_session

    params = {**DEFAULT_ALS, **(als_params or {})}
    seconds: dict[str, float] = {}
    tmp = tempfile.TemporaryDirectory(prefix="tuijian-parity-") if work_dir is None else None
    work = Path(work_dir) if work_dir is not None else Path(tmp.name)  # type: ignore[union-attr]
    try:
        t0 = time.perf_counter()
        logs = write_raw_parquet(read_online_retail(_raw_csv(dataset, data_dir)), work / "raw")
        seconds["parquet"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        local_events, _, local_report = clean_online_retail(read_raw_pandas(logs), dataset=dataset)
        seconds["local_clean"] = time.perf_counter() - t0

        spark = spark or spark_session(master)
        t0 = time.perf_counter()
        cleaned = spark_clean(read_raw(spark, logs), dataset=dataset)
        spark_events = cleaned.events.orderBy("ts", "raw_row").toPandas()
        seconds["spark_clean"] = time.perf_counter() - t0
        spark_events["ts"] = pd.to_datetime(spark_events["ts"]).dt.tz_localize("UTC")
        same_events = _same_events(local_events, spark_events)

        splits = {}
        for name, ev in (("local", local_events), ("spark", spark_events)):
            ev = ev.assign(text=None)[list(EVENT_COLUMNS)]
            splits[name] = make_protocol("time", SimpleNamespace(name=dataset, events=ev))
        same_split = all(
            (getattr(splits["local"], part).matrix != getattr(splits["spark"], part).matrix).nnz == 0
            and list(getattr(splits["local"], part).users.ids)
            == list(getattr(splits["spark"], part).users.ids)
            for part in ("train", "valid", "test")
        )
        stage_l, stage_s = splits["local"].stage("test"), splits["spark"].stage("test")

        t0 = time.perf_counter()
        local_model = ALS(**params).fit(stage_l.fit)
        seconds["local_als"] = time.perf_counter() - t0
        local_metrics = evaluate_model(local_model, stage_l, (10,))

        t0 = time.perf_counter()
        ratings = T.matrix_frame(spark, stage_s.fit.matrix).persist(StorageLevel.MEMORY_AND_DISK)
        spark_params = T.spark_als_params(stage_s.fit.matrix, params)
        user_f, item_f, used = T.train_als(
            ratings, stage_s.fit.n_users, stage_s.fit.n_items, params, spark_params=spark_params
        )
        ratings.unpersist()
        seconds["spark_als"] = time.perf_counter() - t0
        spark_model = T.als_model(stage_s.fit, user_f, item_f, params)
        spark_metrics = evaluate_model(spark_model, stage_s, (10,))
    finally:
        if tmp is not None:
            tmp.cleanup()
    local_counts, spark_counts = cleaning_counts(local_report), cleaning_counts(cleaned.report)
    l_ndcg, s_ndcg = float(local_metrics["ndcg@10"]), float(spark_metrics["ndcg@10"])
    return {
        "dataset": dataset,
        "master": spark.sparkContext.master,
        "local_counts": local_counts,
        "spark_counts": spark_counts,
        "counts_equal": local_counts == spark_counts,
        "events_equal": same_events,
        "split_equal": bool(same_split),
        "protocol": "time (test phase: fit on train + valid)",
        "users_evaluated": int(local_metrics["n_users_evaluated"]),
        "local_ndcg@10": l_ndcg,
        "spark_ndcg@10": s_ndcg,
        "ndcg_relative_difference": abs(s_ndcg - l_ndcg) / l_ndcg if l_ndcg else float("nan"),
        "local_hr@10": float(local_metrics["hr@10"]),
        "spark_hr@10": float(spark_metrics["hr@10"]),
        "als_params": params,
        "spark_als_params": used,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }


def _same_events(local: pd.DataFrame, spark: pd.DataFrame) -> bool:
    """Both cleaners' events, row for row (``ts`` to the second, values exactly)."""
    if len(local) != len(spark):
        return False
    for col in ("user", "item", "session", "raw_row", "value", "price"):
        if not np.array_equal(local[col].to_numpy(), spark[col].to_numpy()):
            return False
    lt = pd.to_datetime(local["ts"], utc=True).astype("int64").to_numpy()
    st = pd.to_datetime(spark["ts"], utc=True).astype("int64").to_numpy()
    return bool(np.array_equal(lt, st))
