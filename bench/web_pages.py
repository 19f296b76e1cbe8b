"""Storefront and dashboard page latency on the embedded demo data (issue 6).

Starts ``uvicorn --factory tuijian.service.app:create_app_from_env`` in a child process on a temp home
(bootstraps online-retail-demo and trains item-knn on first start), warms every page once, then requests each
page ``--n`` times sequentially from this process with httpx and reports the p50/p95 of the client-side latency
and of the server's own render time (the ``Server-Timing: render`` header the pages set).

    .venv/bin/python bench/web_pages.py --n 50
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="requests per page")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tuijian-web-bench-"))
    port, admin = free_port(), "bench-admin-" + secrets.token_hex(6)
    env = {
        **os.environ,
        "TUIJIAN_HOME": str(home),
        "TUIJIAN_ADMIN_KEY": admin,
        "TUIJIAN_ACCESS_LOG": "0",
        "TUIJIAN_DATASET": "online-retail-demo",
        "OPENBLAS_NUM_THREADS": "1",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "tuijian.service.app:create_app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while True:
            try:
                if httpx.get(url + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() - started > 300:
                raise SystemExit(f"server did not start; see {home / 'server.log'}")
            time.sleep(0.3)
        print(f"server ready in {time.monotonic() - started:.1f} s (bootstrap + training)")
        with httpx.Client(base_url=url, timeout=30) as c:
            html = c.get("/").text
            users = re.findall(r'<option value="(\d+)"', html)
            csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
            c.post("/shop/shopper", data={"user": users[len(users) // 2], "csrf": csrf})
            item = re.search(r'href="/items/([^?"]+)\?', c.get("/").text).group(1)
            c.post("/login", data={"key": admin, "csrf": csrf, "next": "/dashboard"})
            pages = ["/", "/?lang=zh", f"/items/{item}", "/search?q=heart", "/cart", "/dashboard"]
            for p in pages:  # warm: generated copy, catalogue, quality report
                c.get(p)
                c.get(p)
            print(
                "| page | n | client p50 ms | client p95 ms | server render p50 ms | server render p95 ms |"
            )
            print("|---|---|---|---|---|---|")
            for p in pages:
                client, server = [], []
                for _ in range(args.n):
                    t0 = time.perf_counter()
                    r = c.get(p)
                    client.append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()
                    m = re.search(r"render;dur=([\d.]+)", r.headers.get("server-timing", ""))
                    if m:
                        server.append(float(m.group(1)))
                cp = np.percentile(client, [50, 95])
                sp = np.percentile(server, [50, 95]) if server else [float("nan")] * 2
                print(f"| `{p}` | {args.n} | {cp[0]:.1f} | {cp[1]:.1f} | {sp[0]:.1f} | {sp[1]:.1f} |")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
