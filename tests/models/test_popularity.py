"""Popularity baselines: contract, exact counts, recency window and decay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tests.models.conformance import RecommenderContract
from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.popularity import Popularity, RecentPopularity


class TestPopularity(RecommenderContract):
    personalised = False

    def make_model(self) -> Popularity:
        return Popularity()


class TestRecentPopularity(RecommenderContract):
    personalised = False

    def make_model(self) -> RecentPopularity:
        return RecentPopularity(window_days=5.0)


class TestRecentPopularityDecayed(RecommenderContract):
    personalised = False

    def make_model(self) -> RecentPopularity:
        return RecentPopularity(window_days=None, half_life_days=3.0)


def _events(rows: list[tuple[str, str, str, int]]) -> Interactions:
    frame = pd.DataFrame(rows, columns=["user", "item", "kind", "day"])
    frame["ts"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(frame.pop("day"), unit="D")
    return Interactions.from_events(frame)


@pytest.fixture
def small_log() -> Interactions:
    # item a: 3 distinct users long ago (one twice); item b: 2 users recently; item c: 1 user recently, 4 events
    return _events([
        ("u1", "a", "view", 0), ("u1", "a", "view", 1), ("u2", "a", "view", 1), ("u3", "a", "purchase", 2),
        ("u4", "b", "view", 28), ("u5", "b", "view", 29),
        ("u6", "c", "view", 29), ("u6", "c", "view", 29), ("u6", "c", "view", 30), ("u6", "c", "purchase", 30),
    ])  # fmt: skip


def test_popularity_counts_distinct_users(small_log: Interactions) -> None:
    model = Popularity().fit(small_log)
    a, b, c = small_log.items.lookup(["a", "b", "c"])
    assert model.popularity_[[a, b, c]].tolist() == [3.0, 2.0, 1.0]
    ids, scores = model.recommend(small_log.users.index("u4"), k=3)
    assert ids.tolist() == [a, c, -1] and scores[0] == 3.0  # b is seen by u4


def test_popularity_weightings(small_log: Interactions) -> None:
    a, b, c = small_log.items.lookup(["a", "b", "c"])
    events = Popularity(weighting="events").fit(small_log).popularity_
    assert events[[a, b, c]].tolist() == [4.0, 2.0, 4.0]
    weight = Popularity(weighting="weight").fit(small_log).popularity_  # view 1, purchase 8
    assert weight[[a, b, c]].tolist() == [11.0, 2.0, 11.0]
    with pytest.raises(ConfigError, match="weighting"):
        Popularity(weighting="clicks").fit(small_log)


def test_recent_popularity_window(small_log: Interactions) -> None:
    a, b, c = small_log.items.lookup(["a", "b", "c"])
    model = RecentPopularity(window_days=7).fit(small_log)
    assert model.recent_popularity_[[a, b, c]].tolist() == [0.0, 2.0, 1.0]
    ids, _ = model.recommend(-1, k=3, history=sp.csr_matrix((1, 3)))
    assert ids.tolist() == [b, c, a]  # a is inactive in the window, so it comes last
    assert Popularity().fit(small_log).recommend(-1, k=1, history=sp.csr_matrix((1, 3)))[0].tolist() == [a]


def test_recent_popularity_decay(small_log: Interactions) -> None:
    a, b, c = small_log.items.lookup(["a", "b", "c"])
    model = RecentPopularity(window_days=None, half_life_days=1.0).fit(small_log)
    # c: events at days 29, 29, 30, 30 relative to newest day 30 -> 0.5 + 0.5 + 1 + 1
    np.testing.assert_allclose(model.recent_popularity_[c], 3.0)
    np.testing.assert_allclose(model.recent_popularity_[b], 0.25 + 0.5)
    with pytest.raises(ConfigError, match="window_days"):
        RecentPopularity(window_days=0).fit(small_log)
    with pytest.raises(ConfigError, match="half_life_days"):
        RecentPopularity(half_life_days=-1).fit(small_log)
