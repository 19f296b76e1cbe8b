"""``tuijian demo``: the main job on the embedded demo data, end to end.

ingest the bundled Online Retail sample into the store -> clean with an itemised
account -> quality report -> train and evaluate the baselines -> serve what ``auto`` picks.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo)


def demo(
    dataset: str = typer.Option(
        "online-retail-demo", help="dataset to run the demo on (embedded by default)"
    ),
    home: Path = typer.Option(Path("var"), help="where the database, reports and models go"),
    models: str = typer.Option(
        "popularity,recent-popularity,item-knn,user-knn,ease",
        help="comma-separated registry names to evaluate",
    ),
    protocol: str = typer.Option("time", help="evaluation protocol: loo, recbole or time"),
    serve: bool = typer.Option(
        True, "--serve/--no-serve", help="start the service when the offline part is done"
    ),
    port: int = typer.Option(8000, help="port of the service"),
    serve_model: str = typer.Option(
        "auto",
        "--serve-model",
        help="model the service trains and serves; auto picks the hybrid or its best retriever on validation",
    ),
    data_dir: Path | None = typer.Option(
        None, help="root of the real datasets (only for non-embedded datasets)"
    ),
) -> None:
    """Run the main job: ingest, clean, report quality, evaluate the baselines, then serve."""
    import json

    from rich.console import Console
    from rich.table import Table

    from tuijian.data.datasets import load_dataset
    from tuijian.data.quality import quality_report, write_html, write_json
    from tuijian.evaluate.runner import evaluate_models
    from tuijian.store import open_store

    console = Console()
    home.mkdir(parents=True, exist_ok=True)
    reports = home / "reports"
    reports.mkdir(exist_ok=True)

    console.rule(f"[bold]1. Ingest and clean {dataset}")
    ds = load_dataset(dataset, data_dir=data_dir)
    if ds.report is not None:
        _print_account(console, ds.report)
        ds.report.to_json(reports / f"{dataset}-cleaning.json")
    url = f"sqlite:///{(home / 'tuijian.sqlite').resolve()}"
    store = open_store(url)
    try:
        if ds.items is not None:
            store.add_items(ds.items)
        result = store.add_events(ds.events)
        console.print(
            f"stored {result.inserted:,} new events ({result.duplicates:,} already present) in {url}",
        )
    finally:
        close = getattr(store, "close", None)
        if close:
            close()

    console.rule("[bold]2. Data quality")
    report = quality_report(ds)
    html = write_html(report, reports / f"{dataset}-quality.html")
    write_json(report, reports / f"{dataset}-quality.json")
    table = Table("dimension", "check", "status", "value")
    for dim in ("completeness", "consistency", "accuracy", "timeliness"):
        for check in report["dimensions"][dim]:
            table.add_row(
                dim,
                str(check.get("name", "")),
                str(check.get("status", "")),
                str(check.get("display", check.get("value", ""))),
            )
    console.print(table)
    console.print(f"quality report: {html}")

    console.rule(f"[bold]3. Train and evaluate ({protocol} protocol)")
    res = evaluate_models(
        dataset, protocol, models, ks=(10,), data_dir=str(data_dir) if data_dir else None, dataset=ds
    )
    out = Table("model", "NDCG@10", "HR@10", "recall@10", "coverage@10", "fit s")
    for name, m in res["results"].items():
        out.add_row(
            name,
            f"{m['ndcg@10']:.4f}",
            f"{m['hr@10']:.4f}",
            f"{m['recall@10']:.4f}",
            f"{m.get('coverage@10', float('nan')):.3f}",
            f"{m['fit_seconds']:.2f}",
        )
    console.print(out)
    (reports / f"{dataset}-evaluation.json").write_text(json.dumps(res, indent=2, default=str))

    if serve:
        console.rule("[bold]4. Serve")
        from tuijian.cli import app as cli_app

        console.print(f"training and serving {serve_model!r} (auto tries several setups on validation first)")
        args = ["serve", "--dataset", dataset, "--port", str(port), "--home", str(home), "--dev-key"]
        args += ["--model", serve_model]
        if data_dir is not None:
            args += ["--data-dir", str(data_dir)]
        cli_app(args, standalone_mode=False)


def _print_account(console: object, report: object) -> None:
    from rich.table import Table

    table = Table(
        "action", "reason", "rows", "rule", title="Cleaning account (every input row accounted for)"
    )
    for action, reason, rows, rule in report.rows():  # type: ignore[attr-defined]
        table.add_row(action, reason, f"{rows:,}", rule)
    table.add_row("", "input rows", f"{report.input_rows:,}", "")  # type: ignore[attr-defined]
    table.add_row("", "kept rows", f"{report.kept_rows:,}", "")  # type: ignore[attr-defined]
    console.print(table)  # type: ignore[attr-defined]
