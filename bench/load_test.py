"""Serving load test (issues 4 and 10): Beauty-sized data, 2 uvicorn workers, load from a second process.

Measures, in one run, on 127.0.0.1:

1. the floor: a bare FastAPI endpoint returning a fixed list (same uvicorn settings),
2. for each serving model of ``--models`` (default ``item-knn``; e.g. ``item-knn,hybrid,auto``), served in turn
   by ``tuijian serve --model <name>`` on the same store (it retrains when the model changes):

   a. personalised top-10 with a category filter, saturated (``GET /v1/users/{u}/recommendations``),
      with the server's CPU per request,
   b. the same paced at ~300 req/s (12 connections, 40 ms pause each) and at ~800 req/s (16, 18 ms): p99 at a
      target load rather than a saturated queue,
   c. similar items, saturated (``GET /v1/items/{i}/similar``),
   d. an anonymous 5-item session, saturated (``POST /v1/sessions/recommendations``): no precomputed list
      answers it, so the model scores it in full (the cost of fresh histories),
3. batch ingestion over HTTP                    (``POST /v1/events``, 5,000 events per request; first model),
4. direct durable ingestion into SQLite         (``Store.add_events``, no HTTP).

Read endpoints are driven by ``wrk`` (Debian package ``wrk``; closed loop, fixed connections and duration);
ingestion by a bounded async httpx client. Every request is checked: non-2xx responses are counted and reported.
``models.<name>`` holds each model's phases and ratios to the floor; the top-level ``top10_*`` keys repeat the
first model's figures (the layout of earlier runs).

    .venv/bin/python bench/load_test.py                          # item-knn (~3 min on 2 cores)
    .venv/bin/python bench/load_test.py --models item-knn,hybrid # item-knn and the hybrid, same run
    .venv/bin/python bench/load_test.py --duration 5             # shorter
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-admin-key-" + "x" * 16


def floor_app() -> Any:
    """The floor: FastAPI, one GET returning a fixed 10-item list (no auth, no DB, no model)."""
    from fastapi import FastAPI

    app = FastAPI()
    items = [{"item_id": str(i), "score": 1.0 / (i + 1), "reasons": ["popular"]} for i in range(10)]

    @app.get("/fixed")
    async def fixed() -> dict[str, Any]:
        return {"items": items}

    return app


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and all its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError, IndexError):
            pass
        todo += children.get(p, [])
    return total


def measured(pid: int, run: Any) -> dict[str, Any]:
    """``run()`` (a wrk phase) plus the server's CPU microseconds per request during it: a figure that,
    unlike requests/s, does not depend on how much of the machine the server got."""
    before = tree_cpu_seconds(pid)
    out = run()
    used = tree_cpu_seconds(pid) - before
    out["server_cpu_us_per_request"] = round(used * 1e6 / max(out["requests"], 1), 1)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 300.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server at {url} not ready after {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wrk_command(url: str, lua: Path | None, duration: int, connections: int) -> list[str]:
    """The wrk command line of every phase: 1 thread, ``connections``, ``duration`` s, latency percentiles."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if lua is not None:
        cmd += ["-s", str(lua)]
    return [*cmd, url]


def wrk(url: str, lua: Path | None, duration: int, connections: int) -> dict[str, Any]:
    """Run wrk (1 thread) and parse requests/s, latency percentiles and errors."""
    out = subprocess.run(
        wrk_command(url, lua, duration, connections), capture_output=True, text=True, check=True
    )
    return {**parse_wrk(out.stdout), "connections": connections, "seconds": duration}


def parse_wrk(out: str) -> dict[str, Any]:
    """Requests, requests/s, p50/p90/p99 (ms) and errors (non-2xx plus socket errors) from wrk's output."""

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            raise RuntimeError(f"cannot parse wrk output:\n{out}")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(g) for g in sock.groups()) if sock else 0)
    return {
        "requests": total,
        "rps": round(rps, 1),
        "p50_ms": ms("50"),
        "p90_ms": ms("90"),
        "p99_ms": ms("99"),
        "errors": errors,
    }


