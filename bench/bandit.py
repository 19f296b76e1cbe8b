"""Issue 13 acceptance: the live strategy bandit, through the real service over HTTP, in the calibrated simulator.

1. Calibrate the shopper simulator on a real log (default Online Retail): the past part is written to CSV files
   and served by a real ``tuijian serve --events past.csv --catalog items.csv --model item-knn --workers 2``.
2. For each policy (the live bandit, uniform random over the strategies, and each strategy fixed) the server is
   started with that policy's settings and a fresh bandit state file, and ``--steps`` simulated requests are
   run against it by ``--concurrency`` clients: GET ``/v1/users/{id}/recommendations`` → the simulated shopper
   examines, clicks and buys → POST ``/v1/feedback`` (click and purchase events). Step ``t`` is the same shopper
   with the same random numbers under every policy (common random numbers), so differences are paired.
3. Reported: reward (clicks + purchases) per step, cumulative reward, the regret of the bandit against the best
   fixed strategy in hindsight (and against uniform), paired 95 % bootstrap intervals of the per-step differences,
   and the strategies the bandit ended up choosing.

    nice -n 10 .venv/bin/python bench/bandit.py --steps 3000 --json bench/results/bandit_online_retail.json
    nice -n 10 .venv/bin/python bench/bandit.py --steps 300 --policies bandit,uniform,popular   # quick look
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from server_proc import free_port  # noqa: E402

from tuijian.policy.simulator import ShopperSimulator, calibrate  # noqa: E402
from tuijian.service.bandit_strategies import STRATEGIES  # noqa: E402

KEY = "bench-admin-" + secrets.token_urlsafe(24)


def write_past(sim: ShopperSimulator, dataset: str, data_dir: str | None, home: Path) -> tuple[Path, Path]:
    """The simulator's past as an events CSV and the dataset's catalogue as an items CSV."""
    from tuijian.data.datasets import load_dataset

    past = sim.cal.past
    log = past.log
    users = np.asarray(past.users.ids).astype(str)
    items = np.asarray(past.items.ids).astype(str)
    ev = pd.DataFrame(
        {
            "user": users[log["u"].to_numpy()],
            "item": items[log["i"].to_numpy()],
            "ts": pd.to_datetime(log["ts"].to_numpy(np.int64), unit="s", utc=True).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "kind": log["kind"].to_numpy(),
        }
    )
    events = home / "past.csv"
    ev.to_csv(events, index=False)
    cat = load_dataset(dataset, data_dir).items
    catalog = home / "items.csv"
    cols = [c for c in ("item_id", "title", "category", "price") if cat is not None and c in cat.columns]
    if cat is not None:
        cat = cat[cat["item_id"].astype(str).isin(set(items))][cols].copy()
        if "category" in cat.columns:
            cat["category"] = cat["category"].map(lambda c: "|".join(c) if isinstance(c, list | tuple) else c)
        cat.to_csv(catalog, index=False)
    return events, catalog


class Serve:
    """``tuijian serve`` on the past log with one policy's settings."""

    def __init__(self, home: Path, events: Path, catalog: Path, env: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [str(Path(sys.executable).with_name("tuijian")), "serve", "--events", str(events)]
        cmd += ["--map", "user=user,item=item,ts=ts,kind=kind"]
        if catalog.exists():
            cmd += ["--catalog", str(catalog)]
        cmd += ["--home", str(home), "--port", str(self.port), "--workers", str(workers)]
        cmd += ["--model", "item-knn", "--no-access-log"]
        self.log = open(home / "serve.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd,
            env={
                **os.environ,
                "TUIJIAN_ADMIN_KEY": KEY,
                "TUIJIAN_SECRET_KEY": secrets.token_urlsafe(32),
                **env,
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self, timeout: float = 1800) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tuijian serve exited with {self.proc.returncode}; see serve.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError("tuijian serve not ready")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


async def run_steps(
    sim: ShopperSimulator, url: str, shoppers: np.ndarray, seed: int, concurrency: int
) -> dict[str, Any]:
    """Every step through the service: recommendations, the shopper's response, feedback."""
    users = np.asarray(sim.cal.past.users.ids).astype(str)
    index = {str(x): j for j, x in enumerate(sim.cal.past.items.ids)}
    n = len(shoppers)
    reward = np.zeros(n)
    purchases = np.zeros(n)
    strategy = np.empty(n, dtype=object)
    explored = np.zeros(n, bool)
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for t in range(n):
        queue.put_nowait(t)
    headers = {"X-API-Key": KEY}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while True:
            try:
                t = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            s = int(shoppers[t])
            r = await client.get(f"/v1/users/{users[sim.cal.pool[s]]}/recommendations", params={"k": 10})
            if r.status_code != 200:
                errors += 1
                continue
            body = r.json()
            items = np.array([index.get(e["item_id"], -1) for e in body["items"]], np.int64)
            ok = items >= 0
            state = sim.state(s)
            out = sim.respond(state, items[ok], np.random.default_rng([seed, t]))
            shown = [e["item_id"] for e, keep in zip(body["items"], ok, strict=True) if keep]
            fb = [
                {"request_id": body["request_id"], "item": shown[k], "event": ev, "position": k}
                for k in range(len(shown))
                for ev, hit in (("click", out.clicks[k]), ("purchase", out.purchases[k]))
                if hit
            ]
            if fb:
                p = await client.post("/v1/feedback", json={"feedback": fb})
                if p.status_code >= 300:
                    errors += 1
            reward[t] = out.reward
            purchases[t] = out.purchases.sum()
            strategy[t] = body.get("strategy", "model")
            explored[t] = bool(body.get("exploration", False))

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    return {
        "reward": reward,
        "purchases": purchases,
        "strategy": strategy,
        "explored": explored,
        "errors": errors,
        "seconds": seconds,
    }


def paired(diff: np.ndarray, seed: int = 0, n_boot: int = 2000) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    boots = diff[rng.integers(0, len(diff), (n_boot, len(diff)))].mean(axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {
        "mean_per_step": round(float(diff.mean()), 5),
        "bootstrap95": [round(float(lo), 5), round(float(hi), 5)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="online-retail")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--algorithm", default="thompson", choices=["thompson", "linucb"])
    ap.add_argument("--policies", default=None, help="comma-separated subset of bandit,uniform,<strategy>")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--home", type=Path, default=None, help="reuse a prepared home (keeps the trained model)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    t0 = time.perf_counter()
    cal = calibrate(args.dataset, args.data_dir, seed=args.seed)
    sim = ShopperSimulator(cal, seed=args.seed)
    home = args.home or Path(tempfile.mkdtemp(prefix="tuijian-bandit-"))
    home.mkdir(parents=True, exist_ok=True)
    events, catalog = write_past(sim, args.dataset, args.data_dir, home)
    shoppers = np.random.default_rng(args.seed).choice(sim.n_shoppers, args.steps)
    strategies = ",".join(STRATEGIES)
    base = {
        "OPENBLAS_NUM_THREADS": "1",
        "TUIJIAN_BANDIT": "1",
        "TUIJIAN_BANDIT_REWARDS": json.dumps({"click": 1.0, "purchase": 1.0}),
    }
    policies: dict[str, dict[str, str]] = {
        "bandit": {"TUIJIAN_BANDIT_ALGORITHM": args.algorithm, "TUIJIAN_BANDIT_STRATEGIES": strategies},
        "uniform": {"TUIJIAN_BANDIT_ALGORITHM": "uniform", "TUIJIAN_BANDIT_STRATEGIES": strategies},
        **{s: {"TUIJIAN_BANDIT_STRATEGIES": s} for s in STRATEGIES},
    }
    if args.policies:
        policies = {p: policies[p] for p in args.policies.split(",")}
    results: dict[str, Any] = {}
    curves: dict[str, np.ndarray] = {}
    for name, env in policies.items():
        state = home / "run" / f"bandit-{name}-{secrets.token_hex(4)}.sqlite"
        server = Serve(
            home, events, catalog, {**base, **env, "TUIJIAN_BANDIT_STATE": str(state)}, args.workers
        )
        try:
            server.wait()
            out = asyncio.run(run_steps(sim, server.url, shoppers, args.seed, args.concurrency))
            if name == "bandit":
                with contextlib.suppress(httpx.HTTPError):
                    out["final_state"] = httpx.get(
                        server.url + "/v1/bandit", headers={"X-API-Key": KEY}, timeout=10
                    ).json()
        finally:
            server.stop()
        curves[name] = out["reward"]
        tail = slice(len(shoppers) // 2, None)
        picked = pd.Series(out["strategy"][tail]).value_counts(normalize=True).round(3).to_dict()
        results[name] = {
            "cumulative_reward": float(out["reward"].sum()),
            "reward_per_step": round(float(out["reward"].mean()), 5),
            "purchases": float(out["purchases"].sum()),
            "second_half_strategy_share": picked,
            "exploration_share": round(float(out["explored"].mean()), 4),
            "errors": out["errors"],
            "steps_per_second": round(len(shoppers) / out["seconds"], 1),
            **({"final_state": out["final_state"]} if "final_state" in out else {}),
        }
        print(name, json.dumps(results[name]), flush=True)
    fixed = [s for s in STRATEGIES if s in curves]
    summary: dict[str, Any] = {"dataset": args.dataset, "steps": args.steps, "algorithm": args.algorithm}
    if fixed:
        best = max(fixed, key=lambda s: curves[s].sum())
        summary["best_fixed_in_hindsight"] = best
    if "bandit" in curves:
        b = curves["bandit"]
        summary["bandit_vs"] = {n: paired(b - c, args.seed) for n, c in curves.items() if n != "bandit"}
        if fixed:
            regret = np.cumsum(curves[best] - b)
            marks = sorted({int(x) for x in np.linspace(len(b) / 10, len(b), 10)})
            summary["regret_vs_best_fixed"] = {str(m): round(float(regret[m - 1]), 1) for m in marks}
            summary["beats_uniform_and_all_fixed_but_best"] = bool(
                all(b.sum() > curves[n].sum() for n in curves if n not in ("bandit", best))
            )
    summary["policies"] = results
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps({k: v for k, v in summary.items() if k != "policies"}, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1, default=str))
    if args.home is None:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
