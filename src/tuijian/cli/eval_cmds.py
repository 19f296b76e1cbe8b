"""Evaluation commands: ``tuijian evaluate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tuijian.cli import sources

_MODELS_HELP = (
    "Comma-separated registry names, each optionally with parameters after a colon, separated by ';' "
    "(e.g. 'popularity,ease:reg=500,item-knn:n_neighbors=100;shrinkage=10')."
)


def _parse_ks(text: str) -> list[int]:
    from tuijian.exceptions import ConfigError

    try:
        ks = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise ConfigError(
            f"--k must be comma-separated positive integers such as '10,20', got {text!r}"
        ) from None
    if not ks or ks[0] < 1:
        raise ConfigError(f"--k must be comma-separated positive integers such as '10,20', got {text!r}")
    return ks


def evaluate(
    protocol: str = typer.Option(
        ...,
        "--protocol",
        "-p",
        help="loo (leave-one-out in time order), recbole (ML-1M RecBole: >=3 stars, 10-core, random 8:1:1), "
        "time (global time split, repeats excluded) or time-repeats (repeat purchases count).",
    ),
    models: str = typer.Option(..., "--models", "-m", help=_MODELS_HELP),
    dataset: str | None = typer.Option(
        None,
        "--dataset",
        "-d",
        help="Dataset name (amazon-beauty, movielens-1m, online-retail, ...). Default: the protocol's own "
        "(loo: amazon-beauty, recbole: movielens-1m, time: online-retail), unless --events is given.",
    ),
    events: Path | None = sources.events_option(),
    mapping: str | None = sources.map_option(),
    kind: str | None = sources.kind_option(),
    catalog: Path | None = sources.catalog_option(),
    catalog_map: str | None = sources.catalog_map_option(),
    k: str = typer.Option("10,20", "--k", help="Cut-offs, comma-separated."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the results as JSON to this path."),
    plot_path: Path | None = typer.Option(
        None, "--plot", help="Write a bar chart (PNG) of the main metrics here."
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Dataset root (default: $TUIJIAN_DATA_DIR, then ../shared/datasets)."
    ),
    phase: str = typer.Option(
        "test",
        "--phase",
        help="test: fit on train+valid, score test. valid: fit on train, score validation (tuning).",
    ),
    fit_on: str = typer.Option(
        "train+valid",
        "--fit-on",
        help="For --phase test: train+valid (default) or train (RecBole's own convention).",
    ),
    seed: int = typer.Option(2020, "--seed", help="Seed of the random split (recbole protocol)."),
    batch_size: int = typer.Option(1024, "--batch-size", help="Users scored per batch."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Evaluate recommenders offline on a published protocol and print a table of metrics.

    Your own data: `tuijian evaluate --events orders.csv --map user=shopper,item=sku,ts=order_time,kind==purchase
    --protocol time --models auto,popularity`.
    """
    from rich.console import Console

    from tuijian.evaluate.protocols import DEFAULT_DATASETS, PROTOCOLS
    from tuijian.evaluate.report import plot_results, rich_tables, write_json
    from tuijian.evaluate.runner import evaluate_models, parse_model_specs
    from tuijian.exceptions import ConfigError
    from tuijian.models import registry

    if protocol not in PROTOCOLS:
        raise ConfigError(f"--protocol must be one of {', '.join(PROTOCOLS)}; got {protocol!r}")
    if phase not in ("test", "valid"):
        raise ConfigError(f"--phase must be 'test' or 'valid', got {phase!r}")
    if fit_on not in ("train+valid", "train"):
        raise ConfigError(f"--fit-on must be 'train+valid' or 'train', got {fit_on!r}")
    sources.check_source(dataset, events, mapping, kind, catalog, catalog_map, required=False)
    ks = _parse_ks(k)
    for _, model_name, _ in parse_model_specs(models):
        registry.model_class(model_name)  # unknown names fail before any data is loaded
    name = dataset or (None if events is not None else DEFAULT_DATASETS[protocol])
    ds = sources.load_source(name, events, mapping, kind, catalog, catalog_map, data_dir=data_dir)
    result = evaluate_models(
        ds.name, protocol, models, ks=ks, data_dir=str(data_dir) if data_dir else None, progress=progress,
        phase=phase, fit_on=fit_on, seed=seed, batch_size=batch_size, dataset=ds,
    )  # fmt: skip
    if ds.meta.get("import"):
        result["import"] = ds.meta["import"]
    console = Console()
    for table in rich_tables(result):
        console.print(table)
    split = result["split"]
    console.print(
        f"users evaluated: {split['users_evaluated']:,} · train/valid/test interactions: "
        f"{split['train']:,}/{split['valid']:,}/{split['test']:,}"
    )
    if json_path is not None:
        console.print(f"wrote {write_json(result, json_path)}")
    for label, res in result["results"].items():
        if isinstance(res.get("selection"), dict):
            console.print(selection_line(label, res["selection"]), markup=False)
    if plot_path is not None:
        console.print(f"wrote {plot_results(result, plot_path)}")


def selection_line(label: str, selection: dict[str, Any], top: int = 5) -> str:
    """``auto chose ease on validation (ndcg@10: ease 0.4961, item-knn 0.4917, ...; 17 candidates)``.

    Plain text (print it with ``markup=False``: candidate names hold brackets)."""
    ranked = validation_ranking(selection)
    shown = ", ".join(f"{name} {value:.4f}" for name, value in ranked[:top])
    more = f", ... {len(ranked)} candidates" if len(ranked) > top else ""
    table = f" (ndcg@10: {shown}{more})" if ranked else " (no validation table)"
    return f"{label} chose {selection.get('chosen', '?')} on validation{table}"


def validation_ranking(selection: dict[str, Any]) -> list[tuple[str, float]]:
    """The ``validation`` table of a model's ``selection_`` as (candidate, ndcg@10), best first."""
    table = selection.get("validation")
    if not isinstance(table, dict):
        return []
    rows = [(str(k), float(v)) for k, v in table.items() if isinstance(v, int | float)]
    return sorted(rows, key=lambda kv: -kv[1])


def register(app: typer.Typer) -> None:
    """Add the evaluation commands to ``app``."""
    app.command("evaluate")(evaluate)
