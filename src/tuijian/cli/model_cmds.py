"""Model commands: ``tuijian train`` (fit, optionally tune, evaluate and save an artifact) and ``tuijian models``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tuijian.cli import sources


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    from tuijian.evaluate.runner import parse_value
    from tuijian.exceptions import ConfigError

    out: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"--param must look like name=value (e.g. --param n_factors=128), got {pair!r}")
        out[key.strip()] = parse_value(value.strip())
    return out


def _parse_grid(pairs: list[str]) -> dict[str, list[Any]] | None:
    from tuijian.evaluate.runner import parse_value
    from tuijian.exceptions import ConfigError

    if not pairs:
        return None
    out: dict[str, list[Any]] = {}
    for pair in pairs:
        key, eq, values = pair.partition("=")
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not eq or not key.strip() or not items:
            raise ConfigError(
                f"--grid must look like name=v1,v2,... (e.g. --grid reg=0.01,0.1), got {pair!r}"
            )
        out[key.strip()] = [parse_value(v) for v in items]
    return out


def _artifacts_root(out: Path | None, dataset: str) -> Path:
    if out is not None:
        return out
    from tuijian.settings import load_settings

    return load_settings().artifacts_dir / dataset


def train(
    dataset: str | None = typer.Option(
        None,
        "--dataset",
        "-d",
        help="Dataset name (amazon-beauty, movielens-1m, online-retail, ...); or use --events FILE.",
    ),
    events: Path | None = sources.events_option(),
    mapping: str | None = sources.map_option(),
    kind: str | None = sources.kind_option(),
    catalog: Path | None = sources.catalog_option(),
    catalog_map: str | None = sources.catalog_map_option(),
    model: str = typer.Option(
        "auto",
        "--model",
        "-m",
        help="Registry name of the model (see `tuijian models`). auto: the self-configuring hybrid, which "
        "serves its best retriever instead when that is better on validation.",
    ),
    param: list[str] = typer.Option(
        [], "--param", "-P", help="Model setting name=value; repeat for several."
    ),
    protocol: str | None = typer.Option(
        None,
        "--protocol",
        "-p",
        help="Evaluate under this protocol (loo, recbole, time, time-repeats): tune on validation, fit on "
        "train+valid, report test metrics. Without it the model is fitted on all events and not evaluated.",
    ),
    tune: bool = typer.Option(
        False, "--tune", help="Grid-search on the validation split first (default space or --grid)."
    ),
    grid: list[str] = typer.Option(
        [], "--grid", help="Search values name=v1,v2,... for --tune; repeat for several."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Artifact root (default: $TUIJIAN_HOME/artifacts/<dataset>)."
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Dataset root (default: $TUIJIAN_DATA_DIR, then ../shared/datasets)."
    ),
    seed: int = typer.Option(2020, "--seed", help="Seed of the random split (recbole protocol)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Train a model, save it as a versioned artifact (config + metrics + safe weights) and print its metrics.

    Your own data: `tuijian train --events orders.csv --map user=shopper,item=sku,ts=order_time,kind==purchase`.
    """
    import time

    from rich.console import Console
    from rich.markup import escape

    from tuijian.cli.eval_cmds import validation_ranking
    from tuijian.data.interactions import Interactions
    from tuijian.evaluate.runner import side_info_kwargs
    from tuijian.exceptions import ConfigError
    from tuijian.models import registry
    from tuijian.models.artifacts import save_model
    from tuijian.models.holdout import Holdout
    from tuijian.models.tuning import search

    console = Console()
    params = _parse_params(param)
    registry.model_class(model)  # unknown names fail before any data is loaded
    space = _parse_grid(grid)
    if space is not None and not tune:
        raise ConfigError("--grid is only used with --tune")
    if tune and protocol is None:
        raise ConfigError(
            "--tune needs --protocol: hyper-parameters are chosen on that protocol's validation split"
        )
    sources.check_source(dataset, events, mapping, kind, catalog, catalog_map, required=True)
    ds = sources.load_source(dataset, events, mapping, kind, catalog, catalog_map, data_dir=data_dir)
    estimator = registry.create(model, **params)
    metrics: dict[str, Any] = {}
    hyper: dict[str, Any] = {}
    if protocol is not None:
        from tuijian.evaluate.protocols import make_protocol
        from tuijian.evaluate.runner import evaluate_model

        split = make_protocol(protocol, ds, seed=seed)
        if tune:
            result = search(estimator, split, space, progress=progress)
            hyper = result.to_dict()
            estimator = estimator.clone(**result.best_params)
            console.print(
                f"best on validation ({result.metric} {result.best_score:.4f}): {result.best_params}"
            )
        stage = split.stage("test")
        side = side_info_kwargs(
            estimator,
            items=ds.items,
            users=ds.users,
            holdout=Holdout.for_protocol(split.protocol, split.info),
        )
        t0 = time.perf_counter()
        estimator.fit(stage.fit, **side)
        fit_seconds = time.perf_counter() - t0
        metrics = evaluate_model(estimator, stage, (10, 20), progress=progress, label=model)
        metrics["fit_seconds"] = round(fit_seconds, 3)
    else:
        from tuijian.data.interactions import WeightConfig

        side = side_info_kwargs(estimator, items=ds.items, users=ds.users, holdout=Holdout())
        t0 = time.perf_counter()
        estimator.fit(Interactions.from_events(ds.events, WeightConfig(aggregation="binary")), **side)
        metrics = {"fit_seconds": round(time.perf_counter() - t0, 3), "evaluated": False}
    selection = getattr(estimator, "selection_", None)
    if isinstance(selection, dict):
        metrics["selection"] = selection
    if ds.meta.get("import"):
        metrics["import"] = {
            what: {
                "rows_read": rep["rows_read"],
                "valid_rows": rep["valid_rows"],
                "malformed": rep["malformed"],
            }
            for what, rep in ds.meta["import"].items()
            if isinstance(rep, dict)
        }
    root = _artifacts_root(out, ds.name)
    meta = {"dataset": ds.name, "protocol": protocol, "fit_on": "train+valid" if protocol else "all events"}
    if events is not None:
        meta.update(events_file=str(events), catalog_file=str(catalog) if catalog else None)
    version = save_model(estimator, root, metrics=metrics, hyperparameters=hyper, meta=meta)
    console.print(f"saved {model} {version} to {root / model / version}")
    if isinstance(selection, dict):
        console.print(f"{model} chose {selection.get('chosen', '?')} on validation", markup=False)
        ranked = validation_ranking(selection)
        if ranked:
            from rich.table import Table

            table = Table("candidate", "validation ndcg@10", title=f"{model}: validation table")
            chosen = str(selection.get("chosen"))
            # the chosen candidate is named exactly, or is the best of its variants ("ranker[...]")
            pick = next((n for n, _ in ranked if n == chosen or n.startswith(f"{chosen}[")), None)
            for name, value in ranked:
                mark = " <- chosen" if name == pick else ""
                table.add_row(escape(name), f"{value:.4f}{mark}")
            console.print(table)
    elif model == "auto":
        console.print("  (this auto build does not report which model it chose)")
    for key in ("ndcg@10", "hr@10", "recall@10", "ndcg@20", "hr@20", "fit_seconds"):
        if key in metrics:
            console.print(
                f"  {key:>12}: {metrics[key]:.4f}"
                if isinstance(metrics[key], float)
                else f"  {key:>12}: {metrics[key]}"
            )


