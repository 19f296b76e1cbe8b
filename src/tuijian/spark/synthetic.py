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
    import pyarrow.parquet as pq

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
        zero = rng.random(total) < 0.002
        fee = rng.random(total) < 0.005
        cust_line = np.repeat(cust, sizes)
        guest_line = np.repeat(guest, sizes)
        inv_line = np.repeat(np.arange(n_inv), sizes)
        # cancellations: 2 % of invoices return the first line of an earlier invoice of the same customer,
        # 1 h to 30 days later
        n_cancel = int(0.02 * n_inv)
        starts = np.array([], dtype=np.int64)
        if n_cancel:
            picks = rng.choice(np.flatnonzero(~guest), min(n_cancel, int((~guest).sum())), replace=False)
            if len(picks):
                starts = np.concatenate([[0], cum[:-1]])[picks]
        delay = rng.integers(3600, 30 * 86400, len(starts)) if n_cancel else np.array([], dtype=np.int64)
        # exact duplicates: 1 % of the chunk's lines (pandas' sampling, as ``frame.sample`` drew them)
        dups = pd.RangeIndex(total).to_series().sample(frac=0.01, random_state=int(rng.integers(1 << 31)))
        src = np.concatenate([np.arange(total), starts, dups.to_numpy()])
        cancel = np.zeros(len(src), dtype=bool)
        cancel[total : total + len(starts)] = True
        chunk = _chunk_table(
            src, cancel, inv_ids=inv_ids, inv_t=inv_t[inv_line], delay=delay, item=items, fee=fee, qty=qty,
            zero=zero, cust=cust_line, guest=guest_line, codes=codes, titles=titles, prices=prices,
            countries=countries, row0=row,
        )  # fmt: skip
        pq.write_table(chunk, out / f"part-{part:05d}.parquet", row_group_size=500_000)
        row += chunk.num_rows
        written += chunk.num_rows
        invoice_no += n_inv
        part += 1
    return {"lines": row, "items": n_items, "customers": n_customers, "files": part}


def _chunk_table(src: np.ndarray, cancel: np.ndarray, *, inv_ids: np.ndarray, inv_t: np.ndarray,
                 delay: np.ndarray, item: np.ndarray, fee: np.ndarray, qty: np.ndarray, zero: np.ndarray,
                 cust: np.ndarray, guest: np.ndarray, codes: np.ndarray, titles: np.ndarray,
                 prices: np.ndarray, countries: np.ndarray, row0: int) -> Any:  # fmt: skip
    """One chunk's raw lines as an Arrow table (the eight text columns + ``row``): line ``j`` copies
    generated line ``src[j]``; cancellation lines negate the quantity, prefix the invoice with ``C`` and
    come ``delay`` seconds later. Text is formatted once per distinct value (items, prices, invoices) and
    gathered, so a chunk of millions of lines costs seconds, not minutes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from tuijian.data.cleaning import RAW_COLUMNS
    from tuijian.spark.logs import ROW

    def text(values: np.ndarray) -> Any:
        return pc.cast(pa.array(values), pa.string())

    n_items = len(codes)
    item_ix = np.where(fee[src], n_items, item[src])
    code = pa.array([*codes.tolist(), "POST"], pa.string()).take(pa.array(item_ix))
    title = pa.array([*titles.tolist(), "POSTAGE"], pa.string()).take(pa.array(item_ix))
    price_text = pa.array([*(f"{p:.2f}" for p in prices), "0.00"], pa.string())
    price = price_text.take(pa.array(np.where(zero[src], n_items, item[src])))
    invoice = text(inv_ids[src])
    quantity = text(qty[src])
    seconds = inv_t[src].copy()
    seconds[cancel] += delay
    stamp = pa.array((START + pd.to_timedelta(seconds, unit="s")).to_numpy(), pa.timestamp("s"))
    date = pc.strftime(stamp, format="%Y-%m-%d %H:%M:%S")
    if cancel.any():
        mask = pa.array(cancel)
        invoice = pc.if_else(mask, pc.binary_join_element_wise("C", invoice, ""), invoice)
        quantity = pc.if_else(mask, pc.binary_join_element_wise("-", quantity, ""), quantity)
    customer = pc.if_else(pa.array(guest[src]), pa.scalar(None, pa.string()), text(10000 + cust[src]))
    country = pa.array(countries.tolist(), pa.string()).take(pa.array(cust[src] % len(countries)))
    columns = dict(
        zip(RAW_COLUMNS, (invoice, code, title, quantity, date, price, customer, country), strict=True)
    )
    columns[ROW] = pa.array(np.arange(row0, row0 + len(src), dtype=np.int64))
    return pa.table(columns)
