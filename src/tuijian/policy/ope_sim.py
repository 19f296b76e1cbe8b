"""Off-policy evaluation checked in the shopper simulator against the true value (issue 13).

A request is one shopper (drawn uniformly from the simulator's pool, first list of a visit) and one of three
strategies that make the list: ``knn`` (an item-kNN fitted on the simulator's past, greedy top k), ``popular``
(:meth:`ShopperSimulator.popular_policy`) and ``trending`` (most events in the last 30 days of the past). The
reward is clicks + purchases on the list. A policy maps the request's context (has a history, log history length)
to a probability per strategy. :func:`log_requests` runs a stochastic logging policy and records the exact
propensity of the chosen strategy; :func:`estimates` gives IPS, SNIPS and DR (cross-fitted ridge reward model on
the context) of a target policy from those logs.

The true value of a target is exact: :func:`expected_value` averages, over the shopper pool (requests draw
shoppers uniformly and start from a fresh state), the target's mix of the strategies' expected rewards per list
(:func:`expected_reward`: per position, examination x click x (1 + purchase)). :func:`true_value` runs the target
itself on fresh seeds, a Monte Carlo check of the same number. Requests of one log are independent (a shopper
drawn with replacement, the request's own random stream, no state carried between requests), so the per-request
standard errors of :mod:`tuijian.policy.ope` are the right ones here; a shopper drawn twice is two draws from the
pool, not a cluster to correct for, because the estimand is the pool average.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats as st

from tuijian.exceptions import ConfigError
from tuijian.policy.ope import doubly_robust, fit_reward_model, ips, snips
from tuijian.policy.rl import Candidates
from tuijian.policy.simulator import ShopperSimulator, ShopperState

ACTIONS: tuple[str, ...] = ("knn", "popular", "trending")
PolicyProbs = Callable[[np.ndarray], np.ndarray]  # context features (2,) -> probability per action


class StrategyActions:
    """The three strategies as list makers over one simulator."""

    def __init__(self, sim: ShopperSimulator, n_candidates: int = 50) -> None:
        self.sim = sim
        self.cand = Candidates(sim, n_candidates=n_candidates)
        self.trending = np.lexsort((np.arange(sim.n_items), -self.cand.log_pop, -self.cand.log_recent))
        self._lists: dict[tuple[int, int], np.ndarray] = {}

    def items(self, state: ShopperState, action: int) -> np.ndarray:
        """The list ``action`` shows ``state``; a shopper who has bought nothing yet gets it from a cache (the
        list depends only on the shopper's past and purchases, so the cache returns what would be computed)."""
        if state.bought:
            return self._make(state, action)
        key = (state.shopper, action)
        got = self._lists.get(key)
        if got is None:
            got = self._lists[key] = self._make(state, action)
        return got

    def _make(self, state: ShopperState, action: int) -> np.ndarray:
        k = self.sim.model.n_positions
        if ACTIONS[action] == "knn":
            return self.cand(state)[0][:k]
        if ACTIONS[action] == "popular":
            return self.sim.popular_policy(state, np.random.default_rng(0))[0]
        seen = np.concatenate([state.history, np.fromiter(state.bought, np.int64, len(state.bought))])
        top = self.trending[: k + len(seen)]
        return top[~np.isin(top, seen)][:k]

    @staticmethod
    def features(state: ShopperState) -> np.ndarray:
        return np.array([float(len(state.history) > 0), np.log1p(len(state.history)) / 5.0])


def fixed(action: str) -> PolicyProbs:
    """Always the one strategy."""
    a = ACTIONS.index(action)
    vec = np.eye(len(ACTIONS))[a]
    return lambda x: vec


def constant(probs: list[float] | tuple[float, ...]) -> PolicyProbs:
    """The same mix for every request (e.g. uniform logging)."""
    vec = np.asarray(probs, np.float64)
    if vec.shape != (len(ACTIONS),) or (vec < 0).any() or not np.isclose(vec.sum(), 1.0):
        raise ConfigError(f"probs must be {len(ACTIONS)} non-negative numbers summing to 1, got {probs!r}")
    return lambda x: vec


def contextual_mix(known: tuple[float, ...], unknown: tuple[float, ...]) -> PolicyProbs:
    """One mix for shoppers with a past history, another for shoppers without."""
    a, b = constant(known), constant(unknown)
    return lambda x: a(x) if x[0] > 0 else b(x)


def log_requests(
    sim: ShopperSimulator, acts: StrategyActions, policy: PolicyProbs, n: int, seed: int
) -> dict[str, np.ndarray]:
    """``n`` requests under ``policy``: context features, chosen action, its propensity, reward."""
    rng = np.random.default_rng([seed, 0])
    shoppers = rng.integers(0, sim.n_shoppers, n)
    feats = np.empty((n, 2))
    action = np.empty(n, np.int64)
    prop = np.empty(n)
    reward = np.empty(n)
    for t in range(n):
        r = np.random.default_rng([seed, 1, t])
        state = sim.state(int(shoppers[t]))
        x = acts.features(state)
        p = policy(x)
        a = int(r.choice(len(ACTIONS), p=p))
        out = sim.respond(state, acts.items(state, a), r)
        feats[t], action[t], prop[t], reward[t] = x, a, p[a], out.reward
    return {"features": feats, "action": action, "propensity": prop, "reward": reward}


def expected_reward(sim: ShopperSimulator, state: ShopperState, items: np.ndarray) -> float:
    """The expected reward (clicks + purchases) of one list in :meth:`ShopperSimulator.respond`: per position,
    ``examination * click probability * (1 + purchase probability)``, no click on an item already bought."""
    items = np.asarray(items, np.int64)[: sim.model.n_positions]
    if len(items) == 0:
        return 0.0
    p_click = sim.click_probability(state.shopper, items)
    if state.bought:
        p_click = np.where(np.isin(items, list(state.bought)), 0.0, p_click)
    fut = np.isin(items, sim.cal.future[state.shopper])
    p_buy = np.where(fut, sim.model.purchase_future, sim.model.purchase_other)
    return float((sim.model.examination(len(items)) * p_click * (1.0 + p_buy)).sum())


def expected_value(sim: ShopperSimulator, acts: StrategyActions, policy: PolicyProbs) -> float:
    """The exact value of ``policy`` for the requests of :func:`log_requests`: the mean over the shopper pool
    (each request draws a shopper uniformly, fresh state) of ``sum_a policy(a | x) * expected_reward(a)``."""
    total = 0.0
    for s in range(sim.n_shoppers):
        state = sim.state(s)
        probs = policy(acts.features(state))
        for a in np.flatnonzero(probs > 0).tolist():
            total += float(probs[a]) * expected_reward(sim, state, acts.items(sim.state(s), a))
    return total / sim.n_shoppers


def true_value(
    sim: ShopperSimulator, acts: StrategyActions, policy: PolicyProbs, n: int, seed: int, alpha: float = 0.05
) -> dict[str, float]:
    """The target's value by running it: mean reward per request over ``n`` fresh requests, normal interval
    (a Monte Carlo check of :func:`expected_value`)."""
    r = log_requests(sim, acts, policy, n, seed)["reward"]
    se = float(r.std(ddof=1) / np.sqrt(n))
    z = float(st.norm.ppf(1 - alpha / 2))
    m = float(r.mean())
    return {"value": m, "ci_low": m - z * se, "ci_high": m + z * se, "std_error": se, "n": n}


def estimates(logs: dict[str, np.ndarray], target: PolicyProbs, seed: int = 0) -> dict[str, dict[str, Any]]:
    """IPS, SNIPS and DR of ``target`` from ``logs`` (see :func:`log_requests`)."""
    x, a, p, r = logs["features"], logs["action"], logs["propensity"], logs["reward"]
    pi = np.stack([target(row) for row in x])
    q = fit_reward_model(x, a, r, len(ACTIONS), seed=seed)
    tp = pi[np.arange(len(a)), a]
    return {
        "ips": ips(r, p, tp).to_dict(),
        "snips": snips(r, p, tp).to_dict(),
        "dr": doubly_robust(r, p, tp, q[np.arange(len(a)), a], (pi * q).sum(axis=1)).to_dict(),
    }
