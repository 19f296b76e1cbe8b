"""Synthetic logged bandit data with known propensities and a known true policy value (to check OPE).

Contexts ``x ~ N(0, I_d)``; ``K`` actions; a click with probability ``sigmoid(x . theta_a + b_a)`` (a
logistic model, so the ridge reward model of :func:`tuijian.policy.ope.fit_reward_model` is misspecified, as
any real one is). The logging policy is a softmax of the true scores at temperature ``logging_temperature``
mixed with ``logging_uniform`` uniform exploration; the target policy a sharper softmax
(``target_temperature``). The true value of the target, ``E_x[sum_a pi(a | x) mu(x, a)]``, is computed on
``truth_contexts`` fresh contexts with the exact click probabilities (Monte-Carlo error about 1e-4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tuijian.exceptions import ConfigError
from tuijian.policy import ope


@dataclass(frozen=True)
class SyntheticBandit:
    n_actions: int = 5
    dim: int = 5
    logging_temperature: float = 1.0
    logging_uniform: float = 0.2
    target_temperature: float = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_actions < 2 or self.dim < 1:
            raise ConfigError(f"need n_actions >= 2 and dim >= 1, got {self.n_actions}, {self.dim}")
        if not 0 <= self.logging_uniform <= 1:
            raise ConfigError(f"logging_uniform must be in [0, 1], got {self.logging_uniform}")

    def _params(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        theta = rng.normal(0, 0.6, size=(self.dim, self.n_actions))
        bias = rng.normal(-2.0, 0.5, size=self.n_actions)  # click rates of a few per cent to ~30 %
        return theta, bias

    def click_probability(self, x: np.ndarray) -> np.ndarray:
        theta, bias = self._params()
        return 1.0 / (1.0 + np.exp(-(x @ theta + bias)))

    def _softmax(self, x: np.ndarray, temperature: float) -> np.ndarray:
        theta, bias = self._params()
        s = (x @ theta + bias) / temperature
        s -= s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)

    def logging_policy(self, x: np.ndarray) -> np.ndarray:
        return (1 - self.logging_uniform) * self._softmax(x, self.logging_temperature) + (
            self.logging_uniform / self.n_actions
        )

    def target_policy(self, x: np.ndarray) -> np.ndarray:
        return self._softmax(x, self.target_temperature)

    def true_value(self, truth_contexts: int = 1_000_000) -> float:
        rng = np.random.default_rng(10_000 + self.seed)
        total = 0.0
        chunk = 200_000
        for start in range(0, truth_contexts, chunk):
            x = rng.normal(size=(min(chunk, truth_contexts - start), self.dim))
            total += float((self.target_policy(x) * self.click_probability(x)).sum())
        return total / truth_contexts

    def log(self, n: int, seed: int) -> dict[str, np.ndarray]:
        """``n`` logged decisions: contexts, actions, rewards, logging propensities, target probabilities."""
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n, self.dim))
        pl = self.logging_policy(x)
        cum = pl.cumsum(axis=1)
        actions = (rng.random((n, 1)) > cum).sum(axis=1).clip(max=self.n_actions - 1)
        rows = np.arange(n)
        rewards = (rng.random(n) < self.click_probability(x)[rows, actions]).astype(np.float64)
        pt = self.target_policy(x)
        return {
            "features": x,
            "actions": actions,
            "rewards": rewards,
            "logging_propensity": pl[rows, actions],
            "target_probability": pt[rows, actions],
            "target_matrix": pt,
        }


def estimate(
    log: dict[str, np.ndarray], n_actions: int, alpha: float = 0.05, seed: int = 0
) -> dict[str, Any]:
    """IPS, SNIPS and DR (cross-fitted ridge reward model) on one synthetic log."""
    q = ope.fit_reward_model(log["features"], log["actions"], log["rewards"], n_actions, seed=seed)
    rows = np.arange(len(log["rewards"]))
    return ope.evaluate(
        log["rewards"],
        log["logging_propensity"],
        log["target_probability"],
        reward_logged=q[rows, log["actions"]],
        reward_target=(q * log["target_matrix"]).sum(axis=1),
        alpha=alpha,
    )


def coverage(
    bandit: SyntheticBandit,
    runs: int = 200,
    n: int = 5000,
    alpha: float = 0.05,
    truth_contexts: int = 1_000_000,
) -> dict[str, Any]:
    """How often each estimator's interval contains the true value over ``runs`` independent logs."""
    if runs < 1 or n < 10:
        raise ConfigError(f"need runs >= 1 and n >= 10, got {runs}, {n}")
    truth = bandit.true_value(truth_contexts)
    hits: dict[str, int] = {}
    errors: dict[str, list[float]] = {}
    widths: dict[str, list[float]] = {}
    logging_values = []
    for run in range(runs):
        log = bandit.log(n, seed=1_000 * bandit.seed + run)
        logging_values.append(float(log["rewards"].mean()))
        for name, e in estimate(log, bandit.n_actions, alpha, seed=run).items():
            hits[name] = hits.get(name, 0) + int(e["ci_low"] <= truth <= e["ci_high"])
            errors.setdefault(name, []).append(e["value"] - truth)
            widths.setdefault(name, []).append(e["ci_high"] - e["ci_low"])
    return {
        "true_value": truth,
        "logging_policy_value": float(np.mean(logging_values)),
        "runs": runs,
        "n_per_run": n,
        "alpha": alpha,
        "estimators": {
            name: {
                "coverage": hits[name] / runs,
                "bias": float(np.mean(errors[name])),
                "rmse": float(np.sqrt(np.mean(np.square(errors[name])))),
                "mean_ci_width": float(np.mean(widths[name])),
            }
            for name in hits
        },
    }
