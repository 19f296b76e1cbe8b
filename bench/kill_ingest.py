"""Crash test (issue 11): SIGKILL a real ``tuijian serve`` again and again during heavy ingestion, then count
every acknowledged event in the database.

1. Start ``tuijian serve`` (uvicorn, ``--workers`` processes, its own process group) on a fresh database:
   SQLite in a temporary home by default, or a fresh database created on the PostgreSQL server of ``--db``.
2. ``--clients`` concurrent clients POST events to ``/v1/events`` without pause: client 0 one event per request,
   the others ``{"events": [...]}`` batches of ``--batch``. Every event has a unique ``event_id``; an event counts
   as *acknowledged* only when its request answered 2xx.
3. ``--kills`` times: wait until the server is ready and ingesting, wait a random 0.1–``--max-delay`` s, SIGKILL
   every process of the server at once (supervisor and workers), restart it.
4. Stop the clients, stop the server, and look each acknowledged ``event_id`` up in the database:
   acknowledged, found, lost (acknowledged but not found; must be 0). Events stored without an acknowledgement
   (the server died after the commit, before the answer) are counted too; they are not losses.

    nice -n 10 .venv/bin/python bench/kill_ingest.py                      # SQLite, 20 kills
    nice -n 10 .venv/bin/python bench/kill_ingest.py --db postgresql://tuijian:tuijian@127.0.0.1:54329/tuijian_test

Writes ``bench/results/kill_ingest_<sqlite|postgresql>.json`` and prints a table.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_proc import ROOT, Server, fresh_postgres_database  # noqa: E402


@dataclass
class Tally:
    acked: set[str] = field(default_factory=set)
    unacked: set[str] = field(
        default_factory=set
    )  # sent, but no 2xx came back (refused, reset, error status)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    requests_ok: int = 0
    in_flight: int = 0
    stop: bool = False


async def client_loop(cid: int, server: Server, tally: Tally, run: str, batch: int, items: list[str]) -> None:
    rng = random.Random(cid)
    seq = 0
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(), timeout=60.0) as http:
        while not tally.stop:
            n = 1 if cid == 0 else batch
            ids = [f"{run}-c{cid}-{seq + i}" for i in range(n)]
            seq += n
            events = [
                {
                    "event_id": eid,
                    "user": f"kill-user-{rng.randrange(500)}",
                    "item": rng.choice(items),
                    "kind": rng.choice(("view", "click", "add_to_cart", "purchase")),
                }
                for eid in ids
            ]
            body: Any = events[0] if n == 1 else {"events": events}
            tally.in_flight += 1
            try:
                resp = await http.post("/v1/events", json=body)
            except httpx.HTTPError as exc:
                tally.statuses[type(exc).__name__] += 1
                tally.unacked.update(ids)
                await asyncio.sleep(0.05)  # the server is down or restarting
                continue
            finally:
                tally.in_flight -= 1
            tally.statuses[str(resp.status_code)] += 1
            if 200 <= resp.status_code < 300:
                got = resp.json()
                if got.get("inserted", 0) + got.get("duplicates", 0) != n:
                    raise RuntimeError(f"server acknowledged {got} for {n} events")
                tally.acked.update(ids)
                tally.requests_ok += 1
            else:
                tally.unacked.update(ids)
                await asyncio.sleep(0.05)


async def demo_items(server: Server) -> list[str]:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers(), timeout=30.0) as http:
        resp = await http.get("/v1/trending", params={"k": 100, "window_days": 365})
        resp.raise_for_status()
        return [row["item_id"] for row in resp.json()["items"]]


async def drive(args: argparse.Namespace, server: Server, run: str) -> dict[str, Any]:
    rng = random.Random(args.seed)
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    first_ready = await loop.run_in_executor(None, server.wait_ready)
    items = await demo_items(server)
    tally = Tally()
    clients = [
        asyncio.create_task(client_loop(c, server, tally, run, args.batch, items))
        for c in range(args.clients)
    ]
    kills: list[dict[str, Any]] = []
    try:
        for k in range(args.kills):
            before = len(tally.acked)
            while len(tally.acked) == before:  # ingestion is under way on this incarnation
                await asyncio.sleep(0.02)
                if clients[0].done():
                    clients[0].result()
            delay = rng.uniform(0.1, args.max_delay)
            await asyncio.sleep(delay)
            in_flight = tally.in_flight
            acked_now = len(tally.acked)
            await loop.run_in_executor(None, server.kill)
            server.start()
            restart = await loop.run_in_executor(None, server.wait_ready)
            kills.append(
                {
                    "kill": k + 1,
                    "after_first_ack_s": round(delay, 3),
                    "requests_in_flight": in_flight,
                    "acked_before_kill": acked_now,
                    "restart_s": round(restart, 2),
                }
            )
            print(
                f"kill {k + 1:>2}/{args.kills}: {in_flight} requests in flight, {acked_now:,} events acked so far, "
                f"ready again in {restart:.1f} s",
                flush=True,
            )
        await asyncio.sleep(args.tail_seconds)  # ingestion on the last incarnation, then a clean stop
    finally:
        tally.stop = True
        await asyncio.gather(*clients, return_exceptions=True)
    for task in clients:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    elapsed = time.monotonic() - t0
    exit_code = await loop.run_in_executor(None, server.stop)
    return {
        "tally": tally,
        "kills": kills,
        "first_start_s": round(first_ready, 1),
        "elapsed_s": round(elapsed, 1),
        "final_exit": exit_code,
    }


def stored_ids(database_url: str, run: str) -> tuple[set[str], int]:
    """The event ids of this run found in the database, and how many rows carry them (duplicates show)."""
    from sqlalchemy import create_engine, text

    from tuijian.store.engine import normalize_url

    engine = create_engine(normalize_url(database_url))
    with engine.connect() as conn:
        rows = [
            r[0]
            for r in conn.execute(
                text("SELECT event_id FROM events WHERE event_id LIKE :p"), {"p": f"{run}-%"}
            )
        ]
        integrity = None
        if database_url.startswith("sqlite"):
            integrity = conn.execute(text("PRAGMA integrity_check")).scalar()
    engine.dispose()
    if integrity not in (None, "ok"):
        raise RuntimeError(f"SQLite integrity_check after the kills: {integrity}")
    return set(rows), len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--db", default="sqlite", help="'sqlite' (a temporary file) or a postgresql:// server URL"
    )
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--clients", type=int, default=8, help="concurrent ingesting clients")
    ap.add_argument(
        "--batch", type=int, default=100, help="events per batch request (client 0 sends single events)"
    )
    ap.add_argument(
        "--max-delay", type=float, default=3.0, help="kill at a random 0.1..this many s into ingestion"
    )
    ap.add_argument("--tail-seconds", type=float, default=3.0, help="ingestion after the last restart")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--model", default="popularity", help="serving model (cheap: restarts stay quick)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary home (and PostgreSQL database)")
    args = ap.parse_args()

    backend = "sqlite" if args.db == "sqlite" else "postgresql"
    home = Path(tempfile.mkdtemp(prefix="tuijian-kill-"))
    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{home / 'tuijian.sqlite'}"
    else:
        url, drop = fresh_postgres_database(args.db, "tuijian_kill")
    run = f"kill-{int(time.time())}"
    server = Server(home, url, model=args.model, workers=args.workers, log=home / "server.log")
    print(f"{backend}: {url.split('@')[-1]}\nserver log: {server.log}", flush=True)
    server.start()
    try:
        res = asyncio.run(drive(args, server, run))
    except BaseException:
        server.kill()
        print(server.tail(), file=sys.stderr)
        raise
    found, rows = stored_ids(url, run)
    tally: Tally = res["tally"]
    lost = sorted(tally.acked - found)
    prom_left = sorted(p.name for p in (home / "run").glob("prometheus-*")) if (home / "run").is_dir() else []
    restarts = sorted(k["restart_s"] for k in res["kills"])
    summary = {
        "database": backend,
        "kills": len(res["kills"]),
        "acknowledged": len(tally.acked),
        "found": len(tally.acked & found),
        "lost": len(lost),
        "lost_ids_first": lost[:20],
        "stored_without_ack": len(found - tally.acked),
        "sent_without_ack": len(tally.unacked),
        "duplicate_rows": rows - len(found),
        "requests_acknowledged": tally.requests_ok,
        "responses": dict(sorted(tally.statuses.items())),
        "server_errors_5xx": sum(v for s, v in tally.statuses.items() if s.isdigit() and s.startswith("5")),
        "restart_s_median": restarts[len(restarts) // 2] if restarts else None,
        "restart_s_max": restarts[-1] if restarts else None,
        "first_start_s": res["first_start_s"],
        "elapsed_s": res["elapsed_s"],
        "final_graceful_exit_code": res["final_exit"],
        "prometheus_dirs_left": prom_left,
        "config": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("db", "out")
        },
        "kill_log": res["kills"],
        "command": " ".join(["nice -n 10 .venv/bin/python bench/kill_ingest.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    if args.db != "sqlite":
        summary["command"] = summary["command"].replace(args.db, "postgresql://…")
    out = args.out or ROOT / "bench" / "results" / f"kill_ingest_{backend}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print()
    print(
        f"{'database':<12}{'kills':>6}{'acknowledged':>14}{'found':>10}{'lost':>6}{'stored w/o ack':>16}{'5xx':>5}"
    )
    print(
        f"{backend:<12}{summary['kills']:>6}{summary['acknowledged']:>14,}{summary['found']:>10,}"
        f"{summary['lost']:>6}{summary['stored_without_ack']:>16,}{summary['server_errors_5xx']:>5}"
    )
    print(f"responses: {summary['responses']}")
    print(
        f"restart: median {summary['restart_s_median']} s, max {summary['restart_s_max']} s; "
        f"prometheus dirs left in run/: {len(prom_left)}"
    )
    print(f"wrote {out}")
    if drop is not None and not args.keep:
        drop()
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    if lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
