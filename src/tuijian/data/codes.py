"""Columns as codes into their distinct values: what lets the local cleaner hold millions of lines.

A column becomes ``(codes, uniques)``: int32 per line (-1 = missing) into its distinct values. Codes are
one-to-one with the values, so lines compare equal exactly when their codes do, and a text rule runs once per
distinct value instead of once per line (:func:`tuijian.data.cleaning.clean_online_retail`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def factor(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column as ``(codes, uniques)``: ``uniques`` its distinct values (objects), ``codes`` int32 per line,
    -1 where missing; one-to-one with the values, so lines compare equal exactly when their codes do. A
    columnar read's ``category`` column gives its codes as they are."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int32), np.asarray(s.cat.categories, dtype=object)
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    return codes.astype(np.int32), np.asarray(uniques, dtype=object)


def recode(codes: np.ndarray, uniques: np.ndarray, func: Any) -> tuple[np.ndarray, np.ndarray]:
    """A string transform of a factorised column, applied to its distinct values: the transformed column's
    own ``(codes, uniques)`` (values that become equal share a code; '' becomes missing, -1)."""
    done = func(pd.Series(uniques, dtype=object).astype(str)).to_numpy(dtype=object)
    done[done == ""] = None
    new_codes, new_uniques = pd.factorize(pd.Series(done, dtype=object), use_na_sentinel=True)
    out = np.full(len(codes), -1, dtype=np.int32)
    ok = codes >= 0
    out[ok] = new_codes[codes[ok]]
    return out, np.asarray(new_uniques, dtype=object)


def on_codes(codes: np.ndarray, per_unique: np.ndarray, missing: Any) -> np.ndarray:
    """Per line, its distinct value's entry of ``per_unique`` (``missing`` where the line's code is -1)."""
    out = np.take(per_unique, np.maximum(codes, 0))
    if (codes < 0).any():
        out = out.copy() if out.base is not None else out
        out[codes < 0] = missing
    return out


def most_common_codes(keys: np.ndarray, values: np.ndarray) -> pd.Series:
    """:func:`tuijian.data.cleaning._most_common` over codes (-1 = missing): per key code, its most frequent value code."""
    ok = (keys >= 0) & (values >= 0)
    pairs = pd.DataFrame({"k": keys[ok], "v": values[ok]})
    if pairs.empty:
        return pd.Series(dtype=np.int64)
    counts = pairs.groupby(["k", "v"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates("k")
    return counts.set_index("k")["v"]


def duplicated_lines(columns: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Per line, whether an earlier line has the same value in every column (``DataFrame.duplicated``,
    ``keep="first"``; missing equals missing), from the columns' codes: the codes packed into as few int64
    words as their cardinalities allow, the words sorted stably, each line compared with the one before."""
    n = len(columns[0][0]) if columns else 0
    words: list[np.ndarray] = []
    word, room = np.zeros(n, dtype=np.int64), 1 << 62
    for codes, uniques in columns:
        base = len(uniques) + 1  # codes -1..len-1 as 0..len
        if base > room:
            words.append(word)
            word, room = np.zeros(n, dtype=np.int64), 1 << 62
        word *= base
        word += codes.astype(np.int64) + 1
        room //= base
    words.append(word)
    order = np.lexsort(words[::-1])  # stable: equal lines keep their line order
    same = np.ones(max(n - 1, 0), dtype=bool)
    for w in words:
        ws = w[order]
        same &= ws[1:] == ws[:-1]
        del ws
    dup = np.zeros(n, dtype=bool)
    dup[order[1:][same]] = True
    return dup
