"""RP3beta: the recommender contract and a hand-computed walk on a tiny graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.models.conformance import RecommenderContract
from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models import registry
from tuijian.models.rp3beta import RP3beta


class TestRP3beta(RecommenderContract):
    def make_model(self) -> RP3beta:
        return RP3beta(beta=0.5, n_neighbors=10)


def _tiny() -> Interactions:
    pairs = [("a", "x"), ("a", "y"), ("b", "y"), ("b", "z"), ("c", "x"), ("c", "y"), ("c", "z")]
    ts = pd.Timestamp("2024-01-01", tz="UTC")
    events = pd.DataFrame(
        [(u, i, "purchase", 1.0, ts + pd.Timedelta(hours=k)) for k, (u, i) in enumerate(pairs)],
        columns=["user", "item", "kind", "value", "ts"],
    )
    return Interactions.from_events(events)


def test_weights_match_hand_computed_walk() -> None:
    inter = _tiny()
    x = inter.matrix.toarray()
    x[x > 0] = 1.0
    p_ui = x / x.sum(axis=1, keepdims=True)
    p_iu = (x / x.sum(axis=0, keepdims=True)).T
    pop = x.sum(axis=0)
    expected = (p_iu @ p_ui) / pop[None, :] ** 0.7
    np.fill_diagonal(expected, 0.0)
    model = RP3beta(beta=0.7, n_neighbors=10).fit(inter)
    np.testing.assert_allclose(model.weights_.toarray(), expected, rtol=1e-5)


def test_pruning_keeps_largest_per_row() -> None:
    model = RP3beta(n_neighbors=1).fit(_tiny())
    assert np.all(np.diff(model.weights_.indptr) <= 1)


def test_registered_and_validates() -> None:
    assert isinstance(registry.create("rp3beta"), RP3beta)
    for bad in ({"alpha": 0.0}, {"beta": -1.0}, {"n_neighbors": 0}):
        with pytest.raises(ConfigError):
            RP3beta(**bad).fit(_tiny())
