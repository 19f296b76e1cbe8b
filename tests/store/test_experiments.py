"""Experiments and exposures in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from tuijian.exceptions import ConfigError, UnknownIdError
from tuijian.policy.abtest import experiment_from_spec
from tuijian.store import Store

SPEC = {"name": "x", "variants": [{"name": "A"}, {"name": "B", "strategy": "fallback"}], "planned_users": 100}


def test_experiment_lifecycle_and_logs(store: Store) -> None:
    exp = experiment_from_spec(SPEC, experiment_id=store.new_experiment_id(), created_at=5, salt="s")
    rec = store.create_experiment("demo", exp)
    assert rec["status"] == "running" and rec["salt"] == "s" and rec["variants"][1]["strategy"] == "fallback"
    with pytest.raises(ConfigError, match="already running"):
        store.create_experiment("demo", experiment_from_spec(SPEC, experiment_id="exp-other", created_at=6))
    store.add_items([{"item_id": "i2", "title": "t", "price": 4.5}])
    store.log_impression_lists([("r1", "u1", "m:1", 10, json.dumps(["i1", "i2"]))])
    store.log_exposures([(exp.id, "B", "u1", "r1", 0.5, 10)])
    store.log_feedback(
        [
            {"request_id": "r1", "item": "i2", "event": "click", "position": 1},
            {"request_id": "r1", "item": "i2", "event": "purchase", "position": 1},
            {"request_id": "other", "item": "i2", "event": "click"},
        ]
    )
    exposures, outcomes = store.experiment_logs(exp.id)
    assert exposures[["user", "variant", "request_id"]].values.tolist() == [["u1", "B", "r1"]]
    assert sorted(outcomes["event"]) == ["click", "impression", "impression", "purchase"]
    assert outcomes.loc[outcomes["event"] == "purchase", "revenue"].tolist() == [4.5]
    assert [r["id"] for r in store.list_experiments("demo", status="running")] == [exp.id]
    stopped = store.stop_experiment(exp.id)
    assert stopped["status"] == "stopped" and stopped["stopped_at"]
    assert store.list_experiments("demo", status="running") == []
    with pytest.raises(UnknownIdError):
        store.experiment_record("exp-missing")
    # erasure removes a user's exposures too
    assert store.forget_user("u1")["exposures"] == 1
