"""OPE in the simulator: estimates from uniformly logged strategies against the target's simulated true value."""

from __future__ import annotations

import numpy as np
import pytest

from tuijian.policy import ope_sim


@pytest.fixture(scope="module")
def acts(demo_sim):
    return ope_sim.StrategyActions(demo_sim)


def test_snips_and_dr_of_a_fixed_strategy_match_its_true_simulated_value(demo_sim, acts) -> None:
    logs = ope_sim.log_requests(demo_sim, acts, ope_sim.constant([1 / 3, 1 / 3, 1 / 3]), 2000, seed=1)
    assert np.allclose(logs["propensity"], 1 / 3)
    assert set(np.unique(logs["action"]).tolist()) == {0, 1, 2}
    target = ope_sim.fixed("knn")
    truth = ope_sim.true_value(demo_sim, acts, target, 3000, seed=99)
    est = ope_sim.estimates(logs, target)
    for name in ("snips", "dr"):
        e = est[name]
        assert abs(e["value"] - truth["value"]) < 0.15 * truth["value"], (name, e, truth)
        assert e["ci_low"] < e["value"] < e["ci_high"]
    # the logged (uniform) policy's own mean is far from the target's value: the reweighting does the work
    assert abs(logs["reward"].mean() - truth["value"]) > 0.25 * truth["value"]


def test_a_fixed_target_only_uses_its_own_logged_decisions(demo_sim, acts) -> None:
    logs = ope_sim.log_requests(demo_sim, acts, ope_sim.constant([0.5, 0.25, 0.25]), 300, seed=3)
    est = ope_sim.estimates(logs, ope_sim.fixed("popular"))
    own = logs["action"] == 1
    assert est["snips"]["value"] == pytest.approx(logs["reward"][own].mean())
    with pytest.raises(ValueError, match="summing to 1"):
        ope_sim.constant([0.5, 0.5, 0.5])
