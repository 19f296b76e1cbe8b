"""Fixed-horizon statistics for A/B tests, on plain numbers and arrays.

* :func:`two_proportion_ztest`: a rate where each unit is one Bernoulli trial (share of users who clicked or
  bought). Pooled standard error for the test, unpooled for the interval.
* :func:`ratio_ztest`: a ratio of sums over randomisation units (clicks / impressions, where one user sees many
  items): the delta method keeps the per-user clustering that a naive per-impression z-test ignores.
* :func:`welch_ttest`: a mean with unequal variances (revenue per user).
* :func:`bootstrap_diff_ci`: a percentile bootstrap interval for the difference of means or of ratios,
  resampling units (users), not events.
* :func:`srm_check`: the chi-square sample-ratio-mismatch test of observed against planned split.
* :func:`sample_size_two_proportions`, :func:`sample_size_means`: units per variant for a given effect.
  The two-proportion size is checked against :func:`exact_power_two_proportions` (the power of the very z-test
  above, summed over every binomial outcome) and raised until that exact power reaches the target, so the
  size the tool prints always gives at least the power asked for, not just approximately.

Every function checks its inputs and raises :class:`~tuijian.exceptions.ConfigError` naming the argument.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as st

from tuijian.exceptions import ConfigError

#: an SRM p-value below this flags the experiment (the usual, deliberately strict threshold)
SRM_THRESHOLD = 0.001
#: larger sample sizes are refused (an effect this small is not worth an experiment)
MAX_SAMPLE_SIZE = 1e10
#: above this many units per variant the sample size keeps the normal formula (no exact check)
EXACT_MAX_SIZE = 200_000


@dataclass(frozen=True)
class TestResult:
    """One comparison of treatment against control: ``difference = treatment - control`` with its
    ``1 - alpha`` interval, the relative lift (``difference / control``; None when control is 0) and the
    two-sided p-value."""

    test: str
    control: float
    treatment: float
    difference: float
    relative_lift: float | None
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    n_control: int
    n_treatment: int

    def to_dict(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class SRMResult:
    observed: list[int]
    expected: list[float]
    chi2: float
    p_value: float
    mismatch: bool

    def to_dict(self) -> dict[str, Any]:
        return {k: _finite(v) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _finite(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha!r}")


def _lift(control: float, diff: float) -> float | None:
    return diff / control if control != 0 else None


def two_proportion_ztest(
    successes_control: int, n_control: int, successes_treatment: int, n_treatment: int, alpha: float = 0.05
) -> TestResult:
    """Two-sided z-test of ``p_t - p_c`` (pooled SE) with a Wald interval (unpooled SE)."""
    _check_alpha(alpha)
    for name, x, n in (
        ("control", successes_control, n_control),
        ("treatment", successes_treatment, n_treatment),
    ):
        if n < 1 or x < 0 or x > n:
            raise ConfigError(f"{name}: need 0 <= successes <= n and n >= 1, got successes={x}, n={n}")
    pc, pt = successes_control / n_control, successes_treatment / n_treatment
    diff = pt - pc
    pooled = (successes_control + successes_treatment) / (n_control + n_treatment)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_control + 1 / n_treatment))
    z = diff / se0 if se0 > 0 else 0.0
    p = float(2 * st.norm.sf(abs(z)))
    se = math.sqrt(pc * (1 - pc) / n_control + pt * (1 - pt) / n_treatment)
    q = float(st.norm.ppf(1 - alpha / 2))
    return TestResult(
        "two_proportion_z",
        pc,
        pt,
        diff,
        _lift(pc, diff),
        diff - q * se,
        diff + q * se,
        z,
        p,
        n_control,
        n_treatment,
    )


def ratio_stats(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, float]:
    """``(sum(num) / sum(den), its delta-method variance)`` over units (rows)."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    n = len(num)
    if n < 2 or den.sum() <= 0:
        raise ConfigError(f"a ratio needs at least 2 units and a positive denominator, got {n} units")
    r = num.sum() / den.sum()
    mean_den = den.mean()
    cov = np.cov(num, den, ddof=1)
    var = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (n * mean_den * mean_den)
    return float(r), float(max(var, 0.0))


def ratio_ztest(
    num_control: np.ndarray,
    den_control: np.ndarray,
    num_treatment: np.ndarray,
    den_treatment: np.ndarray,
    alpha: float = 0.05,
) -> TestResult:
    """z-test of a difference of ratio metrics (e.g. clicks / impressions per user) by the delta method."""
    _check_alpha(alpha)
    rc, vc = ratio_stats(num_control, den_control)
    rt, vt = ratio_stats(num_treatment, den_treatment)
    diff, se = rt - rc, math.sqrt(vc + vt)
    z = diff / se if se > 0 else 0.0
    q = float(st.norm.ppf(1 - alpha / 2))
    return TestResult(
        "delta_method_z",
        rc,
        rt,
        diff,
        _lift(rc, diff),
        diff - q * se,
        diff + q * se,
        z,
        float(2 * st.norm.sf(abs(z))),
        len(num_control),
        len(num_treatment),
    )


