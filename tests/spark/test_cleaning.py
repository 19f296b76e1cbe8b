"""The Spark cleaner against the local one, rule by rule, on hand-made rows with every kind of dirt."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tuijian.data.cleaning import RAW_COLUMNS, clean_online_retail
from tuijian.exceptions import SchemaError
from tuijian.spark.cleaning import clean_online_retail as spark_clean
from tuijian.spark.cleaning import cleaning_counts
from tuijian.spark.logs import ROW, read_raw, read_raw_pandas, write_raw_parquet
from tuijian.spark.synthetic import generate_log

D1, D2, D3 = "2011-01-05 10:00:00", "2011-01-06 10:00:00", "2011-01-07 10:00:00"


def _dirty() -> pd.DataFrame:
    rows = [
        ("500001", "85123A", "HEART HOLDER", "10", D1, "2.55", "100", "United Kingdom"),
        ("500001", "85123A", "HEART HOLDER", "10", D1, "2.55", "100", "United Kingdom"),  # duplicate
        ("500001", "POST", "POSTAGE", "1", D1, "18.00", "100", "United Kingdom"),  # non-product
        ("500002", "22423", "CAKESTAND", "3", D1, "12.75", "100", "United Kingdom"),
        ("C500003", "85123A", "HEART HOLDER", "-4", D2, "2.55", "100", "United Kingdom"),  # netted
        ("C500003", "22423", "CAKESTAND", "-3", D2, "12.75", "100", "United Kingdom"),  # fully cancels
        ("C500004", "21212", "CASES", "-5", D2, "0.55", "100", "United Kingdom"),  # unmatched
        ("500005", "21212", "CASES", "2", D3, "0.55", "100", "United Kingdom"),
        ("500006", "21213", "CASES B", "2", D1, "0.55", "101", "France"),
        ("500016", "21213", "CASES B", "3", D1, "0.55", "101", "France"),  # same time: row order decides
        ("C500007", "21213", "CASES B", "-6", D2, "0.55", "101", "France"),  # partly netted
        ("500008", "21214", None, "-20", D2, "0", None, "United Kingdom"),  # stock adjustment
        ("500009", "21215", "FREE GIFT", "1", D2, "0", "101", "France"),  # non-positive price
        ("500010", " 85123a ", None, "1", D3, "2.95", None, "United Kingdom"),  # anonymous, normalised
        ("500011", "85123A", "HEART HOLDER", "2", "not a date", "2.55", "102", "Spain"),  # malformed date
        ("500012", "84029G", "HOT WATER BOTTLE", "6", D3, "3.39", "102.0", "Spain"),
        ("500013", "84029G", None, "1", D3, "3.39", "102", "Spain"),  # description filled
        ("C500014", "84029G", "HOT WATER BOTTLE", "-1", D3, "3.39", None, "Spain"),  # no customer: unmatched
        ("500015", "", "EMPTY CODE", "1", D3, "1.00", "103", "Spain"),  # malformed: empty code
        ("500017", "22111", "LANTERN", "x", D3, "1.00", "103", "Spain"),  # malformed quantity
        ("500018", "22111", "LANTERN", "2.7", D3, "1.00", "103", "Spain"),  # fractional quantity
        ("500019", "22112", "CANDLE", "4", "2011-01-07T11:00:00", "1.50", "103", "Spain"),  # other date form
    ]
    return pd.DataFrame(rows, columns=list(RAW_COLUMNS)).astype(object)


def _both(raw: pd.DataFrame, tmp_path: Path, spark: Any, **kw: Any) -> tuple[Any, Any, Any, Any]:
    logs = write_raw_parquet(raw, tmp_path / "raw")
    local_events, local_items, local_report = clean_online_retail(read_raw_pandas(logs), **kw)
    out = spark_clean(read_raw(spark, logs), **kw)
    spark_events = out.events.orderBy("ts", "raw_row").toPandas()
    return (local_events, local_items, local_report), spark_events, out.items, out.report


@pytest.mark.parametrize("outlier_z", [None, 3.5])
def test_same_account_and_events_as_the_local_cleaner(spark: Any, tmp_path: Path, outlier_z: Any) -> None:
    (local_events, local_items, local_report), events, items, report = _both(
        _dirty(), tmp_path, spark, outlier_z=outlier_z
    )
    assert cleaning_counts(report) == cleaning_counts(local_report)
    assert report.removed == local_report.removed and report.changed == local_report.changed
    assert report.details == local_report.details
    assert report.removed["cancellation_partly_netted"] == 1 and report.removed["malformed_row"] == 3
    assert list(events["raw_row"]) == list(local_events["raw_row"])
    for col in ("user", "item", "session", "value", "price", "country"):
        assert list(events[col]) == list(local_events[col]), col
    ts = pd.to_datetime(events["ts"]).dt.tz_localize("UTC")
    assert (ts.to_numpy() == local_events["ts"].to_numpy()).all()
    pd.testing.assert_frame_equal(items.reset_index(drop=True), local_items.reset_index(drop=True))


def test_outlier_accounts_match(spark: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for c in range(40):  # 40 ordinary customers and one that buys everything
        n = int(rng.integers(2, 7)) if c else 300
        for j in range(n):
            code = f"{20000 + int(rng.integers(0, 500 if c == 0 else 30)):05d}"
            rows.append((f"6{c:03d}{j:03d}", code, f"ITEM {code}", "1", D1, "1.0", str(1000 + c), "UK"))
    raw = pd.DataFrame(rows, columns=list(RAW_COLUMNS)).astype(object)
    (_, _, local_report), events, _, report = _both(raw, tmp_path, spark)
    assert local_report.removed["outlier_account"] == 300
    assert cleaning_counts(report) == cleaning_counts(local_report)
    assert report.details["outlier_rule"] == local_report.details["outlier_rule"]
    assert len(events) == local_report.kept_rows


def test_a_log_without_line_numbers_is_refused_with_the_fix(spark: Any, tmp_path: Path) -> None:
    raw = _dirty()
    raw.to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(SchemaError, match="tuijian spark prepare"):
        read_raw(spark, tmp_path / "plain.parquet")


#: Spark settings that place the same lines very differently. The second keeps 16 partitions (adaptive
#: execution does not merge them, as it would not on a big log), plans the netting's semi-join as a sort-merge
#: join that adaptive execution turns into a broadcast join at run time (a small static broadcast threshold, a
#: large adaptive one) and uses tiny Arrow batches.
PARTITIONINGS: dict[str, dict[str, str]] = {
    "2 partitions": {"spark.sql.shuffle.partitions": "2"},
    "16 partitions, broadcast at run time": {
        "spark.sql.shuffle.partitions": "16",
        "spark.sql.adaptive.coalescePartitions.enabled": "false",
        "spark.sql.autoBroadcastJoinThreshold": "1024",
        "spark.sql.adaptive.autoBroadcastJoinThreshold": "10485760",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "16",
        "spark.sql.files.openCostInBytes": "1",
    },
}


@contextmanager
def _settings(spark: Any, conf: dict[str, str]) -> Iterator[None]:
    """Run under ``conf``, with nothing cached before (a frame cached under other settings would be reused
    with its partitioning) or after."""
    before = {k: spark.conf.get(k, None) for k in conf}
    spark.catalog.clearCache()
    for k, v in conf.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        spark.catalog.clearCache()
        for k, v in before.items():
            spark.conf.unset(k) if v is None else spark.conf.set(k, v)


def test_same_outcome_per_line_whatever_the_partitioning(spark: Any, tmp_path: Path) -> None:
    """The synthetic shop log (cancellations, guest invoices, duplicates, ties in time within an invoice)
    cleaned locally and by Spark under two partitionings: the same account, and every line the same reason
    and netted quantity. (Spark's netting used to split a (customer, StockCode) group over several calls when
    adaptive execution read its shuffle per map task: counts off, and different from run to run.)"""
    info = generate_log(30_000, tmp_path / "raw", seed=3, chunk_invoices=500)
    assert info["files"] > 1
    logs = tmp_path / "raw"
    local_events, _, local_report = clean_online_retail(read_raw_pandas(logs), dataset="synthetic")
    assert local_report.removed["cancellation_netted"] > 20 and local_report.removed["duplicate"] > 0
    local_kept = local_events[["raw_row", "value"]].sort_values("raw_row").reset_index(drop=True)

    outcomes = {}
    for name, conf in PARTITIONINGS.items():
        with _settings(spark, conf):
            out = spark_clean(read_raw(spark, logs), dataset="synthetic")
            assert cleaning_counts(out.report) == cleaning_counts(local_report), name
            assert out.report.details == local_report.details, name
            lines = out.lines.toPandas().sort_values(ROW).reset_index(drop=True)
        assert list(lines[ROW]) == list(range(local_report.input_rows)), name
        kept = lines[lines["reason"].isna()]
        assert list(kept[ROW]) == list(local_kept["raw_row"]), name
        assert (kept["net_qty"].to_numpy(float) == local_kept["value"].to_numpy()).all(), name
        outcomes[name] = lines
    first, second = outcomes.values()
    pd.testing.assert_frame_equal(first, second)
