"""Where the load test's explained p99 comes from: the split of connections over workers, or the queue itself.

``bench/load_test.py --explain`` paces 12 wrk connections at ~117 req/s against ``tuijian serve --workers 2``
and finds that ``explain=true`` adds ~10 ms to p99, though one request at a time adds ~4.4 ms
(``bench/explain_http.py``). Two explanations were open: uvicorn's workers share one listening socket and each
keeps the connections it accepted, so the load may sit on one worker; or the queue at each worker, whose
explained requests take ~4 ms of server time, is the tail. This script runs the same paced Poisson load
(plain, then ``explain=true``, alternating, ``--rounds``) in two layouts:

* ``workers2``: one ``tuijian serve --workers 2`` and one wrk with 12 connections, as the load test; each
  worker's share of the connections is read from ``ss`` while wrk runs;
* ``servers2``: two ``tuijian serve --workers 1`` on two ports, each driven by its own wrk with 6 connections:
  the perfect split, 6 and 6.

Since the fifth session of 5 December ``tuijian serve`` gives each worker a socket of its own on Linux
(``tuijian.service.supervisor``), so ``workers2`` splits the connections by the kernel's hash instead of
mostly 12/0; run the tree of an earlier commit for the shared socket.

Other counts work the same way (``--layouts workers4,servers4``: one server with four workers; four one-worker
servers with 3 connections each); the queue model assumes one core per worker.

Per run: client p50/p99 (wrk), requests/s, the connections each worker holds, the server CPU per request, and
the user route's handler time per request from the service's own latency histogram (``/metrics``: the time a
worker spends on a request, without its wait in the worker's queue).
Then a queue model: a closed loop of ``c`` connections with exponential pauses (the wrk script's), one FIFO
server per worker and a service time equal to the measured CPU per request (lognormal spread ``--model-cv``),
simulated for the measured service times and for the service time that would keep the explained p99 within
5 ms of the plain one. The model is a model: it is printed beside the measurements, not instead of them.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/explain_queue.py --home <prepared home> \
        --out bench/results/explain_queue.json
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_test import (  # noqa: E402
    KEY,
    free_port,
    lua_paths,
    parse_wrk,
    stop,
    tree_cpu_seconds,
    wait_ready,
    wrk_command,
)


def serve(args: argparse.Namespace, workers: int, tag: str) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``tuijian serve`` on a free port (the load test's environment)."""
    port = free_port()
    env = {
        **os.environ,
        "TUIJIAN_ADMIN_KEY": KEY,
        "OPENBLAS_NUM_THREADS": "1",
        "TUIJIAN_LOG_LEVEL": "warning",
        "TUIJIAN_RATE_LIMIT_PER_SECOND": "0",
    }
    cmd = [
        str(Path(sys.executable).parent / "tuijian"),
        "serve",
        "--dataset",
        args.dataset,
        "--model",
        args.model,
    ]
    cmd += ["--home", str(args.home), "--port", str(port), "--workers", str(workers), "--no-access-log"]
    log = open(args.home / f"serve-queue-{tag}.log", "wb")  # noqa: SIM115 - the server owns it until stopped
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), port


def worker_pids(pid: int) -> list[int]:
    """The serving processes under ``pid``: uvicorn's spawned workers, else ``pid`` itself (one worker:
    uvicorn serves in the main process)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    kids = []
    for p in out:
        try:
            if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes():
                kids.append(int(p))
        except OSError:
            continue
    return kids or [pid]


def connection_split(port: int) -> dict[int, int]:
    """Established connections on ``port`` per server process id (``ss -tnp``)."""
    text = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"sport = :{port}"], capture_output=True, text=True
    ).stdout
    split: dict[int, int] = {}
    for m in re.finditer(r"pid=(\d+)", text):
        split[int(m.group(1))] = split.get(int(m.group(1)), 0) + 1
    return split


USER_ROUTE = 'route="/v1/users/{user_id}/recommendations"'


def handler_seconds(port: int) -> tuple[float, int]:
    """The user route's total handler time and request count so far, from the service's own Prometheus
    histogram (``tuijian_http_request_duration_seconds``: from the request's arrival at the app to its last
    byte handed to the server, all workers): the time a worker spends on a request, without its wait in the
    worker's queue."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    total = count = 0.0
    for line in text.splitlines():
        if USER_ROUTE in line and line.startswith("tuijian_http_request_duration_seconds_"):
            value = float(line.rsplit(" ", 1)[1])
            if line.startswith("tuijian_http_request_duration_seconds_sum"):
                total += value
            elif line.startswith("tuijian_http_request_duration_seconds_count"):
                count += value
    return total, int(count)


