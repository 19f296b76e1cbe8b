"""Protocols: scoring rules on small known data, then the real published protocols."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tuijian.evaluate.protocols import make_protocol, time_windows
from tuijian.evaluate.runner import evaluate_model
from tuijian.exceptions import ConfigError
from tuijian.models import registry

T0 = pd.Timestamp("2011-01-01", tz="UTC")


def _retail(rows: list[tuple[str, str, str]]) -> SimpleNamespace:
    ev = pd.DataFrame(rows, columns=["user", "item", "ts"])
    ev["ts"] = pd.to_datetime(ev["ts"], utc=True)
    ev["kind"] = "purchase"
    ev["value"] = 1.0
    return SimpleNamespace(name="toy-shop", events=ev)


# last event 2011-03-31 -> test from 2011-03-01, valid from 2011-01-30
SHOP = _retail([
    ("alice", "mug", "2011-01-05"), ("alice", "tea", "2011-01-06"), ("alice", "mug", "2011-03-10"),
    ("alice", "pot", "2011-03-11"), ("bob", "tea", "2011-02-10"), ("bob", "pot", "2011-03-12"),
    ("carol", "cup", "2011-01-07"), ("carol", "cup", "2011-03-20"), ("dave", "mug", "2011-03-15"),
    ("anon:9", "mug", "2011-01-02"), ("anon:10", "pot", "2011-03-31"),
])  # fmt: skip


def _names(split, stage, matrix):
    return {
        split.train.users.ids[u]: sorted(split.train.items.ids[matrix[u].indices].tolist())
        for u in stage.users
    }


def test_time_windows_for_online_retail() -> None:
    valid_start, test_start = time_windows(pd.Timestamp("2011-12-09 12:50", tz="UTC"), 30)
    assert (str(valid_start.date()), str(test_start.date())) == ("2011-10-10", "2011-11-09")


def test_time_protocol_excludes_repeats_anonymous_and_cold_users() -> None:
    s = make_protocol("time", SHOP)
    assert s.info["test_start"].startswith("2011-03-01") and s.info["valid_start"].startswith("2011-01-30")
    st = s.stage("test")
    # alice re-bought mug (excluded), pot is new; bob: pot; carol only re-bought cup -> no target;
    # dave has no history before the test window; anon:10 is anonymous
    assert _names(s, st, st.targets) == {"alice": ["pot"], "bob": ["pot"]}
    assert _names(s, st, st.exclude) == {"alice": ["mug", "tea"], "bob": ["tea"]}
    valid = s.stage("valid")
    assert _names(s, valid, valid.targets) == {}  # bob's only pre-valid history is empty
    assert s.train.nnz == 4 and s.valid.nnz == 1


def test_time_repeats_protocol_keeps_repeat_purchases() -> None:
    s = make_protocol("time-repeats", SHOP)
    st = s.stage("test")
    assert _names(s, st, st.targets) == {"alice": ["mug", "pot"], "bob": ["pot"], "carol": ["cup"]}
    assert st.exclude is None


def test_loo_stage_fits_on_train_plus_valid_and_train_only_on_request() -> None:
    rows = [("u", f"i{j}", f"2011-01-0{j + 1}") for j in range(5)] + [
        ("v", "i0", "2011-01-01"),
        ("v", "i1", "2011-01-02"),
    ]
    s = make_protocol("loo", _retail(rows))
    st = s.stage("test")
    assert _names(s, st, st.targets) == {"u": ["i4"]}  # v has 2 events: train only, not evaluated
    assert _names(s, st, st.exclude) == {"u": ["i0", "i1", "i2", "i3"]}
    assert st.fit.nnz == 6
    only_train = s.stage("test", fit_on="train")
    assert only_train.fit.nnz == 5 and _names(s, only_train, only_train.exclude)["u"] == [
        "i0",
        "i1",
        "i2",
        "i3",
    ]
    with pytest.raises(ConfigError, match="phase"):
        s.stage("final")
    with pytest.raises(ConfigError, match="unknown protocol"):
        make_protocol("kfold", SHOP)


# ----------------------------------------------------------------------------- real data (acceptance)
def test_recbole_ml1m_counts_are_exact(ml1m_recbole) -> None:
    s = ml1m_recbole
    assert s.counts == {"n_users": 6033, "n_items": 3123, "n_interactions": 834_449, "n_events": 834_449}
    assert s.train.nnz + s.valid.nnz + s.test.nnz == 834_449
    assert s.valid.nnz == s.test.nnz  # floor(0.1 n) per user for both
    per_user = np.diff(s.test.matrix.indptr)
    total = per_user + np.diff(s.valid.matrix.indptr) + np.diff(s.train.matrix.indptr)
    assert (per_user == np.floor(total * 0.1)).all() and total.min() >= 10


def test_recbole_ml1m_ease_ndcg(ml1m_recbole) -> None:
    st = ml1m_recbole.stage("test")
    model = registry.create("ease", reg=500.0).fit(st.fit)
    res = evaluate_model(model, st, (10,))
    assert res["n_users_evaluated"] == 6033
    assert res["ndcg@10"] >= 0.280  # published 0.2865
    assert 0.18 < res["recall@10"] < 0.30


def test_beauty_loo_popularity_hit_rate(beauty_loo) -> None:
    s = beauty_loo
    assert (
        s.counts["n_users"] == 22_363
        and s.counts["n_items"] == 12_101
        and s.counts["n_interactions"] == 198_502
    )
    st = s.stage("test")
    model = registry.create("popularity").fit(st.fit)
    res = evaluate_model(model, st, (10,))
    assert res["n_users_evaluated"] == 22_363
    assert 0.0122 <= res["hr@10"] <= 0.0182  # published PopRec 0.0152 +- 0.003
    assert res["ndcg@10"] < res["hr@10"]


def test_online_retail_time_protocol_sane(retail_time) -> None:
    s = retail_time
    assert s.info["test_start"].startswith("2011-11-09") and s.info["valid_start"].startswith("2011-10-10")
    st = s.stage("test")
    users = s.train.users.ids[st.users]
    assert len(users) > 1000 and not any(str(u).startswith("anon:") for u in users)
    assert st.targets[st.users].multiply(st.exclude[st.users]).nnz == 0  # nothing seen is a target
    pop = evaluate_model(registry.create("popularity").fit(st.fit), st, (10,))
    knn = evaluate_model(registry.create("item-knn").fit(st.fit), st, (10,))
    for res in (pop, knn):
        assert 0.0 < res["ndcg@10"] < 0.5 and 0.0 < res["recall@10"] < 0.5
    assert knn["coverage@10"] > pop["coverage@10"] and knn["gini@10"] < pop["gini@10"]
