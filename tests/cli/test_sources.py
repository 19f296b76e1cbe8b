"""Clear errors (and no stray work) for the data options of evaluate, train and serve."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.cli.orders import write_orders
from tuijian.cli import app
from tuijian.cli.sources import import_lines, with_event_ids
from tuijian.data.datasets import dataset_from_files
from tuijian.exceptions import ConfigError, DataError, TuijianError

MAP = "user=shopper,item=sku,ts=order_time,value=qty,kind==purchase"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_orders(tmp_path_factory.mktemp("src"), n_shoppers=40, n_skus=30)


def _error(args: list[str]) -> TuijianError:
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, TuijianError), result.output
    return result.exception


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_errors_say_how_to_fix(command: str, files: tuple[Path, Path], tmp_path: Path) -> None:
    orders, catalog = files
    base = [command, "--protocol", "time", *(["--models", "popularity"] if command == "evaluate" else [])]
    exc = _error([*base, "--events", str(tmp_path / "nope.csv"), "--map", MAP])
    assert isinstance(exc, DataError) and "no such file" in str(exc)
    odd = tmp_path / "orders.xlsx"
    odd.write_bytes(b"x")
    exc = _error([*base, "--events", str(odd)])
    assert isinstance(exc, ConfigError) and ".csv, .jsonl or .parquet" in str(exc)
    exc = _error(
        [*base, "--events", str(orders), "--map", "user=customer,item=sku,ts=order_time,kind==purchase"]
    )
    assert "mapped column(s) ['customer'] not in the file" in str(exc) and "shopper" in str(exc)
    exc = _error([*base, "--events", str(orders), "--map", "user=shopper,item=sku,kind==purchase",
                  ])  # fmt: skip
    assert "no 'ts'" in str(exc) and "ts=COLUMN" in str(exc)
    exc = _error([*base, "--events", str(orders), "--dataset", "online-retail-demo"])
    assert "not both" in str(exc)
    exc = _error([*base, "--dataset", "online-retail-demo", "--map", MAP])
    assert "add --events FILE" in str(exc)
    exc = _error([*base, "--events", str(orders), "--map", MAP, "--catalog-map", "item_id=sku"])
    assert "add --catalog FILE" in str(exc)
    exc = _error([*base, "--events", str(orders), "--map", MAP, "--catalog", str(catalog),
                  "--catalog-map", "item_id=code"])  # fmt: skip
    assert "['code'] not in the file" in str(exc)


def test_train_needs_some_data() -> None:
    exc = _error(["train"])
    assert "--dataset NAME" in str(exc) and "--events FILE" in str(exc)


def test_unknown_model_fails_before_import(tmp_path: Path) -> None:
    exc = _error(["evaluate", "--protocol", "time", "--models", "nope", "--events", str(tmp_path / "x.csv")])
    assert "unknown model 'nope'" in str(exc)


def test_time_protocol_on_a_short_log_says_use_loo(tmp_path: Path) -> None:
    orders, _ = write_orders(tmp_path, n_shoppers=30, n_skus=20, days=40)
    exc = _error(["evaluate", "--protocol", "time", "--models", "popularity", "--events", str(orders),
                  "--map", MAP, "--no-progress"])  # fmt: skip
    assert "--protocol loo" in str(exc) and "spans" in str(exc)


def test_import_lines_count_every_malformed_row(files: tuple[Path, Path]) -> None:
    orders, catalog = files
    ds = dataset_from_files(orders, {"user": "shopper", "item": "sku", "ts": "order_time", "value": "qty",
                                     "kind": "=purchase"}, catalog=catalog)  # fmt: skip
    lines = import_lines(ds.meta["import"])
    assert "5 malformed (missing user: 2, bad timestamp: 2, non-numeric value: 1)" in lines[0]
    assert any("... and 2 more" in line for line in lines)
    assert any(line.startswith("catalog") and "0 malformed" in line for line in lines)


def test_event_ids_are_stable_and_unique() -> None:
    ts = pd.Timestamp("2024-01-01", tz="UTC")
    ev = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "x", "x"], "kind": "purchase", "value": 1.0,
                       "ts": [ts, ts, ts], "text": None, "session": None})  # fmt: skip
    one, two = with_event_ids(ev, "shop"), with_event_ids(ev.copy(), "shop")
    assert list(one["event_id"]) == list(two["event_id"])  # the same file gives the same ids
    assert one["event_id"].is_unique  # a repeated identical row is still its own event
    assert all(e.startswith("shop:") for e in one["event_id"]) and "event_id" not in ev.columns


@pytest.mark.parametrize("suffix", ["parquet", "jsonl.gz"])
def test_train_reads_parquet_and_jsonl(suffix: str, files: tuple[Path, Path], tmp_path: Path) -> None:
    import json

    orders, _ = files
    raw = pd.read_csv(orders, dtype=str)
    path = tmp_path / f"orders.{suffix}"
    if suffix == "parquet":
        raw.to_parquet(path)
    else:
        raw.to_json(path, orient="records", lines=True, compression="gzip")
    result = CliRunner().invoke(
        app,
        ["train", "--events", str(path), "--map", MAP, "--model", "popularity", "--out", str(tmp_path / "art"),
         "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "5 malformed" in " ".join(result.output.split())
    metrics = json.loads((tmp_path / "art" / "popularity" / "v0001" / "metrics.json").read_text())
    assert metrics["import"]["events"]["valid_rows"] == len(raw) - 5


def test_ingest_twice_stores_the_file_once(files: tuple[Path, Path], tmp_path: Path) -> None:
    orders, catalog = files
    url = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    args = ["ingest", str(orders), "--map", MAP, "--items", str(catalog), "--database-url", url]
    first, second = (CliRunner().invoke(app, args) for _ in range(2))
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    n_valid = len(pd.read_csv(orders)) - 5
    assert f"events inserted: {n_valid}, duplicates skipped: 0, malformed rows not loaded: 5" in first.output
    assert f"events inserted: 0, duplicates skipped: {n_valid}" in second.output
    assert "read 30 rows, 30 valid, 0 malformed" in first.output  # the catalog, counted the same way


def test_serving_a_file_refuses_a_store_of_another_dataset(files: tuple[Path, Path], tmp_path: Path) -> None:
    from tuijian.cli.serve_cmds import _store_own_data
    from tuijian.store import open_store

    orders, catalog = files
    ds = dataset_from_files(orders, {"user": "shopper", "item": "sku", "ts": "order_time", "value": "qty",
                                     "kind": "=purchase"}, catalog=catalog)  # fmt: skip
    store = open_store(f"sqlite:///{tmp_path / 'a.sqlite'}")
    try:
        assert _store_own_data(store, ds) is True  # new events: train
        assert _store_own_data(store, ds) is False  # the same file again: nothing new
        assert store.count_events() == len(ds.events)
        store.register_model_version("x/v1", "item-knn", "online-retail-demo", str(tmp_path))
        with pytest.raises(ConfigError, match="fresh --home"):
            _store_own_data(store, ds)
    finally:
        store.close()
