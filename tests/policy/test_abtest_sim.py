"""The simulation through the real hash split: error rate under A/A (with and without early looks) and power."""

from __future__ import annotations

import pytest

from tuijian.policy.abtest_sim import plan, simulate


def test_a_a_error_rate_is_alpha_with_the_stop_rule_and_inflated_by_peeking() -> None:
    out = simulate(aa=True, runs=400, baseline=0.2, relative_lift=0.2, users_per_variant=1500, seed=1)
    assert out["runs"] == 400
    assert 0.025 <= out["false_positive_rate"] <= 0.075
    assert 0.025 <= out["stop_rule"]["rate"] <= 0.075
    assert out["naive_peeking"]["rate"] > out["stop_rule"]["rate"]
    assert out["srm_flag_rate"] <= 0.01


def test_power_at_the_computed_sample_size() -> None:
    design = plan(0.2, 0.2, looks=5)
    out = simulate(aa=False, runs=300, baseline=0.2, relative_lift=0.2, seed=2)
    assert out["users_per_variant"] == design["users_per_variant"]
    assert out["power"] == pytest.approx(0.8, abs=0.07)
    assert out["stop_rule"]["rate"] == pytest.approx(0.8, abs=0.07)
    assert out["stop_rule"]["mean_users_at_stop"] < 2 * out["sequential_users_per_variant"]  # early stops
