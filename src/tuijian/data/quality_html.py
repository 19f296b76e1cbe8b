"""Rendering of a data-quality report: inline SVG charts (matplotlib, Agg) and a self-contained HTML page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _svg(fig: Any) -> str:
    import io

    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return re.sub(r"^.*?(<svg)", r"\1", text, count=1, flags=re.S)


def charts(report: dict[str, Any]) -> dict[str, str]:
    """Inline SVG charts of a report (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    series = report.get("series", {})
    if "events_per_day" in series:
        s = series["events_per_day"]
        fig, ax = plt.subplots(figsize=(9, 2.8))
        ax.plot(pd.to_datetime(s["dates"]), s["counts"], lw=0.9, color="#1f77b4")
        ax.set_ylabel("events per day")
        ax.grid(alpha=0.3)
        fig.autofmt_xdate()
        out["Events per day"] = _svg(fig)
    if "item_popularity" in series:
        s = series["item_popularity"]
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        ax.loglog(s["rank"], s["count"], lw=1.2, color="#d62728")
        ax.set_xlabel("item rank")
        ax.set_ylabel("events")
        ax.set_title("long tail of item popularity")
        ax.grid(alpha=0.3, which="both")
        out["Item popularity (log-log rank/frequency)"] = _svg(fig)
    if series.get("user_activity"):
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        acts = np.asarray(series["user_activity"])
        ax.hist(
            acts,
            bins=np.unique(np.geomspace(1, max(2, acts.max()) + 1, 40).astype(int)).tolist(),
            color="#2ca02c",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("events per user")
        ax.set_ylabel("users")
        ax.set_title("user activity")
        out["User activity"] = _svg(fig)
    return out


def write_html(report: dict[str, Any], path: str | Path) -> Path:
    """Write a self-contained HTML page (no external assets) with tables and inline SVG charts."""
    import jinja2

    from tuijian.data.quality import DIMENSIONS

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tuijian.data", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    page = env.get_template("quality.html.j2").render(
        report=report, charts=charts(report), dimensions=DIMENSIONS
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
