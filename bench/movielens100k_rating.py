"""Rating prediction on the official MovieLens-100K folds u1..u5 with classic neighbourhood CF.

Runs item-based and user-based CF (:mod:`tuijian.models.rating`) on each ``u{k}.base`` /
``u{k}.test`` pair and prints RMSE, MAE and fit/predict seconds per fold and on average.

    .venv/bin/python bench/movielens100k_rating.py [--data-dir DIR] [--folds 1,2,3,4,5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from tuijian.data.datasets import load_movielens_100k_folds
from tuijian.models.rating import ItemKNNRating, UserKNNRating, mae, rmse

MODELS = {
    "item-based (pearson, k=40, shrink=100)": lambda: ItemKNNRating(
        similarity="pearson", n_neighbors=40, shrinkage=100.0
    ),
    "user-based (pearson, k=40, shrink=100)": lambda: UserKNNRating(
        similarity="pearson", n_neighbors=40, shrinkage=100.0
    ),
}


def run(data_dir: str | None, folds: list[int]) -> dict:
    all_folds = load_movielens_100k_folds(data_dir)
    results: dict[str, dict] = {}
    for name, make in MODELS.items():
        rows = []
        for k in folds:
            base, test = all_folds[k - 1]
            t0 = time.perf_counter()
            model = make().fit(base)
            t1 = time.perf_counter()
            pred = model.predict(test["user"], test["item"])
            t2 = time.perf_counter()
            y = test["value"].to_numpy()
            rows.append(
                {
                    "fold": f"u{k}",
                    "rmse": rmse(y, pred),
                    "mae": mae(y, pred),
                    "fit_seconds": t1 - t0,
                    "predict_seconds": t2 - t1,
                    "n_test": len(test),
                }
            )
        mean = {
            key: float(np.mean([r[key] for r in rows]))
            for key in ("rmse", "mae", "fit_seconds", "predict_seconds")
        }
        results[name] = {"params": repr(make()), "folds": rows, "mean": mean}
    return {
        "dataset": "movielens-100k",
        "protocol": "official u1-u5 base/test",
        "machine": platform.processor() or platform.machine(),
        "results": results,
    }


def print_table(report: dict) -> None:
    print(f"{'model':42s} {'fold':>5s} {'RMSE':>7s} {'MAE':>7s} {'fit s':>7s} {'pred s':>7s}")
    for name, res in report["results"].items():
        for r in [*res["folds"], {"fold": "mean", **res["mean"]}]:
            print(
                f"{name:42s} {r['fold']:>5s} {r['rmse']:7.4f} {r['mae']:7.4f} {r['fit_seconds']:7.2f} {r['predict_seconds']:7.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", default=None, help="dataset root (default: TUIJIAN_DATA_DIR or ../shared/datasets)"
    )
    parser.add_argument(
        "--folds", default="1,2,3,4,5", help="comma-separated fold numbers (default 1,2,3,4,5)"
    )
    parser.add_argument(
        "--json", dest="json_path", default=None, help="also write the results as JSON to this path"
    )
    args = parser.parse_args()
    folds = [int(f) for f in args.folds.split(",")]
    if not set(folds) <= {1, 2, 3, 4, 5}:
        parser.error(f"--folds must be numbers from 1 to 5, got {args.folds!r}")
    report = run(args.data_dir, folds)
    print_table(report)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"wrote {args.json_path}")


if __name__ == "__main__":
    main()
