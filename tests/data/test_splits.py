"""Splits: leave-last-out, RecBole's random ratio split and the global time split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuijian.data.interactions import Interactions
from tuijian.data.splits import (
    combine,
    global_time_split,
    leave_last_out,
    random_ratio_split,
    recbole_split_counts,
)
from tuijian.exceptions import ConfigError


def _events(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["user", "item", "ts"])
    df["kind"] = "purchase"
    return df


def _pairs(inter: Interactions) -> set[tuple[str, str]]:
    log = inter.log
    return set(zip(inter.users.to_ids(log["u"]), inter.items.to_ids(log["i"]), strict=True))


@pytest.fixture
def small() -> Interactions:
    # user a: a1@1 a2@5 a3@3 a4@9 (time order a1, a3, a2, a4); user b: 2 events; user c: 3 events
    return Interactions.from_events(
        _events([("a", "i1", 1), ("a", "i2", 5), ("b", "i1", 2), ("a", "i3", 3), ("c", "i2", 1),
                 ("a", "i4", 9), ("b", "i3", 4), ("c", "i3", 2), ("c", "i4", 3)])
    )  # fmt: skip


def test_leave_last_out_uses_time_order(small: Interactions) -> None:
    s = leave_last_out(small)
    assert _pairs(s.test) == {("a", "i4"), ("c", "i4")}
    assert _pairs(s.valid) == {("a", "i2"), ("c", "i3")}
    # b has only 2 events (< n_valid + n_test + 1): everything stays in train
    assert _pairs(s.train) == {("a", "i1"), ("a", "i3"), ("b", "i1"), ("b", "i3"), ("c", "i2")}
    assert s.info["users_too_short"] == 1
    for part in (s.train, s.valid, s.test):
        assert part.users is small.users and part.items is small.items
        assert part.matrix.shape == small.matrix.shape


def test_leave_last_out_ties_keep_log_order_and_n_test() -> None:
    inter = Interactions.from_events(_events([("u", "x", 7), ("u", "y", 7), ("u", "z", 7), ("u", "w", 7)]))
    s = leave_last_out(inter, n_valid=0, n_test=2)
    assert _pairs(s.test) == {("u", "z"), ("u", "w")}
    assert s.valid.nnz == 0 and _pairs(s.train) == {("u", "x"), ("u", "y")}


def test_leave_last_out_rejects_bad_sizes(small: Interactions) -> None:
    with pytest.raises(ConfigError, match="n_test"):
        leave_last_out(small, n_test=0)
    with pytest.raises(ConfigError, match="n_valid"):
        leave_last_out(small, n_valid=-1)


@pytest.mark.parametrize(
    ("tot", "expected"),
    [
        (10, [8, 1, 1]),
        (19, [17, 1, 1]),  # int(1.9) = 1 for valid and test
        (23, [19, 2, 2]),
        (5, [3, 1, 1]),  # 0.5 rows each: bumped to 1 from train
        (2, [1, 0, 1]),  # test is bumped first, then train has only 1 left: stop
        (1, [1, 0, 0]),
    ],
)
def test_recbole_split_counts_by_hand(tot: int, expected: list[int]) -> None:
    assert recbole_split_counts(np.array([tot]), (0.8, 0.1, 0.1)).tolist() == [expected]


def test_random_ratio_split_sizes_seed_and_partition() -> None:
    rng = np.random.default_rng(5)
    rows = [
        (f"u{u}", f"i{i}", int(t))
        for u, n in enumerate([23, 10, 5, 2, 40])
        for t, i in enumerate(rng.permutation(60)[:n])
    ]
    inter = Interactions.from_events(_events(rows))
    s = random_ratio_split(inter, (0.8, 0.1, 0.1), seed=7)
    per_user = [np.diff(p.matrix.indptr).tolist() for p in (s.train, s.valid, s.test)]
    assert per_user == [[19, 8, 3, 1, 32], [2, 1, 1, 0, 4], [2, 1, 1, 1, 4]]
    assert s.train.nnz + s.valid.nnz + s.test.nnz == inter.nnz
    assert (s.train.matrix.multiply(s.valid.matrix)).nnz == 0 and (
        s.train.matrix.multiply(s.test.matrix)
    ).nnz == 0
    again = random_ratio_split(inter, (0.8, 0.1, 0.1), seed=7)
    assert _pairs(again.test) == _pairs(s.test)
    other = random_ratio_split(inter, (0.8, 0.1, 0.1), seed=8)
    assert _pairs(other.test) != _pairs(s.test)


def test_random_ratio_split_rejects_bad_ratios(small: Interactions) -> None:
    with pytest.raises(ConfigError, match="three entries"):
        random_ratio_split(small, (0.8, 0.2))
    with pytest.raises(ConfigError, match="ratios"):
        random_ratio_split(small, (0.0, 0.5, 0.5))


def test_global_time_split_boundaries_and_formats() -> None:
    day = 86400
    base = 1_700_000_000
    inter = Interactions.from_events(
        _events(
            [
                ("a", "i1", base),
                ("a", "i2", base + day),
                ("b", "i1", base + 2 * day),
                ("b", "i3", base + 3 * day),
            ]
        )
    )
    s = global_time_split(inter, base + day, base + 2 * day)
    assert _pairs(s.train) == {("a", "i1")}
    assert _pairs(s.valid) == {("a", "i2")}  # valid_start is inclusive
    assert _pairs(s.test) == {("b", "i1"), ("b", "i3")}  # test_start is inclusive
    iso = global_time_split(
        inter, pd.Timestamp(base + day, unit="s").isoformat(), pd.Timestamp(base + 2 * day, unit="s", tz="UTC"),
        test_end=base + 3 * day,
    )  # fmt: skip
    assert _pairs(iso.test) == {("b", "i1")} and iso.info["after_test_end"] == 1
    with pytest.raises(ConfigError, match="valid_start must be <= test_start"):
        global_time_split(inter, base + 2 * day, base)
    with pytest.raises(ConfigError, match="test_start"):
        global_time_split(inter, base, "not a date")


def test_combine_is_the_union(small: Interactions) -> None:
    s = leave_last_out(small)
    both = s.train_valid()
    assert _pairs(both) == _pairs(s.train) | _pairs(s.valid)
    assert _pairs(combine(s.train, s.valid, s.test)) == _pairs(small)
    other = Interactions.from_events(_events([("z", "q", 1)]))
    with pytest.raises(ConfigError, match="share"):
        combine(s.train, other)
