"""Presenting evaluation results: rich tables, Markdown tables and bar charts.

All functions take the dict returned by
:func:`tuijian.evaluate.runner.evaluate_models`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tuijian.exceptions import ConfigError

#: Accuracy metrics shown for every k, then beyond-accuracy metrics shown for the first k.
ACCURACY_COLUMNS: tuple[str, ...] = ("ndcg", "hr", "recall")
DETAIL_COLUMNS: tuple[str, ...] = (
    "precision", "map", "mrr", "coverage", "novelty", "gini", "diversity", "long_tail", "pop_lift",
)  # fmt: skip
#: the exposure and popularity-bias columns (:mod:`tuijian.evaluate.exposure`)
BEYOND_COLUMNS: tuple[str, ...] = ("coverage", "novelty", "gini", "diversity", "long_tail", "pop_lift")


def table_columns(result: Mapping[str, Any]) -> list[str]:
    """The metric keys a summary table shows, in order, for the ks of ``result``."""
    return accuracy_columns(result) + detail_columns(result)


def accuracy_columns(result: Mapping[str, Any]) -> list[str]:
    """NDCG, HR and recall at every k."""
    ks = list(result.get("ks") or [10])
    return [f"{m}@{k}" for k in ks for m in ACCURACY_COLUMNS]


def detail_columns(result: Mapping[str, Any]) -> list[str]:
    """Precision, MAP, MRR and the beyond-accuracy metrics at the first k, then cost."""
    ks = list(result.get("ks") or [10])
    rows = list(result.get("results", {}).values())
    cols = [f"{m}@{ks[0]}" for m in DETAIL_COLUMNS if any(f"{m}@{ks[0]}" in r for r in rows)]
    return cols + ["fit_seconds", "n_users_evaluated"]


def _fmt(value: Any, col: str) -> str:
    if value is None:
        return "-"
    if col == "n_users_evaluated":
        return f"{int(value):,}"
    if col == "fit_seconds":
        return f"{value:.1f}s"
    if col.startswith("novelty"):
        return f"{value:.2f}"
    return f"{value:.4f}"


def _title(result: Mapping[str, Any]) -> str:
    return (
        f"{result.get('dataset')} · protocol {result.get('protocol')} · "
        f"{result.get('phase', 'test')} (fit on {result.get('fit_on', 'train+valid')})"
    )


def rich_table(
    result: Mapping[str, Any], columns: Sequence[str] | None = None, title: str | None = None
) -> Any:
    """A :class:`rich.table.Table` with one row per model (default: all :func:`table_columns`)."""
    from rich.table import Table

    cols = list(columns) if columns else table_columns(result)
    table = Table(title=title if title is not None else _title(result), header_style="bold")
    table.add_column("model", style="cyan", overflow="fold")
    for col in cols:
        table.add_column(_header(col), justify="right", no_wrap=True)
    for name, metrics in result.get("results", {}).items():
        table.add_row(name, *(_fmt(metrics.get(c), c) for c in cols))
    return table


def rich_tables(result: Mapping[str, Any]) -> list[Any]:
    """Three narrow tables (accuracy; ranking detail and cost; beyond-accuracy) for an 80-column terminal."""
    detail = detail_columns(result)
    beyond = [c for c in detail if c.split("@")[0] in BEYOND_COLUMNS]
    ranking = [c for c in detail if c not in beyond]
    return [
        rich_table(result, accuracy_columns(result)),
        rich_table(result, ranking, title=""),
        rich_table(result, beyond, title=""),
    ]


_SHORT = {
    "precision": "P",
    "map": "MAP",
    "mrr": "MRR",
    "coverage": "coverage",
    "novelty": "novelty",
    "diversity": "ILD",
    "long_tail": "tail",
    "pop_lift": "pop lift",
}


def _header(col: str) -> str:
    if col in ("fit_seconds", "n_users_evaluated"):
        return {"fit_seconds": "fit", "n_users_evaluated": "users"}[col]
    name, _, k = col.partition("@")
    return f"{_SHORT.get(name, name)}@{k}" if k else col


def markdown_table(result: Mapping[str, Any], columns: Sequence[str] | None = None) -> str:
    """A GitHub Markdown table (for bench/RESULTS.md)."""
    cols = list(columns) if columns else table_columns(result)
    lines = ["| model | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, metrics in result.get("results", {}).items():
        lines.append(f"| {name} | " + " | ".join(_fmt(metrics.get(c), c) for c in cols) + " |")
    return "\n".join(lines)


def plot_results(result: Mapping[str, Any], path: str | Path, metrics: Sequence[str] | None = None) -> Path:
    """Bar chart, one panel per metric, one bar per model; written as PNG with the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(result.get("results", {}))
    if not models:
        raise ConfigError("nothing to plot: the result has no models")
    ks = list(result.get("ks") or [10])
    metrics = (
        list(metrics)
        if metrics
        else [f"{m}@{ks[0]}" for m in ("ndcg", "hr", "recall", "coverage", "novelty", "gini")]
    )
    n = len(metrics)
    ncols = min(3, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes.ravel(), metrics, strict=False):
        vals = [float(result["results"][m].get(metric, float("nan"))) for m in models]
        ax.bar(range(len(models)), vals, color=[colors[i % len(colors)] for i in range(len(models))])
        ax.set_title(metric)
        ax.set_xticks(range(len(models)))
        ax.set_xticklabels(models, rotation=30, ha="right", fontsize=8)
        for x, v in enumerate(vals):
            ax.text(x, v, f"{v:.3g}", ha="center", va="bottom", fontsize=7)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.suptitle(_title(result), fontsize=10)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def write_json(result: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``result`` as indented JSON (NaN becomes null)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_clean(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj
