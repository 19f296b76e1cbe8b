"""The shopper simulator: calibration on a real log, the choice model and the fit report."""

from __future__ import annotations

import numpy as np
import pytest

from tuijian.exceptions import ConfigError
from tuijian.policy.sim_fit import fit_report, gini, top_share
from tuijian.policy.simulator import ShopperModel, ShopperSimulator, SimLog


def test_calibration_measures_the_log(demo_calibration) -> None:
    cal = demo_calibration
    assert len(cal.pool) == len(cal.future) == len(cal.known) == len(cal.pool_visits)
    assert len(cal.pool) > 50
    # every shopper has a future, and no future item is in the past part's events of that user
    assert all(len(f) > 0 for f in cal.future)
    assert (
        cal.future_counts.sum() == sum(len(np.unique(f)) for f in cal.future) or cal.future_counts.sum() > 0
    )
    assert 0 < cal.return_rate < 1
    assert cal.lines_per_visit.min() >= 1 and cal.lines_per_visit.mean() > 1  # invoices hold several lines
    assert cal.info["cut_ts"] is not None  # real timestamps: one global cut
    past_max = int(cal.past.log["ts"].max())
    assert past_max < cal.info["cut_ts"]


def test_calibrated_click_bias_reaches_the_target_ctr(demo_calibration) -> None:
    sim = ShopperSimulator(demo_calibration, ShopperModel(target_ctr=0.05), seed=1)
    exam = sim.model.examination()
    ctrs = []
    rng = np.random.default_rng(0)
    for s in range(min(300, sim.n_shoppers)):
        items, _ = sim.popular_policy(sim.state(s), rng)
        ctrs.append((sim.click_probability(s, items) * exam[: len(items)]).sum() / exam[: len(items)].sum())
    assert np.mean(ctrs) == pytest.approx(0.05, rel=0.15)


def test_position_bias_and_future_items_drive_clicks(demo_sim) -> None:
    sim = demo_sim
    exam = sim.model.examination()
    assert exam[0] == 1.0 and np.all(np.diff(exam) < 0)
    s = 0
    fut = sim.cal.future[s][:1]
    other = np.setdiff1d(sim.popular[:50], sim.cal.future[s])[:1]
    assert sim.click_probability(s, fut)[0] > sim.click_probability(s, other)[0]
    # the same list: an item at the top is clicked more often than at the bottom
    rng = np.random.default_rng(0)
    top = bottom = 0
    items = np.concatenate([fut, sim.popular[100:109]])
    rev = items[::-1]
    for _ in range(2000):
        top += int(sim.respond(sim.state(s), items, rng).clicks[0])
        bottom += int(sim.respond(sim.state(s), rev, rng).clicks[-1])
    assert top > 1.5 * bottom


def test_bought_items_are_not_bought_again_and_propensities_are_logged(demo_sim) -> None:
    sim = demo_sim
    rng = np.random.default_rng(3)
    log = SimLog()

    def policy(state, r):
        return sim.popular_policy(state, r)[0], 0.25

    lives = [sim.lifetime(policy, s, rng, log) for s in range(50)]
    frame = log.frame()
    assert len(frame) == sum(x["lists"] for x in lives)
    assert (frame["propensity"] == 0.25).all()
    assert frame["examination"].map(len).eq(frame["items"].map(len)).all()
    for _, g in frame.groupby("shopper"):
        bought = [
            i
            for items, b in zip(g["items"], g["purchases"], strict=True)
            for i, x in zip(items, b, strict=True)
            if x
        ]
        assert len(bought) == len(set(bought))


def test_satisfied_shoppers_return_more(demo_sim) -> None:
    s = int(np.argmax(demo_sim.cal.pool_visits))
    assert demo_sim.return_probability(s, 3) > demo_sim.return_probability(s, 0)


def test_fit_report_compares_real_and_simulated(demo_sim) -> None:
    rep = fit_report(demo_sim, n_shoppers=100)
    assert rep["return_rate"]["real"] == pytest.approx(demo_sim.cal.return_rate, abs=1e-4)
    assert rep["shoppers"] == 100
    assert 0 <= rep["item_popularity"]["gini_sim"] <= 1
    assert rep["lines_per_visit"]["sim_lists_mean"] <= demo_sim.model.max_lists_per_visit


def test_helpers_and_bad_parameters() -> None:
    assert gini(np.ones(10)) == pytest.approx(0.0)
    assert gini(np.r_[np.zeros(99), 1.0]) > 0.95
    assert top_share(np.r_[np.zeros(99), 5.0], 0.01) == 1.0
    with pytest.raises(ConfigError, match="target_ctr"):
        ShopperModel(target_ctr=1.5)
