"""A synthetic shop log shaped like Online Retail's raw lines, for the scale benchmark and the Spark tests.

Item popularity is a power law (Zipf, exponent 1.1, over ``12 * sqrt(events)`` items in 40 categories),
customers' activity is heavy-tailed (lognormal invoices per customer), an invoice (session) has a geometric
number of lines (mean 12) mostly from one category, and the dirt of the real log is there in realistic shares:
20 % guest invoices without a customer id, 1 % exact duplicate lines, 0.5 % postage/fee lines, 2 % cancellation
invoices returning earlier purchases, 0.2 % zero prices. Lines are written as raw Parquet (the eight text
columns plus ``row``, :func:`tuijian.spark.logs.write_raw_parquet`) one chunk of invoices at a time, so the
generator's own memory stays flat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tuijian.exceptions import ConfigError

START = pd.Timestamp("2024-01-01")


def generate_log(
    n_events: int, out: str | Path, *, seed: int = 0, chunk_invoices: int = 200_000
) -> dict[str, Any]:
    """Write about ``n_events`` raw lines to the Parquet folder ``out`` (one file per chunk of
    ``chunk_invoices`` invoices); returns the generator's figures (lines, items, customers, files)."""
    from tuijian.spark.logs import write_raw_parquet

    if n_events < 1 or chunk_invoices < 1:
        raise ConfigError(f"n_events and chunk_invoices must be >= 1, got {n_events} and {chunk_invoices}")
    out = Path(out)

    rng = np.random.default_rng(seed)
    n_items = int(12 * np.sqrt(n_events))
    n_customers = max(50, n_events // 120)
    n_cats = 40
    ranks = np.arange(1, n_items + 1)
    pop = 1.0 / ranks**1.1
    item_cat = rng.integers(0, n_cats, n_items)
    codes = np.array([f"{10000 + i:05d}" if i < 90000 else f"{10000 + i % 90000:05d}{chr(65 + i // 90000 % 26)}"
                      for i in range(n_items)])  # fmt: skip
    titles = np.array([f"ITEM {i} CATEGORY {item_cat[i]}" for i in range(n_items)])
    prices = np.round(rng.lognormal(1.0, 0.8, n_items), 2)
    by_cat = [np.flatnonzero(item_cat == c) for c in range(n_cats)]
    cat_p = [pop[ix] / pop[ix].sum() for ix in by_cat]
    glob_p = pop / pop.sum()
    activity = rng.lognormal(0, 1.2, n_customers)
    cust_p = activity / activity.sum()
    countries = np.array(["United Kingdom"] * 8 + ["Germany", "France", "EIRE", "Spain"])
    span = 365 * 86400
    written = 0
    invoice_no = 500000
    row = 0
    part = 0
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.parquet"):
        old.unlink()
    while written < n_events:
        n_inv = min(chunk_invoices, max(1, (n_events - written) // 12 + 1))
        sizes = rng.geometric(1 / 12, n_inv)
        cum = np.cumsum(sizes)
        if written + cum[-1] > n_events:
            keep = int(np.searchsorted(cum, n_events - written, side="right")) + 1
            sizes = sizes[:keep]
            n_inv = len(sizes)
        total = int(sizes.sum())
        inv_ids = np.repeat(np.arange(invoice_no, invoice_no + n_inv), sizes)
        cust = rng.choice(n_customers, n_inv, p=cust_p)
        guest = rng.random(n_inv) < 0.20
        t0 = (written / n_events) * span
        t1 = ((written + total) / n_events) * span
        inv_t = np.sort(rng.uniform(t0, t1, n_inv)).astype(np.int64)
        inv_cat = rng.integers(0, n_cats, n_inv)
        line_cat = np.repeat(inv_cat, sizes)
        items = rng.choice(n_items, total, p=glob_p)
        same = rng.random(total) < 0.7
        for c in np.unique(line_cat[same]):
            sel = np.flatnonzero(same & (line_cat == c))
            items[sel] = rng.choice(by_cat[c], len(sel), p=cat_p[c])
        qty = rng.geometric(0.35, total).astype(np.int64)
        price = prices[items].copy()
        price[rng.random(total) < 0.002] = 0.0
        code = codes[items].astype(object)
        title = titles[items].astype(object)
        fee = rng.random(total) < 0.005
        code[fee] = "POST"
        title[fee] = "POSTAGE"
        inv_s = np.char.mod("%d", inv_ids).astype(object)
        cust_line = np.repeat(cust, sizes)
        guest_line = np.repeat(guest, sizes)
        cust_s = np.char.mod("%d", 10000 + cust_line).astype(object)
        cust_s[guest_line] = None
        ts = START + pd.to_timedelta(np.repeat(inv_t, sizes), unit="s")
        frame = pd.DataFrame(
            {
                "InvoiceNo": inv_s,
                "StockCode": code,
                "Description": title,
                "Quantity": np.char.mod("%d", qty).astype(object),
                "InvoiceDate": ts.strftime("%Y-%m-%d %H:%M:%S").astype(object),
                "UnitPrice": np.char.mod("%.2f", price).astype(object),
                "CustomerID": cust_s,
                "Country": countries[cust_line % len(countries)].astype(object),
            }
        )
        # cancellations: 2 % of invoices return a few lines of an earlier invoice of the same customer
        extra = [frame]
        n_cancel = int(0.02 * n_inv)
        if n_cancel:
            picks = rng.choice(np.flatnonzero(~guest), min(n_cancel, int((~guest).sum())), replace=False)
            starts = np.concatenate([[0], cum[:-1]])[picks] if len(picks) else np.array([], dtype=np.int64)
            src = frame.iloc[starts].copy()
            src["InvoiceNo"] = "C" + src["InvoiceNo"].astype(str)
            src["Quantity"] = "-" + src["Quantity"].astype(str)
            later = pd.to_datetime(src["InvoiceDate"]) + pd.to_timedelta(
                rng.integers(3600, 30 * 86400, len(src)), unit="s"
            )
            src["InvoiceDate"] = later.dt.strftime("%Y-%m-%d %H:%M:%S")
            extra.append(src)
        dups = frame.sample(frac=0.01, random_state=int(rng.integers(1 << 31)))
        extra.append(dups)
        chunk = pd.concat(extra, ignore_index=True)
        chunk["row"] = np.arange(row, row + len(chunk), dtype=np.int64)
        write_raw_parquet(chunk, out / f"chunk-{part:04d}", rows_per_file=len(chunk) + 1)
        (out / f"chunk-{part:04d}" / "part-00000.parquet").rename(out / f"part-{part:05d}.parquet")
        (out / f"chunk-{part:04d}").rmdir()
        row += len(chunk)
        written += len(chunk)
        invoice_no += n_inv
        part += 1
    return {"lines": row, "items": n_items, "customers": n_customers, "files": part}
