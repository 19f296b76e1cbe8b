"""Off-policy evaluation: the value of a target policy estimated from another policy's logs.

Every estimator takes plain arrays, one entry per logged decision ``i`` (a served list, a chosen strategy):

* ``rewards[i]``: the observed reward (a click, a purchase, revenue);
* ``logging_propensity[i]``: the probability with which the logging policy took the logged action (> 0);
* ``target_probability[i]``: the probability with which the target policy would take that same action.

With importance weights ``w = target_probability / logging_propensity``:

* :func:`ips`: inverse propensity scoring, ``mean(w * r)``; unbiased when every action the target may take has a
  positive logging propensity; its interval is the normal one from the per-decision terms.
* :func:`snips`: self-normalised IPS, ``sum(w * r) / sum(w)``; slightly biased, much lower variance; its
  interval uses the delta method for a ratio.
* :func:`doubly_robust`: ``mean(q_target + w * (r - q_logged))`` with a reward model's predictions
  ``q_logged[i] = q(x_i, a_i)`` and ``q_target[i] = sum_a pi(a | x_i) q(x_i, a)``; unbiased if either the
  propensities or the reward model are right, with lower variance than IPS when the model is good.
  :func:`fit_reward_model` gives cross-fitted ridge predictions (a model fitted on the other folds predicts each
  row, so the correction term stays unbiased).

A deterministic logging policy (propensity 1 everywhere) supports only the target that always does the same:
OPE of anything else needs a stochastic logging policy (an A/B split, a bandit's exploration).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as st

from tuijian.exceptions import ConfigError


@dataclass(frozen=True)
class Estimate:
    """A policy value with its ``1 - alpha`` interval; ``effective_sample_size = sum(w)^2 / sum(w^2)``."""

    estimator: str
    value: float
    ci_low: float
    ci_high: float
    std_error: float
    n: int
    effective_sample_size: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _arrays(
    rewards: Any, logging_propensity: Any, target_probability: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = np.asarray(rewards, dtype=np.float64)
    p = np.asarray(logging_propensity, dtype=np.float64)
    q = np.asarray(target_probability, dtype=np.float64)
    if not (r.ndim == p.ndim == q.ndim == 1) or not len(r) == len(p) == len(q):
        raise ConfigError(
            f"rewards, logging_propensity and target_probability must be 1-D and equally long, "
            f"got shapes {r.shape}, {p.shape}, {q.shape}"
        )
    if len(r) < 2:
        raise ConfigError(f"off-policy evaluation needs at least 2 logged decisions, got {len(r)}")
    if not np.isfinite(r).all():
        raise ConfigError("rewards must be finite numbers")
    if not ((p > 0) & (p <= 1)).all():
        bad = int(np.count_nonzero(~((p > 0) & (p <= 1))))
        raise ConfigError(f"logging propensities must be in (0, 1]; {bad} are not")
    if not ((q >= 0) & (q <= 1)).all():
        raise ConfigError("target probabilities must be in [0, 1]")
    return r, p, q


def _normal(name: str, terms: np.ndarray, w: np.ndarray, alpha: float) -> Estimate:
    n = len(terms)
    value = float(terms.mean())
    se = float(terms.std(ddof=1) / math.sqrt(n))
    z = float(st.norm.ppf(1 - alpha / 2))
    return Estimate(name, value, value - z * se, value + z * se, se, n, _ess(w))


def _ess(w: np.ndarray) -> float:
    s2 = float((w * w).sum())
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def ips(rewards: Any, logging_propensity: Any, target_probability: Any, alpha: float = 0.05) -> Estimate:
    """Inverse propensity scoring (see module docstring)."""
    r, p, q = _arrays(rewards, logging_propensity, target_probability)
    w = q / p
    return _normal("ips", w * r, w, alpha)


def snips(rewards: Any, logging_propensity: Any, target_probability: Any, alpha: float = 0.05) -> Estimate:
    """Self-normalised IPS with a delta-method interval (see module docstring)."""
    r, p, q = _arrays(rewards, logging_propensity, target_probability)
    w = q / p
    n = len(r)
    if w.sum() <= 0:
        raise ConfigError(
            "the target policy never takes a logged action (all importance weights are 0): no logged support"
        )
    value = float((w * r).sum() / w.sum())
    mean_w = w.mean()
    se = float(math.sqrt(np.mean(w * w * (r - value) ** 2) / (n * mean_w * mean_w)))
    z = float(st.norm.ppf(1 - alpha / 2))
    return Estimate("snips", value, value - z * se, value + z * se, se, n, _ess(w))


def doubly_robust(
    rewards: Any,
    logging_propensity: Any,
    target_probability: Any,
    reward_logged: Any,
    reward_target: Any,
    alpha: float = 0.05,
) -> Estimate:
    """Doubly robust estimate (see module docstring): ``reward_logged`` is the model's prediction for the logged
    action, ``reward_target`` its expectation under the target policy, for the same decisions."""
    r, p, q = _arrays(rewards, logging_propensity, target_probability)
    ql = np.asarray(reward_logged, dtype=np.float64)
    qt = np.asarray(reward_target, dtype=np.float64)
    if ql.shape != r.shape or qt.shape != r.shape:
        raise ConfigError(
            f"reward_logged and reward_target must have shape {r.shape}, got {ql.shape}, {qt.shape}"
        )
    w = q / p
    return _normal("dr", qt + w * (r - ql), w, alpha)


def fit_reward_model(
    features: Any,
    actions: Any,
    rewards: Any,
    n_actions: int,
    *,
    folds: int = 2,
    reg: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Cross-fitted ridge predictions ``q[i, a]`` of the reward of every action for every row.

    One linear model per action on ``features`` (plus an intercept), fitted on the rows of the other folds
    that took that action; an action never taken there predicts the folds' mean reward.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    a = np.asarray(actions, dtype=np.int64)
    r = np.asarray(rewards, dtype=np.float64)
    n = len(r)
    if x.shape[0] != n or a.shape != (n,):
        raise ConfigError(f"features, actions and rewards must have {n} rows, got {x.shape[0]} and {a.shape}")
    if folds < 2 or n < folds:
        raise ConfigError(f"folds must be >= 2 and at most the number of rows ({n}), got {folds}")
    if (a < 0).any() or (a >= n_actions).any():
        raise ConfigError(f"actions must be integers in [0, {n_actions})")
    xb = np.hstack([x, np.ones((n, 1))])
    fold = np.random.default_rng(seed).permutation(n) % folds
    out = np.empty((n, n_actions))
    eye = reg * np.eye(xb.shape[1])
    eye[-1, -1] = 0.0  # the intercept is not shrunk
    for f in range(folds):
        train, test = fold != f, fold == f
        default = float(r[train].mean()) if train.any() else 0.0
        for k in range(n_actions):
            rows = train & (a == k)
            if rows.sum() < 2:
                out[test, k] = default
                continue
            xa = xb[rows]
            coef = np.linalg.solve(xa.T @ xa + eye, xa.T @ r[rows])
            out[test, k] = xb[test] @ coef
    return out


def evaluate(
    rewards: Any,
    logging_propensity: Any,
    target_probability: Any,
    *,
    reward_logged: Any | None = None,
    reward_target: Any | None = None,
    alpha: float = 0.05,
) -> dict[str, dict[str, Any]]:
    """IPS, SNIPS and (with the reward model's predictions) DR as dicts, keyed by estimator."""
    out = {
        "ips": ips(rewards, logging_propensity, target_probability, alpha).to_dict(),
        "snips": snips(rewards, logging_propensity, target_probability, alpha).to_dict(),
    }
    if reward_logged is not None and reward_target is not None:
        out["dr"] = doubly_robust(
            rewards, logging_propensity, target_probability, reward_logged, reward_target, alpha
        ).to_dict()
    return out
