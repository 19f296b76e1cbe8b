"""Group-sequential boundaries: exact alpha under the null, the known shape, and power with inflation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from tuijian.exceptions import ConfigError
from tuijian.policy.sequential import (
    crossing_probability,
    group_sequential_bounds,
    msprt_p_value,
    obrien_fleming_spending,
    sequential_inflation,
)

T5 = np.arange(1, 6) / 5


def test_bounds_spend_exactly_alpha() -> None:
    bounds = group_sequential_bounds(T5, 0.05)
    assert crossing_probability(bounds, T5, 0.0) == pytest.approx(0.05, abs=1e-6)
    # O'Brien-Fleming shape: very strict early, close to 1.96 at the end; first look is z_{a/2}/sqrt(t)
    assert bounds[0] == pytest.approx(st.norm.ppf(0.975) / np.sqrt(0.2), abs=1e-3)
    assert list(bounds) == sorted(bounds, reverse=True) and 2.0 < bounds[-1] < 2.1
    assert group_sequential_bounds([1.0], 0.05)[0] == pytest.approx(1.959964, abs=1e-5)


def test_bounds_match_a_monte_carlo_of_the_looks() -> None:
    rng = np.random.default_rng(0)
    t = np.array([0.25, 0.5, 1.0])
    bounds = group_sequential_bounds(t, 0.05)
    steps = rng.normal(size=(200_000, 3)) * np.sqrt(np.diff(np.r_[0, t]))
    z = steps.cumsum(axis=1) / np.sqrt(t)
    rejected = (np.abs(z) >= bounds).any(axis=1).mean()
    assert rejected == pytest.approx(0.05, abs=0.002)
    naive = (np.abs(z) >= 1.959964).any(axis=1).mean()
    assert naive > 0.08  # what peeking without the boundaries does


def test_inflation_keeps_the_power() -> None:
    f = sequential_inflation(5, 0.05, 0.8)
    assert 1.01 < f < 1.06
    drift = (st.norm.ppf(0.975) + st.norm.ppf(0.8)) * np.sqrt(f)
    assert crossing_probability(group_sequential_bounds(T5), T5, drift) == pytest.approx(0.8, abs=1e-4)
    assert sequential_inflation(1) == 1.0


def test_spending_and_errors() -> None:
    assert obrien_fleming_spending(1.0, 0.05) == pytest.approx(0.05)
    assert obrien_fleming_spending(0.5, 0.05) < 0.006
    with pytest.raises(ConfigError, match="increase"):
        group_sequential_bounds([0.5, 0.4, 1.0])
    with pytest.raises(ConfigError, match="alpha"):
        group_sequential_bounds([1.0], 1.5)


def test_msprt_p_values_are_monotone_and_small_for_a_real_effect() -> None:
    p = msprt_p_value(np.array([0.0, 0.01, 0.02, 0.02]), np.array([1e-4, 5e-5, 2.5e-5, 1.2e-5]), tau2=1e-4)
    assert (np.diff(p) <= 0).all() and p[-1] < 0.01
    assert msprt_p_value(np.zeros(3), np.full(3, 1e-4), 1e-4)[-1] == 1.0
