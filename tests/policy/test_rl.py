"""The REINFORCE reranker: Plackett-Luce log-probabilities, training in the simulator, the paired comparison."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tuijian.exceptions import NotFittedError  # noqa: E402
from tuijian.policy.rl import (  # noqa: E402
    Candidates,
    ReinforceReranker,
    _plackett_luce_logp,
    compare,
    greedy_policy,
    paired_ci,
)


def test_plackett_luce_probabilities_sum_to_one() -> None:
    logits = torch.tensor([0.3, -1.0, 2.0, 0.5])
    total = sum(
        float(torch.exp(_plackett_luce_logp(logits, torch.tensor(o))))
        for o in itertools.permutations(range(4), 2)
    )
    assert total == pytest.approx(1.0, abs=1e-5)
    # first place alone is the softmax
    p0 = float(torch.exp(_plackett_luce_logp(logits, torch.tensor([2]))))
    assert p0 == pytest.approx(float(torch.softmax(logits, 0)[2]), abs=1e-6)


def test_candidates_exclude_history_and_purchases(demo_sim) -> None:
    cand = Candidates(demo_sim, n_candidates=30)
    s = int(np.flatnonzero(demo_sim.cal.known)[0])
    state = demo_sim.state(s)
    items, feats = cand(state)
    assert len(items) == 30 and feats.shape == (30, 8)
    assert not np.isin(items, state.history).any()
    state.bought.add(int(items[0]))
    assert int(items[0]) not in cand(state)[0]


def test_reranker_trains_and_is_compared_with_greedy(demo_sim) -> None:
    cand = Candidates(demo_sim, n_candidates=20)
    shoppers = np.arange(demo_sim.n_shoppers)
    with pytest.raises(NotFittedError):
        ReinforceReranker().policy(demo_sim.state(0), np.random.default_rng(0))
    rl = ReinforceReranker(iterations=3, batch_lifetimes=4, seed=0).fit(demo_sim, cand, shoppers[::2])
    assert rl.report_.lifetimes == 12
    items, _ = rl.policy(demo_sim.state(1), np.random.default_rng(0))
    assert len(items) == demo_sim.model.n_positions and set(items) <= set(cand(demo_sim.state(1))[0])
    out = compare(demo_sim, {"greedy": greedy_policy(cand), "rl": rl.policy}, shoppers[1::2][:40])
    d = out["difference_vs_baseline"]["rl"]
    assert d["t95"][0] <= d["mean"] <= d["t95"][1]
    # the same policy twice gives exactly zero difference: the comparison uses common random numbers
    same = compare(demo_sim, {"a": greedy_policy(cand), "b": greedy_policy(cand)}, shoppers[:30])
    assert same["difference_vs_baseline"]["b"]["mean"] == 0.0


def test_paired_ci_covers_a_known_mean() -> None:
    rng = np.random.default_rng(0)
    ci = paired_ci(rng.normal(1.0, 1.0, 400))
    assert ci["t95"][0] < 1.0 < ci["t95"][1]
    assert ci["bootstrap95"][0] < 1.0 < ci["bootstrap95"][1]
