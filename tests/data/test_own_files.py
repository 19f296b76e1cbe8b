"""A shop's own files as a Dataset: the catalog importer and ``dataset_from_files``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tuijian.data.datasets import ITEM_COLUMNS, dataset_from_files, file_dataset_name
from tuijian.data.importers import import_catalog
from tuijian.evaluate.protocols import make_protocol
from tuijian.exceptions import ConfigError, DataError


def test_catalog_counts_every_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    pd.DataFrame(
        {
            "sku": ["A", "B", "B", "", "C", "D"],
            "name": ["a", "b", "b again", "no id", "c", "d"],
            "unit_price": ["1.5", "2", "3", "4", "cheap", ""],
            "colour": ["red", "", "blue", "x", "y", "z"],
        }
    ).to_csv(path, index=False)
    items, rep = import_catalog(path, {"title": "name", "price": "unit_price"})
    assert rep.mapping["item_id"] == "sku"  # guessed from a common name
    assert rep.rows_read == 6 and rep.valid_rows == 3
    assert rep.malformed == {"missing item id": 1, "non-numeric price": 1, "duplicate item id": 1}
    assert {s["line"] for s in rep.samples} == {4, 5, 6}  # file lines (header is line 1)
    assert list(items["item_id"]) == ["A", "B", "D"] and list(items["title"]) == ["a", "b", "d"]
    assert items["price"].tolist()[:2] == [1.5, 2.0] and pd.isna(items["price"].iloc[2])
    assert list(items.columns[:6]) == list(ITEM_COLUMNS) and "colour" in items.columns


def test_catalog_jsonl_and_parquet(tmp_path: Path) -> None:
    rows = [{"product_id": "p1", "title": "T", "brand": "B", "price": 3}, {"product_id": "p2", "price": "x"}]
    jsonl = tmp_path / "cat.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    items, rep = import_catalog(jsonl)
    assert list(items["item_id"]) == ["p1"] and rep.malformed == {"non-numeric price": 1}
    pq = tmp_path / "cat.parquet"
    pd.DataFrame({"item_id": ["p1", "p2"], "category": ["A > B", "C"]}).to_parquet(pq)
    items, rep = import_catalog(pq)
    assert list(items["category"]) == ["A > B", "C"] and rep.malformed_rows == 0


def test_catalog_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such catalog file"):
        import_catalog(tmp_path / "none.csv")
    path = tmp_path / "c.csv"
    pd.DataFrame({"code": ["1"], "label": ["x"]}).to_csv(path, index=False)
    with pytest.raises(ConfigError, match="item_id=COLUMN"):
        import_catalog(path)


def test_dataset_from_files_feeds_the_protocols(tmp_path: Path) -> None:
    from tests.cli.orders import MALFORMED, write_orders

    orders, catalog = write_orders(tmp_path, n_shoppers=60, n_skus=30, days=120)
    mapping = {"user": "shopper", "item": "sku", "ts": "order_time", "value": "qty", "kind": "=purchase",
               "price": "unit_price"}  # fmt: skip
    ds = dataset_from_files(orders, mapping, catalog=catalog, catalog_mapping={"title": "name"})
    assert ds.name == "orders" == file_dataset_name("x/orders.csv.gz")
    assert ds.meta["import"]["events"]["malformed"] == MALFORMED
    assert ds.meta["import"]["events_not_in_catalog"] == 0
    assert set(ds.events["kind"]) == {"purchase"} and ds.events["value"].max() == 3.0
    assert ds.event_attrs is not None and "price" in ds.event_attrs.columns
    assert ds.items is not None and len(ds.items) == 30 and ds.items["title"].str.startswith("Product").all()
    split = make_protocol("time", ds)
    assert split.dataset == "orders" and split.train.nnz > 0 and split.test.nnz > 0
    assert len(make_protocol("loo", ds).stage("test").users) > 0


def test_dataset_from_files_with_no_valid_rows(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"shopper": ["a"], "sku": ["x"], "order_time": ["never"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="no valid events"):
        dataset_from_files(path, {"user": "shopper", "item": "sku", "ts": "order_time"}, kind="purchase")
