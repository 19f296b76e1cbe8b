"""Issue 13 item 4: off-policy evaluation checked in the calibrated shopper simulator against the true value.

The simulator is calibrated on a real log (default Online Retail, ``--max-users`` shoppers). A request is one
shopper and one of three strategies (``knn``, ``popular``, ``trending``; see :mod:`tuijian.policy.ope_sim`);
the reward is clicks + purchases on the list. For each of ``--repeats`` seeds, ``--requests`` requests are
logged under a stochastic logging policy (``--logging`` mix, the exact propensity of the chosen strategy is
recorded), and each target policy (every fixed strategy and a contextual mix) is estimated with IPS, SNIPS and
DR. The true value of each target is exact (:func:`tuijian.policy.ope_sim.expected_value`: the pool average of
the expected reward per list); ``--true-requests`` requests run under the target itself on fresh seeds check it
(0 skips the check). Reported per target: the true value and the simulated check; per estimator: the first
repeat's estimate and CI, the coverage of the 95 % CIs over the repeats (against the exact true value) with its
own 95 % (Wilson) interval and the misses below / above, the mean relative error, the mean CI width, and every
repeat's estimate and CI (``per_log``).

    nice -n 10 .venv/bin/python bench/ope_sim.py --repeats 1000 --true-requests 0 --json bench/results/ope_sim_online_retail_r1000.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from tuijian.policy import ope_sim
from tuijian.policy.simulator import ShopperSimulator, calibrate

TARGETS: dict[str, ope_sim.PolicyProbs] = {
    "knn": ope_sim.fixed("knn"),
    "popular": ope_sim.fixed("popular"),
    "trending": ope_sim.fixed("trending"),
    "mix (known 0.8/0.1/0.1, new 0.1/0.6/0.3)": ope_sim.contextual_mix((0.8, 0.1, 0.1), (0.1, 0.6, 0.3)),
}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``."""
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return mid - half, mid + half


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="online-retail")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--max-users", type=int, default=2000)
    ap.add_argument("--requests", type=int, default=4000, help="logged requests per repeat")
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument(
        "--true-requests", type=int, default=30000, help="requests run under each target (check; 0: skip)"
    )
    ap.add_argument(
        "--logging", default="0.5,0.25,0.25", help="logging probabilities of knn,popular,trending"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    t0 = time.perf_counter()
    sim = ShopperSimulator(calibrate(args.dataset, args.data_dir, max_users=args.max_users, seed=args.seed))
    acts = ope_sim.StrategyActions(sim)
    logging = ope_sim.constant([float(v) for v in args.logging.split(",")])
    out: dict[str, Any] = {
        "dataset": args.dataset,
        "shoppers": sim.n_shoppers,
        "args": vars(args) | {"json": None},
    }
    truth = {name: ope_sim.expected_value(sim, acts, pol) for name, pol in TARGETS.items()}
    simulated = {
        name: ope_sim.true_value(sim, acts, pol, args.true_requests, seed=10_000 + args.seed + j)
        for j, (name, pol) in enumerate(TARGETS.items())
        if args.true_requests > 0
    }
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        n: {"ips": [], "snips": [], "dr": []} for n in TARGETS
    }
    for rep in range(args.repeats):
        logs = ope_sim.log_requests(sim, acts, logging, args.requests, seed=args.seed + rep)
        for name, pol in TARGETS.items():
            for est, e in ope_sim.estimates(logs, pol, seed=rep).items():
                runs[name][est].append(e)
        if (rep + 1) % 50 == 0:
            print(f"{rep + 1} logs, {time.perf_counter() - t0:.0f} s", flush=True)
    targets: dict[str, Any] = {}
    for name in TARGETS:
        tv = truth[name]
        row: dict[str, Any] = {"true": round(tv, 4)}
        if name in simulated:
            row["simulated"] = {k: round(v, 4) for k, v in simulated[name].items()}
        for est, es in runs[name].items():
            below = sum(e["ci_high"] < tv for e in es)
            above = sum(e["ci_low"] > tv for e in es)
            covered = len(es) - below - above
            rel = [abs(e["value"] - tv) / tv for e in es]
            first = es[0]
            row[est] = {
                "first": [round(first["value"], 4), round(first["ci_low"], 4), round(first["ci_high"], 4)],
                "first_covers": bool(first["ci_low"] <= tv <= first["ci_high"]),
                "coverage": round(covered / len(es), 3),
                "coverage_ci95": [round(v, 3) for v in wilson(covered, len(es))],
                "misses_below_above": [below, above],
                "mean_relative_error": round(float(np.mean(rel)), 4),
                "mean_ci_width": round(float(np.mean([e["ci_high"] - e["ci_low"] for e in es])), 4),
                "mean_ess": round(float(np.mean([e["effective_sample_size"] for e in es])), 1),
                "per_log": [[round(e[k], 5) for k in ("value", "ci_low", "ci_high")] for e in es],
            }
        targets[name] = row
        print(name, json.dumps(_short(row)), flush=True)
    out["targets"] = targets
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out | {"targets": {n: _short(r) for n, r in targets.items()}}, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))


def _short(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: ({kk: vv for kk, vv in v.items() if kk != "per_log"} if isinstance(v, dict) else v)
        for k, v in row.items()
    }


if __name__ == "__main__":
    main()
