"""Generic log import: streamed, every malformed row counted by reason, nothing silently dropped."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from tuijian.data.importers import detect_format, import_events, parse_mapping
from tuijian.exceptions import ConfigError, DataError

CSV = """customer_id,sku,event_time,event_type,qty,price
u1,i1,2024-01-01T10:00:00Z,view,1,2.5
u2,i2,2024-01-01 11:00:00,addtocart,2,3
,i3,2024-01-02,view,1,1
u4,,2024-01-02,view,1,1
u5,i5,notadate,view,1,1
u6,i6,2024-01-03,teleport,1,1
u7,i7,2024-01-03,transaction,abc,1
u8,i8,2024-01-03,transaction,,1
u9,,2024-01-04,search,1,1
"""
MAPPING = {
    "user": "customer_id",
    "item": "sku",
    "ts": "event_time",
    "kind": "event_type",
    "value": "qty",
    "price": "price",
}
KIND_MAP = {"addtocart": "add_to_cart", "transaction": "purchase"}


@pytest.fixture()
def csv_file(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    return path


def test_csv_counts_every_reason(csv_file):
    res = import_events(csv_file, MAPPING, kind_map=KIND_MAP)
    rep = res.report
    assert rep.rows_read == 9 and rep.valid_rows == 3
    assert rep.malformed == {
        "missing user": 1,
        "unknown kind": 1,
        "missing item": 2,
        "bad timestamp": 1,
        "non-numeric value": 1,
    }
    assert rep.valid_rows + rep.malformed_rows == rep.rows_read
    assert [s["line"] for s in rep.samples] == [4, 5, 6, 7, 8, 10]
    assert {s["reason"] for s in rep.samples if s["line"] == 7} == {"unknown kind"}
    ev = res.events
    assert ev["user"].tolist() == ["u1", "u2", "u8"]
    assert ev["kind"].tolist() == ["view", "add_to_cart", "purchase"]
    assert ev["value"].tolist() == [1.0, 2.0, 1.0]  # empty value defaults to 1
    assert ev["ts"].tolist() == [
        pd.Timestamp("2024-01-01 10:00", tz="UTC"),
        pd.Timestamp("2024-01-01 11:00", tz="UTC"),
        pd.Timestamp("2024-01-03", tz="UTC"),
    ]
    assert res.extras["price"].tolist() == [2.5, 3.0, 1.0]
    events, report = res  # tuple-style unpacking
    assert report is rep and events is ev


def test_chunking_gives_the_same_result(csv_file):
    one = import_events(csv_file, MAPPING, kind_map=KIND_MAP)
    many = import_events(csv_file, MAPPING, kind_map=KIND_MAP, chunksize=2)
    assert many.report.chunks == 5 and one.report.chunks == 1
    pd.testing.assert_frame_equal(one.events, many.events)
    assert one.report.malformed == many.report.malformed
    assert [s["line"] for s in one.report.samples] == [s["line"] for s in many.report.samples]


def test_gzip_constant_kind_and_anonymous(tmp_path):
    path = tmp_path / "log.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("cust,item,when,order\nA,1,1700000000,o1\n,2,1700000060,o2\n,3,1700000120,\n")
    res = import_events(
        path,
        {"user": "cust", "item": "item", "ts": "when", "session": "order", "kind": "=purchase"},
        missing_user="anonymous",
    )
    assert res.events["user"].tolist() == ["A", "anon:o2"]
    assert res.report.malformed == {"missing user": 1} and res.report.anonymised == 1
    assert res.events["ts"].iloc[0] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    assert set(res.events["kind"]) == {"purchase"}


def test_jsonl_nested_fields_and_bad_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [
        json.dumps({"user": {"id": "a"}, "item": "x", "ts": 1_700_000_000_000, "kind": "view"}),
        "{not json",
        json.dumps([1, 2]),
        "",
        json.dumps({"user": {"id": "b"}, "item": "y", "ts": 1_700_000_001_000, "kind": "click"}),
        json.dumps({"user": {"id": "c"}, "kind": "click", "ts": 1_700_000_002_000}),
    ]
    path.write_text("\n".join(lines) + "\n")
    res = import_events(path, {"user": "user.id"}, chunksize=2)
    assert res.report.rows_read == 5  # the blank line is not a row
    assert res.report.malformed == {"unparseable JSON line": 2, "missing item": 1}
    assert [s["line"] for s in res.report.samples] == [2, 3, 6]
    assert res.events["user"].tolist() == ["a", "b"]
    assert res.events["ts"].iloc[1] == pd.Timestamp(1_700_000_001, unit="s", tz="UTC")  # ms detected


def test_parquet_batches_and_progress(tmp_path, capsys):
    path = tmp_path / "e.parquet"
    pd.DataFrame(
        {
            "user_id": ["a", "b", None, "d"],
            "product_id": ["1", "2", "3", "4"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
            "rating": [5, 4, 3, "x"],
        }
    ).astype({"rating": str}).to_parquet(path)
    res = import_events(path, kind="rating", chunksize=2, progress=True)
    assert res.report.mapping["user"] == "user_id" and res.report.mapping["value"] == "rating"
    assert res.report.chunks == 2
    assert res.report.malformed == {"missing user": 1, "non-numeric value": 1}
    assert res.events["value"].tolist() == [5.0, 4.0]
    assert "import e.parquet" in capsys.readouterr().err


def test_real_online_retail_sample_import(tmp_path):
    from tuijian.data.datasets import demo_file

    file = demo_file("online-retail-demo")
    raw = pd.read_csv(file, dtype=str)
    res = import_events(
        file,
        {
            "user": "CustomerID",
            "item": "StockCode",
            "ts": "InvoiceDate",
            "value": "Quantity",
            "session": "InvoiceNo",
            "price": "UnitPrice",
        },
        kind="purchase",
        chunksize=20_000,
    )
    assert res.report.rows_read == len(raw) == 93_740
    assert res.report.malformed == {"missing user": int(raw["CustomerID"].isna().sum())}
    assert res.report.valid_rows == int(raw["CustomerID"].notna().sum())
    assert res.report.chunks == 5


def test_configuration_errors(csv_file, tmp_path):
    with pytest.raises(ConfigError, match="not in the file"):
        import_events(csv_file, {**MAPPING, "user": "nope"})
    with pytest.raises(ConfigError, match="kind="):
        import_events(csv_file, MAPPING, kind="like")
    with pytest.raises(ConfigError, match="kind_map targets"):
        import_events(csv_file, MAPPING, kind_map={"x": "buy"})
    with pytest.raises(ConfigError, match="'ts'"):
        import_events(_no_ts(tmp_path), kind="view")
    with pytest.raises(DataError, match="no such file"):
        import_events(tmp_path / "absent.csv")
    with pytest.raises(ConfigError, match="format"):
        detect_format("events.xlsx")


def _no_ts(tmp_path):
    path = tmp_path / "nots.csv"
    path.write_text("user,item\na,b\n")
    return path


def test_parse_mapping():
    assert parse_mapping("user=customer_id, item=sku,kind==purchase") == {
        "user": "customer_id",
        "item": "sku",
        "kind": "=purchase",
    }
    with pytest.raises(ConfigError, match="FIELD=COLUMN"):
        parse_mapping("user")
