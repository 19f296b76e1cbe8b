"""Build the small demo datasets embedded in ``src/tuijian/demo_data`` from the shared originals.

Usage: ``python scripts/make_demo_data.py [--data-dir ../shared/datasets]``

* ``online_retail_sample.csv.gz``: every raw row (cancellations, duplicates, postage lines and all) of a
  seeded random sample of Online Retail customers, plus a seeded sample of the anonymous invoices (no
  CustomerID) in the same proportion, in the original row order, so the cleaning has real dirt to handle.
* ``womens_clothing_sample.csv.gz``: a seeded random sample of 3,000 Women's Clothing reviews, original
  columns, original order.

Only these two sets may be redistributed (CC BY 4.0 and CC0); see ``src/tuijian/demo_data/ATTRIBUTION.md``.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from tuijian.data.datasets import resolve_data_dir

SEED = 20240601
N_CUSTOMERS = 800
N_REVIEWS = 3000
OUT = Path(__file__).resolve().parents[1] / "src" / "tuijian" / "demo_data"


def _write_csv_gz(df: pd.DataFrame, path: Path) -> None:
    # mtime=0 keeps the file byte-identical across runs
    with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as fh:
        fh.write(df.to_csv(index=False).encode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    root = resolve_data_dir(args.data_dir)
    rng = np.random.default_rng(SEED)

    raw = pd.read_csv(
        root / "online_retail" / "online_retail.csv.gz", dtype=str, keep_default_na=False, na_values=[""]
    )
    customers = np.sort(raw["CustomerID"].dropna().unique())
    chosen = set(rng.choice(customers, size=N_CUSTOMERS, replace=False))
    anon_invoices = np.sort(raw.loc[raw["CustomerID"].isna(), "InvoiceNo"].unique())
    n_anon = round(len(anon_invoices) * N_CUSTOMERS / len(customers))
    chosen_anon = set(rng.choice(anon_invoices, size=n_anon, replace=False))
    keep = raw["CustomerID"].isin(chosen) | (raw["CustomerID"].isna() & raw["InvoiceNo"].isin(chosen_anon))
    sample = raw[keep]
    _write_csv_gz(sample, OUT / "online_retail_sample.csv.gz")
    print(f"online retail: {len(sample):,} rows, {N_CUSTOMERS} customers, {n_anon} anonymous invoices")

    reviews = pd.read_csv(
        root / "womens_clothing_reviews" / "womens_clothing_ecommerce_reviews.csv.gz",
        dtype=str,
        keep_default_na=False,
        na_values=[""],
    )
    idx = np.sort(rng.choice(len(reviews), size=N_REVIEWS, replace=False))
    _write_csv_gz(reviews.iloc[idx], OUT / "womens_clothing_sample.csv.gz")
    print(f"womens clothing: {N_REVIEWS:,} reviews")


if __name__ == "__main__":
    main()
