"""Interactions, MLlib ALS, item-item cosine similarities and batch top lists on Spark.

Each step ends in the object the local path builds, so the service scores it with its own code:

* :func:`build_interactions`: the cleaned events become the :class:`~tuijian.data.interactions.Interactions`
  that :meth:`Interactions.from_events` builds (same id order: first appearance in time order; same weights);
  the weights are computed and summed per (user, item) in Spark, only the result comes to the driver;
* :func:`train_als`: Spark MLlib ALS (implicit preferences) gives the factors of a
  :class:`tuijian.models.mf.ALS`, saved and served exactly like a locally trained one;
* :func:`item_similarities`: the cosine item-item matrix of :class:`tuijian.models.knn.ItemKNN` (binary
  histories, each target item's ``n_neighbors`` best), from co-occurrence counts in Spark;
* :func:`top_lists`: every user's top ``n`` scored on the executors (``mapInPandas``), checked bit for bit
  against the model's own ``recommend`` for sampled users like :func:`tuijian.models.toplists.precompute_top_lists`.

MLlib's ALS differs from ``implicit``'s in two parameters: confidence is ``1 + alpha * r`` (``implicit``:
``alpha * r``) and the L2 term of a user (item) is ``reg`` times its number of interactions (ALS-WR).
:func:`train_als` takes the local parameters and converts: Spark ``alpha = alpha - 1`` on binary data, and
``regParam = reg / typical count`` (the median interactions per user); the served model keeps the local
``reg`` for fold-in.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.interactions import Interactions, WeightConfig
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError

log = logging.getLogger("tuijian.spark")


def build_interactions(
    events: Any, weights: WeightConfig | None = None, *, scratch: str | Path | None = None
) -> Interactions:
    """The :class:`Interactions` of a Spark events frame (columns ``user``, ``item``, ``kind``, ``value``,
    ``ts`` and ``raw_row`` for the order), identical to ``Interactions.from_events`` on the same events
    sorted by (``ts``, ``raw_row``). The weighted, sorted log is written by Spark to Parquet under
    ``scratch`` and read back one batch at a time into compact arrays (int ids, int8 kinds): the driver
    never collects rows."""
    from pyspark.sql import functions as F

    weights = weights or WeightConfig()
    kinds = {str(k): float(v) for k, v in weights.kind_weights.items()}
    ev = events.where(F.col("item").isNotNull()).select(
        F.col("user").cast("string").alias("user"),
        F.col("item").cast("string").alias("item"),
        F.col("kind").cast("string").alias("kind"),
        F.col("value").cast("double").alias("value"),
        F.unix_seconds("ts").alias("ts"),
        F.col("raw_row"),
    )
    unknown = [r["kind"] for r in ev.select("kind").distinct().collect() if r["kind"] not in kinds]
    if unknown:
        raise ConfigError(
            f"no weight configured for event kind(s) {sorted(unknown)}; configured: {sorted(kinds)}"
        )
    order = F.struct("ts", "raw_row")
    users = _vocabulary(ev, "user", order)
    items = _vocabulary(ev, "item", order)
    spark = events.sparkSession
    u_map = spark.createDataFrame(pd.DataFrame({"user": users.ids, "u": np.arange(len(users))}))
    i_map = spark.createDataFrame(pd.DataFrame({"item": items.ids, "i": np.arange(len(items))}))
    kind_map = F.create_map(*[x for k, v in kinds.items() for x in (F.lit(k), F.lit(v))])
    w = kind_map[F.col("kind")]
    if weights.use_value:
        w = w * F.log1p(F.greatest(F.col("value"), F.lit(0.0)))
    if weights.half_life_days is not None:
        newest = ev.agg(F.max("ts")).first()[0]
        w = w * F.pow(
            F.lit(0.5), (F.lit(newest) - F.col("ts")) / F.lit(86400.0) / F.lit(weights.half_life_days)
        )
    kind_names = sorted(kinds)
    kind_code = F.create_map(*[x for n, k in enumerate(kind_names) for x in (F.lit(k), F.lit(n))])
    logged = (
        ev.join(F.broadcast(u_map), "user")
        .join(F.broadcast(i_map), "item")
        .select(
            F.col("u").cast("int").alias("u"),
            F.col("i").cast("int").alias("i"),
            "ts",
            kind_code[F.col("kind")].cast("byte").alias("kind"),
            "value",
            w.alias("weight"),
            "raw_row",
        )
    )
    sorted_log = logged.orderBy("u", "ts", "raw_row").drop("raw_row")
    with _scratch(scratch) as folder:
        frame = _read_log(_write(sorted_log, folder / "log"), np.array(kind_names, dtype=object))
    return Interactions.from_log(frame, users, items, weights.aggregation)


@contextmanager
def _scratch(folder: str | Path | None) -> Iterator[Path]:
    """A fresh folder for the Parquet files the driver reads back (removed afterwards): under ``folder``,
    else the system's temporary folder. On a cluster it must be a path the driver and executors share."""
    path = Path(tempfile.mkdtemp(prefix="tuijian-spark-", dir=folder))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _write(frame: Any, path: Path) -> list[Path]:
    """Write ``frame`` as Parquet (one file per partition, partition order = file name order); its files."""
    frame.write.mode("overwrite").parquet(str(path))
    return sorted(path.glob("part-*.parquet"))