def lua_paths(path: Path, paths: list[str], key: str, delay_ms: int = 0, poisson: bool = False) -> Path:
    """A wrk script rotating through ``paths``; ``delay_ms`` paces each connection (wrk's ``delay()``).

    The raw requests are formatted once per wrk thread in ``init``, so the load generator spends a
    table lookup per request rather than rebuilding the HTTP text (less of the shared CPU goes to wrk).

    A fixed delay keeps the connections in step: they start together and each waits the same time after its
    response, so requests arrive in bursts of about one per connection. With ``poisson`` each pause is drawn
    from an exponential distribution of mean ``delay_ms`` (each wrk thread seeded apart), so a connection's
    requests form a Poisson stream at the same mean rate and the connections drift apart.
    """
    body = ",\n".join(json.dumps(p) for p in paths)
    setup = ""
    seed = ""
    if delay_ms and poisson:
        setup = 'local threads = 0\nsetup = function(thread)\n  thread:set("id", threads)\n  threads = threads + 1\nend\n'
        seed = "  math.randomseed(1000003 + 7919 * id)\n"
        pace = f"delay = function()\n  return math.floor(-{int(delay_ms)} * math.log(1 - math.random()) + 0.5)\nend\n"
    elif delay_ms:
        pace = f"delay = function()\n  return {int(delay_ms)}\nend\n"
    else:
        pace = ""
    path.write_text(
        f"local paths = {{\n{body}\n}}\nlocal reqs = {{}}\nlocal n = 0\n"
        f'wrk.headers["X-API-Key"] = {json.dumps(key)}\n'
        + setup
        + "init = function(args)\n"
        + seed
        + '  for i, p in ipairs(paths) do\n    reqs[i] = wrk.format("GET", p)\n  end\nend\n'
        "request = function()\n  n = n + 1\n  return reqs[(n % #reqs) + 1]\nend\n" + pace
    )
    return path


def lua_posts(path: Path, target: str, bodies: list[str], key: str) -> Path:
    """A wrk script rotating through JSON ``bodies`` POSTed to ``target`` (formatted once per thread)."""
    body = ",\n".join(json.dumps(b) for b in bodies)
    path.write_text(
        f"local bodies = {{\n{body}\n}}\nlocal reqs = {{}}\nlocal n = 0\n"
        f'wrk.headers["X-API-Key"] = {json.dumps(key)}\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        "init = function(args)\n  for i, b in ipairs(bodies) do\n"
        f'    reqs[i] = wrk.format("POST", {json.dumps(target)}, nil, b)\n  end\nend\n'
        "request = function()\n  n = n + 1\n  return reqs[(n % #reqs) + 1]\nend\n"
    )
    return path


def session_bodies(ds: Any, n: int, length: int = 5) -> list[str]:
    """``n`` anonymous sessions: ``length`` consecutive items of a random user's log (oldest first)."""
    rng = np.random.default_rng(1)
    ev = ds.events.sort_values("ts", kind="stable")
    seqs = [g.astype(str).tolist() for _, g in ev.groupby("user", sort=False)["item"] if len(g) >= length]
    out = []
    for j in rng.choice(len(seqs), min(n, len(seqs)), replace=False).tolist():
        s = seqs[j]
        start = int(rng.integers(0, len(s) - length + 1))
        out.append(json.dumps({"items": s[start : start + length], "k": 10}))
    return out


async def ingest_http(
    base: str, n_batches: int, batch: int, concurrency: int, users: list[str], items: list[str]
) -> dict[str, Any]:
    import httpx

    rng = np.random.default_rng(0)
    sem = asyncio.Semaphore(concurrency)
    lat: list[float] = []
    failures = 0
    inserted = 0

    def body(b: int) -> bytes:
        u = rng.integers(0, len(users), batch)
        it = rng.integers(0, len(items), batch)
        return json.dumps(
            {
                "events": [
                    {"event_id": f"bench-{b}-{j}", "user": users[u[j]], "item": items[it[j]], "kind": "view"}
                    for j in range(batch)
                ]
            }
        ).encode()

    bodies = [body(b) for b in range(n_batches)]
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": KEY, "content-type": "application/json"}, timeout=60
    ) as client:

        async def one(data: bytes) -> None:
            nonlocal failures, inserted
            async with sem:
                t = time.perf_counter()
                r = await client.post("/v1/events", content=data)
                lat.append(time.perf_counter() - t)
                if r.status_code != 200:
                    failures += 1
                else:
                    inserted += r.json()["inserted"]

        t0 = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        wall = time.perf_counter() - t0
    return {
        "batches": n_batches,
        "batch_size": batch,
        "events_inserted": inserted,
        "seconds": round(wall, 2),
        "events_per_s": round(inserted / wall),
        "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 1),
        "p99_ms": round(float(np.percentile(lat, 99)) * 1e3, 1),
        "errors": failures,
        "concurrency": concurrency,
    }


