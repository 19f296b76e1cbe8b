"""Cold-start fallback chain (order and reason codes) and the repeat-then-popular heuristic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, NotFittedError
from tuijian.models.fallback import FallbackChain, RepeatThenPopular

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def shop() -> Interactions:
    """Six items. 0 -> 1 is a frequent sequence; 2 is the most popular, long ago; 3 and 4 are recent."""
    rows = [("u6", "i2", T0), ("u7", "i2", T0)]
    for u in range(6):  # old: everybody buys 2, and 0 then 1
        rows += [(f"u{u}", "i2", T0), (f"u{u}", "i0", T0 + DAY), (f"u{u}", "i1", T0 + 2 * DAY)]
    for u in range(3):  # recent: 3 (three buyers) and 4 (one buyer)
        rows.append((f"u{u}", "i3", T0 + 100 * DAY))
    rows.append(("u5", "i4", T0 + 101 * DAY))
    ev = pd.DataFrame(rows, columns=["user", "item", "ts"])
    return Interactions.from_events(ev, items=Vocabulary([f"i{i}" for i in range(6)]))


def test_chain_order_and_reason_codes() -> None:
    chain = FallbackChain(recent_days=30).fit(shop())
    ids, reasons = chain.recommend([np.array([0]), np.zeros(0, np.int64)], k=5)
    # with a session: what follows item 0 first, then what co-occurs with it (by cosine); item 5 nobody bought
    assert ids[0].tolist() == [1, 2, 3, 4, -1]
    assert list(reasons[0]) == ["session"] * 4 + [""]
    # without a session: trending first, then popular, never an item twice
    assert ids[1, :2].tolist() == [3, 4] and list(reasons[1, :2]) == ["trending", "trending"]
    assert set(reasons[1, 2:]) <= {"popular", ""} and ids[1, 2] == 2
    real = ids[1][ids[1] >= 0]
    assert len(set(real.tolist())) == len(real)


def test_exclusions_and_padding() -> None:
    chain = FallbackChain(steps=("popular",)).fit(shop())
    ids, reasons = chain.recommend(
        [np.zeros(0, np.int64)], k=6, exclude=sp.csr_matrix(([1.0], ([0], [2])), shape=(1, 6))
    )
    assert 2 not in ids[0].tolist()
    assert ids[0, -1] == -1 and reasons[0, -1] == ""  # item 5 was never bought, item 2 excluded


def test_content_step_uses_item_vectors() -> None:
    content = sp.csr_matrix(np.array([[1, 0], [0, 1], [0, 1], [1, 0], [0, 1], [1, 0.0]]))
    chain = FallbackChain(steps=("content", "popular")).fit(shop(), content=content)
    ids, reasons = chain.recommend([np.array([0])], k=3)
    assert set(ids[0, :2].tolist()) == {3, 5} and list(reasons[0, :2]) == ["content", "content"]
    assert reasons[0, 2] == "popular"


def test_scores_follow_chain_order() -> None:
    chain = FallbackChain(recent_days=30).fit(shop())
    s = chain.scores([np.zeros(0, np.int64)])[0]
    assert s[3] > s[4] > s[2] > s[0] and np.isneginf(s[5])


def test_chain_errors() -> None:
    with pytest.raises(NotFittedError):
        FallbackChain().recommend([np.zeros(0, np.int64)], k=3)
    with pytest.raises(ConfigError, match="steps"):
        FallbackChain(steps=("magic",)).fit(shop())
    with pytest.raises(ConfigError, match="content"):
        FallbackChain().fit(shop(), content=sp.csr_matrix((2, 3)))


def test_repeat_then_popular() -> None:
    inter = shop()
    model = RepeatThenPopular().fit(inter)
    u0 = inter.users.index("u0")
    ids, _ = model.recommend(u0, k=5, exclude_seen=False)
    # u0's own items first (all bought once: most recent first), then what u0 never bought, by popularity
    assert ids.tolist()[:4] == [3, 1, 0, 2] and ids[4] == 4  # 4 (1 buyer) is the only item u0 lacks
    ids, _ = model.recommend(u0, k=2)  # repeats excluded: popularity only
    assert ids.tolist() == [4, 5]
    with pytest.raises(ConfigError, match="recent_days"):
        RepeatThenPopular(recent_days=0).fit(inter)


def test_fill_for_one_request_equals_recommend() -> None:
    """``fill`` (one request, with an item mask) picks what ``recommend`` picks when the mask is an exclusion."""
    chain = FallbackChain(recent_days=30).fit(shop())
    allowed = np.array([True, True, False, True, True, True])
    for seq in (np.array([0]), np.zeros(0, np.int64), np.array([3, 2])):
        for n in (1, 3, 6):
            got = chain.fill(seq, n, np.array([4]), allowed)
            block = sp.csr_matrix(~allowed[None, :] | (np.arange(6) == 4)[None, :])
            ids, reasons = chain.recommend([seq], n, exclude=block)
            real = ids[0] >= 0
            assert [i for i, _, _ in got] == ids[0][real].tolist()
            assert [r for _, _, r in got] == reasons[0][real].tolist()
            assert all(chain.step_scores(r, [seq])[0][i] == s for i, s, r in got)


def test_popular_step_counts_distinct_buyers_exactly() -> None:
    chain = FallbackChain(steps=("popular",)).fit(shop())
    assert chain.popular_.tolist() == [6.0, 6.0, 8.0, 3.0, 1.0, 0.0]
    assert chain.session_matrix_ is None  # a popularity-only chain learns no transitions
