"""Spark commands: ``tuijian spark prepare | run | parity`` (PySpark is the optional extra ``spark``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import typer

spark_app = typer.Typer(
    name="spark",
    help="The pipeline on Apache Spark: clean Parquet logs, train ALS and item-item similarities, precompute "
    "top lists, write artifacts `tuijian serve` loads. Needs `pip install 'tuijian\\[spark]'` and Java 17+.",
    no_args_is_help=True,
)

_MASTER_HELP = "Spark master: local[2] (default), local[*], spark://host:7077, yarn, k8s://... (ignored under spark-submit)."


def _write_json(data: dict[str, Any], path: Path | None) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if path is None:
        typer.echo(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    typer.secho(f"wrote {path}", err=True)


def prepare(
    csv: Path = typer.Option(..., "--csv", help="Raw Online Retail-shaped CSV (gzip or not)."),
    out: Path = typer.Option(..., "--out", help="Parquet folder to write (one file per 2M lines)."),
) -> None:
    """Write a raw CSV log as the Parquet the Spark path reads (text columns plus each line's `row`)."""
    from tuijian.data.cleaning import read_online_retail
    from tuijian.spark.logs import write_raw_parquet

    if not csv.is_file():
        from tuijian.exceptions import ConfigError

        raise ConfigError(f"--csv {csv} is not a file")
    folder = write_raw_parquet(read_online_retail(csv), out)
    typer.secho(f"wrote {folder}", err=True)


def run(
    logs: str = typer.Option(
        ..., "--logs", help="Raw log as Parquet (file or folder; any Hadoop URL on a cluster)."
    ),
    dataset: str = typer.Option(
        ..., "--dataset", help="Name the service serves it under (`tuijian serve --dataset`)."
    ),
    home: Path = typer.Option(
        Path("var/tuijian"), "--home", help="Service home; artifacts go to <home>/artifacts/<dataset>/."
    ),
    master: str | None = typer.Option(None, "--master", help=_MASTER_HELP),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="Register (and activate) the ALS version in this store so `tuijian serve` loads it.",
    ),
    activate: bool = typer.Option(
        True, "--activate/--no-activate", help="Make the new ALS version the served one."
    ),
    n_factors: int = typer.Option(64, "--n-factors", help="ALS latent dimension."),
    reg: float = typer.Option(1.0, "--reg", help="ALS L2 regularisation, in the local ALS's units."),
    alpha: float = typer.Option(10.0, "--alpha", help="ALS confidence scaling, in the local ALS's units."),
    n_iterations: int = typer.Option(15, "--n-iterations", help="ALS sweeps."),
    n_neighbors: int = typer.Option(
        100, "--n-neighbors", help="Neighbours kept per item (item-item similarities)."
    ),
    item_knn: bool = typer.Option(
        True, "--item-knn/--no-item-knn", help="Also compute item-item similarities."
    ),
    json_out: Path | None = typer.Option(
        None, "--json", help="Write the run's record here (default: stdout)."
    ),
) -> None:
    """Clean the log, build interactions, train ALS and item-item similarities, precompute top lists, save."""
    from tuijian.spark.pipeline import run_pipeline

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    params = {"n_factors": n_factors, "reg": reg, "alpha": alpha, "n_iterations": n_iterations}
    result = run_pipeline(
        logs, home=home, dataset=dataset, master=master, als_params=params, n_neighbors=n_neighbors,
        database_url=database_url, activate=activate, item_knn=item_knn,
    )  # fmt: skip
    _write_json(result, json_out)


def parity(
    dataset: str = typer.Option("online-retail", "--dataset", help="online-retail or online-retail-demo."),
    json_out: Path | None = typer.Option(
        None, "--json", help="Write the parity record here (default: stdout)."
    ),
    master: str | None = typer.Option(None, "--master", help=_MASTER_HELP),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Dataset root (default: ../shared/datasets)."
    ),
) -> None:
    """Spark against the local path: cleaning counts (must be equal) and ALS NDCG@10 on the same split."""
    from tuijian.spark.parity import run_parity

    result = run_parity(dataset, data_dir=str(data_dir) if data_dir else None, master=master)
    _write_json(result, json_out)
    ok = result["counts_equal"] and result["ndcg_relative_difference"] <= 0.05
    typer.secho(
        f"counts equal: {result['counts_equal']}; NDCG@10 local {result['local_ndcg@10']:.4f}, "
        f"spark {result['spark_ndcg@10']:.4f} ({100 * result['ndcg_relative_difference']:.1f} % apart)",
        fg=typer.colors.GREEN if ok else typer.colors.RED,
        err=True,
    )
    if not ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``tuijian spark ...`` to ``app``."""
    spark_app.command("prepare")(prepare)
    spark_app.command("run")(run)
    spark_app.command("parity")(parity)
    app.add_typer(spark_app, name="spark")