def welch_ttest(control: np.ndarray, treatment: np.ndarray, alpha: float = 0.05) -> TestResult:
    """Welch's unequal-variance t-test of ``mean(treatment) - mean(control)`` with its Welch interval."""
    _check_alpha(alpha)
    a = np.asarray(control, dtype=np.float64)
    b = np.asarray(treatment, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ConfigError(f"Welch's t-test needs at least 2 values per group, got {len(a)} and {len(b)}")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff = float(b.mean() - a.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        t, p, q = 0.0 if diff == 0 else math.copysign(math.inf, diff), 1.0 if diff == 0 else 0.0, 0.0
    else:
        df = (va + vb) ** 2 / (va * va / (len(a) - 1) + vb * vb / (len(b) - 1))
        t = diff / se
        p = float(2 * st.t.sf(abs(t), df))
        q = float(st.t.ppf(1 - alpha / 2, df))
    ma = float(a.mean())
    return TestResult(
        "welch_t",
        ma,
        float(b.mean()),
        diff,
        _lift(ma, diff),
        diff - q * se,
        diff + q * se,
        t,
        p,
        len(a),
        len(b),
    )


def bootstrap_diff_ci(
    control: np.ndarray,
    treatment: np.ndarray,
    *,
    control_den: np.ndarray | None = None,
    treatment_den: np.ndarray | None = None,
    alpha: float = 0.05,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat(treatment) - stat(control)``, resampling units.

    ``stat`` is the mean, or with ``*_den`` the ratio of sums (``sum(num) / sum(den)``).
    """
    _check_alpha(alpha)
    if n_resamples < 100:
        raise ConfigError(f"n_resamples must be >= 100, got {n_resamples}")
    rng = np.random.default_rng(seed)

    def draws(num: np.ndarray, den: np.ndarray | None) -> np.ndarray:
        num = np.asarray(num, dtype=np.float64)
        if len(num) < 2:
            raise ConfigError(f"the bootstrap needs at least 2 units per group, got {len(num)}")
        out = np.empty(n_resamples)
        chunk = max(1, 2_000_000 // len(num))
        for start in range(0, n_resamples, chunk):
            stop = min(n_resamples, start + chunk)
            idx = rng.integers(0, len(num), size=(stop - start, len(num)))
            top = num[idx].sum(axis=1)
            if den is None:
                out[start:stop] = top / len(num)
            else:
                bottom = np.asarray(den, dtype=np.float64)[idx].sum(axis=1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[start:stop] = top / bottom
        return out

    diffs = draws(treatment, treatment_den) - draws(control, control_den)
    diffs = diffs[np.isfinite(diffs)]
    lo, hi = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def srm_check(observed: list[int] | np.ndarray, weights: list[float] | np.ndarray) -> SRMResult:
    """Chi-square test of the observed units per variant against the planned ``weights`` (any scale)."""
    obs = np.asarray(observed, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if len(obs) != len(w) or len(obs) < 2:
        raise ConfigError(
            f"need one weight per variant and >= 2 variants, got {len(obs)} counts, {len(w)} weights"
        )
    if (w <= 0).any():
        raise ConfigError(f"weights must be positive, got {w.tolist()}")
    total = obs.sum()
    expected = w / w.sum() * total
    if total == 0:
        return SRMResult([0] * len(obs), expected.tolist(), 0.0, 1.0, False)
    chi2, p = st.chisquare(obs, expected)
    return SRMResult(
        [int(x) for x in obs], expected.round(2).tolist(), float(chi2), float(p), bool(p < SRM_THRESHOLD)
    )


def _z(alpha: float, power: float) -> tuple[float, float]:
    _check_alpha(alpha)
    if not alpha < power < 1:
        raise ConfigError(f"power must be between alpha ({alpha}) and 1, got {power!r}")
    return float(st.norm.ppf(1 - alpha / 2)), float(st.norm.ppf(power))


def sample_size_two_proportions(
    baseline: float, relative_lift: float, alpha: float = 0.05, power: float = 0.8, *, exact: bool = True
) -> int:
    """Units per variant for a two-sided two-proportion z-test to detect ``baseline * (1 + relative_lift)``.

    Starts from the classical formula (Fleiss: pooled variance under the null, unpooled under the alternative),
    rounded up. With ``exact`` (the default) the size is then raised, if needed, to the smallest size at which
    :func:`exact_power_two_proportions` (the test's power over every binomial outcome, equal arms) reaches
    ``power``: the normal approximation can fall a little short, most for small samples and skewed rates.
    Sizes above :data:`EXACT_MAX_SIZE` keep the formula (the approximation error vanishes there).
    """
    if not 0 < baseline < 1:
        raise ConfigError(f"baseline must be a rate in (0, 1), got {baseline!r}")
    p2 = baseline * (1 + relative_lift)
    if p2 == baseline or not 0 < p2 < 1:
        raise ConfigError(
            f"relative_lift must be non-zero and keep the rate in (0, 1): {baseline} * (1 + {relative_lift}) = {p2}"
        )
    za, zb = _z(alpha, power)
    pbar = (baseline + p2) / 2
    num = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(baseline * (1 - baseline) + p2 * (1 - p2))
    n = _finite_size(num * num / (p2 - baseline) ** 2, f"a relative lift of {relative_lift}")
    if not exact or n > EXACT_MAX_SIZE:
        return n

    def short(m: int) -> bool:
        return exact_power_two_proportions(baseline, p2, m, m, alpha) < power

    if not short(n):
        return n
    low, step = n, max(1, n // 1000)  # gallop up, then bisect to the first size that reaches the power
    high = n + step
    while short(high):
        low, step = high, step * 2
        high = min(high + step, int(MAX_SAMPLE_SIZE))
    while high - low > 1:
        mid = (low + high) // 2
        if short(mid):
            low = mid
        else:
            high = mid
    return _finite_size(high, f"a relative lift of {relative_lift}")


def exact_power_two_proportions(
    p_control: float, p_treatment: float, n_control: int, n_treatment: int, alpha: float = 0.05
) -> float:
    """The exact power of :func:`two_proportion_ztest` (two-sided, pooled SE) at these true rates and sizes.

    Sums ``P(x_c) * P(x_t)`` over every pair of binomial outcomes whose z reaches the critical value; outcomes
    beyond 1e-12 in either tail are left out (their total mass is below 4e-12). No Monte-Carlo error.
    """
    _check_alpha(alpha)
    for name, p, n in (("control", p_control, n_control), ("treatment", p_treatment, n_treatment)):
        if not 0 <= p <= 1 or n < 1:
            raise ConfigError(f"{name}: need a rate in [0, 1] and n >= 1, got rate={p}, n={n}")
    za = float(st.norm.ppf(1 - alpha / 2))

    def support(n: int, p: float) -> tuple[np.ndarray, np.ndarray]:
        x = np.arange(int(st.binom.ppf(1e-12, n, p)), int(st.binom.isf(1e-12, n, p)) + 1)
        return x.astype(np.float64), st.binom.pmf(x, n, p)

    xc, wc = support(n_control, p_control)
    xt, wt = support(n_treatment, p_treatment)
    scale = 1 / n_control + 1 / n_treatment
    total = 0.0
    rows = max(1, 4_000_000 // max(len(xt), 1))  # bounded memory: a block of control outcomes at a time
    for s in range(0, len(xc), rows):
        a = xc[s : s + rows, None]
        pooled = (a + xt[None, :]) / (n_control + n_treatment)
        var = pooled * (1 - pooled) * scale
        diff = xt[None, :] / n_treatment - a / n_control
        reject = diff * diff >= za * za * var  # |z| >= za; var == 0 (no events at all) never rejects
        reject &= var > 0
        total += float(wc[s : s + rows] @ (reject @ wt))
    return min(1.0, total)


def _finite_size(n: float, what: str) -> int:
    if not math.isfinite(n) or n > MAX_SAMPLE_SIZE:
        raise ConfigError(
            f"{what} needs more than {MAX_SAMPLE_SIZE:.0e} units per variant: choose a larger effect"
        )
    return math.ceil(n)


def sample_size_means(std: float, min_difference: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Units per variant for a two-sided test of a difference of means with common ``std``."""
    if not std > 0 or min_difference == 0:
        raise ConfigError(
            f"std must be > 0 and min_difference non-zero, got std={std}, min_difference={min_difference}"
        )
    za, zb = _z(alpha, power)
    return _finite_size(
        2 * (za + zb) ** 2 * std * std / (min_difference * min_difference),
        f"a difference of {min_difference}",
    )


def power_two_proportions(
    baseline: float, relative_lift: float, n_per_variant: int, alpha: float = 0.05
) -> float:
    """The approximate power of the two-sided two-proportion z-test with ``n_per_variant`` units each."""
    p2 = baseline * (1 + relative_lift)
    za = float(st.norm.ppf(1 - alpha / 2))
    pbar = (baseline + p2) / 2
    se0 = math.sqrt(2 * pbar * (1 - pbar) / n_per_variant)
    se1 = math.sqrt((baseline * (1 - baseline) + p2 * (1 - p2)) / n_per_variant)
    d = abs(p2 - baseline)
    return float(st.norm.cdf((d - za * se0) / se1) + st.norm.cdf((-d - za * se0) / se1))


def wilson_interval(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a binomial rate (used for simulated error rates and power)."""
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    z = float(st.norm.ppf(1 - alpha / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
