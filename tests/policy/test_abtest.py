"""Experiment design and assignment, and the report computed from exposure and outcome frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuijian.exceptions import ConfigError
from tuijian.policy.abtest import bucket, experiment_from_dict, experiment_from_spec
from tuijian.policy.abtest_analysis import analyse, user_table

SPEC = {
    "name": "t",
    "variants": [{"name": "A", "weight": 3}, {"name": "B", "weight": 1, "strategy": "trending"}],
}


def _exp(**kw):
    return experiment_from_spec({**SPEC, **kw}, experiment_id="e1", created_at=1, salt="s1")


def test_assignment_is_deterministic_weighted_and_independent_between_experiments() -> None:
    exp = _exp()
    users = [f"u{i}" for i in range(20_000)]
    first = [exp.assign(u).name for u in users]
    assert first == [exp.assign(u).name for u in users]  # sticky
    share_b = np.mean([v == "B" for v in first])
    assert share_b == pytest.approx(0.25, abs=0.015)  # 4 sd
    other = experiment_from_spec(SPEC, experiment_id="e2", created_at=1, salt="s2")
    both = np.mean([a == "B" and other.assign(u).name == "B" for a, u in zip(first, users, strict=True)])
    assert both == pytest.approx(0.25 * 0.25, abs=0.01)  # independent salts
    idx = bucket("s1", users[:100], exp.shares)
    assert [exp.variants[i].name for i in idx] == first[:100]
    again = experiment_from_dict({**exp.to_dict(), "salt": exp.salt})
    assert [again.assign(u).name for u in users[:500]] == first[:500]


def test_traffic_share_keeps_users_out() -> None:
    exp = _exp(traffic=0.3)
    inside = np.mean([exp.assign(f"u{i}") is not None for i in range(10_000)])
    assert inside == pytest.approx(0.3, abs=0.02)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"variants": [{"name": "A"}]}, "2 to 10"),
        ({"variants": [{"name": "A"}, {"name": "B", "weight": 0}]}, "positive"),
        ({"variants": [{"name": "A"}, {"name": "has space"}]}, "letters"),
        ({"variants": [{"name": "A"}, {"name": "B", "config": {"window_days": "x"}}]}, "window_days"),
        ({"variants": [{"name": "A"}, {"name": "B", "model_version": "m:1"}]}, "not a stored version"),
        ({"primary_metric": "clicks"}, "primary_metric"),
        ({"planned_users": 3}, "planned_users"),
        ({"looks": 0}, "looks"),
        ({"alpha": 0.7}, "alpha"),
    ],
)
def test_bad_specs_name_the_field(change, message) -> None:
    with pytest.raises(ConfigError, match=message):
        experiment_from_spec({**SPEC, **change}, experiment_id="e", created_at=1, known_versions={"m:2"})


def _logs(n_users: int, rates: dict[str, float], seed: int = 0, exp=None):
    """Synthetic logs: each user one served list of 10 items, clicks with the variant's rate, some purchases."""
    exp = exp or _exp(planned_users=n_users // 4, looks=3)
    rng = np.random.default_rng(seed)
    exposures, outcomes = [], []
    for i in range(n_users):
        u = f"u{i}"
        v = exp.assign(u).name
        rid = f"r{i}"
        ts = 1_000 * i
        exposures.append((u, v, rid, ts))
        outcomes += [(rid, "impression", ts, 0.0)] * 10
        if rng.random() < rates[v]:
            outcomes.append((rid, "click", ts + 10, 0.0))
            if rng.random() < 0.3:
                outcomes.append((rid, "purchase", ts + 20, 12.5))
    return (
        exp,
        pd.DataFrame(exposures, columns=["user", "variant", "request_id", "ts"]),
        pd.DataFrame(outcomes, columns=["request_id", "event", "ts", "revenue"]),
    )


def test_user_table_counts_and_cuts_by_time() -> None:
    exp, exposures, outcomes = _logs(200, {"A": 0.5, "B": 0.5})
    table = user_table(exposures, outcomes)
    assert len(table) == 200 and (table["impressions"] == 10).all()
    assert table["clicks"].sum() == (outcomes["event"] == "click").sum()
    assert table["revenue"].sum() == pytest.approx(outcomes["revenue"].sum())
    early = user_table(exposures, outcomes, until_ts=50_000)
    assert len(early) == 51 and early["clicks"].sum() <= table["clicks"].sum()


def test_report_finds_a_real_difference_and_its_direction() -> None:
    exp, exposures, outcomes = _logs(8000, {"A": 0.10, "B": 0.16})
    rep = analyse(exp, exposures, outcomes, n_bootstrap=300)
    assert not rep["srm"]["mismatch"]
    click = next(c for c in rep["comparisons"] if c["metric"] == "click_rate")
    assert click["significant"] and click["difference"] > 0.03 and click["bootstrap_ci"][0] > 0
    assert click["ci_low"] < 0.06 < click["ci_high"]
    rev = next(c for c in rep["comparisons"] if c["metric"] == "revenue_per_user")
    assert rev["test"] == "welch_t" and rev["difference"] > 0
    seq = rep["sequential"]
    assert (
        seq["decision"] == "stop"
        and seq["winner"]["variant"] == "B"
        and seq["winner"]["direction"] == "better"
    )
    assert sum(rep["timeline"]["series"]["A"][-1:]) + rep["timeline"]["series"]["B"][-1] == 8000


def test_report_on_an_a_a_split_is_not_significant_and_flags_srm_when_the_split_breaks() -> None:
    exp, exposures, outcomes = _logs(4000, {"A": 0.1, "B": 0.1}, seed=5)
    rep = analyse(exp, exposures, outcomes, n_bootstrap=0)
    assert not next(c for c in rep["comparisons"] if c["metric"] == "click_rate")["significant"]
    assert rep["sequential"]["decision"] in ("continue", "stop_no_difference")
    broken = exposures[
        ~((exposures["variant"] == "B") & (exposures.index % 3 == 0))
    ]  # a third of B's logs lost
    assert analyse(exp, broken, outcomes, n_bootstrap=0)["srm"]["mismatch"]


def test_report_without_data_explains_itself() -> None:
    exp = _exp()
    empty = pd.DataFrame(columns=["user", "variant", "request_id", "ts"])
    out = pd.DataFrame(columns=["request_id", "event", "ts", "revenue"])
    rep = analyse(exp, empty, out)
    assert rep["users"] == 0 and all("note" in c for c in rep["comparisons"])
    assert rep["sequential"]["decision"] == "fixed_horizon"


def test_variant_strategies_are_the_bandits_plus_fallback() -> None:
    from tuijian.policy.abtest import STRATEGIES
    from tuijian.service.bandit_strategies import STRATEGIES as LIST_STRATEGIES

    assert set(STRATEGIES) == set(LIST_STRATEGIES) | {"fallback"}
