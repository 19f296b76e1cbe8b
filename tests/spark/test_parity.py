"""Issue 15's acceptance: `tuijian spark parity --dataset online-retail --json out.json` on local[2].

The Spark cleaner's counts equal the local cleaner's exactly (and so do the cleaned events and the split), and
MLlib ALS's NDCG@10 is within 5 % of the local ALS's on the same `time` split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tuijian.data.datasets import dataset_available

pytestmark = pytest.mark.slow


def test_spark_parity_on_online_retail(spark: Any, tmp_path: Path, data_dir: Any) -> None:
    from tuijian.cli import app

    assert dataset_available("online-retail", data_dir), "the Online Retail log is missing from the data dir"
    out = tmp_path / "out.json"
    args = ["spark", "parity", "--dataset", "online-retail", "--json", str(out), "--master", "local[2]"]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    result = CliRunner().invoke(app, args)
    assert out.is_file(), result.output
    record = json.loads(out.read_text())
    assert {"local_counts", "spark_counts", "local_ndcg@10", "spark_ndcg@10"} <= set(record)
    assert record["spark_counts"] == record["local_counts"]
    assert record["local_counts"]["input_rows"] == 541_909
    assert record["events_equal"] and record["split_equal"]
    local, ours = record["local_ndcg@10"], record["spark_ndcg@10"]
    assert local > 0.05, record  # a real model on the real split, not a degenerate one
    assert abs(ours - local) <= 0.05 * local, f"NDCG@10 local {local:.4f} vs spark {ours:.4f}"
    assert result.exit_code == 0, result.output
