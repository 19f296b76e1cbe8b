"""A shop's own order export, end to end through the real CLI and a real HTTP server.

The export has its own column names (``order_time, shopper, sku, qty``) and a few malformed rows.
Path: quality report -> evaluate (``time`` protocol, ``auto`` and ``popularity``) -> train (default
model ``auto``) -> ``tuijian serve`` as a real process on a free localhost port -> recommendations
over HTTP for a shopper.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.cli.orders import MALFORMED, write_orders
from tuijian.cli import app

MAP = "user=shopper,item=sku,ts=order_time,value=qty,kind==purchase"
ADMIN = "own-data-admin-key-0123456789"
N_GROUPS = 10


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("shop")
    # 200 shoppers, 100 skus, four months: big enough for real structure, small enough that
    # `auto` (which tries several setups on validation) keeps the whole path near a minute
    orders, catalog = write_orders(folder, n_shoppers=200, n_skus=100, n_groups=N_GROUPS, days=120)
    return folder, orders, catalog


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # rich wraps long lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_own_orders_end_to_end(shop: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, orders, catalog = shop
    home = folder / "home"
    monkeypatch.setenv("TUIJIAN_HOME", str(home))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    raw = pd.read_csv(orders, dtype=str)
    good = raw[raw["shopper"].notna() & pd.to_datetime(raw["order_time"], errors="coerce").notna()]
    skus = set(raw["sku"])

    # 1. import + quality report: every malformed row is counted by reason
    quality_json = folder / "quality.json"
    out = _run(["quality", str(orders), "--map", MAP, "--catalog", str(catalog), "--json", str(quality_json),
                "--html", str(folder / "quality.html")])  # fmt: skip
    assert "5 malformed" in out
    report = json.loads(quality_json.read_text())
    assert report["import"]["malformed"] == MALFORMED
    assert report["import"]["valid_rows"] == len(raw) - sum(MALFORMED.values())
    assert report["catalog_import"]["valid_rows"] == 100 and report["catalog_import"]["malformed_rows"] == 0

    # 2. evaluate auto and popularity on the time protocol
    out_json = folder / "out.json"
    out = _run(["evaluate", "--events", str(orders), "--map", MAP, "--catalog", str(catalog),
                "--protocol", "time", "--models", "auto,popularity", "--json", str(out_json),
                "--no-progress"])  # fmt: skip
    result = json.loads(out_json.read_text())
    assert result["dataset"] == "orders" and result["protocol"] == "time"
    assert set(result["results"]) == {"auto", "popularity"}
    for metrics in result["results"].values():
        assert math.isfinite(metrics["ndcg@10"]) and 0.0 <= metrics["ndcg@10"] <= 1.0
    assert result["split"]["users_evaluated"] > 50
    # the co-purchase structure is learnable: the self-configuring model beats plain popularity
    assert result["results"]["auto"]["ndcg@10"] > 1.5 * result["results"]["popularity"]["ndcg@10"]
    assert result["import"]["events"]["malformed"] == MALFORMED

    # 3. train: the default model is auto; its choice and validation table are recorded and printed
    out = _run(["train", "--events", str(orders), "--map", MAP, "--catalog", str(catalog), "--no-progress"])
    assert "saved auto v0001" in out
    metrics = json.loads((home / "artifacts" / "orders" / "auto" / "v0001" / "metrics.json").read_text())
    assert metrics["import"]["events"]["malformed"] == MALFORMED
    selection = metrics.get("selection")
    if selection is not None:  # the auto model reports what it chose
        chosen, table = selection["chosen"], selection["validation"]
        assert table and all(math.isfinite(v) for v in table.values())
        assert any(name == chosen or name.startswith(f"{chosen}[") for name in table), (chosen, table)
        assert f"auto chose {selection['chosen']}" in out

    # 4. serve: a real server process on a free port, then recommendations over HTTP
    port = _free_port()
    env = {**os.environ, "TUIJIAN_ADMIN_KEY": ADMIN, "TUIJIAN_HOME": str(home), "OPENBLAS_NUM_THREADS": "1"}
    log = (folder / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from tuijian.cli import main; main()", "serve", "--events", str(orders),
         "--map", MAP, "--catalog", str(catalog), "--home", str(home), "--port", str(port),
         "--workers", "1", "--no-access-log"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        with httpx.Client(base_url=url, headers={"X-API-Key": ADMIN}, timeout=10) as client:
            while True:
                assert proc.poll() is None, (folder / "serve.log").read_text()
                assert time.monotonic() < deadline, (folder / "serve.log").read_text()
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.25)
            shopper = "C00005"
            r = client.get(f"/v1/users/{shopper}/recommendations", params={"k": 10})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["model_version"].startswith("auto:")
            ids = [e["item_id"] for e in body["items"]]
            assert len(ids) == 10 and len(set(ids)) == 10
            assert set(ids) <= skus, f"not sku ids from the file: {set(ids) - skus}"
            # the shopper's taste group (5) and its neighbour (6) dominate, as in the orders
            groups = [int(i.split("-")[1]) % N_GROUPS for i in ids]
            assert sum(g in (5, 6) for g in groups) >= 5, ids
            bought = set(good.loc[good["shopper"] == shopper, "sku"])
            assert bought and not (set(ids) & bought)  # already-bought items are excluded
            # the served version records what auto chose (when the model reports it)
            served = client.get("/v1/admin/models").json()
            assert served["dataset"] == "orders" and served["served"] == body["model_version"]
            (active,) = [v for v in served["versions"] if v["active"]]
            if selection is not None:
                assert (
                    active["metrics"]["selection"]["chosen"] and active["metrics"]["selection"]["validation"]
                )
            # an unknown shopper still gets sku ids from the file (fallback)
            r = client.get("/v1/users/someone-new/recommendations", params={"k": 5})
            assert r.status_code == 200 and {e["item_id"] for e in r.json()["items"]} <= skus
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    assert "5 malformed" in (folder / "serve.log").read_text()
