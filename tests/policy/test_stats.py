"""A/B statistics against independent computations (scipy's tests, closed forms) and their input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from tuijian.exceptions import ConfigError
from tuijian.policy import stats


def test_two_proportion_z_matches_the_chi_square_test() -> None:
    r = stats.two_proportion_ztest(120, 2000, 160, 2000)
    chi2, p, _, _ = st.chi2_contingency([[120, 1880], [160, 1840]], correction=False)
    assert r.statistic == pytest.approx(math.sqrt(chi2)) and r.p_value == pytest.approx(p)
    assert r.difference == pytest.approx(0.02) and r.relative_lift == pytest.approx(1 / 3)
    se = math.sqrt(0.06 * 0.94 / 2000 + 0.08 * 0.92 / 2000)
    assert r.ci_low == pytest.approx(0.02 - 1.959964 * se, abs=1e-6)
    with pytest.raises(ConfigError, match="successes"):
        stats.two_proportion_ztest(5, 3, 1, 10)


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.exponential(2.0, 500), rng.exponential(2.4, 300)
    r = stats.welch_ttest(a, b)
    ref = st.ttest_ind(b, a, equal_var=False)
    assert r.statistic == pytest.approx(ref.statistic) and r.p_value == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high))
    with pytest.raises(ConfigError, match="at least 2"):
        stats.welch_ttest([1.0], [1.0, 2.0])


def test_delta_method_ratio_matches_the_bootstrap_and_is_wider_than_the_naive_test() -> None:
    rng = np.random.default_rng(1)
    imp = rng.integers(1, 40, 3000)
    taste = rng.beta(1, 20, 3000)  # users differ: clicks are clustered by user
    clicks = rng.binomial(imp, taste)
    half = 1500
    r = stats.ratio_ztest(clicks[:half], imp[:half], clicks[half:], imp[half:])
    lo, hi = stats.bootstrap_diff_ci(
        clicks[:half],
        clicks[half:],
        control_den=imp[:half],
        treatment_den=imp[half:],
        n_resamples=2000,
        seed=3,
    )
    assert (r.ci_high - r.ci_low) == pytest.approx(hi - lo, rel=0.1)
    naive = stats.two_proportion_ztest(
        clicks[:half].sum(), imp[:half].sum(), clicks[half:].sum(), imp[half:].sum()
    )
    assert (naive.ci_high - naive.ci_low) < 0.8 * (r.ci_high - r.ci_low)


def test_bootstrap_mean_interval_is_close_to_the_normal_one() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 2000), rng.normal(0.1, 1, 2000)
    lo, hi = stats.bootstrap_diff_ci(a, b, n_resamples=2000, seed=0)
    w = stats.welch_ttest(a, b)
    assert lo == pytest.approx(w.ci_low, abs=0.01) and hi == pytest.approx(w.ci_high, abs=0.01)


def test_srm_flags_a_broken_split_only() -> None:
    assert not stats.srm_check([5050, 4950], [1, 1]).mismatch
    bad = stats.srm_check([5300, 4700], [1, 1])
    assert bad.mismatch and bad.p_value < 1e-6
    assert not stats.srm_check([2000, 8000], [0.2, 0.8]).mismatch
    with pytest.raises(ConfigError, match="one weight per variant"):
        stats.srm_check([1, 2, 3], [1, 1])


def test_sample_size_is_the_textbook_figure_and_gives_the_power() -> None:
    n = stats.sample_size_two_proportions(0.05, 0.10)
    assert n == 31234  # Fleiss' formula, as in G*Power / statsmodels-style calculators
    assert stats.power_two_proportions(0.05, 0.10, n) == pytest.approx(0.8, abs=0.001)
    assert stats.sample_size_two_proportions(0.05, 0.20) < n / 3.5
    assert stats.sample_size_means(1.0, 0.1) == math.ceil(2 * (1.959964 + 0.841621) ** 2 / 0.01)
    with pytest.raises(ConfigError, match="baseline"):
        stats.sample_size_two_proportions(1.5, 0.1)
    with pytest.raises(ConfigError, match="relative_lift"):
        stats.sample_size_two_proportions(0.6, 1.0)


def test_exact_power_is_the_sum_over_every_outcome_of_the_z_test() -> None:
    from scipy import stats as st

    n1, n2, p1, p2 = 30, 25, 0.3, 0.6
    brute = 0.0
    for x1 in range(n1 + 1):
        for x2 in range(n2 + 1):
            if 0 < x1 + x2 < n1 + n2 and stats.two_proportion_ztest(x1, n1, x2, n2).p_value <= 0.05:
                brute += st.binom.pmf(x1, n1, p1) * st.binom.pmf(x2, n2, p2)
    assert stats.exact_power_two_proportions(p1, p2, n1, n2) == pytest.approx(brute, abs=1e-9)
    # no effect: the exact power is the test's size, near alpha
    assert stats.exact_power_two_proportions(0.2, 0.2, 2000, 2000) == pytest.approx(0.05, abs=0.005)
    with pytest.raises(ConfigError, match="treatment"):
        stats.exact_power_two_proportions(0.2, 1.2, 10, 10)


@pytest.mark.parametrize(
    ("baseline", "lift"), [(0.05, 0.10), (0.3, 0.10), (0.5, -0.20), (0.02, 0.5), (0.9, 0.05), (0.1, -0.3)]
)
def test_sample_size_reaches_the_exact_power(baseline: float, lift: float) -> None:
    n = stats.sample_size_two_proportions(baseline, lift)
    p2 = baseline * (1 + lift)
    assert stats.exact_power_two_proportions(baseline, p2, n, n) >= 0.8
    formula = stats.sample_size_two_proportions(baseline, lift, exact=False)
    assert n >= formula
    if n > formula:  # raised only as far as needed: one unit fewer falls short
        assert stats.exact_power_two_proportions(baseline, p2, n - 1, n - 1) < 0.8


def test_wilson_interval() -> None:
    lo, hi = stats.wilson_interval(10, 200)
    assert lo == pytest.approx(0.0274, abs=1e-3) and hi == pytest.approx(0.0896, abs=1e-3)
