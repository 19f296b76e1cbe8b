"""Sample-size planning and Monte-Carlo checks of the A/B machinery (``tuijian abtest sample-size / simulate``).

:func:`plan` gives the users per variant for a two-sided two-proportion test of a relative lift, for a fixed
horizon and for the O'Brien-Fleming group-sequential design with ``looks`` equally spaced looks.

:func:`simulate` runs many synthetic experiments through the real pieces: users are split by the experiment
hash (:func:`tuijian.policy.abtest.bucket`, a fresh salt per run), each user clicks with the variant's rate,
and every run is judged by

* the fixed-horizon two-proportion z-test at the fixed sample size,
* the group-sequential stop rule (O'Brien-Fleming boundaries, ``looks`` looks up to the sequential size),
* naive peeking (the fixed 1.96 threshold at each of the same looks: the error the stop rule prevents),
* the mSPRT always-valid p-value at the same looks,
* the SRM chi-square check.

In an A/A run every rejection is a false positive; with a lift the rejection rate is the power.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats as st

from tuijian.exceptions import ConfigError
from tuijian.policy import stats
from tuijian.policy.abtest import bucket
from tuijian.policy.sequential import group_sequential_bounds, msprt_p_value, sequential_inflation


def plan(
    baseline: float,
    relative_lift: float,
    alpha: float = 0.05,
    power: float = 0.8,
    looks: int = 5,
    *,
    hash_split: bool = False,
) -> dict[str, Any]:
    """Users per variant: fixed horizon, and the maximum of the ``looks``-look sequential design.

    ``exact_power`` is the fixed-horizon test's exact power at that size; with ``hash_split`` also
    ``exact_power_hash_split`` (:func:`hash_split_power`, about 0.2 s more).
    """
    fixed = stats.sample_size_two_proportions(baseline, relative_lift, alpha, power)
    inflation = sequential_inflation(looks, alpha, power)
    fractions = np.arange(1, looks + 1) / looks
    return {
        "baseline": baseline,
        "relative_lift": relative_lift,
        "alpha": alpha,
        "power": power,
        "users_per_variant": fixed,
        "looks": looks,
        "sequential_users_per_variant": math.ceil(fixed * inflation),
        "sequential_inflation": round(inflation, 4),
        "sequential_bounds": [round(float(b), 4) for b in group_sequential_bounds(fractions, alpha)],
        "analytic_power": round(stats.power_two_proportions(baseline, relative_lift, fixed, alpha), 4),
        "exact_power": round(
            stats.exact_power_two_proportions(baseline, baseline * (1 + relative_lift), fixed, fixed, alpha),
            5,
        ),
    } | (
        {"exact_power_hash_split": round(hash_split_power(baseline, relative_lift, fixed, alpha), 5)}
        if hash_split
        else {}
    )


def hash_split_power(baseline: float, relative_lift: float, n_per_variant: int, alpha: float = 0.05) -> float:
    """Exact power when ``2 * n_per_variant`` users are split by the hash, so each arm's size is
    Binomial(2n, 1/2) rather than exactly n: the exact power averaged over the arm sizes (9 points over
    +-4 standard deviations, weighted by their binomial probabilities)."""
    total = 2 * n_per_variant
    sd = math.sqrt(total) / 2
    ks = np.unique(
        np.clip(np.rint(n_per_variant + np.linspace(-4, 4, 9) * sd), 1, total - 1).astype(np.int64)
    )
    weights = st.binom.pmf(ks, total, 0.5)
    powers = [
        stats.exact_power_two_proportions(
            baseline, baseline * (1 + relative_lift), int(k), int(total - k), alpha
        )
        for k in ks
    ]
    return float(np.dot(weights, powers) / weights.sum())


def _z_at(cum: tuple[np.ndarray, ...], i: int) -> tuple[float, float, float]:
    """``(pooled z, difference, its pooled variance)`` after the first ``i`` users (cumulative counts ``cum``)."""
    n_a, n_b, x_a, x_b = (float(c[i - 1]) for c in cum)
    if n_a == 0 or n_b == 0:
        return 0.0, 0.0, 1.0
    pooled = (x_a + x_b) / (n_a + n_b)
    var = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    diff = x_b / n_b - x_a / n_a
    return (diff / math.sqrt(var) if var > 0 else 0.0), diff, var


def _rate(hits: int, runs: int) -> dict[str, Any]:
    lo, hi = stats.wilson_interval(hits, runs)
    return {"rate": hits / runs, "ci95": [round(lo, 4), round(hi, 4)], "hits": hits}


def simulate(
    *,
    aa: bool,
    runs: int = 200,
    baseline: float = 0.05,
    relative_lift: float = 0.10,
    alpha: float = 0.05,
    power: float = 0.8,
    looks: int = 5,
    users_per_variant: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Monte-Carlo error rate (``aa``) or power (a true ``relative_lift``) of the tests; see the module docstring.

    The sample sizes default to :func:`plan` for ``baseline`` and ``relative_lift`` (in an A/A run the lift
    only sizes the experiment; both variants have the baseline rate).
    """
    if runs < 1:
        raise ConfigError(f"runs must be >= 1, got {runs}")
    if looks < 1:
        raise ConfigError(f"looks must be >= 1, got {looks}")
    design = plan(baseline, relative_lift, alpha, power, looks, hash_split=True)
    n_fixed = users_per_variant or design["users_per_variant"]
    n_seq = users_per_variant or design["sequential_users_per_variant"]
    n_total = 2 * max(n_fixed, n_seq)
    rates = np.array([baseline, baseline if aa else baseline * (1 + relative_lift)])
    fractions = np.arange(1, looks + 1) / looks
    bounds = group_sequential_bounds(fractions, alpha)
    look_at = np.ceil(fractions * 2 * n_seq).astype(np.int64)
    z_fixed = float(st.norm.ppf(1 - alpha / 2))
    tau2 = (baseline * relative_lift) ** 2  # mSPRT mixing scale: the effect the design was sized for
    users = [f"user-{i}" for i in range(n_total)]
    rng = np.random.default_rng(seed)
    hits = {"fixed": 0, "sequential": 0, "peeking": 0, "msprt": 0, "srm": 0}
    stop_users: list[int] = []
    for run in range(runs):
        arm = bucket(f"sim-{seed}-{run}", users, [0.5, 0.5])
        clicked = rng.random(n_total) < rates[arm]
        in_b = arm == 1
        n_b = np.cumsum(in_b)
        n_a = np.arange(1, n_total + 1) - n_b
        x_b = np.cumsum(clicked & in_b)
        x_a = np.cumsum(clicked & ~in_b)

        cum = (n_a, n_b, x_a, x_b)
        end = 2 * n_fixed
        hits["fixed"] += abs(_z_at(cum, end)[0]) >= z_fixed
        looked = [_z_at(cum, int(i)) for i in look_at]
        zs = np.array([z for z, _, _ in looked])
        crossed = np.nonzero(np.abs(zs) >= bounds)[0]
        if len(crossed):
            hits["sequential"] += 1
            stop_users.append(int(look_at[crossed[0]]))
        else:
            stop_users.append(int(look_at[-1]))
        hits["peeking"] += bool((np.abs(zs) >= z_fixed).any())
        p = msprt_p_value(np.array([d for _, d, _ in looked]), np.array([v for _, _, v in looked]), tau2)
        hits["msprt"] += bool(p[-1] < alpha)
        hits["srm"] += stats.srm_check([int(n_a[-1]), int(n_b[-1])], [1, 1]).mismatch
    key = "false_positive_rate" if aa else "power"
    fixed = _rate(int(hits["fixed"]), runs)
    return {
        "mode": "aa" if aa else "ab",
        key: fixed["rate"],
        f"{key}_ci95": fixed["ci95"],
        "runs": runs,
        "alpha": alpha,
        "baseline": baseline,
        "true_relative_lift": 0.0 if aa else relative_lift,
        "design_relative_lift": relative_lift,
        "users_per_variant": n_fixed,
        "sequential_users_per_variant": n_seq,
        # the fixed-horizon test's exact power at the designed size (no Monte-Carlo error), for comparison
        **(
            {k: design[k] for k in ("exact_power", "exact_power_hash_split")}
            if users_per_variant is None and not aa
            else {}
        ),
        "looks": looks,
        "sequential_bounds": [round(float(b), 4) for b in bounds],
        "stop_rule": {
            "name": "group-sequential, Lan-DeMets O'Brien-Fleming spending",
            **_rate(int(hits["sequential"]), runs),
            "mean_users_at_stop": round(float(np.mean(stop_users)), 1),
        },
        "naive_peeking": {"name": f"|z| >= {z_fixed:.2f} at each look", **_rate(int(hits["peeking"]), runs)},
        "msprt": {"name": "mSPRT always-valid p < alpha at a look", **_rate(int(hits["msprt"]), runs)},
        "srm_flag_rate": hits["srm"] / runs,
        "seed": seed,
    }
