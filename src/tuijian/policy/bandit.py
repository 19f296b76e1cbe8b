"""A contextual bandit over a few arms (strategies): disjoint linear models, LinUCB or Thompson sampling.

Each arm ``a`` keeps ``A_a = reg * I + sum(x x^T)`` over the contexts it was chosen in and ``b_a = sum(r x)``
over the rewards those choices earned; ``theta_a = A_a^-1 b_a``. Because ``b`` is linear in the reward, a choice
can be recorded when it is made (:meth:`LinearBandit.observe_choice`, zero reward so far) and its rewards added
one by one as they arrive (:meth:`LinearBandit.observe_reward`): the result is the same as one update with the
total reward, so clicks and purchases that come in seconds later count exactly once.

Choosing (:meth:`LinearBandit.choose`):

* ``linucb``: the arm with the largest ``x . theta_a + alpha * sqrt(x^T A_a^-1 x)``;
* ``thompson``: the arm with the largest ``x . theta~`` for ``theta~ ~ N(theta_a, alpha^2 A_a^-1)``; its
  probabilities are estimated from ``n_samples`` draws (reproducible per request seed).

Exploration is **bounded**: the *greedy* arm is the one with the best posterior mean ``x . theta_a``; whatever
the algorithm wants, the probability of any other arm is at most ``max_exploration`` in total, and each arm keeps
at least ``min_propensity`` (so that the logs support off-policy evaluation of every arm). The returned
propensity is the exact probability with which the chosen arm was drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tuijian.exceptions import ConfigError

Algorithm = Literal["linucb", "thompson", "uniform"]
ALGORITHMS: tuple[str, ...] = ("linucb", "thompson", "uniform")


@dataclass(frozen=True)
class Choice:
    """One decision: the arm, the probability it had, and whether it was an exploration pick."""

    arm: str
    index: int
    propensity: float
    explored: bool
    greedy: str


def bounded_probabilities(
    raw: np.ndarray, greedy: int, max_exploration: float, min_propensity: float
) -> np.ndarray:
    """``raw`` arm probabilities reshaped so that the non-greedy arms get at most ``max_exploration`` in total
    and each arm at least ``min_propensity`` (needs ``(K - 1) * min_propensity <= max_exploration``)."""
    k = len(raw)
    if k == 1:
        return np.ones(1)
    others = np.delete(np.arange(k), greedy)
    mass = float(raw[others].sum())
    total = max(min(mass, max_exploration), (k - 1) * min_propensity)
    spare = total - (k - 1) * min_propensity
    w = raw[others] / mass if mass > 0 else np.full(k - 1, 1.0 / (k - 1))
    p = np.empty(k)
    p[others] = min_propensity + spare * w
    p[greedy] = 1.0 - total
    return p


class LinearBandit:
    """Disjoint linear contextual bandit (see module docstring).

    Parameters
    ----------
    arms: arm names.
    n_features: context length (include a constant 1 for an intercept).
    algorithm: ``"linucb"``, ``"thompson"`` or ``"uniform"`` (every arm equally likely: the baseline).
    alpha: width of the confidence bound (LinUCB) or scale of the posterior (Thompson).
    reg: ridge prior ``A = reg * I``.
    max_exploration: most probability that non-greedy arms get in total.
    min_propensity: least probability of every arm.
    n_samples: posterior draws that estimate Thompson sampling's arm probabilities.
    """

    def __init__(
        self,
        arms: Sequence[str],
        n_features: int,
        algorithm: Algorithm = "thompson",
        alpha: float = 0.5,
        reg: float = 1.0,
        max_exploration: float = 0.2,
        min_propensity: float = 0.01,
        n_samples: int = 64,
    ) -> None:
        if len(arms) < 1 or len(set(arms)) != len(arms):
            raise ConfigError(f"arms must be distinct names, at least one; got {list(arms)}")
        if algorithm not in ALGORITHMS:
            raise ConfigError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        if not 0 <= max_exploration <= 1 or not 0 <= min_propensity <= 1:
            raise ConfigError("max_exploration and min_propensity must be in [0, 1]")
        if (len(arms) - 1) * min_propensity > max_exploration + 1e-12:
            raise ConfigError(
                f"min_propensity {min_propensity} for {len(arms)} arms needs max_exploration >= "
                f"{(len(arms) - 1) * min_propensity:.3f}, got {max_exploration}"
            )
        if n_features < 1 or reg <= 0 or alpha < 0 or n_samples < 1:
            raise ConfigError("n_features and n_samples must be >= 1, reg > 0 and alpha >= 0")
        self.arms = tuple(arms)
        self.n_features = n_features
        self.algorithm = algorithm
        self.alpha = alpha
        self.reg = reg
        self.max_exploration = max_exploration
        self.min_propensity = min_propensity
        self.n_samples = n_samples
        k, d = len(arms), n_features
        self.A_ = np.repeat(np.eye(d)[None] * reg, k, axis=0)
        self.b_ = np.zeros((k, d))
        self.n_choices_ = np.zeros(k, np.int64)
        self.rewards_ = np.zeros(k)
        self._inv: np.ndarray | None = None

    # ------------------------------------------------------------------ learning
    def observe_choice(self, arm: int, x: np.ndarray) -> None:
        """Record that ``arm`` was chosen in context ``x`` (its reward so far: 0)."""
        x = self._x(x)
        self.A_[arm] += np.outer(x, x)
        self.n_choices_[arm] += 1
        self._inv = None

    def observe_reward(self, arm: int, x: np.ndarray, reward: float) -> None:
        """Add ``reward`` earned by an earlier choice of ``arm`` in context ``x``."""
        self.b_[arm] += float(reward) * self._x(x)
        self.rewards_[arm] += float(reward)

    def _x(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if x.shape != (self.n_features,):
            raise ConfigError(f"context must have {self.n_features} features, got shape {x.shape}")
        return x

    @property
    def inverses(self) -> np.ndarray:
        if self._inv is None:
            self._inv = np.linalg.inv(self.A_)
        return self._inv

    def theta(self) -> np.ndarray:
        """``(arms, features)`` posterior means."""
        return np.einsum("kij,kj->ki", self.inverses, self.b_)

    # ------------------------------------------------------------------ choosing
    def probabilities(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """``(bounded probability of each arm, greedy arm)`` in context ``x``."""
        x = self._x(x)
        k = len(self.arms)
        inv = self.inverses
        mean = self.theta() @ x
        greedy = int(np.argmax(mean))
        if self.algorithm == "uniform":
            return np.full(k, 1.0 / k), greedy
        width = np.sqrt(np.maximum(np.einsum("i,kij,j->k", x, inv, x), 0.0))
        if self.algorithm == "linucb":
            raw = np.zeros(k)
            raw[int(np.argmax(mean + self.alpha * width))] = 1.0
        else:  # thompson: x . theta~ ~ N(x . theta, alpha^2 x^T A^-1 x), independent per arm
            draws = mean[None, :] + self.alpha * width[None, :] * rng.standard_normal((self.n_samples, k))
            raw = np.bincount(np.argmax(draws, axis=1), minlength=k) / self.n_samples
        return bounded_probabilities(raw, greedy, self.max_exploration, self.min_propensity), greedy

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> Choice:
        """Draw an arm for context ``x``; ``rng`` seeded per request makes the draw reproducible."""
        p, greedy = self.probabilities(x, rng)
        arm = int(rng.choice(len(p), p=p / p.sum()))
        return Choice(
            arm=self.arms[arm],
            index=arm,
            propensity=float(p[arm]),
            explored=arm != greedy,
            greedy=self.arms[greedy],
        )
