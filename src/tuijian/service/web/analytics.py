"""What the dashboard shows: data quality, offline evaluation and online metrics, as plain JSON-able dicts.

* Data quality: ``<home>/reports/<dataset>-quality.json`` (written by ``tuijian demo``); when missing it is
  computed with :func:`tuijian.data.quality.quality_report` on the served dataset and written there.
* Offline evaluation: the newest ``<home>/reports/*-evaluation.json`` (written by ``tuijian demo`` or by the
  dashboard's quick evaluation, :class:`EvaluationJob`).
* Online metrics: the service's feedback log (impressions, clicks, add-to-carts, purchases per request id).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger("tuijian.service")

#: metrics plotted per model (first k of the evaluation), in this order
EVAL_METRICS: tuple[str, ...] = ("ndcg", "recall", "hr", "coverage", "diversity", "novelty")
QUICK_MODELS = "popularity,item-knn"
QUICK_PROTOCOL = "time"


def reports_dir(home: Path) -> Path:
    return Path(home) / "reports"


# ---------------------------------------------------------------------------- data quality
def load_quality(home: Path, dataset: str, store: Any, data_dir: str | None = None) -> dict[str, Any]:
    """The dataset's quality report (from the reports folder, else computed once and written there)."""
    from tuijian.data.quality import quality_report, write_json

    path = reports_dir(home) / f"{dataset}-quality.json"
    if path.is_file():
        report = json.loads(path.read_text(encoding="utf-8"))
        report["source"] = str(path)
        return report
    try:
        from tuijian.data.datasets import load_dataset

        report = quality_report(load_dataset(dataset, data_dir))
    except Exception as exc:  # noqa: BLE001 - a custom dataset: report on what the store holds
        log.info("quality report from the store", extra={"reason": f"{type(exc).__name__}: {exc}"})
        report = _store_quality(store, dataset)
    write_json(report, path)
    report["source"] = str(path)
    return report


def _store_quality(store: Any, dataset: str) -> dict[str, Any]:
    from tuijian.data.quality import quality_report
    from tuijian.data.schema import EVENT_COLUMNS

    items = store.items_frame()
    items["category"] = [" > ".join(c) for c in items["category"]]
    return quality_report(
        store.events_frame()[list(EVENT_COLUMNS)], items.drop(columns=["attributes"]), name=dataset
    )


def quality_charts(report: dict[str, Any], max_points: int = 400) -> dict[str, Any]:
    """Chart.js-ready series: events per day, item popularity (log-log) and a user-activity histogram."""
    series = report.get("series") or {}
    out: dict[str, Any] = {}
    per_day = series.get("events_per_day")
    if per_day and per_day.get("dates"):
        dates, counts = list(per_day["dates"]), list(per_day["counts"])
        out["events_per_day"] = {"labels": dates, "values": counts}
    pop = series.get("item_popularity")
    if pop and pop.get("rank"):
        rank, count = np.asarray(pop["rank"]), np.asarray(pop["count"])
        if len(rank) > max_points:
            keep = np.unique(np.geomspace(1, len(rank), max_points).astype(int) - 1)
            rank, count = rank[keep], count[keep]
        out["item_popularity"] = [{"x": int(r), "y": int(c)} for r, c in zip(rank, count, strict=True)]
    acts = series.get("user_activity")
    if acts:
        a = np.asarray(acts, dtype=np.int64)
        edges = np.unique(np.geomspace(1, max(2, int(a.max())) + 1, 16).astype(np.int64))
        hist, _ = np.histogram(a, bins=edges)
        labels = [
            f"{lo}" if hi - lo <= 1 else f"{lo}–{hi - 1}"
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ]
        out["user_activity"] = {"labels": labels, "values": [int(h) for h in hist]}
    return out


