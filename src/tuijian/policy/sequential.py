"""Looking at an A/B test early without inflating its error rate.

Two tools, both for a z-statistic that is approximately normal (a difference of rates or means):

* **Group-sequential boundaries with Lan-DeMets alpha spending** (:func:`group_sequential_bounds`). The
  analyst plans ``K`` looks at information fractions ``t_1 < ... < t_K = 1`` (share of the planned sample).
  The O'Brien-Fleming-type spending function ``alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t))`` spends almost
  nothing at early looks, so the final boundary stays close to 1.96. The boundaries are computed exactly
  (to grid accuracy) by numerical integration of the Brownian-motion representation
  ``B(t_k) = Z_k sqrt(t_k)`` (Armitage, McPherson and Rowe's recursion, as in Jennison and Turnbull,
  *Group Sequential Methods*, ch. 19). Stopping the first time ``|Z_k| >= c_k`` has overall type-I error
  ``alpha``. :func:`sequential_inflation` is the factor by which the fixed-horizon sample size grows to keep
  the planned power under these boundaries.
* **mSPRT always-valid p-values** (:func:`msprt_p_value`, Johari, Pekelis and Walsh 2017): a normal mixture
  likelihood ratio that may be checked after every user; conservative when looked at only a few times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize
from scipy import stats as st

from tuijian.exceptions import ConfigError

_GRID = 601  # points per look of the numerical integration (odd, for Simpson's rule)


def obrien_fleming_spending(t: float | np.ndarray, alpha: float = 0.05) -> float | np.ndarray:
    """Cumulative two-sided alpha spent by information fraction ``t`` (Lan-DeMets O'Brien-Fleming type)."""
    t = np.asarray(t, dtype=np.float64)
    z = st.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore"):
        out = 2 - 2 * st.norm.cdf(z / np.sqrt(np.maximum(t, 1e-300)))
    return float(out) if out.ndim == 0 else out


def _check_fractions(fractions: Sequence[float] | np.ndarray) -> np.ndarray:
    t = np.asarray(fractions, dtype=np.float64)
    if t.ndim != 1 or len(t) < 1 or (t <= 0).any() or (t > 1).any() or (np.diff(t) <= 0).any():
        raise ConfigError(f"information fractions must increase within (0, 1], got {list(fractions)}")
    return t


def _simpson(n: int) -> np.ndarray:
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return w / 3


class _Walk:
    """Sub-density of ``B(t_k)`` on the continuation region, propagated look by look (drift ``theta``)."""

    def __init__(self, theta: float) -> None:
        self.theta = theta
        self.t_prev = 0.0
        self.x: Any = None  # grid on (-b, b) at the previous look (None before the first)
        self.f: Any = None  # density values there
        self.w: Any = None  # Simpson weights * step

    def cross(self, t: float, b: float) -> float:
        """P(continue up to the previous look, then |B(t)| >= b)."""
        d = t - self.t_prev
        s = math.sqrt(d)
        mu = self.theta * d
        if self.x is None:
            return float(st.norm.sf((b - mu) / s) + st.norm.cdf((-b - mu) / s))
        y = self.x + mu
        p = st.norm.sf((b - y) / s) + st.norm.cdf((-b - y) / s)
        return float(np.sum(self.w * self.f * p))

    def advance(self, t: float, b: float) -> None:
        d = t - self.t_prev
        s = math.sqrt(d)
        x = np.linspace(-b, b, _GRID)
        w = _simpson(_GRID) * (x[1] - x[0])
        if self.x is None:
            f = st.norm.pdf((x - self.theta * d) / s) / s
        else:
            kern = st.norm.pdf((x[:, None] - self.x[None, :] - self.theta * d) / s) / s
            f = kern @ (self.w * self.f)
        self.x, self.f, self.w, self.t_prev = x, f, w, t


def group_sequential_bounds(fractions: Sequence[float] | np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Two-sided z boundaries ``c_k`` at the looks ``fractions`` spending alpha O'Brien-Fleming style."""
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha!r}")
    t = _check_fractions(fractions)
    spent = np.asarray(obrien_fleming_spending(t, alpha), dtype=np.float64)
    spent[-1] = alpha if t[-1] == 1 else spent[-1]
    walk = _Walk(0.0)
    bounds = np.empty(len(t))
    prev = 0.0
    for k, tk in enumerate(t):
        target = float(spent[k] - prev)
        sq = math.sqrt(tk)
        if target <= 1e-12:
            zb = 8.0
        else:
            zb = optimize.brentq(
                lambda z, tk=tk, sq=sq, target=target: walk.cross(tk, z * sq) - target, 0.5, 12.0, xtol=1e-7
            )
        bounds[k] = zb
        prev += walk.cross(tk, zb * sq)
        walk.advance(tk, zb * sq)
    return bounds


def crossing_probability(
    bounds: Sequence[float] | np.ndarray, fractions: Sequence[float] | np.ndarray, drift: float
) -> float:
    """P(stop at some look) when ``Z`` at the final look has mean ``drift`` (its power for ``drift != 0``)."""
    t = _check_fractions(fractions)
    walk = _Walk(drift)
    total = 0.0
    for tk, zb in zip(t, bounds, strict=True):
        b = zb * math.sqrt(tk)
        total += walk.cross(tk, b)
        walk.advance(tk, b)
    return total


def sequential_inflation(looks: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Maximum sample size of the ``looks``-look O'Brien-Fleming design over the fixed-horizon one."""
    if looks < 1:
        raise ConfigError(f"looks must be >= 1, got {looks}")
    if looks == 1:
        return 1.0
    t = np.arange(1, looks + 1) / looks
    bounds = group_sequential_bounds(t, alpha)
    fixed = st.norm.ppf(1 - alpha / 2) + st.norm.ppf(power)
    if not alpha < power < 1:
        raise ConfigError(f"power must be between alpha ({alpha}) and 1, got {power!r}")
    drift = optimize.brentq(lambda d: crossing_probability(bounds, t, d) - power, 1e-9, fixed * 3 + 1)
    return float((drift / fixed) ** 2)


def msprt_p_value(diffs: np.ndarray, variances: np.ndarray, tau2: float) -> np.ndarray:
    """Always-valid p-values after each look: ``diffs[k]`` the estimated difference and ``variances[k]`` its
    variance at look ``k``; ``tau2`` the variance of the normal mixing distribution of the effect."""
    if not tau2 > 0:
        raise ConfigError(f"tau2 must be > 0, got {tau2!r}")
    d = np.asarray(diffs, dtype=np.float64)
    v = np.maximum(np.asarray(variances, dtype=np.float64), 1e-300)
    log_lr = 0.5 * np.log(v / (v + tau2)) + tau2 * d * d / (2 * v * (v + tau2))
    p = np.minimum(1.0, np.exp(-log_lr))
    return np.minimum.accumulate(p)