def _read_log(files: list[Path], kind_names: np.ndarray) -> pd.DataFrame:
    """The sorted log from ``files``, read one record batch at a time into arrays allocated once (the
    driver never holds more than the final columns and one batch)."""
    import pyarrow.parquet as pq

    n = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    cols = {
        "u": np.empty(n, np.int64),
        "i": np.empty(n, np.int64),
        "ts": np.empty(n, np.int64),
        "kind": np.empty(n, np.int8),
        "value": np.empty(n, np.float64),
        "weight": np.empty(n, np.float64),
    }
    at = 0
    for f in files:
        for batch in pq.ParquetFile(f).iter_batches(batch_size=200_000, columns=list(cols)):
            m = batch.num_rows
            for name, out in cols.items():
                out[at : at + m] = batch.column(name).to_numpy(zero_copy_only=False)
            at += m
    frame = pd.DataFrame({k: v for k, v in cols.items() if k != "kind"})
    frame.insert(3, "kind", kind_names[cols.pop("kind")])
    return frame


def _vocabulary(ev: Any, col: str, order: Any) -> Vocabulary:
    """Ids in order of first appearance when events are sorted by ``order`` (``Vocabulary.from_values``)."""
    from pyspark.sql import functions as F

    first = ev.groupBy(col).agg(F.min(order).alias("first")).orderBy("first").select(col)
    return Vocabulary([r[0] for r in first.collect()])


def matrix_frame(spark: Any, matrix: sp.csr_matrix) -> Any:
    """A users x items matrix as a Spark frame of ``(user, item, rating)`` triplets."""
    coo = sp.coo_matrix(matrix)
    frame = pd.DataFrame(
        {
            "user": coo.row.astype(np.int32),
            "item": coo.col.astype(np.int32),
            "rating": coo.data.astype(np.float32),
        }
    )
    return spark.createDataFrame(frame)


def spark_als_params(matrix: sp.csr_matrix, params: Mapping[str, Any]) -> dict[str, Any]:
    """MLlib ALS settings equivalent to the local :class:`tuijian.models.mf.ALS` ``params`` (module docstring)."""
    counts = np.diff(sp.csr_matrix(matrix).indptr)
    typical = float(np.median(counts[counts > 0])) if (counts > 0).any() else 1.0
    alpha = float(params.get("alpha", 1.0))
    return {
        "rank": int(params.get("n_factors", 64)),
        "maxIter": int(params.get("n_iterations", 15)),
        "regParam": float(params.get("reg", 0.01)) / typical,
        "alpha": max(alpha - 1.0, 0.0),
        "seed": int(params.get("random_state", 42)),
    }


