"""Row filters on events frames used by the evaluation protocols.

Each filter returns a new frame and records what it removed in
``frame.attrs["filters"]`` (a list of dicts, one per filter applied, with the
rows before and after and the rows removed), so nothing disappears
unaccounted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tuijian.exceptions import ConfigError, SchemaError


def _require(events: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in events.columns]
    if missing:
        raise SchemaError(f"{what} needs column(s) {missing}; the events frame has {list(events.columns)}")


def _record(before: pd.DataFrame, after: pd.DataFrame, entry: dict[str, Any]) -> pd.DataFrame:
    history = list(before.attrs.get("filters", []))
    entry = {
        **entry,
        "rows_before": len(before),
        "rows_after": len(after),
        "rows_removed": len(before) - len(after),
    }
    history.append(entry)
    after = after.copy() if after is before else after
    after.attrs["filters"] = history
    return after


def kcore(
    events: pd.DataFrame, user_k: int = 10, item_k: int = 10, *, max_rounds: int = 1000
) -> pd.DataFrame:
    """Keep the largest sub-log in which every user has >= ``user_k`` rows and every item >= ``item_k``.

    Counts are rows (interactions), as in RecBole's ``user_inter_num_interval`` /
    ``item_inter_num_interval``. Each round removes the rows of every user and
    every item below its threshold, computed on the rows left after the
    previous round, and rounds repeat until nothing changes. The fixed point is
    the unique maximal k-core, whatever the removal order. The number of
    rounds is recorded in ``attrs["filters"][-1]["rounds"]``.
    """
    _require(events, ("user", "item"), "kcore")
    for name, k in (("user_k", user_k), ("item_k", item_k)):
        if not isinstance(k, int | np.integer) or k < 0:
            raise ConfigError(f"{name} must be an integer >= 0, got {k!r}")
    users = pd.factorize(events["user"])[0]
    items = pd.factorize(events["item"])[0]
    keep = np.ones(len(events), dtype=bool)
    rounds = 0
    while True:
        if rounds >= max_rounds:
            raise ConfigError(f"kcore did not converge in max_rounds={max_rounds} rounds; raise max_rounds")
        uc = np.bincount(users[keep], minlength=users.max() + 1 if len(users) else 0)
        ic = np.bincount(items[keep], minlength=items.max() + 1 if len(items) else 0)
        drop = keep & ((uc[users] < user_k) | (ic[items] < item_k))
        rounds += 1
        if not drop.any():
            break
        keep &= ~drop
    out = events[keep]
    return _record(
        events, out, {"filter": "kcore", "user_k": int(user_k), "item_k": int(item_k), "rounds": rounds}
    )


def min_rating(events: pd.DataFrame, threshold: float = 3.0, *, kind: str | None = "rating") -> pd.DataFrame:
    """Keep rows whose ``value`` is >= ``threshold`` (ratings turned into implicit positives).

    Only rows of event kind ``kind`` are tested (other kinds pass through);
    ``kind=None`` tests every row. Rows with a missing value fail the test.
    """
    _require(events, ("value",), "min_rating")
    if not np.isfinite(threshold):
        raise ConfigError(f"threshold must be a finite number, got {threshold!r}")
    value = pd.to_numeric(events["value"], errors="coerce").to_numpy(np.float64)
    tested = np.ones(len(events), dtype=bool)
    if kind is not None and "kind" in events.columns:
        tested = events["kind"].astype(str).to_numpy() == kind
    passes = ~tested | (value >= threshold)
    out = events[passes]
    return _record(events, out, {"filter": "min_rating", "threshold": float(threshold), "kind": kind})
