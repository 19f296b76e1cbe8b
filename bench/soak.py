"""Soak test (issue 11): mixed reads, writes, retrains and hot swaps against a real ``tuijian serve`` for
``--minutes`` (default 10), counting every response by status and sampling the server's memory.

The server serves the embedded demo data (``online-retail-demo``) on SQLite in a temporary home, with
``--workers`` uvicorn processes. ``--clients`` concurrent clients, paced to about ``--rate`` requests/s in all,
pick one request at a time with these weights:

=====  ==============================================================  =====================================
share  request                                                         expected
=====  ==============================================================  =====================================
 30 %  GET  /v1/users/{u}/recommendations (known, cold, filtered)       200
 18 %  GET  /v1/items/{i}/similar                                       200
  5 %  GET  /v1/trending                                                200
  5 %  POST /v1/sessions/recommendations                                200
  8 %  GET  /items/{i} (storefront item page)                           200
  2 %  GET  /v1/items/{i}/copy (generated product copy)                 200
 15 %  POST /v1/events (1-20 events)                                    200
 10 %  POST /v1/feedback (a click on a served list)                     200
  4 %  deliberate bad requests (unknown item, k=0, bad body, no key)    404 / 422 / 401, never 5xx
  3 %  GET  /v1/admin/models                                            200
=====  ==============================================================  =====================================

Every ``--retrain-every`` seconds an admin client starts a background retrain (``POST /v1/admin/retrain``, 202);
the trained version is hot-swapped in by the serving workers. Every response's ``model_version`` is tracked, so
the swaps are seen from the outside. Server RSS (supervisor and workers, from ``/proc``) is sampled at the start,
every ``--sample-every`` seconds and at the end.

Any 5xx, any connection error, and any 4xx on a request that should succeed count as errors; the run exits 1
when there is one.

    nice -n 10 .venv/bin/python bench/soak.py --minutes 1      # while developing
    nice -n 10 .venv/bin/python bench/soak.py                  # the 10-minute soak

Writes ``bench/results/soak.json`` (``--out``) and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_proc import ROOT, Server, tree_rss_mb  # noqa: E402

OPS: tuple[tuple[str, float], ...] = (
    ("user_recs", 30),
    ("similar", 18),
    ("trending", 5),
    ("session_recs", 5),
    ("item_page", 8),
    ("item_copy", 2),
    ("events", 15),
    ("feedback", 10),
    ("bad_request", 4),
    ("admin_models", 3),
)


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    statuses: dict[str, collections.Counter[str]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    errors: list[dict[str, Any]] = field(default_factory=list)
    versions: list[tuple[float, str]] = field(default_factory=list)  # (t, version) each time it changes
    served_lists: collections.deque[tuple[str, str, str | None]] = field(
        default_factory=lambda: collections.deque(maxlen=500)
    )  # (request_id, item, user) for feedback
    retrains: collections.Counter[str] = field(default_factory=collections.Counter)
    events_sent: int = 0
    stop: bool = False

    def see_version(self, t: float, version: str | None) -> None:
        if version and version not in {v for _, v in self.versions}:
            self.versions.append((t, version))


@dataclass
class Demo:
    users: list[str]
    items: list[str]
    categories: list[str]


def demo_data() -> Demo:
    from tuijian.data.datasets import load_dataset

    ds = load_dataset("online-retail-demo")
    ev = ds.events
    users = ev["user"].value_counts().index[:2000].astype(str).tolist()
    items = ev["item"].dropna().value_counts().index[:2000].astype(str).tolist()
    cats: list[str] = []
    if ds.items is not None and "category" in ds.items:
        for c in ds.items["category"].dropna().head(5000):
            if isinstance(c, str) and c:
                cats.append(c.split(" > ")[0])
            elif isinstance(c, list | tuple) and c:
                cats.append(str(c[0]))
    return Demo(users, items, sorted(set(cats))[:50] or ["none"])


def request_for(
    op: str, rng: random.Random, demo: Demo, stats: Stats
) -> tuple[str, str, dict[str, Any], tuple[int, ...]]:
    """(method, path, httpx kwargs, expected statuses) of one request of kind ``op``."""
    user, item = rng.choice(demo.users), rng.choice(demo.items)
    if op == "user_recs":
        params: dict[str, Any] = {"k": rng.choice((5, 10, 20))}
        r = rng.random()
        if r < 0.15:
            user = f"soak-cold-{rng.randrange(10**6)}"
        elif r < 0.35:
            params["category"] = rng.choice(demo.categories)
        return "GET", f"/v1/users/{user}/recommendations", {"params": params}, (200,)
    if op == "similar":
        return "GET", f"/v1/items/{item}/similar", {"params": {"k": 10}}, (200,)
    if op == "trending":
        return "GET", "/v1/trending", {"params": {"k": 10, "window_days": 30}}, (200,)
    if op == "session_recs":
        return (
            "POST",
            "/v1/sessions/recommendations",
            {"json": {"items": rng.sample(demo.items, 3), "k": 10}},
            (200,),
        )
    if op == "item_page":
        return "GET", f"/items/{item}", {}, (200,)
    if op == "item_copy":
        return "GET", f"/v1/items/{item}/copy", {"params": {"lang": rng.choice(("en", "zh"))}}, (200,)
    if op == "events":
        n = rng.randint(1, 20)
        events = [
            {
                "event_id": f"soak-{uuid.uuid4().hex}",
                "user": rng.choice(demo.users) if rng.random() < 0.8 else f"soak-new-{rng.randrange(5000)}",
                "item": rng.choice(demo.items),
                "kind": rng.choice(("view", "view", "click", "add_to_cart", "purchase")),
            }
            for _ in range(n)
        ]
        stats.events_sent += n
        return "POST", "/v1/events", {"json": {"events": events}}, (200,)
    if op == "feedback":
        if stats.served_lists:
            rid, fitem, fuser = rng.choice(stats.served_lists)
        else:
            rid, fitem, fuser = f"soak-{uuid.uuid4().hex[:16]}", item, user
        row = {"request_id": rid, "item": fitem, "event": rng.choice(("click", "add_to_cart", "purchase"))}
        if fuser:
            row["user"] = fuser
        return "POST", "/v1/feedback", {"json": {"feedback": [row]}}, (200,)
    if op == "bad_request":
        kind = rng.randrange(4)
        if kind == 0:
            return "GET", f"/v1/items/soak-no-such-item-{rng.randrange(10**6)}/similar", {}, (404,)
        if kind == 1:
            return "GET", f"/v1/users/{user}/recommendations", {"params": {"k": 0}}, (422,)
        if kind == 2:
            return "POST", "/v1/events", {"json": {"events": [{"user": user, "kind": "teleport"}]}}, (422,)
        return "GET", f"/v1/users/{user}/recommendations", {"headers": {"X-API-Key": ""}}, (401,)
    if op == "admin_models":
        return "GET", "/v1/admin/models", {}, (200,)
    raise ValueError(op)


def parse_weights(spec: str) -> tuple[tuple[str, float], ...]:
    """:data:`OPS` with some weights changed: ``"events=0,feedback=0"`` (a read-only soak)."""
    weights = dict(OPS)
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, value = part.partition("=")
        if name not in weights or not value:
            raise SystemExit(f"--weights: expected op=weight with op in {sorted(weights)}, got {part!r}")
        weights[name] = float(value)
    return tuple(weights.items())


async def client_loop(
    cid: int,
    server: Server,
    demo: Demo,
    stats: Stats,
    interval: float,
    t0: float,
    ops: tuple[tuple[str, float], ...],
) -> None:
    rng = random.Random(1000 + cid)
    names, weights = zip(*ops, strict=True)
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(), timeout=60.0) as http:
        next_at = time.monotonic()
        while not stats.stop:
            op = rng.choices(names, weights)[0]
            method, path, kw, expected = request_for(op, rng, demo, stats)
            start = time.monotonic()
            try:
                resp = await http.request(method, path, **kw)
            except httpx.HTTPError as exc:
                stats.statuses[op][type(exc).__name__] += 1
                stats.errors.append({"t": round(start - t0, 1), "op": op, "path": path, "error": repr(exc)})
            else:
                took = time.monotonic() - start
                stats.latencies[op].append(took)
                stats.statuses[op][str(resp.status_code)] += 1
                if resp.status_code not in expected:
                    stats.errors.append(
                        {
                            "t": round(start - t0, 1),
                            "op": op,
                            "method": method,
                            "path": path,
                            "status": resp.status_code,
                            "expected": list(expected),
                            "body": resp.text[:300],
                        }
                    )
                elif resp.status_code == 200 and resp.headers.get("content-type", "").startswith(
                    "application/json"
                ):
                    body = resp.json()
                    if isinstance(body, dict):
                        stats.see_version(start - t0, body.get("model_version") or body.get("served"))
                        if body.get("request_id") and body.get("items"):
                            first = body["items"][0]
                            stats.served_lists.append(
                                (body["request_id"], first["item_id"], body.get("user"))
                            )
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if next_at < time.monotonic() - 5 * interval:  # behind: do not burst to catch up
                next_at = time.monotonic()


async def retrain_loop(server: Server, stats: Stats, every: float, t0: float) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(), timeout=60.0) as http:
        while not stats.stop:
            for _ in range(int(every * 10)):
                if stats.stop:
                    return
                await asyncio.sleep(0.1)
            start = time.monotonic()
            try:
                resp = await http.post("/v1/admin/retrain", json={"wait": False})
            except httpx.HTTPError as exc:
                stats.retrains[type(exc).__name__] += 1
                stats.errors.append({"t": round(start - t0, 1), "op": "retrain", "error": repr(exc)})
                continue
            stats.latencies["retrain_request"].append(time.monotonic() - start)
            stats.statuses["retrain"][str(resp.status_code)] += 1
            if resp.status_code != 202:
                stats.errors.append({"t": round(start - t0, 1), "op": "retrain", "status": resp.status_code})
            else:
                stats.retrains[resp.json().get("status", "?")] += 1


async def sample_loop(
    server: Server, stats: Stats, every: float, samples: list[dict[str, Any]], t0: float
) -> None:
    while not stats.stop:
        for _ in range(int(every * 10)):
            if stats.stop:
                return
            await asyncio.sleep(0.1)
        samples.append({"t": round(time.monotonic() - t0, 1), **tree_rss_mb(server.pid)})


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(np.asarray(values) * 1000, q)), 1) if values else None


async def drive(args: argparse.Namespace, server: Server, demo: Demo) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    first_ready = await loop.run_in_executor(None, server.wait_ready)
    stats = Stats()
    # warm-up: every route a few times on fresh connections (so that each worker is likely to see it), so the
    # start sample sees workers that have built their lazy state (assistant, web catalogue)
    warm = Stats()
    headers = {**server.headers(), "Connection": "close"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120.0) as http:
        for _ in range(2 * args.workers):
            for op, _ in OPS:
                method, path, kw, _ = request_for(op, random.Random(0), demo, warm)
                await http.request(method, path, **kw)
    t0 = time.monotonic()
    samples: list[dict[str, Any]] = [{"t": 0.0, "label": "start", **tree_rss_mb(server.pid)}]
    interval = args.clients / args.rate
    ops = parse_weights(args.weights)
    tasks = [
        asyncio.create_task(client_loop(c, server, demo, stats, interval, t0, ops))
        for c in range(args.clients)
    ]
    tasks.append(asyncio.create_task(retrain_loop(server, stats, args.retrain_every, t0)))
    tasks.append(asyncio.create_task(sample_loop(server, stats, args.sample_every, samples, t0)))
    await asyncio.sleep(args.minutes * 60)
    stats.stop = True
    await asyncio.gather(*tasks)
    duration = time.monotonic() - t0
    samples.append({"t": round(duration, 1), "label": "end", **tree_rss_mb(server.pid)})
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(), timeout=30.0) as http:
        models = (await http.get("/v1/admin/models")).json()
    code = await loop.run_in_executor(None, server.stop)
    return {
        "stats": stats,
        "samples": samples,
        "duration": duration,
        "first_ready": first_ready,
        "models": models,
        "exit": code,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--rate", type=float, default=60.0, help="target requests/s over all clients")
    ap.add_argument("--retrain-every", type=float, default=60.0, help="seconds between retrain requests")
    ap.add_argument("--sample-every", type=float, default=30.0, help="seconds between RSS samples")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", default="item-knn", help="serving (and retrained) model")
    ap.add_argument("--weights", default="", help='change op weights, e.g. "events=0,feedback=0" (no writes)')
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "soak.json")
    ap.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = ap.parse_args()

    demo = demo_data()
    home = Path(tempfile.mkdtemp(prefix="tuijian-soak-"))
    server = Server(home, f"sqlite:///{home / 'tuijian.sqlite'}", model=args.model, workers=args.workers)
    print(f"server log: {server.log}", flush=True)
    server.start()
    try:
        res = asyncio.run(drive(args, server, demo))
    except BaseException:
        server.kill()
        print(server.tail(), file=sys.stderr)
        raise
    stats: Stats = res["stats"]
    all_lat = [v for op, vs in stats.latencies.items() if op != "retrain_request" for v in vs]
    by_status: collections.Counter[str] = collections.Counter()
    for counter in stats.statuses.values():
        by_status.update(counter)
    n_requests = sum(by_status.values())
    server_errors = sum(v for s, v in by_status.items() if s.startswith("5"))
    start_rss, end_rss = res["samples"][0]["total"], res["samples"][-1]["total"]
    summary = {
        "minutes": args.minutes,
        "duration_s": round(res["duration"], 1),
        "requests": n_requests,
        "requests_per_s": round(n_requests / res["duration"], 1),
        "errors": len(stats.errors),
        "server_errors_5xx": server_errors,
        "by_status": dict(sorted(by_status.items())),
        "by_op": {op: dict(sorted(c.items())) for op, c in sorted(stats.statuses.items())},
        "latency_ms": {
            "all": {"p50": pct(all_lat, 50), "p99": pct(all_lat, 99), "max": pct(all_lat, 100)},
            **{
                op: {"n": len(v), "p50": pct(v, 50), "p99": pct(v, 99)}
                for op, v in sorted(stats.latencies.items())
            },
        },
        "retrain_requests": dict(stats.retrains),
        "model_versions_seen": [{"t": round(t, 1), "version": v} for t, v in stats.versions],
        "hot_swaps_seen": max(0, len(stats.versions) - 1),
        "versions_at_end": res["models"],
        "events_sent": stats.events_sent,
        "rss_mb_start": start_rss,
        "rss_mb_end": end_rss,
        "rss_mb_max": max(s["total"] for s in res["samples"]),
        "rss_samples": res["samples"],
        "first_errors": stats.errors[:30],
        "server_start_s": round(res["first_ready"], 1),
        "graceful_exit_code": res["exit"],
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"},
        "command": " ".join(["nice -n 10 .venv/bin/python bench/soak.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    summary["versions_at_end"] = {
        "served": res["models"].get("served"),
        "versions": len(res["models"].get("versions") or []),
        "last_retrain_error": res["models"].get("last_retrain_error"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    lat = summary["latency_ms"]["all"]
    print(
        f"\n{summary['requests']:,} requests in {summary['duration_s']} s ({summary['requests_per_s']}/s): "
        f"{summary['errors']} errors, {server_errors} 5xx; p50 {lat['p50']} ms, p99 {lat['p99']} ms"
    )
    print(f"by status: {summary['by_status']}")
    print(f"retrains: {summary['retrain_requests']}; hot swaps seen: {summary['hot_swaps_seen']}")
    print(f"RSS (MiB, server tree): start {start_rss}, end {end_rss}, max {summary['rss_mb_max']}")
    for e in stats.errors[:10]:
        print(f"  error: {e}")
    print(f"wrote {args.out}")
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    if stats.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
