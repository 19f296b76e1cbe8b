"""Where a command's data comes from: a built-in dataset name, or a shop's own events (and catalog) file.

``tuijian evaluate``, ``tuijian train`` and ``tuijian serve`` share these options::

    --dataset NAME                       a built-in dataset (see `tuijian datasets`)
    --events FILE [--map ...] [--kind K] a shop's own log: CSV, JSONL or Parquet (gzip allowed)
    --catalog FILE [--catalog-map ...]   its item catalog (optional)

The files become a :class:`~tuijian.data.datasets.Dataset` (events + items) through
:func:`~tuijian.data.datasets.dataset_from_files`, so the protocols, the runner and training
treat it like any other dataset. Malformed rows are reported here, never silently dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

MAP_HELP = (
    "Column mapping of --events: FIELD=COLUMN pairs, comma-separated, e.g. "
    "'user=shopper,item=sku,ts=order_time,value=qty,kind==purchase'. A value starting with '=' is a "
    "constant (kind==purchase). Fields not given are guessed from common column names."
)
CATALOG_MAP_HELP = (
    "Column mapping of --catalog: FIELD=COLUMN pairs for item_id, title, description, brand, category, "
    "price, e.g. 'item_id=sku,title=name'. Fields not given are guessed from common column names."
)
EVENTS_HELP = (
    "A shop's own events file (CSV, JSONL or Parquet, optionally .gz) instead of --dataset; "
    "see docs/own-data.md."
)
CATALOG_HELP = "The item catalog of --events (CSV, JSONL or Parquet; columns item_id, title, ... price)."
KIND_HELP = "Constant event kind of every --events row (purchase, view, ...); same as --map kind==KIND."


def events_option() -> Any:
    return typer.Option(None, "--events", help=EVENTS_HELP, show_default=False)


def map_option() -> Any:
    return typer.Option(None, "--map", help=MAP_HELP, show_default=False)


def kind_option() -> Any:
    return typer.Option(None, "--kind", help=KIND_HELP, show_default=False)


def catalog_option() -> Any:
    return typer.Option(None, "--catalog", help=CATALOG_HELP, show_default=False)


def catalog_map_option() -> Any:
    return typer.Option(None, "--catalog-map", help=CATALOG_MAP_HELP, show_default=False)


def check_source(
    dataset: str | None,
    events: Path | None,
    mapping: str | None,
    kind: str | None,
    catalog: Path | None,
    catalog_map: str | None,
    *,
    required: bool,
) -> None:
    """Refuse contradictory or incomplete options before anything is loaded."""
    from tuijian.exceptions import ConfigError

    if dataset is not None and events is not None:
        raise ConfigError(
            "give either --dataset NAME (a built-in dataset) or --events FILE (your own log), not both"
        )
    if events is None:
        stray = [
            flag
            for flag, value in (
                ("--map", mapping),
                ("--kind", kind),
                ("--catalog", catalog),
                ("--catalog-map", catalog_map),
            )
            if value is not None
        ]
        if stray:
            raise ConfigError(f"{', '.join(stray)} describe(s) an --events FILE; add --events FILE")
        if required and dataset is None:
            raise ConfigError(
                "no data: give --dataset NAME (see `tuijian datasets`) or --events FILE (your own log, "
                "e.g. --events orders.csv --map user=shopper,item=sku,ts=order_time,kind==purchase)"
            )
    if catalog_map is not None and catalog is None:
        raise ConfigError("--catalog-map describes a --catalog FILE; add --catalog FILE")


def load_source(
    dataset: str | None,
    events: Path | None,
    mapping: str | None,
    kind: str | None,
    catalog: Path | None,
    catalog_map: str | None,
    *,
    data_dir: Path | None = None,
    echo: bool = True,
) -> Any:
    """The :class:`~tuijian.data.datasets.Dataset` the options name; import reports go to stderr."""
    from tuijian.data.datasets import DATASET_NAMES, dataset_from_files, load_dataset
    from tuijian.data.importers import parse_mapping
    from tuijian.exceptions import DatasetNotFoundError

    check_source(dataset, events, mapping, kind, catalog, catalog_map, required=True)
    if events is None:
        assert dataset is not None
        if dataset not in DATASET_NAMES:
            raise DatasetNotFoundError(
                f"--dataset: unknown dataset {dataset!r}; expected one of {', '.join(DATASET_NAMES)}, "
                "or use --events FILE for your own log"
            )
        return load_dataset(dataset, data_dir=str(data_dir) if data_dir else None)
    ds = dataset_from_files(
        events,
        parse_mapping(mapping) if mapping else None,
        kind=kind,
        catalog=catalog,
        catalog_mapping=parse_mapping(catalog_map) if catalog_map else None,
    )
    if echo:
        for line in import_lines(ds.meta.get("import") or {}):
            typer.secho(line, err=True)
    return ds


def import_lines(info: dict[str, Any]) -> list[str]:
    """Human-readable lines for ``Dataset.meta["import"]``: rows read, valid, malformed by reason."""
    lines = []
    for what in ("events", "catalog"):
        rep = info.get(what)
        if not rep:
            continue
        reasons = ", ".join(f"{r}: {n}" for r, n in rep["malformed"].items() if n)
        lines.append(
            f"{what} {rep['path']}: read {rep['rows_read']:,} rows, {rep['valid_rows']:,} valid, "
            f"{rep['malformed_rows']:,} malformed" + (f" ({reasons})" if reasons else "")
        )
        shown = rep.get("samples", [])[:3]
        for sample in shown:
            lines.append(f"  line {sample['line']}: {sample['reason']}: {sample['row']}")
        if rep["malformed_rows"] > len(shown):
            lines.append(
                f"  ... and {rep['malformed_rows'] - len(shown)} more; malformed rows are not loaded"
            )
    missing = info.get("events_not_in_catalog")
    if missing:
        lines.append(
            f"note: {missing:,} events name items that are not in the catalog "
            "(check --catalog-map item_id=COLUMN if this is most of them)"
        )
    return lines


def with_event_ids(events: Any, prefix: str) -> Any:
    """``events`` with a stable ``event_id`` per row: ``PREFIX:`` + a hash of the row's content and its
    occurrence number, so that storing the same file twice stores its events once."""
    import hashlib

    import pandas as pd

    cols = ["user", "item", "kind", "value", "ts", "session"]
    sep = "\x1f"
    text = events[cols].astype(str).agg(sep.join, axis=1)
    keyed = text + sep + text.groupby(text).cumcount().astype(str)
    out = pd.DataFrame(events).copy()
    out["event_id"] = [f"{prefix}:{hashlib.sha1(k.encode()).hexdigest()[:20]}" for k in keyed]
    return out
