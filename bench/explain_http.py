"""explain=true over HTTP, one client at a time: the explanation's own latency, without the load test's queue.

``bench/load_test.py --explain`` measures the overhead at a paced load from 12 connections (wrk), on the same two
cores as the server: its p99 also holds the time a request waits behind others and for a core. This script
starts the same server (``tuijian serve``, ``--workers`` as the load test), then sends the personalised request
of sampled known users one at a time from one client (httpx, keep-alive), pausing ``--pause-ms`` between
requests: first plain, then with ``explain=true`` (half ``lang=en``, half ``zh``), both with the load test's
category filter (``--no-filter``: without), after a warm-up of explained requests. Latency is the client's,
request sent to response read. Every response must be a 200.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/explain_http.py --home <prepared home> \
        --out bench/results/explain_http_one_client.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_test import KEY, free_port, wait_ready  # noqa: E402


def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from tuijian.data.datasets import load_dataset

    env = dict(os.environ, TUIJIAN_ADMIN_KEY=KEY, OPENBLAS_NUM_THREADS="1")
    port = free_port()
    tuijian = str(Path(sys.executable).parent / "tuijian")
    cmd = [tuijian, "serve", "--dataset", args.dataset, "--model", args.model, "--home", str(args.home)]
    cmd += ["--port", str(port), "--workers", str(args.workers), "--no-access-log"]
    log = open(args.home / "serve-explain-http.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/ready", 3600)
        ds = load_dataset(args.dataset)
        users = ds.events["user"].astype(str).unique().tolist()
        category = None
        if ds.items is not None and not args.no_filter:
            cats = ds.items["category"].str.split("|").explode()
            category = str(cats[cats != ""].value_counts().index[0])  # the load test's filter
        rng = np.random.default_rng(args.seed)
        sample = rng.choice(users, args.warmup + args.requests, replace=False).tolist()
        base_q = "k=10" + (f"&category={category}" if category else "")
        out: dict[str, Any] = {"dataset": args.dataset, "filter": category, "requests": args.requests}
        with httpx.Client(headers={"X-API-Key": KEY}, timeout=60) as client:
            out["model_version"] = client.get(f"{base}/v1/users/{sample[0]}/recommendations?k=1").json()[
                "model_version"
            ]
            for n, u in enumerate(sample[: args.warmup]):  # lazy caches of the worker(s)
                client.get(
                    f"{base}/v1/users/{u}/recommendations?{base_q}&explain=true&lang={'zh' if n % 2 else 'en'}"
                )
            for mode in ("plain", "explain"):
                lat = []
                for n, u in enumerate(sample[args.warmup :]):
                    q = base_q + (
                        f"&explain=true&lang={'zh' if n % 2 else 'en'}" if mode == "explain" else ""
                    )
                    start = time.perf_counter()
                    r = client.get(f"{base}/v1/users/{u}/recommendations?{q}")
                    lat.append((time.perf_counter() - start) * 1000)
                    if r.status_code != 200:
                        raise SystemExit(f"{mode} request for {u}: HTTP {r.status_code} {r.text[:200]}")
                    time.sleep(args.pause_ms / 1000)
                a = np.asarray(lat)
                out[mode] = {f"p{p}_ms": round(float(np.percentile(a, p)), 3) for p in (50, 90, 99)} | {
                    "max_ms": round(float(a.max()), 3),
                    "bytes_last": len(r.content),
                }
        for p in (50, 90, 99):
            out[f"added_p{p}_ms"] = round(out["explain"][f"p{p}_ms"] - out["plain"][f"p{p}_ms"], 3)
        out["load_avg"] = os.getloadavg()
        return out
    finally:
        server.terminate()
        server.wait()
        log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="a prepared home (its active version is served)")
    ap.add_argument("--dataset", default="amazon-beauty")
    ap.add_argument("--model", default="auto")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn workers (the load test's default)")
    ap.add_argument("--requests", type=int, default=2000, help="per mode")
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--pause-ms", type=float, default=20.0, help="pause between requests")
    ap.add_argument("--no-filter", action="store_true", help="the API's default request (no category)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    out = run(args)
    print(json.dumps(out, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
