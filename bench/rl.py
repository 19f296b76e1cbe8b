"""Issue 13 item 3: a REINFORCE reranker trained in the calibrated shopper simulator against greedy ranking.

The simulator's shoppers are split in two halves: the reranker is trained on lifetimes of the first half, then
greedy (the past model's top k), the reranker and popularity are run on the second half with the same random
numbers per shopper. Reported: purchases per lifetime, and the paired difference against greedy with 95 %
t and bootstrap intervals. Also writes the simulator's fit to the real log (``fit`` keys).

    nice -n 10 .venv/bin/python bench/rl.py --dataset online-retail --json bench/results/rl_online_retail.json
    nice -n 10 .venv/bin/python bench/rl.py --dataset amazon-beauty --fit-only --json bench/results/sim_fit_beauty.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tuijian.policy.rl import Candidates, ReinforceReranker, compare, greedy_policy
from tuijian.policy.sim_fit import fit_report
from tuijian.policy.simulator import ShopperModel, ShopperSimulator, calibrate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="online-retail")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--max-users", type=int, default=None, help="simulated shoppers drawn from the pool")
    ap.add_argument("--iterations", type=int, default=60)
    ap.add_argument("--batch", type=int, default=32, help="lifetimes per gradient step")
    ap.add_argument("--eval-shoppers", type=int, default=1500)
    ap.add_argument("--fit-shoppers", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--fit-only", action="store_true", help="only the simulator's fit to the real log")
    ap.add_argument(
        "--satisfaction", type=float, default=None, help="log-odds of returning per purchase (default 0.5)"
    )
    args = ap.parse_args()

    t0 = time.perf_counter()
    cal = calibrate(args.dataset, args.data_dir, max_users=args.max_users, seed=args.seed)
    model = ShopperModel() if args.satisfaction is None else ShopperModel(satisfaction=args.satisfaction)
    sim = ShopperSimulator(cal, model, seed=args.seed)
    cand = Candidates(sim)
    out: dict[str, object] = {
        "dataset": args.dataset,
        "shoppers_in_pool": sim.n_shoppers,
        "satisfaction": sim.model.satisfaction,
        "calibration_seconds": round(time.perf_counter() - t0, 1),
        "fit_popular": fit_report(sim, sim.popular_policy, args.fit_shoppers, args.seed),
        "fit_greedy": fit_report(sim, greedy_policy(cand), args.fit_shoppers, args.seed),
    }
    print(json.dumps(out, indent=1), flush=True)
    if args.fit_only:
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(out, indent=1))
        return
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(sim.n_shoppers)
    train, test = perm[: len(perm) // 2], perm[len(perm) // 2 :]
    rl = ReinforceReranker(iterations=args.iterations, batch_lifetimes=args.batch, seed=args.seed)
    rl.fit(sim, cand, train)
    out["train"] = rl.report_.__dict__
    print(json.dumps(out["train"]), flush=True)
    test = (
        test[: args.eval_shoppers]
        if len(test) >= args.eval_shoppers
        else rng.choice(test, args.eval_shoppers)
    )
    out["comparison"] = compare(
        sim,
        {"greedy": greedy_policy(cand), "rl": rl.policy, "popular": sim.popular_policy},
        test,
        seed=args.seed + 1,
    )
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out["comparison"], indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