# ---------------------------------------------------------------------------- offline evaluation
def latest_evaluation(home: Path) -> dict[str, Any] | None:
    """The newest ``*-evaluation.json`` in the reports folder (None when there is none)."""
    files = sorted(reports_dir(home).glob("*-evaluation.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in files:
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("unreadable evaluation file", extra={"path": str(path), "error": str(exc)})
            continue
        if isinstance(result, dict) and result.get("results"):
            result["source"] = str(path)
            return result
    return None


def evaluation_view(result: dict[str, Any]) -> dict[str, Any]:
    """Table rows and per-metric chart series (one bar per model) of an evaluation result."""
    ks = list(result.get("ks") or [10])
    k = ks[0]
    models = list(result["results"])
    metrics = [m for m in EVAL_METRICS if any(f"{m}@{k}" in r for r in result["results"].values())]
    columns = [f"{m}@{kk}" for kk in ks for m in ("ndcg", "recall", "hr")] + [
        f"{m}@{k}" for m in ("coverage", "diversity", "novelty") if f"{m}@{k}" in metrics or m in metrics
    ]
    columns = [c for c in dict.fromkeys(columns) if any(c in r for r in result["results"].values())]
    rows = []
    for name in models:
        r = result["results"][name]
        rows.append(
            {"model": name, "values": [r.get(c) for c in columns], "fit_seconds": r.get("fit_seconds")}
        )
    charts = [  # a list keeps the metric order (a dict would be key-sorted by the JSON encoder)
        [
            f"{m}@{k}",
            [
                None
                if result["results"][name].get(f"{m}@{k}") is None
                else float(result["results"][name][f"{m}@{k}"])
                for name in models
            ],
        ]
        for m in metrics
    ]
    split = result.get("split") or {}
    return {
        "dataset": result.get("dataset"),
        "protocol": result.get("protocol"),
        "users": split.get("users_evaluated"),
        "models": models,
        "columns": columns,
        "rows": rows,
        "charts": charts,
        "source": result.get("source"),
    }


class EvaluationJob:
    """A quick offline evaluation run in a background thread; writes ``<dataset>-evaluation.json``."""

    def __init__(self, home: Path, dataset: str, data_dir: str | None = None) -> None:
        self.home = Path(home)
        self.dataset = dataset
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self.last_path: Path | None = None

    @property
    def running(self) -> bool:
        return self._lock.locked()

    def run(self, models: str = QUICK_MODELS, protocol: str = QUICK_PROTOCOL) -> Path:
        from tuijian.data.datasets import load_dataset
        from tuijian.evaluate.report import write_json
        from tuijian.evaluate.runner import evaluate_models

        with self._lock:
            try:
                ds = load_dataset(self.dataset, self.data_dir)
                res = evaluate_models(self.dataset, protocol, models, ks=(10,), dataset=ds, progress=False)
                res["generated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                path = write_json(res, reports_dir(self.home) / f"{self.dataset}-evaluation.json")
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("quick evaluation failed")
                raise
            self.last_error, self.last_path = None, path
            return path

    def start(self) -> bool:
        if self.running:
            return False

        def target() -> None:
            try:
                self.run()
            except Exception:  # noqa: BLE001 - recorded in last_error and logged
                return

        threading.Thread(target=target, name="tuijian-web-evaluation", daemon=True).start()
        return True


# ---------------------------------------------------------------------------- online metrics
def online_metrics(feedback: pd.DataFrame, freq: str | None = None) -> dict[str, Any]:
    """Impressions, clicks, add-to-carts and purchases per period, CTR and conversion, overall and per model.

    ``freq`` is ``"h"`` or ``"D"``; by default hourly when the log spans under 3 days, else daily.
    """
    if feedback.empty:
        return {"empty": True, "totals": {}, "series": {}, "by_model": []}
    fb = feedback
    span = fb["ts"].max() - fb["ts"].min()
    freq = freq or ("h" if span < pd.Timedelta(days=3) else "D")
    period = fb["ts"].dt.floor(freq)
    table = pd.crosstab(period, fb["event"])
    for col in ("impression", "click", "add_to_cart", "purchase"):
        if col not in table.columns:
            table[col] = 0
    table = table.sort_index()
    imp, clk, buy = table["impression"], table["click"], table["purchase"]
    fmt = "%Y-%m-%d %H:00" if freq == "h" else "%Y-%m-%d"
    series = {
        "labels": [p.strftime(fmt) for p in table.index],
        "impressions": [int(v) for v in imp],
        "clicks": [int(v) for v in clk],
        "add_to_cart": [int(v) for v in table["add_to_cart"]],
        "purchases": [int(v) for v in buy],
        "ctr": [round(float(c / i), 4) if i else 0.0 for c, i in zip(clk, imp, strict=True)],
        "conversion": [round(float(b / c), 4) if c else 0.0 for b, c in zip(buy, clk, strict=True)],
    }
    totals: dict[str, float] = {
        k: int(table[k].sum()) for k in ("impression", "click", "add_to_cart", "purchase")
    }
    totals["ctr"] = round(totals["click"] / totals["impression"], 4) if totals["impression"] else 0.0
    totals["conversion"] = round(totals["purchase"] / totals["click"], 4) if totals["click"] else 0.0
    by_model = []
    per = pd.crosstab(fb["model_version"].fillna("—"), fb["event"])
    for version, row in per.iterrows():
        i, c, b = int(row.get("impression", 0)), int(row.get("click", 0)), int(row.get("purchase", 0))
        by_model.append(
            {
                "model_version": str(version),
                "impressions": i,
                "clicks": c,
                "purchases": b,
                "ctr": round(c / i, 4) if i else 0.0,
                "conversion": round(b / c, 4) if c else 0.0,
            }
        )
    return {"empty": False, "freq": freq, "totals": totals, "series": series, "by_model": by_model}
