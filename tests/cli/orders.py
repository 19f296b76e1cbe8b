"""A generated shop order export with its own column names, for the own-data end-to-end test.

``order_time, shopper, sku, qty`` (plus ``unit_price``): shoppers belong to taste groups, each group
buys mostly from its own co-purchased sku groups, products are bought together in baskets and
repeat over months. A few malformed rows (no shopper, a bad time, a non-numeric quantity) are
appended on purpose. ``catalog.csv`` has ``sku, name, department, price``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: Malformed rows written after the good ones, by the reason the importer gives.
MALFORMED = {"missing user": 2, "bad timestamp": 2, "non-numeric value": 1}


def write_orders(
    folder: Path,
    *,
    n_shoppers: int = 300,
    n_skus: int = 100,
    n_groups: int = 10,
    days: int = 180,
    seed: int = 7,
) -> tuple[Path, Path]:
    """Write ``orders.csv`` and ``catalog.csv`` into ``folder``; returns their paths."""
    rng = np.random.default_rng(seed)
    skus = np.array([f"SKU-{i:04d}" for i in range(n_skus)])
    sku_group = np.arange(n_skus) % n_groups
    start = pd.Timestamp("2024-01-01 08:00")
    rows: list[tuple[str, str, str, int, float]] = []
    price = np.round(rng.uniform(2, 60, n_skus), 2)
    for s in range(n_shoppers):
        shopper = f"C{s:05d}"
        group = s % n_groups
        own = np.flatnonzero(sku_group == group)
        near = np.flatnonzero(sku_group == (group + 1) % n_groups)
        n_orders = int(rng.integers(3, 9))
        t = np.sort(rng.uniform(0, days, n_orders))
        for day in t:
            when = start + pd.Timedelta(days=float(day))
            size = int(rng.integers(1, 4))
            pool = own if rng.random() < 0.8 else near
            basket = rng.choice(pool, size=min(size, len(pool)), replace=False)
            if rng.random() < 0.15:  # now and then something popular from anywhere
                basket = np.append(basket, int(rng.integers(0, 5)))
            for i in basket:
                qty = int(rng.integers(1, 4))
                rows.append((when.strftime("%Y-%m-%d %H:%M:%S"), shopper, str(skus[i]), qty, float(price[i])))
    orders = pd.DataFrame(rows, columns=["order_time", "shopper", "sku", "qty", "unit_price"])
    bad = pd.DataFrame(
        [
            ("2024-03-01 10:00:00", "", "SKU-0001", 1, 1.0),
            ("2024-03-02 10:00:00", "", "SKU-0002", 1, 1.0),
            ("not a date", "C00001", "SKU-0003", 1, 1.0),
            ("2024-13-45 99:00:00", "C00002", "SKU-0004", 1, 1.0),
            ("2024-03-03 10:00:00", "C00003", "SKU-0005", "two", 1.0),
        ],
        columns=orders.columns,
    )
    orders_path = folder / "orders.csv"
    pd.concat([orders, bad], ignore_index=True).to_csv(orders_path, index=False)
    catalog = pd.DataFrame(
        {
            "sku": skus,
            "name": [f"Product {i} of line {g}" for i, g in enumerate(sku_group)],
            "department": [f"Department {g}" for g in sku_group],
            "price": price,
        }
    )
    catalog_path = folder / "catalog.csv"
    catalog.to_csv(catalog_path, index=False)
    return orders_path, catalog_path
