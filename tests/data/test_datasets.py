"""Loaders give the exact published counts of every shared dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuijian.data import datasets as ds_mod
from tuijian.data.datasets import (
    DATASET_NAMES,
    load_dataset,
    load_movielens_100k_folds,
    resolve_data_dir,
)
from tuijian.data.schema import EVENT_COLUMNS, validate_events_frame
from tuijian.exceptions import DatasetNotFoundError


def _check_events_frame(events: pd.DataFrame) -> None:
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert isinstance(events["ts"].dtype, pd.DatetimeTZDtype)
    assert pd.api.types.infer_dtype(events["user"]) == "string"
    assert pd.api.types.infer_dtype(events["item"]) == "string"
    sample = events.iloc[:: max(1, len(events) // 2000)]
    pd.testing.assert_frame_equal(validate_events_frame(sample), sample)


def _in_time_order_per_user(events: pd.DataFrame) -> bool:
    ts = events["ts"].to_numpy()
    same = events["user"].to_numpy()[1:] == events["user"].to_numpy()[:-1]
    return bool((~same | (ts[1:] >= ts[:-1])).all())


# ----------------------------------------------------------------------------- resolve_data_dir
def test_resolve_explicit_and_env(data_dir, monkeypatch, tmp_path):
    assert resolve_data_dir(data_dir) == data_dir
    monkeypatch.setenv("TUIJIAN_DATA_DIR", str(tmp_path))
    assert resolve_data_dir() == tmp_path.resolve()
    assert resolve_data_dir(data_dir) == data_dir  # the argument wins over the env var


def test_resolve_errors_name_what_was_tried(monkeypatch, tmp_path):
    with pytest.raises(DatasetNotFoundError, match="data_dir="):
        resolve_data_dir(tmp_path / "nope")
    monkeypatch.setenv("TUIJIAN_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(DatasetNotFoundError, match="TUIJIAN_DATA_DIR"):
        resolve_data_dir()
    monkeypatch.delenv("TUIJIAN_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ds_mod, "_repo_root", lambda: tmp_path / "repo")
    with pytest.raises(DatasetNotFoundError) as err:
        resolve_data_dir()
    msg = str(err.value)
    assert "TUIJIAN_DATA_DIR" in msg and str(tmp_path / ".." / "shared" / "datasets") in msg


def test_unknown_name_and_missing_files(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="expected one of"):
        load_dataset("amazon-books")
    (tmp_path / "amazon_beauty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="Beauty.txt"):
        load_dataset("amazon-beauty", tmp_path)


def test_names():
    assert {
        "online-retail",
        "online-retail-demo",
        "amazon-beauty",
        "amazon-office",
        "movielens-100k",
        "movielens-1m",
        "womens-clothing-reviews",
        "chinese-shopping-reviews",
    } <= set(DATASET_NAMES)


# ----------------------------------------------------------------------------- Amazon
def test_amazon_beauty_counts(data_dir):
    d = load_dataset("amazon-beauty", data_dir)
    assert (d.n_users, d.n_items, d.n_events) == (22_363, 12_101, 198_502)
    _check_events_frame(d.events)
    assert _in_time_order_per_user(d.events)
    assert d.meta["synthetic_ts"] is True
    first = d.events[d.events["user"] == "1"]
    assert first["item"].tolist() == ["1", "2", "3", "4", "5"]  # Beauty.txt line 1
    assert len(d.items) == 12_101 and d.items["item_id"].is_unique
    assert d.items.set_index("item_id").loc["1", "asin"] == "B004756YJA"  # Beauty_user_sequence.txt line 1
    assert d.users.set_index("user_id").loc["1", "reviewer_id"] == "A1YJEY40YUW4SE"
    attrs = d.items.set_index("item_id").loc["4", "attribute_ids"]
    assert attrs == [1, 2, 3]  # Beauty_item2attributes.json
    assert d.items.set_index("item_id").loc["4", "category"] == "attr_1|attr_2|attr_3"


def test_amazon_office_counts_and_entities(data_dir):
    d = load_dataset("amazon-office", data_dir)
    assert (d.n_users, d.n_events) == (4_905, 53_258)
    assert len(d.items) == 2_420 and d.n_items == 2_420
    _check_events_frame(d.events)
    assert _in_time_order_per_user(d.events)
    items = d.items.set_index("item_id")
    assert items.loc["2", "brand"] == "AT&T"  # "AT&amp;T" in the file
    for col in ("title", "description", "brand", "category"):
        assert not items[col].str.contains("&amp;").any()
    assert items.loc["0", "category"] == "Office Electronics > Telephones & Accessories > Cordless Telephones"
    assert (items["description"] == "").sum() == 639


# ----------------------------------------------------------------------------- MovieLens
def test_movielens_100k_counts_and_folds(data_dir):
    d = load_dataset("movielens-100k", data_dir)
    assert (d.n_events, d.n_users, d.n_items) == (100_000, 943, 1_682)
    _check_events_frame(d.events)
    assert set(d.events["kind"]) == {"rating"}
    assert set(d.events["value"]) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert d.events["ts"].min() > pd.Timestamp("1997-01-01", tz="UTC")
    items = d.items.set_index("item_id")
    assert len(items) == 1_682
    assert items.loc["1", "title"] == "Toy Story (1995)"
    assert items.loc["1", "category"] == "Animation|Children's|Comedy"
    assert len(d.users) == 943
    folds = load_movielens_100k_folds(data_dir)
    assert len(folds) == 5

    def key(df: pd.DataFrame) -> np.ndarray:
        return df["user"].astype(np.int64).to_numpy() * 10_000 + df["item"].astype(np.int64).to_numpy()

    all_keys = key(d.events)
    tests = []
    for base, test in folds:
        assert len(test) == 20_000 and len(base) + len(test) == 100_000
        assert np.isin(key(test), all_keys).all() and not np.isin(key(test), key(base)).any()
        tests.append(key(test))
    assert np.unique(np.concatenate(tests)).size == 100_000  # the five test sets partition the data


def test_movielens_1m_counts_and_recbole_filter(data_dir):
    d = load_dataset("movielens-1m", data_dir)
    assert (d.n_events, d.n_users, d.n_items) == (1_000_209, 6_040, 3_706)
    assert d.events["ts"].is_monotonic_increasing  # row order
    assert d.events.iloc[0][["user", "item", "value"]].tolist() == ["1", "1193", 5.0]
    # the RecBole protocol: >= 3 stars, 10-core until stable -> 834,449 / 6,033 / 3,123
    ev = d.events.loc[d.events["value"] >= 3, ["user", "item"]]
    while True:
        keep = (ev.groupby("user")["item"].transform("size") >= 10) & (
            ev.groupby("item")["user"].transform("size") >= 10
        )
        if keep.all():
            break
        ev = ev[keep]
    assert (len(ev), ev["user"].nunique(), ev["item"].nunique()) == (834_449, 6_033, 3_123)
    assert len(d.items) == 3_883 and len(d.users) == 6_040


# ----------------------------------------------------------------------------- reviews
def test_womens_clothing_reviews(data_dir):
    d = load_dataset("womens-clothing-reviews", data_dir)
    assert len(d.reviews) == 23_486
    assert list(d.reviews.columns[:10]) == [
        "item",
        "age",
        "title",
        "text",
        "rating",
        "recommended",
        "positive_feedback",
        "division",
        "department",
        "class",
    ]
    assert d.reviews["rating"].between(1, 5).all()
    assert d.reviews["recommended"].dtype == bool
    assert d.items["item_id"].is_unique and set(d.items["item_id"]) == set(d.reviews["item"])
    first = d.items.set_index("item_id").loc["1080", "category"]
    assert first == "Dresses > Dresses"
    assert d.n_events == 23_486 and set(d.events["kind"]) == {"review"}
    _check_events_frame(d.events)


def test_chinese_shopping_reviews(data_dir):
    d = load_dataset("chinese-shopping-reviews", data_dir)
    r = d.reviews
    assert len(r) == 62_774
    assert (r["label"] == 1).sum() == 31_728 and (r["label"] == 0).sum() == 31_046
    assert list(r.columns) == ["cat", "label", "review"]
    assert not r["review"].str.contains("\ufeff").any() and not r["cat"].str.contains("\ufeff").any()
    assert r["review"].iloc[0].startswith("做父母一定要有刘墉这样的心态")
    assert r["cat"].nunique() == 10
    assert d.events.empty


# ----------------------------------------------------------------------------- online retail + demos
def test_online_retail_shape(online_retail):
    d = online_retail
    _check_events_frame(d.events)
    assert set(d.events["kind"]) == {"purchase"}
    assert d.report.input_rows == 541_909
    assert len(d.event_attrs) == d.n_events and (d.event_attrs.index == d.events.index).all()
    assert d.events["ts"].is_monotonic_increasing
    assert set(d.users["user_id"]) == set(d.events["user"])
    assert set(d.items["item_id"]) == set(d.events["item"])
    assert d.users.set_index("user_id").loc["12347", "country"] == "Iceland"


def test_demo_datasets_need_no_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TUIJIAN_DATA_DIR", str(tmp_path / "does-not-exist"))
    d = load_dataset("online-retail-demo")
    assert d.report.input_rows == 93_740
    assert d.report.input_rows == d.report.kept_rows + d.report.removed_rows
    assert d.report.removed["duplicate"] > 0 and d.report.removed["cancellation_netted"] > 0
    assert d.report.changed["anonymous_user"] > 0
    assert list(d.items.columns[:6]) == ["item_id", "title", "description", "brand", "category", "price"]
    _check_events_frame(d.events)
    w = load_dataset("womens-clothing-demo")
    assert len(w.reviews) == 3_000 and w.reviews["rating"].between(1, 5).all()


def test_item_catalog_columns(data_dir):
    d = load_dataset("movielens-100k", data_dir)
    assert list(d.items.columns[:6]) == ["item_id", "title", "description", "brand", "category", "price"]
    assert d.items["price"].dtype == np.float64