def ingest_direct(url: str, n: int, batch: int) -> dict[str, Any]:
    import pandas as pd

    from tuijian.store import open_store

    store = open_store(url)
    rng = np.random.default_rng(1)
    frames = [
        pd.DataFrame(
            {
                "event_id": [f"direct-{b}-{j}" for j in range(batch)],
                "user": rng.integers(0, 20000, batch).astype(str),
                "item": rng.integers(0, 12000, batch).astype(str),
                "kind": "view",
                "ts": pd.Timestamp.now(tz="UTC"),
            }
        )
        for b in range(n // batch)
    ]
    t0 = time.perf_counter()
    inserted = sum(store.add_events(f).inserted for f in frames)
    wall = time.perf_counter() - t0
    store.close()
    return {
        "events_inserted": inserted,
        "batch_size": batch,
        "seconds": round(wall, 2),
        "events_per_s": round(inserted / wall),
    }


def serve_phases(
    args: Any, home: Path, env: dict[str, str], py: str, model: str, ingest: bool
) -> dict[str, Any]:
    """Start ``tuijian serve --model model`` and run the read phases (and, with ``ingest``, ingestion)."""
    out: dict[str, Any] = {}
    port = free_port()
    t0 = time.perf_counter()
    log = open(home / f"serve-{model}.log", "wb")  # noqa: SIM115 - closed in the finally below
    serve = subprocess.Popen(
        [
            str(Path(py).parent / "tuijian"),
            "serve",
            "--dataset",
            args.dataset,
            "--model",
            model,
            "--home",
            str(home),
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--access-log" if args.access_log else "--no-access-log",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/ready", args.ready_timeout)
        out["startup_seconds"] = round(time.perf_counter() - t0, 1)
        from tuijian.data.datasets import load_dataset

        ds = load_dataset(args.dataset)
        users = ds.events["user"].astype(str).unique().tolist()
        items = ds.events["item"].astype(str).unique().tolist()
        cats = ds.items["category"].str.split("|").explode() if ds.items is not None else None
        category = cats[cats != ""].value_counts().index[0] if cats is not None else None
        rng = np.random.default_rng(0)
        sample_u = rng.choice(users, min(5000, len(users)), replace=False).tolist()
        sample_i = rng.choice(items, min(5000, len(items)), replace=False).tolist()
        q = f"&category={quote(str(category))}" if category else ""
        tmp = home / "lua"
        tmp.mkdir(exist_ok=True)
        user_paths = [f"/v1/users/{u}/recommendations?k=10{q}" for u in sample_u]
        recs = lua_paths(tmp / "recs.lua", user_paths, KEY)
        sim = lua_paths(tmp / "similar.lua", [f"/v1/items/{i}/similar?k=10" for i in sample_i], KEY)
        import httpx

        first = httpx.get(f"{base}{user_paths[0]}", headers={"X-API-Key": KEY}, timeout=30).json()
        out["model_version"] = first.get("model_version")
        out["filter"] = f"category={category}"
        wrk(f"{base}/", recs, 2, args.connections)  # warm-up (key cache, page cache)
        out["top10_filtered"] = measured(
            serve.pid, lambda: wrk(f"{base}/", recs, args.duration, args.connections)
        )
        print(model, "top10", out["top10_filtered"], flush=True)
        # paced: each connection waits between requests, so the offered load is fixed and the latency
        # percentiles describe that load rather than a saturated queue
        paced300 = lua_paths(tmp / "recs_300.lua", user_paths, KEY, 40)
        out["top10_filtered_paced_300"] = wrk(f"{base}/", paced300, args.duration, 12)
        print(model, "top10 paced ~300/s", out["top10_filtered_paced_300"], flush=True)
        if args.explain:  # issue 14: the same paced load with explain=true, right after a plain run
            paths = [p.split("&category=")[0] for p in user_paths] if args.explain_no_filter else user_paths
            explain_phases(out, base, tmp, paths, args, model, serve.pid)
        paced = lua_paths(tmp / "recs_paced.lua", user_paths, KEY, 18)
        out["top10_filtered_paced"] = wrk(f"{base}/", paced, args.duration, 16)
        print(model, "top10 paced ~800/s", out["top10_filtered_paced"], flush=True)
        out["similar"] = measured(serve.pid, lambda: wrk(f"{base}/", sim, args.duration, args.connections))
        print(model, "similar", out["similar"], flush=True)
        # an anonymous 5-item session: no stored list can answer it, so the model scores it in full
        sessions = lua_posts(
            tmp / "sessions.lua", "/v1/sessions/recommendations", session_bodies(ds, 2000), KEY
        )
        out["session_full"] = measured(
            serve.pid, lambda: wrk(f"{base}/", sessions, args.duration, args.connections)
        )
        print(model, "session (scored in full)", out["session_full"], flush=True)
        if ingest:
            out["ingest_http"] = asyncio.run(ingest_http(base, 40, 5000, 2, users, items))
            print("ingest_http", out["ingest_http"], flush=True)
    finally:
        stop(serve)
        log.close()
    return out


def explain_phases(
    out: dict[str, Any], base: str, tmp: Path, user_paths: list[str], args: Any, model: str, pid: int
) -> None:
    """``explain=true`` against the same users (half in English, half in Chinese) at a paced load
    (``--explain-delay-ms``), alternating plain and explained runs; the overhead is the difference of the p99
    (and p50) latencies; then saturated, with the server CPU per request with and without explanations."""
    delay = args.explain_delay_ms
    poisson = args.explain_pacing == "poisson"
    plain = lua_paths(tmp / "recs_paced_plain.lua", user_paths, KEY, delay, poisson)
    explained_paths = [f"{u}&explain=true&lang={'zh' if n % 2 else 'en'}" for n, u in enumerate(user_paths)]
    explained = lua_paths(tmp / "recs_paced_explain.lua", explained_paths, KEY, delay, poisson)
    saturated = lua_paths(tmp / "recs_explain.lua", explained_paths, KEY)
    saturated_plain = lua_paths(tmp / "recs_explain_plain.lua", user_paths, KEY)
    out["explain_filter"] = None if args.explain_no_filter else out.get("filter")
    out["explain_pacing"] = args.explain_pacing
    import httpx

    probe = httpx.get(f"{base}{explained_paths[0]}", headers={"X-API-Key": KEY}, timeout=60)
    probe.raise_for_status()
    # warm-up (page cache, connections); the explanation tables are built when the server loads the model
    wrk(f"{base}/", explained, 2, 12)
    runs: dict[str, list[dict[str, Any]]] = {"plain": [], "explain": []}
    for _ in range(args.explain_rounds):
        runs["plain"].append(wrk(f"{base}/", plain, args.duration, 12))
        runs["explain"].append(wrk(f"{base}/", explained, args.duration, 12))
    med = {
        k: {m: float(np.median([r[m] for r in v])) for m in ("p50_ms", "p99_ms", "rps")}
        for k, v in runs.items()
    }
    out["explain_paced"] = {
        "delay_ms_per_connection": delay,
        "runs": runs,
        "median": med,
        "p99_overhead_ms": round(med["explain"]["p99_ms"] - med["plain"]["p99_ms"], 2),
        "p50_overhead_ms": round(med["explain"]["p50_ms"] - med["plain"]["p50_ms"], 2),
        "errors": sum(r["errors"] for v in runs.values() for r in v),
    }
    print(model, "explain paced", out["explain_paced"]["median"], flush=True)
    # saturated, with the server's CPU per request: the added CPU per request is robust to other load
    out["top10_filtered_explain"] = measured(
        pid, lambda: wrk(f"{base}/", saturated, args.duration, args.connections)
    )
    # the same paths without explain=true, saturated (the filtered plain run above when the paths are its own)
    out["explain_plain_saturated"] = measured(
        pid, lambda: wrk(f"{base}/", saturated_plain, args.duration, args.connections)
    )
    plain_cpu = out["explain_plain_saturated"]["server_cpu_us_per_request"]
    out["explain_cpu_overhead_ms_per_request"] = round(
        (out["top10_filtered_explain"]["server_cpu_us_per_request"] - plain_cpu) / 1e3, 2
    )
    print(model, "top10 explain (saturated)", out["top10_filtered_explain"], flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="amazon-beauty")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--ready-timeout", type=float, default=3600, help="seconds to wait for each server's start"
    )
    ap.add_argument(
        "--home", type=Path, default=None, help="reuse a prepared home (default: a fresh temp dir)"
    )
    ap.add_argument("--access-log", action="store_true", help="keep the per-request JSON access log on")
    ap.add_argument(
        "--models",
        default="item-knn",
        help="serving models, comma-separated registry names (e.g. item-knn,hybrid,auto), served in turn",
    )
    ap.add_argument(
        "--explain",
        action="store_true",
        help="also measure explain=true (issue 14): p99 overhead at the paced load, saturated requests/s",
    )
    ap.add_argument("--explain-rounds", type=int, default=3, help="alternating plain/explain paced runs")
    ap.add_argument(
        "--explain-delay-ms",
        type=int,
        default=40,
        help="pause per connection between paced requests (12 connections: 40 ms ~ 300/s, 100 ms ~ 120/s)",
    )
    ap.add_argument(
        "--explain-pacing",
        choices=("fixed", "poisson"),
        default="fixed",
        help="paced explain runs: a fixed pause per connection (connections in step, bursts) or exponential "
        "pauses of the same mean (Poisson arrivals per connection)",
    )
    ap.add_argument(
        "--explain-no-filter",
        action="store_true",
        help="explain phases without the category filter: the API's default request (k=10, no filter)",
    )
    ap.add_argument(
        "--no-ingest",
        action="store_true",
        help="skip the ingestion phases (leave a prepared --home unchanged)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "load_test.json")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    home = args.home or Path(tempfile.mkdtemp(prefix="tuijian-load-"))
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TUIJIAN_ADMIN_KEY": KEY,
        "OPENBLAS_NUM_THREADS": "1",
        "TUIJIAN_LOG_LEVEL": "warning",
        # one key drives thousands of requests a second here: the per-key limit (1,000/s per worker by
        # default) would answer 429; the test measures serving, so the limiter is off
        "TUIJIAN_RATE_LIMIT_PER_SECOND": "0",
    }
    py = sys.executable
    results: dict[str, Any] = {
        "dataset": args.dataset,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "load_avg_before": os.getloadavg(),
        "models": {},
    }

    # -------- floor
    port = free_port()
    floor = subprocess.Popen(
        [
            py,
            "-m",
            "uvicorn",
            "load_test:floor_app",
            "--factory",
            "--app-dir",
            str(ROOT / "bench"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/fixed", 60)
        wrk(f"http://127.0.0.1:{port}/fixed", None, 2, args.connections)  # warm-up
        results["floor"] = measured(
            floor.pid, lambda: wrk(f"http://127.0.0.1:{port}/fixed", None, args.duration, args.connections)
        )
    finally:
        stop(floor)
    print("floor", results["floor"], flush=True)

    # -------- tuijian serve, one model after the other (the first start prepares data + model)
    models = args.models.split(",")
    for n, model in enumerate(models):  # ingestion last, so that every model trains on the same events
        last = n == len(models) - 1 and not args.no_ingest
        results["models"][model] = serve_phases(args, home, env, py, model, ingest=last)
        print(model, json.dumps(results["models"][model]), flush=True)
    if not args.no_ingest:
        results["ingest_direct_sqlite"] = ingest_direct(
            f"sqlite:///{home / 'tuijian.sqlite'}", 100_000, 10_000
        )
        print("ingest_direct", results["ingest_direct_sqlite"], flush=True)
    bare = results["floor"]
    for out in results["models"].values():
        out["top10_vs_floor"] = round(out["top10_filtered"]["rps"] / bare["rps"], 3)
        # the same ratio from server CPU per request (robust to other load on the machine)
        out["top10_vs_floor_cpu"] = round(
            bare["server_cpu_us_per_request"] / out["top10_filtered"]["server_cpu_us_per_request"], 3
        )
    first = results["models"][models[0]]
    results.update({k: v for k, v in first.items() if k.startswith(("top10", "similar", "filter"))})
    results.update({k: v for out in results["models"].values() for k, v in out.items() if k == "ingest_http"})
    results["startup_seconds"] = first.get("startup_seconds")
    results["load_avg_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    if args.home is None:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
