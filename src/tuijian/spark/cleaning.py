"""The Online Retail cleaner of :mod:`tuijian.data.cleaning`, rule for rule, on Spark.

Every raw line is kept or removed for exactly one reason, the first rule of
:data:`~tuijian.data.cleaning.REMOVAL_RULES` that applies, and the result is the same
:class:`~tuijian.data.cleaning.CleaningReport` (same removal and change counts, same details) that the local
cleaner writes for the same lines, whatever the partitioning. How each order-dependent rule is kept exact:

* ``duplicate``: the copy with the lowest ``row`` of each group of equal raw lines is the first;
* cancellation netting runs per (customer, StockCode) group in a pandas function (``applyInPandas``), with
  the local cleaner's order: cancellations by (time, row), each against the latest earlier purchases (ties
  in time by ``row``). It must be a grouping operator: ``repartition(cust, code)`` followed by
  ``mapInPandas`` (this module's first version) loses the grouping when the optimizer drops the repartition
  as redundant after the sort-merge semi-join on the same keys and adaptive execution then turns that join
  into a broadcast join reading the shuffle per map task (``AQEShuffleRead local``): a group's lines are
  split over several calls, netted apart, and the counts depend on the partitioning (seen at 2.4M lines, once
  the cached frame outgrows the broadcast threshold). ``applyInPandas`` requires its grouping, so Spark
  keeps it or reshuffles;
* ``outlier_account``: per-account line and distinct-item counts (integers) come to the driver and go
  through the local cleaner's own :func:`~tuijian.data.cleaning._modified_z` (medians, no sums: no
  dependence on the order of the rows);
* titles: the most frequent description per item, ties to the one seen first (lowest ``row``).

Only per-item and per-account summaries (the catalog, flagged accounts) come back to the driver; the events
and the per-line outcome stay Spark DataFrames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tuijian.data.cleaning import (
    CHANGE_RULES,
    PRODUCT_CODE,
    RAW_COLUMNS,
    REMOVAL_RULES,
    CleaningReport,
    _modified_z,
)
from tuijian.spark.logs import ROW

#: Python's ``str.strip()`` (any whitespace, Unicode included) as a Java regex
_STRIP = r"(?U)^\s+|\s+$"


@dataclass
class SparkCleaned:
    """What :func:`clean_online_retail` returns: ``events`` (Spark: user, item, kind, value, ts, session,
    price, country, raw_row), the item catalog (pandas, as the local cleaner's), the report, and ``lines``
    (Spark: every raw line's ``row``, its removal ``reason``, null when kept, and its quantity after
    netting, ``net_qty``)."""

    events: Any
    items: pd.DataFrame
    report: CleaningReport
    lines: Any = None


def _net_group(pdf: pd.DataFrame) -> pd.DataFrame:
    """Net one (customer, StockCode) group's cancellations against its purchases, as
    :func:`tuijian.data.cleaning._net_cancellations` does (same order, same bisection)."""
    import bisect

    pdf = pdf.sort_values(["t", ROW], kind="stable")
    is_c = pdf["is_c"].to_numpy(bool)
    t = pdf["t"].to_numpy(np.int64)
    qty = pdf["qty"].to_numpy(np.int64).copy()
    rows = pdf[ROW].to_numpy(np.int64)
    purchases = np.flatnonzero(~is_c)
    times = t[purchases].tolist()
    reason = np.full(len(pdf), "", dtype=object)
    netted = np.zeros(len(pdf), dtype=np.int64)
    unmatched = np.zeros(len(pdf), dtype=np.int64)
    for c in np.flatnonzero(is_c):
        need = want = int(abs(qty[c]))
        j = bisect.bisect_right(times, t[c]) - 1
        while need > 0 and j >= 0:
            p = purchases[j]
            take = min(need, int(qty[p]))
            qty[p] -= take
            need -= take
            j -= 1
        netted[c], unmatched[c] = want - need, need
        reason[c] = (
            "cancellation_netted"
            if need == 0
            else "cancellation_unmatched"
            if need == want
            else "cancellation_partly_netted"
        )
    reason[~is_c & (qty == 0)] = "purchase_fully_cancelled"
    return pd.DataFrame(
        {ROW: rows, "net": qty, "net_reason": reason, "netted": netted, "unmatched": unmatched}
    )


def clean_online_retail(
    raw: Any, *, outlier_z: float | None = 3.5, dataset: str = "online-retail"
) -> SparkCleaned:
    """Clean a raw Online Retail Spark DataFrame (:func:`tuijian.spark.logs.read_raw`) like
    :func:`tuijian.data.cleaning.clean_online_retail`; ``outlier_z=None`` disables the outlier rule."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from tuijian.spark.session import storage_level

    level = storage_level(raw.sparkSession)

    def strip(col: Any) -> Any:
        return F.nullif(F.regexp_replace(col, _STRIP, ""), F.lit(""))

    def number(col: Any) -> Any:
        return F.col(col).try_cast("double")

    df = raw.select(
        *RAW_COLUMNS,
        F.col(ROW).cast("long").alias(ROW),
        strip(F.col("InvoiceNo")).alias("inv"),
        strip(F.upper(F.col("StockCode"))).alias("code"),
        F.nullif(F.regexp_replace(F.regexp_replace("CustomerID", _STRIP, ""), r"\.0$", ""), F.lit("")).alias(
            "cust"
        ),
        number("Quantity").alias("qty_f"),
        number("UnitPrice").alias("price"),
        F.coalesce(
            F.try_to_timestamp(F.col("InvoiceDate"), F.lit("yyyy-MM-dd HH:mm:ss")),
            F.col("InvoiceDate").try_cast("timestamp"),
        ).alias("ts"),
    )
    malformed = (
        F.col("inv").isNull()
        | F.col("code").isNull()
        | F.col("qty_f").isNull()
        | F.col("price").isNull()
        | F.col("ts").isNull()
    )
    first_copy = F.min(ROW).over(Window.partitionBy(*RAW_COLUMNS))
    is_c = F.coalesce(F.upper(F.col("inv")).startswith("C"), F.lit(False))
    qty = F.coalesce(F.col("qty_f"), F.lit(0.0)).cast("long")
    df = df.select(
        "*",
        qty.alias("qty"),
        is_c.alias("is_c"),
        F.when(malformed, "malformed_row")
        .when(F.col(ROW) != first_copy, "duplicate")
        .when(~F.col("code").rlike(f"^{PRODUCT_CODE.pattern}$"), "non_product_code")
        .when(~is_c & (qty <= 0), "stock_adjustment")
        .when(F.col("price") <= 0, "non_positive_price")
        .alias("reason0"),
    ).persist(level)

    # ---------------------------------------------------------------- cancellation netting
    alive = F.col("reason0").isNull()
    cancels = df.where(alive & F.col("is_c"))
    keys = cancels.where(F.col("cust").isNotNull()).select("cust", "code").distinct()
    netting_in = (
        df.where(alive & F.col("cust").isNotNull() & (F.col("is_c") | (F.col("qty") > 0)))
        .join(keys, ["cust", "code"], "left_semi")
        .select("cust", "code", ROW, F.unix_micros("ts").alias("t"), "qty", "is_c")
    )
    net_schema = f"{ROW} long, net long, net_reason string, netted long, unmatched long"
    # groupBy + applyInPandas, not repartition + mapInPandas: a group must reach one call whole, and only a
    # grouping operator makes Spark keep that (see the module docstring)
    netted = netting_in.groupBy("cust", "code").applyInPandas(_net_group, net_schema)
    df = (
        df.join(netted, ROW, "left")
        .select(
            "*",
            F.when(alive & F.col("is_c") & F.col("cust").isNull(), "cancellation_unmatched")
            .otherwise(F.coalesce(F.col("reason0"), F.nullif(F.col("net_reason"), F.lit(""))))
            .alias("reason1"),
            F.coalesce(F.col("net"), F.col("qty")).alias("net_qty"),
            F.when(alive & F.col("is_c") & F.col("cust").isNull(), F.abs(F.col("qty")))
            .otherwise(F.coalesce(F.col("unmatched"), F.lit(0)))
            .alias("units_unmatched"),
        )
        .persist(level)
    )
    details: dict[str, Any] = {}

    # ---------------------------------------------------------------- outlier accounts
    alive1 = F.col("reason1").isNull()
    flagged_accounts: dict[str, dict[str, int]] = {}
    if outlier_z is not None:
        # per-account figures are small beside the events: the z-scores are the local cleaner's own code
        stats = (
            df.where(alive1 & F.col("cust").isNotNull())
            .groupBy("cust", "code")
            .agg(F.count("*").alias("n"))
            .groupBy("cust")  # distinct codes as groups, not countDistinct (its hash aggregate needs memory)
            .agg(F.sum("n").alias("lines"), F.count("code").alias("items"))
            .toPandas()
        )
        if len(stats) >= 3:
            z_lines = _modified_z(np.log(stats["lines"].to_numpy(dtype=float)))
            z_items = _modified_z(np.log(stats["items"].to_numpy(dtype=float)))
            flagged = stats[(z_lines > outlier_z) | (z_items > outlier_z)].sort_values("cust")
            flagged_accounts = {
                str(r.cust): {"lines": int(r.lines), "distinct_items": int(r.items)}
                for r in flagged.itertuples(index=False)
            }
    flag_ids = list(flagged_accounts)
    outlier = alive1 & F.col("cust").isin(flag_ids) if flag_ids else F.lit(False)
    df = df.select("*", F.when(outlier, "outlier_account").otherwise(F.col("reason1")).alias("reason"))

    # ---------------------------------------------------------------- the account
    groups = (
        df.groupBy("reason", F.when(F.col("reason") == "non_product_code", F.col("code")).alias("nonprod"))
        .agg(F.count("*").alias("n"), F.sum("netted").alias("netted"), F.sum("units_unmatched").alias("unm"))
        .collect()
    )
    n_input = sum(int(r["n"]) for r in groups)
    by_reason: dict[str | None, int] = {}
    for r in groups:
        by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + int(r["n"])
    removed = {r: by_reason.get(r, 0) for r in REMOVAL_RULES}
    kept = df.where(F.col("reason").isNull())
    titles = _titles(kept, df)
    kept = kept.join(F.broadcast(titles), kept["code"] == titles["t_code"], "left").persist(level)
    anon = F.col("cust").isNull()
    desc_missing = F.col("Description").isNull()
    row = kept.agg(
        F.count("*").alias("kept"),
        F.sum((F.col("code") != F.col("StockCode")).cast("int")).alias("stock_code_normalised"),
        F.sum((F.col("net_qty") < F.col("qty_f")).cast("int")).alias("quantity_reduced_by_cancellation"),
        F.sum(anon.cast("int")).alias("anonymous_user"),
        F.sum((desc_missing & F.col("title").isNotNull()).cast("int")).alias("description_filled"),
        F.sum("net_qty").alias("units"),
    ).first()
    customers = kept.where(~anon).select("cust").distinct().count()
    anonymous_sessions = kept.where(anon).select("inv").distinct().count()
    changed = {r: int(row[r] or 0) for r in CHANGE_RULES}
    # one row per (item, distinct price) with its count: the exact median without holding every line's price
    items_sp = kept.groupBy("code", "title", "price").agg(F.count("*").alias("n"))
    items = _catalog(items_sp.toPandas())
    nonprod = [(r["nonprod"], int(r["n"])) for r in groups if r["reason"] == "non_product_code"]
    details["non_product_codes"] = dict(sorted(nonprod, key=lambda kv: (-kv[1], kv[0])))
    details["cancelled_units_netted"] = int(sum(int(r["netted"] or 0) for r in groups))
    details["cancelled_units_unmatched"] = int(sum(int(r["unm"] or 0) for r in groups))
    details["outlier_rule"] = {"modified_z_threshold": outlier_z, "accounts": flagged_accounts}
    details["kept"] = {
        "customers": int(customers),
        "anonymous_sessions": int(anonymous_sessions),
        "items": len(items),
        "items_without_category": int((items["category"] == "").sum()),
        "units": int(row["units"] or 0),
    }
    rules = {**REMOVAL_RULES, **CHANGE_RULES}
    rules["outlier_account"] = rules["outlier_account"].format(z=outlier_z)
    report = CleaningReport(dataset, n_input, int(row["kept"]), removed, changed, rules, details)
    report.check()
    events = kept.select(
        F.coalesce(F.col("cust"), F.concat(F.lit("anon:"), F.col("inv"))).alias("user"),
        F.col("code").alias("item"),
        F.lit("purchase").alias("kind"),
        F.col("net_qty").cast("double").alias("value"),
        F.col("ts"),
        F.col("inv").alias("session"),
        F.col("price"),
        F.col("Country").alias("country"),
        F.col(ROW).alias("raw_row"),
    )
    lines = df.select(ROW, "reason", "net_qty")
    return SparkCleaned(events=events, items=items, report=report, lines=lines)


def _most_common(frame: Any, value: str) -> Any:
    """Per ``code``, the most frequent non-null ``value``; ties to the value seen first (lowest row)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    counts = (
        frame.where(F.col("code").isNotNull() & F.col(value).isNotNull())
        .groupBy("code", value)
        .agg(F.count("*").alias("n"), F.min(ROW).alias("first"))
    )
    rank = F.row_number().over(Window.partitionBy("code").orderBy(F.desc("n"), F.asc("first")))
    return counts.select("code", value, rank.alias("rank")).where(F.col("rank") == 1).drop("rank")


def _titles(kept: Any, every: Any) -> Any:
    """Each item's title: the most common description of its kept lines, else of any line priced > 0."""
    from pyspark.sql import functions as F

    own = _most_common(kept, "Description").withColumnRenamed("Description", "own")
    lacking = kept.select("code").distinct().join(own, "code", "left_anti")
    fallback = _most_common(
        every.where(F.col("price") > 0).join(F.broadcast(lacking), "code", "left_semi"), "Description"
    ).withColumnRenamed("Description", "fallback")
    return own.join(fallback, "code", "full").select(
        F.col("code").alias("t_code"), F.coalesce("own", "fallback").alias("title")
    )


def _catalog(items: pd.DataFrame) -> pd.DataFrame:
    """The item catalog as the local cleaner builds it (sorted ids, title, category, median price)."""
    from tuijian.data.cleaning import derive_category

    items = items.sort_values(["code", "price"]).reset_index(drop=True)
    per_code = items.groupby("code", sort=True)
    out = pd.DataFrame({"item_id": pd.Series(list(per_code.groups), dtype=object)})
    out["title"] = per_code["title"].first().fillna("").astype(str).str.strip().to_numpy()
    out["description"] = ""
    out["brand"] = ""
    out["category"] = out["title"].map(derive_category)
    out["price"] = [_median(g["price"].to_numpy(float), g["n"].to_numpy(np.int64)) for _, g in per_code]
    out["n_lines"] = per_code["n"].sum().astype("int64").to_numpy()
    return out


def _median(values: np.ndarray, counts: np.ndarray) -> float:
    """``np.median`` of ``values`` repeated ``counts`` times (``values`` sorted), without repeating them."""
    total = int(counts.sum())
    if total == 0:
        return float("nan")
    ends = np.cumsum(counts)
    middle = [(total - 1) // 2, total // 2]
    return float(np.median(values[np.searchsorted(ends, middle, side="right")]))


def cleaning_counts(report: CleaningReport) -> dict[str, int]:
    """The figures two cleaning runs must agree on: rows in and kept, each removal and change count, the
    netted and unmatched cancelled units, the flagged accounts and what was kept."""
    d = report.details
    out: dict[str, int] = {"input_rows": report.input_rows, "kept_rows": report.kept_rows}
    out.update({f"removed.{k}": int(v) for k, v in report.removed.items()})
    out.update({f"changed.{k}": int(v) for k, v in report.changed.items()})
    for key in ("cancelled_units_netted", "cancelled_units_unmatched"):
        out[key] = int(d.get(key, 0))
    out["outlier_accounts"] = len((d.get("outlier_rule") or {}).get("accounts") or {})
    out.update({f"kept.{k}": int(v) for k, v in (d.get("kept") or {}).items()})
    return out
