"""How well a :class:`~tuijian.policy.simulator.ShopperSimulator` reproduces its real log.

:func:`fit_report` runs simulated lifetimes under a policy and sets their statistics beside the real ones:
visits per shopper and the return rate, lists and purchases per visit against real lines per visit, and the
item popularity of simulated purchases against the real future period (Spearman rank correlation over items,
share of the top 1 % of items, Gini coefficient).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tuijian.policy.simulator import Policy, ShopperSimulator, SimLog


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0: all equal, 1: one item has everything)."""
    x = np.sort(np.asarray(counts, np.float64))
    if x.sum() <= 0:
        return 0.0
    n = len(x)
    return float((2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * x.sum()))


def top_share(counts: np.ndarray, fraction: float = 0.01) -> float:
    """Share of the total held by the top ``fraction`` of items."""
    x = np.sort(np.asarray(counts, np.float64))[::-1]
    k = max(1, int(round(len(x) * fraction)))
    return float(x[:k].sum() / max(x.sum(), 1e-12))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def fit_report(
    sim: ShopperSimulator, policy: Policy | None = None, n_shoppers: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Real against simulated statistics for ``n_shoppers`` lifetimes under ``policy`` (default: popular)."""
    policy = policy or sim.popular_policy
    rng = np.random.default_rng(seed)
    shoppers = rng.choice(sim.n_shoppers, min(n_shoppers, sim.n_shoppers), replace=False)
    log = SimLog()
    lives = [sim.lifetime(policy, int(s), rng, log) for s in shoppers]
    visits = np.array([x["visits"] for x in lives])
    frame = log.frame()
    bought = np.zeros(sim.n_items)
    for items, buys in zip(frame["items"], frame["purchases"], strict=True):
        np.add.at(bought, np.asarray(items, np.int64)[np.asarray(buys, bool)], 1)
    per_visit = frame.groupby(["shopper", "visit"]).agg(
        lists=("step", "size"), purchases=("purchases", lambda p: int(sum(map(sum, p))))
    )
    clicks = frame["clicks"].map(sum).sum()
    examined = float(np.sum([sum(e) for e in frame["examination"]]))
    real = sim.cal
    return {
        "dataset": real.dataset,
        "shoppers": len(shoppers),
        "visits_per_shopper": {
            "real_mean": round(float(real.visits_per_user.mean()), 3),
            "real_mean_of_these_shoppers": round(float(real.pool_visits[shoppers].mean()), 3),
            "sim_mean": round(float(visits.mean()), 3),
        },
        "return_rate": {"real": round(real.return_rate, 4), "sim": round(float(np.mean(visits >= 2)), 4)},
        "lines_per_visit": {
            "real_mean": round(float(real.lines_per_visit.mean()), 2),
            "real_p50": float(np.median(real.lines_per_visit)),
            "sim_lists_mean": round(float(per_visit["lists"].mean()), 2),
            "sim_purchases_mean": round(float(per_visit["purchases"].mean()), 3),
        },
        "ctr_per_examined_slot": round(float(clicks / max(examined, 1e-12)), 4),
        "item_popularity": {
            "spearman_sim_vs_real_future": round(spearman(bought, real.future_counts), 3),
            "top1pct_share_real": round(top_share(real.future_counts), 3),
            "top1pct_share_sim": round(top_share(bought), 3),
            "gini_real": round(gini(real.future_counts), 3),
            "gini_sim": round(gini(bought), 3),
            "items_bought_sim": int((bought > 0).sum()),
            "items_bought_real": int((real.future_counts > 0).sum()),
        },
        "click_bias": round(sim.bias, 3),
        "reference_purchases_per_visit": round(sim.reference_purchases, 3),
    }