def train_als(
    ratings: Any,
    n_users: int,
    n_items: int,
    params: Mapping[str, Any],
    *,
    spark_params: Mapping[str, Any] | None = None,
    blocks: int | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Fit MLlib ALS on ``(user, item, rating)`` triplets (dense indices); returns float32 user and item
    factors (rows of indices Spark never saw are zero) and the Spark settings used."""
    from pyspark.ml.recommendation import ALS as SparkALS

    settings = dict(spark_params or {})
    spark = ratings.sparkSession
    parallelism = spark.sparkContext.defaultParallelism
    blocks = blocks or max(1, min(10, parallelism))
    est = SparkALS(
        implicitPrefs=True,
        userCol="user",
        itemCol="item",
        ratingCol="rating",
        nonnegative=False,
        numUserBlocks=blocks,
        numItemBlocks=blocks,
        checkpointInterval=5,
        coldStartStrategy="nan",
        **settings,
    )
    started = time.perf_counter()
    fitted = est.fit(ratings)
    user_f = _factors(fitted.userFactors, n_users, settings["rank"])
    item_f = _factors(fitted.itemFactors, n_items, settings["rank"])
    settings["seconds"] = round(time.perf_counter() - started, 3)
    settings["blocks"] = blocks
    del params
    return user_f, item_f, settings


def _factors(frame: Any, n: int, rank: int) -> np.ndarray:
    pdf = frame.toPandas()
    out = np.zeros((n, rank), dtype=np.float32)
    if len(pdf):
        out[pdf["id"].to_numpy(np.int64)] = np.stack(pdf["features"].to_numpy()).astype(np.float32)
    return out


def als_model(
    inter: Interactions, user_factors: np.ndarray, item_factors: np.ndarray, params: Mapping[str, Any]
) -> Any:
    """A fitted :class:`tuijian.models.mf.ALS` holding Spark's factors (scored, saved and served as any)."""
    from tuijian.models.mf import ALS

    model = ALS(**dict(params))
    model.interactions_ = inter
    model._seq_cache = None
    model.user_factors_ = np.ascontiguousarray(user_factors, dtype=np.float32)
    model.item_factors_ = np.ascontiguousarray(item_factors, dtype=np.float32)
    model._native = None
    return model


def item_similarities(pairs: Any, n_items: int, n_neighbors: int = 100) -> sp.csr_matrix:
    """Cosine similarity of binary item columns, each target item's ``n_neighbors`` best (positive, never
    itself), as ``ItemKNN.similarity_``: float32 CSR ``neighbour x target``. ``pairs``: distinct
    ``(user, item)`` index pairs in Spark."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not isinstance(n_neighbors, int) or n_neighbors < 1:
        raise ConfigError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
    x = pairs.select(F.col("user").alias("u"), F.col("item").alias("i")).distinct()
    norms = x.groupBy("i").agg(F.sqrt(F.count("*").cast("double")).alias("norm"))
    a, b = x.alias("a"), x.alias("b")
    co = (
        a.join(b, F.col("a.u") == F.col("b.u"))
        .where(F.col("a.i") != F.col("b.i"))
        .groupBy(F.col("a.i").alias("target"), F.col("b.i").alias("neighbour"))
        .agg(F.count("*").cast("double").alias("co"))
    )
    sims = (
        co.join(norms.select(F.col("i").alias("target"), F.col("norm").alias("nt")), "target")
        .join(norms.select(F.col("i").alias("neighbour"), F.col("norm").alias("nn")), "neighbour")
        .select("target", "neighbour", (F.col("co") / (F.col("nt") * F.col("nn"))).alias("sim"))
    )
    rank = F.row_number().over(Window.partitionBy("target").orderBy(F.desc("sim"), F.asc("neighbour")))
    top = sims.where(F.col("sim") > 0).select("*", rank.alias("r")).where(F.col("r") <= n_neighbors)
    pdf = top.select("neighbour", "target", "sim").toPandas()
    w = sp.csr_matrix(
        (
            pdf["sim"].to_numpy(np.float32),
            (pdf["neighbour"].to_numpy(np.int64), pdf["target"].to_numpy(np.int64)),
        ),
        shape=(n_items, n_items),
        dtype=np.float32,
    )
    w.sort_indices()
    return w


def item_knn_model(inter: Interactions, similarity: sp.csr_matrix, n_neighbors: int) -> Any:
    """A fitted :class:`tuijian.models.knn.ItemKNN` (cosine, binary) holding Spark's similarities."""
    from tuijian.models.knn import ItemKNN

    model = ItemKNN(similarity="cosine", n_neighbors=n_neighbors, binary=True)
    model.interactions_ = inter
    model._seq_cache = None
    model._similar_ = None
    model._ptr_list_ = None
    model.similarity_ = similarity
    return model


#: users scored per matrix product on an executor: bounds a Python worker's scores to
#: ``SCORE_ROWS x n_items`` floats (256 x 1M items = 1 GB) whatever Arrow's batch size
SCORE_ROWS = 256


def _top_rows(batches: Any, item_factors: Any, n: int, per_user: bool) -> Any:
    """mapInPandas body: each user's ``n`` best items by ``user_vec @ item_factors.T`` (float32), in
    products of :data:`SCORE_ROWS` users (one at a time if ``per_user``), by the local model's own product
    (:func:`~tuijian.models.mf.factor_scores`: the same bits for a user alone or in a batch)."""
    from tuijian.models.base import topk
    from tuijian.models.mf import factor_scores

    items = item_factors.value
    for pdf in batches:
        if pdf.empty:
            continue
        vecs = np.stack(pdf["features"].to_numpy()).astype(np.float32)
        step = 1 if per_user else SCORE_ROWS
        parts = [topk(factor_scores(vecs[r : r + step], items), n) for r in range(0, len(vecs), step)]
        ids = np.concatenate([p[0] for p in parts])
        scores = np.concatenate([p[1] for p in parts])
        yield pd.DataFrame(
            {"id": pdf["id"].to_numpy(), "ids": list(ids.astype(np.int32)), "scores": list(scores)}
        )


def top_lists(
    spark: Any, model: Any, n: int, *, check_users: int = 32, scratch: str | Path | None = None
) -> Any:
    """Every trained user's top ``n`` (``recommend(users, n, exclude_seen=False)``) scored on Spark, as the
    :class:`~tuijian.models.toplists.TopLists` that ``save_model`` stores; checked bit for bit against the
    model for ``check_users`` sampled users, else scored again one user at a time. The lists are written
    to Parquet under ``scratch`` and read back a batch at a time into the two ``users x n`` arrays."""
    from tuijian.models.toplists import TopLists

    n_users, n_items = model.interactions_.n_users, model.n_items
    n = min(int(n), n_items)
    factors = pd.DataFrame({"id": np.arange(n_users, dtype=np.int64), "features": list(model.user_factors_)})
    users = spark.createDataFrame(factors).repartition(max(1, spark.sparkContext.defaultParallelism))
    bcast = spark.sparkContext.broadcast(model.item_factors_)
    schema = "id long, ids array<int>, scores array<float>"
    ids = np.full((n_users, n), -1, dtype=np.int32)
    scores = np.full((n_users, n), -np.inf, dtype=np.float32)
    try:
        for how in ("batch", "per-user"):
            rows = users.mapInPandas(lambda it, per=(how == "per-user"): _top_rows(it, bcast, n, per), schema)
            with _scratch(scratch) as folder:
                _read_top(_write(rows, folder / "top"), n, ids, scores)
            check = np.unique(np.linspace(0, n_users - 1, min(check_users, n_users)).astype(np.int64))
            if all(_same(model, int(u), n, ids[u], scores[u]) for u in check.tolist()):
                return TopLists(ids=ids, scores=scores, n_items=n_items, scored=how)
            log.warning("Spark top lists differ from one-user requests; scoring one user at a time")
    finally:
        bcast.unpersist()
    raise ConfigError("Spark top lists differ from the model's own scores even one user at a time")


def _read_top(files: list[Path], n: int, ids: np.ndarray, scores: np.ndarray) -> None:
    """Fill ``ids`` and ``scores`` (``users x n``) from the top-list files, one record batch at a time."""
    import pyarrow.parquet as pq

    for f in files:
        for batch in pq.ParquetFile(f).iter_batches(batch_size=20_000):
            rows = batch.column("id").to_numpy()
            ids[rows] = batch.column("ids").flatten().to_numpy().reshape(len(rows), n)
            scores[rows] = batch.column("scores").flatten().to_numpy().reshape(len(rows), n)


def _same(model: Any, user: int, n: int, ids: np.ndarray, scores: np.ndarray) -> bool:
    got_ids, got_scores = model.recommend(user, n, exclude_seen=False)
    return bool(np.array_equal(got_ids, ids) and np.array_equal(got_scores, scores))
