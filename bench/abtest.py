"""Issue 13 item 6: an A/B test and an A/A test run end to end through a real ``tuijian serve`` (2 workers).

A fresh home serves the embedded Online Retail demo with item-kNN. Over HTTP the bench

1. creates an experiment ``control`` (the served model) vs ``popular`` (the fallback chain alone), sized by the
   tool's own sample-size calculator for a ``--baseline`` click rate and a ``--lift`` relative lift;
2. sends one recommendation request per shopper (real user ids of the demo first, then new ones) and lets a
   synthetic shopper click the list with a known probability: ``baseline`` in control, ``baseline * (1 + lift)``
   in ``popular`` (so the true lift is known), buying after a click with probability 0.3; clicks and
   purchases go to ``POST /v1/feedback`` against the response's ``request_id`` as they happen;
3. checks that every response names its variant, that the variant is the one ``/assign`` gives and the same on
   a repeat request (answered by either worker), and that every served request was logged as an exposure;
4. reads the report (``GET /v1/experiments/{id}/report``) and ``tuijian ope`` on the same logs;
5. stops it and runs an A/A experiment (two identical arms) the same way.

The A/B planted-lift result is one draw: at the computed sample size it is detected with probability ~0.8
(see ``tuijian abtest simulate`` for the rates over many runs).

    nice -n 10 .venv/bin/python bench/abtest.py --json bench/results/abtest_service.json
    nice -n 10 .venv/bin/python bench/abtest.py --power-check
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_proc import TUIJIAN, Server  # noqa: E402

from tuijian.policy.abtest_sim import plan  # noqa: E402


def _users(db_url: str, n: int) -> list[str]:
    from tuijian.store import open_store

    store = open_store(db_url)
    try:
        known = [str(u) for u in store.events_frame()["user"].drop_duplicates()]
    finally:
        store.close()
    return (known + [f"bench-new-{i}" for i in range(n)])[:n]


def run_experiment(
    c: httpx.Client, spec: dict[str, Any], users: list[str], rates: dict[str, float], seed: int
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    eid = c.post("/v1/experiments", json=spec).raise_for_status().json()["id"]
    time.sleep(2.5)  # the other worker picks the experiment up within its poll interval (1 s here)
    served: dict[str, str] = {}
    latencies = []
    requests = 0
    for u in users:
        t0 = time.perf_counter()
        body = c.get(f"/v1/users/{u}/recommendations", params={"k": 10}).raise_for_status().json()
        latencies.append(time.perf_counter() - t0)
        requests += 1
        variant = body["experiment"]["variant"]
        served[u] = variant
        if rng.random() < rates[variant]:
            pos = min(int(rng.geometric(0.4)) - 1, len(body["items"]) - 1)
            item = body["items"][pos]["item_id"]
            rows = [
                {"request_id": body["request_id"], "item": item, "event": "click", "user": u, "position": pos}
            ]
            if rng.random() < 0.3:
                rows.append({**rows[0], "event": "purchase"})
            c.post("/v1/feedback", json={"feedback": rows}).raise_for_status()
    # stickiness across workers and against /assign
    mismatches = 0
    for u in users[:300]:
        again = c.get(f"/v1/users/{u}/recommendations", params={"k": 10}).json()["experiment"]["variant"]
        requests += 1
        assigned = c.get(f"/v1/experiments/{eid}/assign", params={"user": u}).json()["variant"]
        mismatches += (again != served[u]) + (assigned != served[u])
    time.sleep(1.5)  # exposures are written in 0.25 s batches
    report = c.get(f"/v1/experiments/{eid}/report", params={"bootstrap": 1000}, timeout=300).json()
    return {
        "id": eid,
        "users": len(users),
        "requests": requests,
        "exposures_logged": report["exposures"],
        "sticky_mismatches": mismatches,
        "p50_ms": round(1000 * float(np.median(latencies)), 2),
        "report": report,
    }


def summary(run: dict[str, Any]) -> dict[str, Any]:
    rep = run["report"]
    click = next(x for x in rep["comparisons"] if x["metric"] == "click_rate")
    return {
        "users_per_variant": {v["variant"]: v["users"] for v in rep["variants"]},
        "click_rate": {v["variant"]: v["click_rate"] for v in rep["variants"]},
        "srm_p": rep["srm"]["p_value"],
        "click_rate_relative_lift": click.get("relative_lift"),
        "click_rate_diff_ci": [click.get("ci_low"), click.get("ci_high")],
        "click_rate_bootstrap_ci": click.get("bootstrap_ci"),
        "click_rate_p": click.get("p_value"),
        "significant": click.get("significant"),
        "stop_rule": {k: rep["sequential"].get(k) for k in ("decision", "winner")},
        "requests": run["requests"],
        "exposures_logged": run["exposures_logged"],
        "sticky_mismatches": run["sticky_mismatches"],
        "p50_ms": run["p50_ms"],
    }


def binomial_power_check(baseline: float, lift: float, draws: int = 200_000, seed: int = 1) -> dict[str, Any]:
    """Power of the two-proportion z-test at the computed size from binomial counts alone (no split, no logs):
    checks the sample-size formula with a Monte-Carlo error of about 0.001."""
    from scipy import stats as st

    n = plan(baseline, lift)["users_per_variant"]
    rng = np.random.default_rng(seed)
    xa = rng.binomial(n, baseline, draws)
    xb = rng.binomial(n, baseline * (1 + lift), draws)
    pooled = (xa + xb) / (2 * n)
    z = (xb - xa) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    power = float((np.abs(z) >= st.norm.ppf(0.975)).mean())
    return {"users_per_variant": n, "draws": draws, "power": power}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=float, default=0.3)
    ap.add_argument("--lift", type=float, default=0.10)
    ap.add_argument("--looks", type=int, default=5)
    ap.add_argument("--aa-users", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--power-check",
        action="store_true",
        help="only the binomial check of the sample size (5 %% -> 5.5 %%)",
    )
    args = ap.parse_args()
    if args.power_check:
        print(json.dumps(binomial_power_check(0.05, 0.10)))
        return

    design = plan(args.baseline, args.lift, looks=args.looks)
    n = design["sequential_users_per_variant"]
    with tempfile.TemporaryDirectory(prefix="tuijian-abtest-") as tmp:
        home = Path(tmp)
        db = f"sqlite:///{home / 'tuijian.sqlite'}"
        server = Server(home, db, model="item-knn", workers=2, extra_env={"TUIJIAN_POLL_SECONDS": "1"})
        server.start()
        try:
            ready = server.wait_ready()
            users = _users(db, 2 * n + args.aa_users)
            c = httpx.Client(base_url=server.url, headers=server.headers(), timeout=60)
            t0 = time.perf_counter()
            ab_spec = {
                "name": "model vs popular (planted lift)",
                "variants": [{"name": "control"}, {"name": "popular", "strategy": "fallback"}],
                "primary_metric": "click_rate",
                "planned_users": n,
                "looks": args.looks,
            }
            rates = {"control": args.baseline, "popular": args.baseline * (1 + args.lift)}
            ab = run_experiment(c, ab_spec, users[: 2 * n], rates, args.seed)
            ab_seconds = time.perf_counter() - t0
            ope = subprocess.run(
                [str(TUIJIAN), "ope", "--experiment", ab["id"], "--target", "popular", "--database-url", db],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            c.post(f"/v1/experiments/{ab['id']}/stop").raise_for_status()
            time.sleep(1.5)
            t1 = time.perf_counter()
            off = [c.get(f"/v1/users/{u}/recommendations", params={"k": 10}) for u in users[:500]]
            p50_off = 1000 * float(np.median([r.elapsed.total_seconds() for r in off]))
            assert all("experiment" not in r.json() for r in off)
            aa_spec = {
                "name": "A/A",
                "variants": [{"name": "A"}, {"name": "B"}],
                "primary_metric": "click_rate",
            }
            aa = run_experiment(
                c, aa_spec, users[2 * n :], {"A": args.baseline, "B": args.baseline}, args.seed + 1
            )
            aa_seconds = time.perf_counter() - t1
        finally:
            server.stop()
    out = {
        "design": design,
        "server_ready_seconds": round(ready, 1),
        "true_relative_lift": args.lift,
        "ab": summary(ab),
        "ab_seconds": round(ab_seconds, 1),
        "ope_always_popular": ope.strip(),
        "p50_ms_without_experiment": round(p50_off, 2),
        "aa": summary(aa),
        "aa_seconds": round(aa_seconds, 1),
        "ab_report": ab["report"],
    }
    print(json.dumps({k: v for k, v in out.items() if k not in ("ab_report", "design")}, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
