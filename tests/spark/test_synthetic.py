"""The synthetic shop log of the scale benchmark: deterministic per seed, Online Retail-shaped, dirty."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tuijian.data.cleaning import RAW_COLUMNS
from tuijian.exceptions import ConfigError
from tuijian.spark.logs import ROW
from tuijian.spark.synthetic import generate_log


def test_same_seed_same_log_and_the_dirt_is_there(tmp_path: Path) -> None:
    info = generate_log(20_000, tmp_path / "a", seed=1, chunk_invoices=400)
    generate_log(20_000, tmp_path / "b", seed=1, chunk_invoices=400)
    a = pq.read_table(tmp_path / "a").to_pandas()
    b = pq.read_table(tmp_path / "b").to_pandas()
    assert a.equals(b)
    assert list(a.columns) == [*RAW_COLUMNS, ROW] and info["lines"] == len(a) and info["files"] > 1
    assert sorted(a[ROW]) == list(range(len(a)))
    cancels = a["InvoiceNo"].str.startswith("C")
    assert 0.001 < cancels.mean() < 0.01 and (a.loc[cancels, "Quantity"].str.startswith("-")).all()
    assert 0.1 < a["CustomerID"].isna().mean() < 0.3
    assert (a["StockCode"] == "POST").any() and (a["UnitPrice"] == "0.00").any()
    assert a.duplicated(subset=list(RAW_COLUMNS)).sum() >= 0.01 * len(a)
    c = generate_log(20_000, tmp_path / "c", seed=2, chunk_invoices=400)
    assert not pq.read_table(tmp_path / "c").to_pandas().equals(a) and c["lines"] > 0


@pytest.mark.parametrize(("events", "chunk"), [(0, 10), (100, 0)])
def test_bad_sizes_are_refused(tmp_path: Path, events: int, chunk: int) -> None:
    with pytest.raises(ConfigError, match="must be >= 1"):
        generate_log(events, tmp_path, chunk_invoices=chunk)
