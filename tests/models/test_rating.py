"""Rating prediction with the classic neighbourhood formulas: hand-computed cases, a brute-force
reference implementation, and RMSE on the official MovieLens-100K u1 fold."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from tuijian.exceptions import ConfigError, DataError, NotFittedError, SchemaError
from tuijian.models.rating import ItemKNNRating, UserKNNRating, mae, rmse

TINY = pd.DataFrame(
    [("u1", "i1", 5), ("u1", "i2", 3), ("u1", "i3", 4), ("u2", "i1", 4), ("u2", "i2", 2),
     ("u3", "i1", 1), ("u3", "i2", 5), ("u3", "i3", 2), ("u4", "i2", 4), ("u4", "i3", 5)],
    columns=["user", "item", "value"],
)  # fmt: skip


def test_item_based_by_hand() -> None:
    # item means: i1 10/3, i2 7/2, i3 11/3. Neighbours of i3 rated by u2: i1 and i2.
    # pearson(i3, i1) over u1, u3: (+1, -1) vs (+2, -2) -> 1;  pearson(i3, i2) over u1, u3, u4 -> < 0, dropped.
    # r(u2, i3) = 11/3 + 1 * (4 - 10/3) / 1 = 13/3
    model = ItemKNNRating(shrinkage=0.0, min_support=2).fit(TINY)
    assert model.similarity_[2, 0] == pytest.approx(1.0)
    assert model.similarity_[2, 1] < 0
    assert model.predict(["u2"], ["i3"])[0] == pytest.approx(13 / 3)
    # shrinkage scales the single neighbour's weight, which cancels in the weighted mean
    shrunk = ItemKNNRating(shrinkage=1.0, min_support=2).fit(TINY)
    assert shrunk.similarity_[2, 0] == pytest.approx(2 / 3)
    assert shrunk.predict(["u2"], ["i3"])[0] == pytest.approx(13 / 3)


def test_user_based_by_hand_and_clipping() -> None:
    # user means: u1 4, u2 3, u3 8/3, u4 9/2. Users who rated i1: u1 (pearson 1), u2 (1 co-rated item <
    # min_support), u3 (pearson -1, dropped).  r(u4, i1) = 9/2 + (5 - 4) = 5.5 -> clipped to the max rating 5
    model = UserKNNRating(shrinkage=0.0, min_support=2).fit(TINY)
    u = model.users_.lookup(["u4", "u1", "u2", "u3"])
    assert model.similarity_[u[0], u[1]] == pytest.approx(1.0)
    assert model.similarity_[u[0], u[2]] == 0.0
    assert model.similarity_[u[0], u[3]] == pytest.approx(-1.0)
    assert model.predict(["u4"], ["i1"])[0] == 5.0
    wide = UserKNNRating(shrinkage=0.0, min_support=2, rating_range=(0.0, 10.0)).fit(TINY)
    assert wide.predict(["u4"], ["i1"])[0] == pytest.approx(5.5)


def test_fallback_to_baseline() -> None:
    model = ItemKNNRating(shrinkage=0.0, min_support=3).fit(TINY)  # i3 and i1 share only 2 raters now
    i = model.items_.lookup(["i3"])[0]
    u = model.users_.lookup(["u2"])[0]
    expected = model.global_mean_ + model.user_bias_[u] + model.item_bias_[i]
    assert model.predict(["u2"], ["i3"])[0] == pytest.approx(expected)
    # unknown user / item: global mean plus the bias that is known
    pred = model.predict(["nobody", "u2"], ["i3", "new-item"])
    assert pred[0] == pytest.approx(model.global_mean_ + model.item_bias_[i])
    assert pred[1] == pytest.approx(model.global_mean_ + model.user_bias_[u])


def _reference(ratings: pd.DataFrame, item_based: bool, k: int, shrinkage: float, min_support: int) -> dict:
    """Brute-force classic formula with Python loops, independent of the vectorised code."""
    r = {(row.user, row.item): float(row.value) for row in ratings.itertuples()}
    ent = (lambda key: key[1]) if item_based else (lambda key: key[0])
    obs = (lambda key: key[0]) if item_based else (lambda key: key[1])
    by_ent: dict[str, dict[str, float]] = {}
    for key, v in r.items():
        by_ent.setdefault(ent(key), {})[obs(key)] = v
    mean = {e: sum(d.values()) / len(d) for e, d in by_ent.items()}

    def sim(a: str, b: str) -> float:
        common = sorted(set(by_ent[a]) & set(by_ent[b]))
        n = len(common)
        if n < max(min_support, 1):
            return 0.0
        xa = [by_ent[a][o] for o in common]
        xb = [by_ent[b][o] for o in common]
        ma, mb = sum(xa) / n, sum(xb) / n
        num = sum((p - ma) * (q - mb) for p, q in zip(xa, xb, strict=True))
        den = math.sqrt(sum((p - ma) ** 2 for p in xa) * sum((q - mb) ** 2 for q in xb))
        return 0.0 if den <= 1e-12 else num / den * n / (n + shrinkage)

    def predict(target: str, query: str) -> float | None:
        cands = [(sim(target, e), e) for e, d in by_ent.items() if query in d and e != target]
        cands = sorted([c for c in cands if c[0] > 0], reverse=True)[:k]
        if not cands:
            return None
        num = sum(s * (by_ent[e][query] - mean[e]) for s, e in cands)
        return mean[target] + num / sum(abs(s) for s, _ in cands)

    return {"predict": predict}


def test_matches_brute_force_reference() -> None:
    # continuous ratings and min_support=3 avoid exact ties (2 co-rated points always give pearson +-1)
    rng = np.random.default_rng(7)
    pairs = [(f"u{u}", f"i{i}") for u, i in itertools.product(range(25), range(15)) if rng.random() < 0.45]
    ratings = pd.DataFrame(pairs, columns=["user", "item"]).assign(
        value=rng.uniform(1, 5, len(pairs))
    )  # no ties
    queries = [(f"u{u}", f"i{i}") for u, i in itertools.product(range(25), range(15))]
    qu, qi = zip(*queries, strict=True)
    for cls, item_based in ((ItemKNNRating, True), (UserKNNRating, False)):
        model = cls(n_neighbors=3, shrinkage=4.0, min_support=3, rating_range=(-100.0, 100.0)).fit(ratings)
        got = model.predict(list(qu), list(qi))
        ref = _reference(ratings, item_based, k=3, shrinkage=4.0, min_support=3)["predict"]
        n_checked = 0
        for (user, item), value in zip(queries, got, strict=True):
            expected = ref(item, user) if item_based else ref(user, item)
            if expected is not None:  # otherwise the baseline fallback, tested above
                assert value == pytest.approx(expected, abs=1e-9), (cls.__name__, user, item)
                n_checked += 1
        assert n_checked > 200


def test_errors() -> None:
    with pytest.raises(NotFittedError):
        ItemKNNRating().predict(["u1"], ["i1"])
    with pytest.raises(SchemaError, match="value"):
        ItemKNNRating().fit(TINY.drop(columns="value"))
    bad = pd.concat([TINY, pd.DataFrame([("u9", "i1", "five"), ("u9", "i2", None)], columns=TINY.columns)])
    with pytest.raises(DataError, match="2 of 12"):
        ItemKNNRating().fit(bad)
    with pytest.raises(ConfigError, match="similarity"):
        UserKNNRating(similarity="jaccard").fit(TINY)
    with pytest.raises(ConfigError, match="n_neighbors"):
        UserKNNRating(n_neighbors=0).fit(TINY)
    doubled = pd.concat([TINY, TINY.iloc[[0]].assign(value=3)])
    model = ItemKNNRating().fit(doubled)
    assert model.n_duplicates_ == 1


def test_metrics() -> None:
    assert rmse(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0])) == pytest.approx(math.sqrt(5 / 3))
    assert mae(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0])) == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        rmse(np.array([1.0]), np.array([1.0, 2.0]))


def test_item_based_rmse_on_ml100k_u1(ml100k_u1) -> None:
    base, test = ml100k_u1
    pred = ItemKNNRating().fit(base).predict(test["user"], test["item"])
    assert rmse(test["value"], pred) <= 0.96
    assert mae(test["value"], pred) <= 0.76
    assert pred.min() >= 1.0 and pred.max() <= 5.0


def test_user_based_rmse_on_ml100k_u1(ml100k_u1) -> None:
    base, test = ml100k_u1
    pred = UserKNNRating().fit(base).predict(test["user"], test["item"])
    assert rmse(test["value"], pred) <= 0.97
