"""The report of an experiment from its logs: per-user metrics, significance, SRM and the sequential stop rule.

Inputs are plain frames, so the same code reads the service's logs and synthetic data:

* ``exposures``: one row per served request in the experiment: ``user, variant, request_id, ts`` (µs).
* ``outcomes``: what happened to those requests: ``request_id, event, ts`` and ``revenue`` (purchases: the
  item's price; 0 otherwise), with ``event`` one of ``impression`` (one row per shown item), ``click``,
  ``add_to_cart``, ``purchase``.

The unit of analysis is the user (the unit of randomisation). Metrics:

* ``click_rate``: share of exposed users who clicked at least once (two-proportion z-test);
* ``ctr``: clicks / impressions, summed over users (delta-method z-test, which keeps the per-user clustering);
* ``conversion``: share of exposed users who bought at least once (two-proportion z-test);
* ``revenue_per_user``: purchased items' prices per exposed user (Welch t-test).

Each comparison of a treatment with the control also gets a bootstrap interval (users resampled). With
``planned_users`` set, the stop rule looks at the data as it was when ``k / looks`` of the planned users had
been exposed (exposures and outcomes up to that moment) and stops at the first look whose ``|z|`` of the
primary metric crosses the O'Brien-Fleming boundary; several treatments share alpha by Bonferroni.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from tuijian.policy import stats
from tuijian.policy.abtest import Experiment
from tuijian.policy.sequential import group_sequential_bounds

_USER_COLUMNS = [
    "user",
    "variant",
    "first_ts",
    "lists",
    "impressions",
    "clicks",
    "carts",
    "purchases",
    "revenue",
]


def user_table(exposures: pd.DataFrame, outcomes: pd.DataFrame, until_ts: int | None = None) -> pd.DataFrame:
    """One row per exposed user: ``variant, first_ts, lists, impressions, clicks, carts, purchases, revenue``.

    With ``until_ts`` only exposures and outcomes up to that time count (the data as it was then).
    """
    exp = exposures
    out = outcomes
    if until_ts is not None:
        exp = exp[exp["ts"] <= until_ts]
        out = out[out["ts"] <= until_ts]
    if exp.empty:
        return pd.DataFrame(columns=_USER_COLUMNS)
    exp = exp.sort_values("ts", kind="stable")
    users = exp.groupby("user", sort=False).agg(
        variant=("variant", "first"), first_ts=("ts", "first"), lists=("request_id", "nunique")
    )
    out = out.merge(exp[["request_id", "user"]].drop_duplicates("request_id"), on="request_id", how="inner")
    counts = pd.crosstab(out["user"], out["event"]) if len(out) else pd.DataFrame()
    revenue = out.groupby("user")["revenue"].sum() if len(out) else pd.Series(dtype=np.float64)
    table = users.reset_index()
    for col, event in (
        ("impressions", "impression"),
        ("clicks", "click"),
        ("carts", "add_to_cart"),
        ("purchases", "purchase"),
    ):
        series = counts[event] if event in counts else pd.Series(dtype=np.int64)
        table[col] = table["user"].map(series).fillna(0).astype(np.int64)
    table["revenue"] = table["user"].map(revenue).fillna(0.0).astype(np.float64)
    return table[_USER_COLUMNS]


def summarise(table: pd.DataFrame, experiment: Experiment) -> list[dict[str, Any]]:
    """Per-variant totals and metric values."""
    rows = []
    for v in experiment.variants:
        g = table[table["variant"] == v.name]
        n = len(g)
        imp = int(g["impressions"].sum())
        rows.append(
            {
                "variant": v.name,
                "users": n,
                "lists": int(g["lists"].sum()),
                "impressions": imp,
                "clicks": int(g["clicks"].sum()),
                "carts": int(g["carts"].sum()),
                "purchases": int(g["purchases"].sum()),
                "revenue": round(float(g["revenue"].sum()), 2),
                "click_rate": float((g["clicks"] > 0).mean()) if n else None,
                "ctr": float(g["clicks"].sum() / imp) if imp else None,
                "conversion": float((g["purchases"] > 0).mean()) if n else None,
                "revenue_per_user": float(g["revenue"].mean()) if n else None,
            }
        )
    return rows


def compare(
    control: pd.DataFrame,
    treatment: pd.DataFrame,
    metric: str,
    alpha: float,
    n_bootstrap: int = 0,
    seed: int = 0,
) -> stats.TestResult:
    """The significance test of ``metric`` (see the module docstring) for two per-user tables."""
    if metric == "click_rate":
        a, b = (control["clicks"] > 0), (treatment["clicks"] > 0)
        return stats.two_proportion_ztest(int(a.sum()), len(a), int(b.sum()), len(b), alpha)
    if metric == "conversion":
        a, b = (control["purchases"] > 0), (treatment["purchases"] > 0)
        return stats.two_proportion_ztest(int(a.sum()), len(a), int(b.sum()), len(b), alpha)
    if metric == "ctr":
        return stats.ratio_ztest(
            control["clicks"].to_numpy(),
            control["impressions"].to_numpy(),
            treatment["clicks"].to_numpy(),
            treatment["impressions"].to_numpy(),
            alpha,
        )
    return stats.welch_ttest(control["revenue"].to_numpy(), treatment["revenue"].to_numpy(), alpha)


def _bootstrap(
    control: pd.DataFrame, treatment: pd.DataFrame, metric: str, alpha: float, n: int, seed: int
) -> list[float]:
    if metric == "ctr":
        lo, hi = stats.bootstrap_diff_ci(
            control["clicks"].to_numpy(),
            treatment["clicks"].to_numpy(),
            control_den=control["impressions"].to_numpy(),
            treatment_den=treatment["impressions"].to_numpy(),
            alpha=alpha,
            n_resamples=n,
            seed=seed,
        )
    else:
        col = {"click_rate": "clicks", "conversion": "purchases", "revenue_per_user": "revenue"}[metric]
        a, b = control[col].to_numpy(), treatment[col].to_numpy()
        if metric != "revenue_per_user":
            a, b = (a > 0).astype(np.float64), (b > 0).astype(np.float64)
        lo, hi = stats.bootstrap_diff_ci(a, b, alpha=alpha, n_resamples=n, seed=seed)
    return [lo, hi]


def _enough(control: pd.DataFrame, treatment: pd.DataFrame, metric: str) -> str | None:
    if len(control) < 2 or len(treatment) < 2:
        return "needs at least 2 exposed users per variant"
    if metric == "ctr" and (control["impressions"].sum() == 0 or treatment["impressions"].sum() == 0):
        return "needs impressions in both variants"
    return None


def analyse(
    experiment: Experiment,
    exposures: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """The full report: variants, SRM, every metric's test and interval against the control, and the stop rule."""
    table = user_table(exposures, outcomes)
    variants = summarise(table, experiment)
    srm = stats.srm_check([r["users"] for r in variants], experiment.shares)
    control = experiment.variants[0].name
    m = len(experiment.variants) - 1
    comparisons = []
    for v in experiment.variants[1:]:
        a, b = table[table["variant"] == control], table[table["variant"] == v.name]
        for metric in ("click_rate", "ctr", "conversion", "revenue_per_user"):
            entry: dict[str, Any] = {
                "variant": v.name,
                "metric": metric,
                "primary": metric == experiment.primary_metric,
            }
            why = _enough(a, b, metric)
            if why:
                entry["note"] = why
            else:
                entry.update(compare(a, b, metric, experiment.alpha).to_dict())
                entry["significant"] = bool(
                    entry["p_value"] is not None and entry["p_value"] < experiment.alpha / m
                )
                if n_bootstrap:
                    entry["bootstrap_ci"] = _bootstrap(a, b, metric, experiment.alpha, n_bootstrap, seed)
            comparisons.append(entry)
    report = {
        "experiment": experiment.to_dict(),
        "control": control,
        "users": len(table),
        "variants": variants,
        "srm": srm.to_dict(),
        "comparisons": comparisons,
        "bonferroni_treatments": m,
        "sequential": sequential_decision(experiment, exposures, outcomes, table),
        "timeline": timeline(exposures, experiment),
    }
    return report


