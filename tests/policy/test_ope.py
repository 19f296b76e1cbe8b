"""Off-policy estimators against a known true value, their input checks, and OPE on the service's own logs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tuijian.exceptions import ConfigError
from tuijian.policy import ope
from tuijian.policy.ope_logs import decisions_frame, evaluate_logs, parse_target
from tuijian.policy.ope_synthetic import SyntheticBandit, coverage


def test_intervals_cover_the_true_value() -> None:
    out = coverage(SyntheticBandit(seed=3), runs=60, n=2000, truth_contexts=200_000)
    assert abs(out["true_value"] - out["logging_policy_value"]) > 0.03  # the target really differs
    for name in ("ips", "snips", "dr"):
        e = out["estimators"][name]
        assert e["coverage"] >= 0.85, (name, e)
        assert abs(e["bias"]) < 0.01
    assert out["estimators"]["snips"]["rmse"] <= out["estimators"]["ips"]["rmse"] * 1.1


def test_on_policy_ips_is_the_mean_reward_and_weights_matter() -> None:
    r = np.array([1.0, 0.0, 1.0, 1.0])
    same = ope.ips(r, [0.5] * 4, [0.5] * 4)
    assert same.value == pytest.approx(0.75) and same.effective_sample_size == pytest.approx(4)
    e = ope.snips(r, [0.5, 0.5, 0.25, 0.25], [1.0, 0.0, 0.0, 1.0])
    assert e.value == pytest.approx((2 * 1 + 4 * 1) / (2 + 4))


def test_dr_with_a_perfect_model_has_no_variance_from_the_weights() -> None:
    rng = np.random.default_rng(0)
    mu = rng.random(500)
    dr = ope.doubly_robust(mu, np.full(500, 0.2), np.full(500, 0.9), mu, mu)
    assert dr.std_error == pytest.approx(mu.std(ddof=1) / np.sqrt(500))


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ConfigError, match="equally long"):
        ope.ips([1, 0], [0.5], [0.5, 0.5])
    with pytest.raises(ConfigError, match="propensities"):
        ope.ips([1, 0], [0.0, 0.5], [0.5, 0.5])
    with pytest.raises(ConfigError, match="no logged support"):
        ope.snips([1, 0], [0.5, 0.5], [0.0, 0.0])
    with pytest.raises(ConfigError, match="sum to 1"):
        parse_target("a=0.5,b=0.2")
    assert parse_target("popular") == {"popular": 1.0}


def _store(tmp_path):
    from tuijian.store import open_store

    return open_store(f"sqlite:///{tmp_path / 'ope.sqlite'}")


def test_ope_on_the_service_logs_of_an_experiment(tmp_path) -> None:
    """Two variants served 50/50 by the hash; 'B' lists get clicked twice as often: OPE of 'always B' finds B's rate."""
    from tuijian.policy.abtest import experiment_from_spec

    store = _store(tmp_path)
    spec = {"name": "x", "variants": [{"name": "A"}, {"name": "B"}]}
    exp = experiment_from_spec(spec, experiment_id="exp-1", created_at=1, salt="s")
    store.create_experiment("demo", exp)
    rng = np.random.default_rng(0)
    lists, exposures, feedback = [], [], []
    for i in range(4000):
        user, rid = f"u{i}", f"r{i}"
        v = exp.assign(user).name
        lists.append((rid, user, "knn:1", 1_000 + i, json.dumps(["i1", "i2", "i3"])))
        exposures.append(("exp-1", v, user, rid, 0.5, 1_000 + i))
        if rng.random() < (0.2 if v == "B" else 0.1):
            feedback.append({"request_id": rid, "item": "i2", "event": "click", "user": user})
    store.log_impression_lists(lists)
    store.log_exposures(exposures)
    store.log_feedback(feedback)
    frame = decisions_frame(store, "exp-1", "click")
    assert len(frame) == 4000 and set(frame["propensity"]) == {0.5}
    out = evaluate_logs(frame, {"B": 1.0})
    for name in ("ips", "snips", "dr"):
        e = out["estimates"][name]
        assert e["ci_low"] < 0.2 < e["ci_high"], (name, e)
    assert out["logged_policy_value"] == pytest.approx(0.15, abs=0.02)
    # without an experiment, the lists are the model's deterministic choices: only it can be evaluated
    det = decisions_frame(store, None, "click")
    assert set(det["action"]) == {"A", "B"}
    with pytest.raises(ConfigError, match="stochastic logging policy"):
        evaluate_logs(det, {"C": 1.0})
    store.close()


def test_deterministic_logs_support_only_the_logged_policy(tmp_path) -> None:
    store = _store(tmp_path)
    store.log_impression_lists([(f"r{i}", f"u{i}", "knn:1", i, '["a"]') for i in range(50)])
    store.log_feedback([{"request_id": f"r{i}", "item": "a", "event": "click"} for i in range(10)])
    frame = decisions_frame(store, None, "click")
    assert set(frame["propensity"]) == {1.0}  # NULL propensity: a deterministic policy
    on = evaluate_logs(frame, {"knn:1": 1.0})
    assert on["estimates"]["ips"]["value"] == pytest.approx(0.2)
    with pytest.raises(ConfigError, match="stochastic logging policy"):
        evaluate_logs(frame, {"other:2": 1.0})
    with pytest.raises(ConfigError, match="deterministic policy"):
        evaluate_logs(frame.assign(action=["knn:1"] * 25 + ["x"] * 25), {"knn:1": 0.5, "x": 0.5})
    store.close()


def test_ope_on_a_bandit_decision_log(tmp_path) -> None:
    """The bandit's choices file: strategies drawn with known propensities; 'trending' lists are clicked 30 %."""
    import sqlite3

    from tuijian.service.bandit import _SCHEMA

    store = _store(tmp_path)
    path = tmp_path / "bandit.sqlite"
    db = sqlite3.connect(path)
    for stmt in _SCHEMA:
        db.execute(stmt)
    rng = np.random.default_rng(1)
    rates = {"model": 0.1, "trending": 0.3}
    lists, feedback, choices = [], [], []
    for i in range(3000):
        x = rng.normal(size=3)
        p_trend = 0.2 if x[0] < 0 else 0.6  # the logging policy depends on the context
        strategy = "trending" if rng.random() < p_trend else "model"
        p = p_trend if strategy == "trending" else 1 - p_trend
        rid = f"r{i}"
        lists.append((rid, f"u{i}", "knn:1", i, '["a", "b"]'))
        choices.append((rid, f"u{i}", strategy, json.dumps(x.tolist()), p, 0, i))
        if rng.random() < rates[strategy]:
            feedback.append({"request_id": rid, "item": "a", "event": "click"})
    db.executemany(
        "INSERT INTO choices (request_id, user_id, strategy, context, propensity, explored, ts) VALUES (?,?,?,?,?,?,?)",
        choices,
    )
    db.commit()
    db.close()
    store.log_impression_lists(lists)
    store.log_feedback(feedback)
    frame = decisions_frame(store, None, "click", bandit_log=path)
    assert len(frame) == 3000 and set(frame["action"]) == {"model", "trending"} and "context" in frame
    out = evaluate_logs(frame, {"trending": 1.0})
    for name in ("ips", "snips", "dr"):
        e = out["estimates"][name]
        assert e["ci_low"] < 0.3 < e["ci_high"], (name, e)
    with pytest.raises(ConfigError, match="does not exist"):
        decisions_frame(store, None, "click", bandit_log=tmp_path / "missing.sqlite")
    store.close()
