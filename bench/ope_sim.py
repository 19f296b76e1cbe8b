"""Issue 13 item 4: off-policy evaluation checked in the calibrated shopper simulator against the true value.

The simulator is calibrated on a real log (default Online Retail, ``--max-users`` shoppers). A request is one
shopper and one of three strategies (``knn``, ``popular``, ``trending``; see :mod:`tuijian.policy.ope_sim`);
the reward is clicks + purchases on the list. For each of ``--repeats`` seeds, ``--requests`` requests are
logged under a stochastic logging policy (``--logging`` mix, the exact propensity of the chosen strategy is
recorded), and each target policy (every fixed strategy and a contextual mix) is estimated with IPS, SNIPS and
DR. The true value of each target is the mean reward of ``--true-requests`` requests run under the target itself
on fresh seeds. Reported per target: true value ± 95 % CI; per estimator: the first repeat's estimate and CI,
the coverage rate of the 95 % CIs over the repeats (against the true point value), the mean relative error and
the mean CI width.

    nice -n 10 .venv/bin/python bench/ope_sim.py --json bench/results/ope_sim_online_retail.json
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="online-retail")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--max-users", type=int, default=2000)
    ap.add_argument("--requests", type=int, default=4000, help="logged requests per repeat")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--true-requests", type=int, default=30000, help="requests run under each target")
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
    truth = {
        name: ope_sim.true_value(sim, acts, pol, args.true_requests, seed=10_000 + args.seed + j)
        for j, (name, pol) in enumerate(TARGETS.items())
    }
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        n: {"ips": [], "snips": [], "dr": []} for n in TARGETS
    }
    for rep in range(args.repeats):
        logs = ope_sim.log_requests(sim, acts, logging, args.requests, seed=args.seed + rep)
        for name, pol in TARGETS.items():
            for est, e in ope_sim.estimates(logs, pol, seed=rep).items():
                runs[name][est].append(e)
    targets: dict[str, Any] = {}
    for name in TARGETS:
        tv = truth[name]
        row: dict[str, Any] = {"true": {k: round(v, 4) for k, v in tv.items()}}
        for est, es in runs[name].items():
            cover = [e["ci_low"] <= tv["value"] <= e["ci_high"] for e in es]
            rel = [abs(e["value"] - tv["value"]) / tv["value"] for e in es]
            first = es[0]
            row[est] = {
                "first": [round(first["value"], 4), round(first["ci_low"], 4), round(first["ci_high"], 4)],
                "first_covers": bool(cover[0]),
                "coverage": round(float(np.mean(cover)), 3),
                "mean_relative_error": round(float(np.mean(rel)), 4),
                "mean_ci_width": round(float(np.mean([e["ci_high"] - e["ci_low"] for e in es])), 4),
                "mean_ess": round(float(np.mean([e["effective_sample_size"] for e in es])), 1),
            }
        targets[name] = row
        print(name, json.dumps(row), flush=True)
    out["targets"] = targets
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
