"""Quality report: known answers on a small log, the four dimensions on real data, HTML and CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from tuijian.data.quality import DIMENSIONS, quality_report, write_html, write_json

AS_OF = pd.Timestamp("2024-01-20", tz="UTC")


def _by_id(report):
    return {c["id"]: c for d in report["dimensions"].values() for c in d}


def _small():
    rows = [
        ("u1", "i1", "purchase", 2, "2024-01-01 10:00", "s1"),
        ("u1", "i1", "purchase", 2, "2024-01-01 10:00", "s1"),  # exact duplicate
        ("u1", "i2", "purchase", -1, "2024-01-02 10:00", "s1"),  # non-positive quantity
        ("u2", "i3", "rating", 7, "2024-01-02 11:00", None),  # rating out of range
        ("u2", "i9", "rating", 4, "2024-01-01 11:00", None),  # earlier than the previous event of u2
        ("anon:s5", "i2", "view", 1, "2024-01-10 09:00", "s5"),  # after a 7-day gap
    ]
    ev = pd.DataFrame(rows, columns=["user", "item", "kind", "value", "ts", "session"])
    ev["ts"] = pd.to_datetime(ev["ts"], utc=True)
    ev["text"] = None
    items = pd.DataFrame(
        {
            "item_id": ["i1", "i2", "i3", "i4"],
            "title": ["a", "b", "", "d"],
            "description": "",
            "brand": "",
            "category": "x",
            "price": [1.0, 0.0, 2.0, None],
        }
    )
    prices = pd.Series([1.0, 1.0, 5.0, None, None, 1.0])
    return ev, items, prices


def test_known_answers_on_a_small_log():
    ev, items, prices = _small()
    rep = quality_report(ev, items, prices=prices, name="toy", as_of=AS_OF)
    c = _by_id(rep)
    assert set(rep["dimensions"]) == set(DIMENSIONS)
    assert (
        c["duplicate_events"]["value"] == pytest.approx(1 / 6) and c["duplicate_events"]["status"] == "fail"
    )
    assert c["non_positive_quantity"]["value"] == pytest.approx(1 / 3)
    assert c["rating_out_of_range"]["value"] == pytest.approx(1 / 2)
    assert c["event_order"]["value"] == pytest.approx(1 / 3) and c["event_order"]["status"] == "warn"
    assert c["items_not_in_catalog"]["detail"]["examples"] == ["i9"]
    assert c["catalog_items_without_events"]["value"] == pytest.approx(1 / 4)
    assert c["catalog_missing_title"]["value"] == pytest.approx(1 / 4)
    assert c["catalog_missing_price"]["value"] == pytest.approx(1 / 4)
    assert c["non_positive_catalog_price"]["value"] == pytest.approx(1 / 3)
    assert c["price_disagreement"]["value"] == pytest.approx(1 / 2)  # i2: 5.0 vs 1.0
    assert c["anonymous_share"]["value"] == pytest.approx(1 / 6)
    assert c["days_without_events"]["value"] == pytest.approx(7 / 10)
    assert c["longest_gap"]["value"] == 7 and c["longest_gap"]["detail"]["from"] == "2024-01-03"
    assert c["freshness"]["value"] == pytest.approx(
        (AS_OF - pd.Timestamp("2024-01-10 09:00", tz="UTC")).total_seconds() / 86400
    )
    assert c["freshness"]["status"] == "fail"
    assert rep["summary"]["fail"] >= 1 and rep["status"] == "fail"
    assert rep["series"]["events_per_day"]["counts"] == [3, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    assert rep["series"]["item_popularity"]["count"] == [2, 2, 1, 1]
    for check in c.values():
        assert check["status"] in {"pass", "warn", "fail"} and check["threshold"]
    json.dumps(rep)  # JSON-ready


def test_clean_log_passes_its_checks():
    days = pd.date_range("2024-01-01", periods=60, freq="D", tz="UTC")
    ev = pd.DataFrame(
        {
            "user": [f"u{i % 7}" for i in range(60)],
            "item": [f"i{i % 11}" for i in range(60)],
            "kind": "purchase",
            "value": 1.0,
            "ts": days,
            "text": None,
            "session": [f"s{i}" for i in range(60)],
        }
    )
    rep = quality_report(ev, as_of=days[-1] + pd.Timedelta(hours=1))
    bad = {c["id"]: c["status"] for d in rep["dimensions"].values() for c in d if c["status"] != "pass"}
    assert bad == {}


def test_online_retail_report_html_and_json(online_retail, tmp_path):
    rep = quality_report(online_retail, as_of=pd.Timestamp("2011-12-10", tz="UTC"))
    c = _by_id(rep)
    assert rep["overview"]["events"] == online_retail.n_events
    assert rep["cleaning"]["input_rows"] == 541_909
    for dim in DIMENSIONS:
        assert rep["dimensions"][dim], dim
    assert c["anonymous_share"]["value"] == pytest.approx(
        online_retail.report.changed["anonymous_user"] / online_retail.n_events
    )
    assert c["anonymous_share"]["status"] == "warn"
    assert c["freshness"]["status"] == "pass"  # measured against the day after the last event
    assert c["longest_gap"]["detail"]["from"] == "2010-12-24"  # the Christmas closure
    assert c["non_positive_quantity"]["value"] == 0 and c["non_positive_event_price"]["value"] == 0
    assert c["date_range"]["display"].startswith("2010-12-01 08:26 to 2011-12-09 12:50")
    html = write_html(rep, tmp_path / "q.html").read_text()
    assert html.count("<svg") >= 2 and "Events per day" in html and "Item popularity" in html
    assert "<script" not in html and "<link" not in html and "http://" not in html.split("<svg")[0]
    assert "cancellation_netted" in html
    back = json.loads(write_json(rep, tmp_path / "q.json").read_text())
    assert back["dimensions"]["timeliness"][0]["id"] == "date_range"


def test_sequences_without_time_and_review_sets(data_dir):
    from tuijian.data.datasets import load_dataset

    rep = quality_report(load_dataset("amazon-office", data_dir))
    t = rep["dimensions"]["timeliness"]
    assert [x["id"] for x in t] == ["real_timestamps"] and t[0]["status"] == "warn"
    assert _by_id(rep)["catalog_missing_description"]["value"] == pytest.approx(639 / 2420)
    zh = quality_report(load_dataset("chinese-shopping-reviews", data_dir))
    assert zh["overview"]["reviews_by_label"] == {"0": 31_046, "1": 31_728}
    assert {c["id"] for c in zh["dimensions"]["completeness"]} == {"reviews_missing_text"}


def test_quality_cli(tmp_path):
    from tuijian.cli import app

    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "quality",
            "--dataset",
            "womens-clothing-demo",
            "--json",
            str(tmp_path / "w.json"),
            "--html",
            str(tmp_path / "w.html"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "w.json").read_text())["dataset"] == "womens-clothing-demo"
    log = tmp_path / "log.csv"
    log.write_text("cust,sku,when,what\nA,1,2024-01-01,view\nB,2,2024-01-02,buy\n,3,2024-01-03,view\n")
    res = runner.invoke(
        app,
        [
            "quality",
            str(log),
            "--map",
            "user=cust,item=sku,ts=when,kind=what",
            "--json",
            str(tmp_path / "l.json"),
            "--html",
            str(tmp_path / "l.html"),
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "l.json").read_text())
    assert data["import"]["malformed"] == {"missing user": 1, "unknown kind": 1}
    assert data["overview"]["events"] == 1
    res = runner.invoke(app, ["quality"])
    assert res.exit_code != 0
    res = runner.invoke(app, ["datasets"])
    assert res.exit_code == 0 and "online-retail-demo" in res.output
