"""Data commands: ``tuijian datasets``, ``tuijian quality`` and ``tuijian clean``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

REPORT_DIR = Path("var") / "reports"

_MAP_HELP = (
    "Column mapping for a file: FIELD=COLUMN pairs, comma-separated, e.g. "
    "'user=customer_id,item=sku,ts=event_time,kind=event_type,value=qty,price=unit_price'. "
    "A value starting with '=' is a constant ('kind==purchase'). Fields not given are guessed from "
    "common column names."
)


def _console() -> Any:
    from rich.console import Console

    return Console()


def datasets(
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Dataset root (default: $TUIJIAN_DATA_DIR, then ../shared/datasets)."
    ),
) -> None:
    """List the dataset names and whether each one's files are found."""
    from rich.table import Table

    from tuijian.data.datasets import DATASET_FILES, DATASET_NAMES, dataset_available, resolve_data_dir
    from tuijian.exceptions import DatasetNotFoundError

    try:
        root: str = str(resolve_data_dir(data_dir))
    except DatasetNotFoundError as exc:
        root = f"not found ({exc})"
    table = Table(title=f"Datasets (root: {root})")
    table.add_column("name")
    table.add_column("folder")
    table.add_column("found")
    for name in DATASET_NAMES:
        folder = DATASET_FILES[name][0] if name in DATASET_FILES else "embedded (tuijian/demo_data)"
        ok = (
            dataset_available(name, data_dir)
            if name not in DATASET_FILES or not root.startswith("not")
            else False
        )
        table.add_row(name, folder, "[green]yes[/]" if ok else "[red]no[/]")
    _console().print(table)


def _print_report(report: dict[str, Any]) -> None:
    from rich.table import Table

    colour = {"pass": "green", "warn": "yellow", "fail": "red"}
    con = _console()
    ov = report["overview"]
    con.print(
        f"[bold]Data quality: {report['dataset']}[/] — {ov['events']:,} events, {ov['users']:,} users, "
        f"{ov['items']:,} items; status [{colour[report['status']]}]{report['status']}[/] "
        f"({report['summary']['pass']} pass, {report['summary']['warn']} warn, {report['summary']['fail']} fail)"
    )
    table = Table(show_lines=False)
    for col in ("dimension", "check", "figure", "threshold", "status"):
        table.add_column(col, overflow="fold")
    for dim, checks in report["dimensions"].items():
        for c in checks:
            table.add_row(
                dim, c["name"], c["display"], c["threshold"], f"[{colour[c['status']]}]{c['status']}[/]"
            )
    con.print(table)


