"""Interactions (weights, time decay, aggregation, sequences) and Vocabulary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tuijian.data.interactions import BINARY, Interactions, WeightConfig
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, SchemaError, UnknownIdError

DAY = 86400


def _ev(rows: list[tuple[str, str, str, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user", "item", "kind", "value", "ts"])


def _w(inter: Interactions, user: str, item: str) -> float:
    return float(inter.matrix[inter.users.index(user), inter.items.index(item)])


EVENTS = _ev([
    ("u1", "a", "view", 1, 0), ("u1", "a", "purchase", 3, 10 * DAY), ("u1", "b", "add_to_cart", 1, 5 * DAY),
    ("u2", "b", "click", 1, 2 * DAY), ("u2", "b", "click", 1, 4 * DAY), ("u2", "c", "view", 1, 20 * DAY),
])  # fmt: skip


def test_default_kind_weights_summed() -> None:
    inter = Interactions.from_events(EVENTS, WeightConfig())
    assert _w(inter, "u1", "a") == 1 + 8  # view + purchase
    assert _w(inter, "u1", "b") == 4  # cart
    assert _w(inter, "u2", "b") == 2 + 2  # two clicks
    assert inter.matrix.shape == (2, 3) and inter.nnz == 4 and len(inter.log) == 6


def test_max_and_binary_aggregation() -> None:
    assert _w(Interactions.from_events(EVENTS, WeightConfig(aggregation="max")), "u1", "a") == 8
    binary = Interactions.from_events(EVENTS, BINARY)
    assert set(binary.matrix.data.tolist()) == {1.0}


def test_use_value_is_log1p_damped() -> None:
    inter = Interactions.from_events(EVENTS, WeightConfig(use_value=True))
    assert _w(inter, "u1", "a") == pytest.approx(1 * math.log1p(1) + 8 * math.log1p(3), rel=1e-6)


def test_time_decay_halves_per_half_life() -> None:
    # newest event is at day 20; half-life 10 days
    inter = Interactions.from_events(EVENTS, WeightConfig(half_life_days=10.0))
    assert _w(inter, "u2", "c") == pytest.approx(1.0)  # age 0
    assert _w(inter, "u1", "a") == pytest.approx(1 * 0.5**2 + 8 * 0.5**1, rel=1e-6)  # ages 20 and 10 days
    assert _w(inter, "u2", "b") == pytest.approx(2 * 0.5**1.8 + 2 * 0.5**1.6, rel=1e-6)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="aggregation"):
        WeightConfig(aggregation="mean")
    with pytest.raises(ConfigError, match="half_life_days"):
        WeightConfig(half_life_days=0)
    with pytest.raises(ConfigError, match="no weight configured"):
        Interactions.from_events(EVENTS, WeightConfig(kind_weights={"view": 1.0}))
    with pytest.raises(SchemaError, match="item"):
        Interactions.from_events(EVENTS.drop(columns="item"))


def test_sequences_are_in_time_order_and_popularity_counts_users() -> None:
    inter = Interactions.from_events(EVENTS, BINARY)
    seqs = inter.sequences()
    assert inter.items.to_ids(seqs[inter.users.index("u1")]).tolist() == ["a", "b", "a"]
    assert inter.items.to_ids(seqs[inter.users.index("u2")]).tolist() == ["b", "b", "c"]
    pop = inter.item_popularity()
    assert pop[inter.items.index("b")] == 2 and pop[inter.items.index("c")] == 1
    assert inter.last_timestamp() == 20 * DAY


def test_datetime_timestamps_and_shared_vocabularies() -> None:
    ev = EVENTS.assign(ts=pd.to_datetime(EVENTS["ts"], unit="s", utc=True))
    users = Vocabulary(["u0", "u1", "u2"])
    items = Vocabulary(["c", "b", "a", "z"])
    inter = Interactions.from_events(ev, BINARY, users=users, items=items)
    assert inter.matrix.shape == (3, 4) and inter.log["ts"].max() == 20 * DAY
    assert inter.matrix[0].nnz == 0
    sub = inter.subset(inter.log["kind"].to_numpy() == "view")
    assert sub.nnz == 2 and sub.users is users
    with pytest.raises(UnknownIdError):
        Interactions.from_events(ev, BINARY, users=Vocabulary(["u1"]))


def test_vocabulary_policies_and_extend() -> None:
    v = Vocabulary.from_values(["b", "a", "b", "c"])
    assert v.ids.tolist() == ["b", "a", "c"] and len(v) == 3 and "a" in v
    assert v.lookup(["c", "x", "b"], missing="negative").tolist() == [2, -1, 0]
    assert v.lookup(["c", "x", "b"], missing="drop").tolist() == [2, 0]
    with pytest.raises(UnknownIdError, match="1 unknown"):
        v.lookup(["x"])
    w = v.extend(["a", "d"])
    assert w.ids.tolist() == ["b", "a", "c", "d"] and v.extend(["a"]) is v
    assert v.to_ids(np.array([[0, 2]])).tolist() == [["b", "c"]]
    with pytest.raises(ValueError, match="unique"):
        Vocabulary(["a", "a"])