def wrk_start(port: int, lua: Path, seconds: int, connections: int) -> subprocess.Popen[str]:
    cmd = wrk_command(f"http://127.0.0.1:{port}/", lua, seconds, connections)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def run_layout(args: argparse.Namespace, layout: str, luas: dict[str, Path]) -> dict[str, Any]:
    """Alternating plain/explained paced runs in ``layout``; per run the latencies, split and CPU."""
    # workersN: one server with N workers; serversN: N one-worker servers, each with its own wrk
    count = int(layout.removeprefix("workers").removeprefix("servers"))
    if layout.startswith("workers"):
        servers = [serve(args, count, layout)]
    else:
        servers = [serve(args, 1, f"s{n}") for n in range(count)]
    conns = 12 // len(servers)
    out: dict[str, Any] = {"layout": layout, "connections_per_wrk": conns, "runs": []}
    try:
        for _, port in servers:
            wait_ready(f"http://127.0.0.1:{port}/ready", args.ready_timeout)
        for _, port in servers:  # a short explained run first, as the load test's warm-up
            wrk_start(port, luas["explain"], 3, conns).communicate()
        for rnd in range(args.rounds):
            for mode in ("plain", "explain"):
                cpu0 = sum(tree_cpu_seconds(p.pid) for p, _ in servers)
                handled0 = [handler_seconds(port) for _, port in servers]
                runs = [wrk_start(port, luas[mode], args.duration, conns) for _, port in servers]
                time.sleep(min(2.0, args.duration / 3))
                split: dict[int, int] = {}
                for proc, port in servers:
                    seen = connection_split(port)
                    for pid in worker_pids(proc.pid):
                        split[pid] = seen.get(pid, 0)
                results = [parse_wrk(w.communicate()[0]) for w in runs]
                cpu = sum(tree_cpu_seconds(p.pid) for p, _ in servers) - cpu0
                handled = [handler_seconds(port) for _, port in servers]
                handler_s = sum(h[0] - h0[0] for h, h0 in zip(handled, handled0, strict=True))
                handler_n = sum(h[1] - h0[1] for h, h0 in zip(handled, handled0, strict=True))
                n = sum(r["requests"] for r in results)
                row = {
                    "round": rnd,
                    "mode": mode,
                    "p50_ms": [r["p50_ms"] for r in results],
                    "p99_ms": [r["p99_ms"] for r in results],
                    "rps": round(sum(r["rps"] for r in results), 1),
                    "errors": sum(r["errors"] for r in results),
                    "connections_per_worker": sorted(split.values(), reverse=True),
                    "server_cpu_ms_per_request": round(cpu * 1e3 / max(n, 1), 3),
                    "handler_ms_per_request": round(handler_s * 1e3 / max(handler_n, 1), 3),
                }
                out["runs"].append(row)
                print(layout, json.dumps(row), flush=True)
    finally:
        for proc, _ in servers:
            stop(proc)
    return out


def simulate(service_ms: float, connections: int, pause_ms: float, cv: float, n: int = 200_000) -> float:
    """p99 response time (ms) of one FIFO server fed by ``connections`` closed-loop clients that each pause an
    exponential ``pause_ms`` after their response; service times lognormal around ``service_ms``."""
    rng = np.random.default_rng(0)
    heap = [(float(t), c) for c, t in enumerate(rng.exponential(pause_ms, connections))]
    heapq.heapify(heap)
    free = 0.0
    lat = np.empty(n)
    spread = rng.lognormal(-cv * cv / 2, cv, n)  # mean 1
    pauses = rng.exponential(pause_ms, n)
    for j in range(n):
        t, c = heapq.heappop(heap)
        free = max(t, free) + service_ms * spread[j]
        lat[j] = free - t
        heapq.heappush(heap, (free + pauses[j], c))
    return float(np.percentile(lat, 99))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="a prepared home (as bench/load_test.py --home)")
    ap.add_argument("--dataset", default="amazon-beauty")
    ap.add_argument("--model", default="auto")
    ap.add_argument("--layouts", default="workers2,servers2")
    ap.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pause-ms", type=int, default=100, help="mean exponential pause per connection")
    ap.add_argument("--model-cv", type=float, default=0.15, help="service-time spread in the queue model")
    ap.add_argument("--ready-timeout", type=float, default=3600)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    from tuijian.data.datasets import load_dataset

    ds = load_dataset(args.dataset)
    users = ds.events["user"].astype(str).unique().tolist()
    q = ""
    if ds.items is not None:
        cats = ds.items["category"].str.split("|").explode()
        q = f"&category={quote(str(cats[cats != ''].value_counts().index[0]))}"  # the load test's filter
    sample = np.random.default_rng(0).choice(users, min(5000, len(users)), replace=False).tolist()
    plain = [f"/v1/users/{u}/recommendations?k=10{q}" for u in sample]
    explained = [f"{p}&explain=true&lang={'zh' if n % 2 else 'en'}" for n, p in enumerate(plain)]
    tmp = args.home / "lua"
    tmp.mkdir(exist_ok=True)
    luas = {
        "plain": lua_paths(tmp / "queue_plain.lua", plain, KEY, args.pause_ms, poisson=True),
        "explain": lua_paths(tmp / "queue_explain.lua", explained, KEY, args.pause_ms, poisson=True),
    }
    out: dict[str, Any] = {
        "dataset": args.dataset,
        "model": args.model,
        "pause_ms": args.pause_ms,
        "layouts": {},
    }
    for layout in args.layouts.split(","):
        out["layouts"][layout] = run_layout(args, layout, luas)
    # the queue model, per layout, from the medians of the measured runs
    model: dict[str, Any] = {}
    for layout, res in out["layouts"].items():
        per: dict[str, Any] = {}
        for mode in ("plain", "explain"):
            rows = [r for r in res["runs"] if r["mode"] == mode]
            cpu = float(np.median([r["server_cpu_ms_per_request"] for r in rows]))
            p99 = float(np.median([max(r["p99_ms"]) for r in rows]))
            split = int(np.median([r["connections_per_worker"][0] for r in rows]))
            per[mode] = {
                "measured_p99_ms": p99,
                "cpu_ms_per_request": cpu,
                "busiest_worker_connections": split,
                "model_p99_ms": round(simulate(cpu, split, args.pause_ms, args.model_cv), 2),
            }
        plain_p99 = per["plain"]["measured_p99_ms"]
        split = per["explain"]["busiest_worker_connections"]
        needed = None
        for s in np.arange(per["explain"]["cpu_ms_per_request"], 0.4, -0.1):
            if simulate(float(s), split, args.pause_ms, args.model_cv) <= plain_p99 + 5.0:
                needed = round(float(s), 1)
                break
        per["service_ms_for_plus_5ms"] = needed
        model[layout] = per
        print(layout, "model", json.dumps(per), flush=True)
    out["model"] = model
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