def quality(
    path: Path | None = typer.Argument(
        None, help="A CSV / JSONL / Parquet event log (optionally .gz).", show_default=False
    ),
    dataset: str | None = typer.Option(
        None, "--dataset", "-d", help="A dataset name (see `tuijian datasets`)."
    ),
    mapping: str | None = typer.Option(None, "--map", help=_MAP_HELP),
    kind: str | None = typer.Option(
        None,
        "--kind",
        help="Constant event kind for every row of PATH "
        "(view, click, add_to_cart, purchase, rating, review, search).",
    ),
    anonymous: bool = typer.Option(
        False,
        "--anonymous",
        help="Keep PATH rows with no user but a session as "
        "anonymous users anon:<session> instead of rejecting them.",
    ),
    catalog: Path | None = typer.Option(
        None, "--catalog", help="The item catalog of PATH (CSV/JSONL/Parquet), checked with the events."
    ),
    catalog_map: str | None = typer.Option(
        None, "--catalog-map", help="Column mapping of --catalog, e.g. 'item_id=sku,title=name'."
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Dataset root for --dataset."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Reference time for freshness (ISO date, e.g. 2011-12-10); default: now."
    ),
    json_path: Path | None = typer.Option(
        None, "--json", help="JSON output (default var/reports/quality-NAME.json)."
    ),
    html_path: Path | None = typer.Option(
        None, "--html", help="HTML output (default var/reports/quality-NAME.html)."
    ),
) -> None:
    """Data-quality report (completeness, consistency, accuracy, timeliness) of a dataset or a log file.

    Examples: `tuijian quality --dataset online-retail`;
    `tuijian quality events.csv --map user=customer_id,item=sku,ts=event_time,kind=event_type`.
    """
    from tuijian.data.quality import quality_report, write_html, write_json
    from tuijian.exceptions import ConfigError

    if (path is None) == (dataset is None):
        raise ConfigError("give exactly one of PATH (a log file) or --dataset NAME")
    if (catalog is not None or catalog_map is not None) and path is None:
        raise ConfigError("--catalog and --catalog-map describe the catalog of PATH (a log file); add PATH")
    if catalog_map is not None and catalog is None:
        raise ConfigError("--catalog-map describes a --catalog FILE; add --catalog FILE")
    ref = None
    if as_of is not None:
        import pandas as pd

        try:
            ref = pd.Timestamp(as_of).to_pydatetime()
        except ValueError:
            raise ConfigError(
                f"--as-of must be an ISO date or time such as 2011-12-10, got {as_of!r}"
            ) from None
    if dataset is not None:
        from tuijian.data.datasets import load_dataset

        report = quality_report(load_dataset(dataset, data_dir), as_of=ref)
        stem = dataset
    else:
        from tuijian.data.importers import import_events, parse_mapping

        assert path is not None
        result = import_events(
            path,
            parse_mapping(mapping) if mapping else None,
            kind=kind,
            missing_user="anonymous" if anonymous else "reject",
        )
        _console().print(str(result.report))
        items = None
        if catalog is not None:
            from tuijian.data.importers import import_catalog

            items, catalog_report = import_catalog(
                catalog, parse_mapping(catalog_map) if catalog_map else None
            )
            _console().print(str(catalog_report))
        prices = result.extras.get("price")
        report = quality_report(result.events, items, prices=prices, name=path.name, as_of=ref)
        report["import"] = result.report.to_dict()
        if catalog is not None:
            report["catalog_import"] = catalog_report.to_dict()
        stem = path.name.split(".")[0]
    _print_report(report)
    json_out = write_json(report, json_path or REPORT_DIR / f"quality-{stem}.json")
    html_out = write_html(report, html_path or REPORT_DIR / f"quality-{stem}.html")
    _console().print(f"wrote {json_out} and {html_out}")


def clean(
    name: str = typer.Argument(..., help="Dataset to clean: online-retail or online-retail-demo."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Dataset root."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the cleaning account as JSON here."),
) -> None:
    """Clean a raw log and print the itemised account: every input row kept or removed for one reason."""
    from rich.table import Table

    from tuijian.data.datasets import load_dataset
    from tuijian.exceptions import ConfigError

    if name not in ("online-retail", "online-retail-demo"):
        raise ConfigError(f"clean supports online-retail and online-retail-demo, got {name!r}")
    ds = load_dataset(name, data_dir)
    rep = ds.report
    table = Table(title=f"Cleaning account: {name}")
    for col in ("action", "reason", "rows", "rule"):
        table.add_column(col, overflow="fold", justify="right" if col == "rows" else "left")
    for action, reason, n, rule in rep.rows():
        table.add_row(action, reason, f"{n:,}", rule)
    con = _console()
    con.print(table)
    balanced = (
        "[green]balanced[/]" if rep.input_rows == rep.kept_rows + rep.removed_rows else "[red]NOT balanced[/]"
    )
    con.print(
        f"input rows {rep.input_rows:,} = kept {rep.kept_rows:,} + removed {rep.removed_rows:,}: {balanced}"
    )
    kept = rep.details.get("kept", {})
    con.print(
        f"kept: {kept.get('customers', 0):,} customers, {kept.get('anonymous_sessions', 0):,} anonymous "
        f"sessions, {kept.get('items', 0):,} items; outlier accounts removed: "
        f"{', '.join(rep.details.get('outlier_rule', {}).get('accounts', {})) or 'none'}"
    )
    if json_path is not None:
        rep.to_json(json_path)
        con.print(f"wrote {json_path}")


def register(app: typer.Typer) -> None:
    """Add the data commands to ``app``."""
    app.command("datasets")(datasets)
    app.command("quality")(quality)
    app.command("clean")(clean)