def models(
    root: Path | None = typer.Option(
        None, "--root", help="Artifact root (default: $TUIJIAN_HOME/artifacts)."
    ),
) -> None:
    """List the registered model names and the saved versions of each."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from tuijian.models import registry
    from tuijian.models.artifacts import list_versions
    from tuijian.settings import load_settings

    console = Console()
    console.print("registered models: " + ", ".join(registry.available()))
    base = root if root is not None else load_settings().artifacts_dir
    frames = []
    if base.is_dir():
        frames.append(list_versions(base).assign(root=str(base)))  # <root>/<model>/<version>
        for sub in sorted(p for p in base.iterdir() if p.is_dir()):  # <root>/<dataset>/<model>/<version>
            frames.append(list_versions(sub).assign(root=str(sub)))
    table = (
        pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
    )
    if table is None:
        console.print(
            f"no saved versions under {base}; create one with `tuijian train --dataset ... --model ...`"
        )
        return
    out = Table(title=f"saved versions under {base}")
    for col in ("name", "version", "dataset", "protocol", "created_at", "ndcg@10", "hr@10"):
        out.add_column(col)
    for row in table.to_dict("records"):
        m = row.get("metrics") if isinstance(row.get("metrics"), dict) else {}
        out.add_row(
            str(row["name"]), str(row["version"]), str(row.get("dataset") or "-"), str(row.get("protocol") or "-"),
            str(row.get("created_at") or "-"),
            f"{m['ndcg@10']:.4f}" if "ndcg@10" in m else "-", f"{m['hr@10']:.4f}" if "hr@10" in m else "-",
        )  # fmt: skip
    console.print(out)


def register(app: typer.Typer) -> None:
    """Add the model commands to ``app``."""
    app.command("train")(train)
    app.command("models")(models)