def sequential_decision(
    experiment: Experiment, exposures: pd.DataFrame, outcomes: pd.DataFrame, table: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The O'Brien-Fleming stop rule on the primary metric at every look reached so far."""
    if experiment.planned_users is None:
        return {"planned": False, "decision": "fixed_horizon", "note": "no planned_users: no stop rule"}
    table = user_table(exposures, outcomes) if table is None else table
    k_total = experiment.looks
    planned_total = experiment.planned_users * len(experiment.variants)
    fractions = np.arange(1, k_total + 1) / k_total
    m = len(experiment.variants) - 1
    bounds = group_sequential_bounds(fractions, experiment.alpha / m)
    order = np.sort(table["first_ts"].to_numpy(dtype=np.int64)) if len(table) else np.zeros(0, np.int64)
    looks: list[dict[str, Any]] = []
    decision, winner = "continue", None
    control = experiment.variants[0].name
    for k in range(k_total):
        need = math.ceil(fractions[k] * planned_total)
        look: dict[str, Any] = {"look": k + 1, "users_needed": need, "bound": round(float(bounds[k]), 4)}
        if len(order) < need:
            look["reached"] = False
            looks.append(look)
            continue
        cut = int(order[need - 1])
        at = user_table(exposures, outcomes, until_ts=cut)
        look.update(reached=True, at_ts=cut, z={})
        crossed = []
        for v in experiment.variants[1:]:
            a, b = at[at["variant"] == control], at[at["variant"] == v.name]
            if _enough(a, b, experiment.primary_metric):
                continue
            z = compare(a, b, experiment.primary_metric, experiment.alpha).statistic
            look["z"][v.name] = round(float(z), 4)
            if abs(z) >= bounds[k]:
                crossed.append((abs(z), v.name, z))
        looks.append(look)
        if crossed and decision == "continue":
            _, name, z = max(crossed)
            decision, winner = (
                "stop",
                {"variant": name, "direction": "better" if z > 0 else "worse", "look": k + 1},
            )
        if decision == "continue" and k == k_total - 1:
            decision = "stop_no_difference"
    return {
        "planned": True,
        "metric": experiment.primary_metric,
        "planned_users_per_variant": experiment.planned_users,
        "looks": looks,
        "decision": decision,
        "winner": winner,
        "spending": "Lan-DeMets O'Brien-Fleming",
    }


def timeline(exposures: pd.DataFrame, experiment: Experiment, points: int = 40) -> dict[str, Any]:
    """Cumulative exposed users per variant over time (for the dashboard's plot)."""
    if exposures.empty:
        return {"ts": [], "series": {v.name: [] for v in experiment.variants}}
    first = exposures.sort_values("ts", kind="stable").drop_duplicates("user")
    ts = first["ts"].to_numpy(dtype=np.int64)
    grid = np.unique(np.quantile(ts, np.linspace(0, 1, points), method="nearest").astype(np.int64))
    series = {}
    for v in experiment.variants:
        vt = np.sort(first.loc[first["variant"] == v.name, "ts"].to_numpy(dtype=np.int64))
        series[v.name] = np.searchsorted(vt, grid, side="right").tolist()
    return {"ts": grid.tolist(), "series": series}
