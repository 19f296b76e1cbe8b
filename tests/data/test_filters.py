"""k-core and rating filters."""

from __future__ import annotations

import pandas as pd
import pytest

from tuijian.data.filters import kcore, min_rating
from tuijian.exceptions import ConfigError, SchemaError


def test_kcore_needs_several_rounds() -> None:
    # 2-core. Round 1 removes item z (1 row) -> user c drops to 1 row; round 2 removes c -> item y drops
    # to 1 row; round 3 removes y's last row (user b) -> b has 2 rows left (x, w), still fine.
    rows = [("a", "x"), ("a", "w"), ("b", "x"), ("b", "w"), ("b", "y"), ("c", "y"), ("c", "z")]
    ev = pd.DataFrame(rows, columns=["user", "item"])
    out = kcore(ev, user_k=2, item_k=2)
    assert sorted(map(tuple, out[["user", "item"]].to_numpy().tolist())) == [
        ("a", "w"),
        ("a", "x"),
        ("b", "w"),
        ("b", "x"),
    ]
    rec = out.attrs["filters"][-1]
    assert rec["rounds"] == 4 and rec["rows_removed"] == 3 and rec["rows_before"] == 7


def test_kcore_counts_rows_and_can_empty_everything() -> None:
    ev = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "x", "y"]})
    assert len(kcore(ev, user_k=2, item_k=2)) == 2  # a-x twice counts as 2 interactions (as RecBole does)
    assert len(kcore(ev, user_k=3, item_k=1)) == 0
    assert len(kcore(ev, user_k=0, item_k=0)) == 3


def test_kcore_errors() -> None:
    with pytest.raises(SchemaError, match="item"):
        kcore(pd.DataFrame({"user": ["a"]}), 1, 1)
    with pytest.raises(ConfigError, match="user_k"):
        kcore(pd.DataFrame({"user": ["a"], "item": ["b"]}), -1, 1)


def test_min_rating_only_tests_rating_rows_and_records() -> None:
    ev = pd.DataFrame(
        {"user": list("abcde"), "item": list("vwxyz"), "kind": ["rating", "rating", "purchase", "rating", "rating"],
         "value": [3.0, 2.5, 1.0, None, 5.0]}
    )  # fmt: skip
    out = min_rating(ev, 3.0)
    assert out["user"].tolist() == ["a", "c", "e"]  # 2.5 and missing fail; the purchase passes
    assert out.attrs["filters"][-1]["rows_removed"] == 2
    assert min_rating(ev, 3.0, kind=None)["user"].tolist() == ["a", "e"]
    chained = kcore(out, 1, 1)
    assert [f["filter"] for f in chained.attrs["filters"]] == ["min_rating", "kcore"]
