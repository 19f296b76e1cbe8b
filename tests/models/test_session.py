"""SessionTransitions: the contract, hand-computed scores, anonymous sessions, and real data (Beauty)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.models.conformance import RecommenderContract
from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError
from tuijian.models.session import SessionTransitions


class TestSessionTransitions(RecommenderContract):
    def make_model(self) -> SessionTransitions:
        return SessionTransitions()


def _sessions(seqs: list[list[int]], n_items: int, gap_after: dict[int, int] | None = None) -> Interactions:
    rows = []
    for u, seq in enumerate(seqs):
        t = 0
        for pos, item in enumerate(seq):
            rows.append((f"u{u}", f"i{item}", t))
            t += (gap_after or {}).get(pos, 0) if u == 0 else 0
            t += 60
    events = pd.DataFrame(rows, columns=["user", "item", "ts"])
    return Interactions.from_events(
        events,
        users=Vocabulary([f"u{u}" for u in range(len(seqs))]),
        items=Vocabulary([f"i{i}" for i in range(n_items)]),
    )


def test_transition_weights_by_hand() -> None:
    inter = _sessions([[0, 1, 2], [0, 1], [1, 3]], n_items=5)
    model = SessionTransitions(window=2, step_decay=0.5, reverse_weight=0.0, alpha=0.0, pop_weight=0.0).fit(
        inter
    )
    t = model.transitions_.toarray()
    # 0->1 twice, 0->2 once at distance 2 (0.5), 1->2 once, 1->3 once
    np.testing.assert_allclose(t[0], [0, 2, 0.5, 0, 0])
    np.testing.assert_allclose(t[1], [0, 0, 1, 1, 0])
    np.testing.assert_allclose(t[2], 0)
    alpha1 = SessionTransitions(window=2, step_decay=0.5, reverse_weight=0.0, alpha=1.0, pop_weight=0.0).fit(
        inter
    )
    np.testing.assert_allclose(
        alpha1.transitions_.toarray()[0], [0, 0.8, 0.2, 0, 0], rtol=1e-6
    )  # P(next | 0)


def test_session_score_is_position_weighted_sum() -> None:
    inter = _sessions([[0, 1, 2], [0, 1], [1, 3], [4, 2]], n_items=5)
    model = SessionTransitions(
        window=1, reverse_weight=0.0, alpha=0.0, position_decay=0.5, pop_weight=0.0
    ).fit(inter)
    t = model.transitions_.toarray()
    scores = model.score(-1, sequences=[np.array([0, 1])])
    np.testing.assert_allclose(scores, 0.5 * t[0] + 1.0 * t[1], rtol=1e-6)
    ids, _ = model.recommend(-1, k=2, sequences=[np.array([0, 1])])
    assert ids.tolist() == [2, 3]  # 1->2 (1) + 0.5 * 0 ... ; 1->3 (1); ties broken by index


@pytest.mark.parametrize("decay", [0.5, 0.7])
def test_score_columns_of_sessions_with_and_without_repeats(decay: float) -> None:
    """``score_columns`` is the row's columns bit for bit: sessions without repeats (weights read directly),
    with repeats (summed by scipy), longer than ``max_session_items``, empty, an item out of range."""
    rng = np.random.default_rng(4)
    n_items = 40
    inter = _sessions([list(rng.integers(0, n_items, int(rng.integers(2, 30)))) for _ in range(30)], n_items)
    model = SessionTransitions(position_decay=decay, max_session_items=6).fit(inter)
    sessions = [rng.permutation(n_items)[:n] for n in (0, 1, 5, 6, 7, 25)]
    sessions += [rng.integers(0, n_items, n) for n in (3, 6, 12, 30)]  # repeats, some in the last six
    sessions += [np.array([5, 9, 5, 9, 5, 9]), np.array([3, 3, 3])]
    cols = np.concatenate([rng.permutation(n_items)[:15], [7, 7]])
    for seq in sessions:
        full = np.array(model.score(-1, sequences=[seq]), np.float32)
        got = model.score_columns(model.interactions_.matrix[[0]], seq, cols)
        assert got is not None and np.array_equal(got.view(np.uint32), full[cols].view(np.uint32))
    with pytest.raises(ConfigError):
        model.score_columns(model.interactions_.matrix[[0]], np.array([1, n_items]), cols)


def test_reverse_weight_adds_backward_cooccurrence() -> None:
    inter = _sessions([[0, 1], [2, 1]], n_items=3)
    model = SessionTransitions(window=1, reverse_weight=0.5, alpha=0.0, pop_weight=0.0).fit(inter)
    np.testing.assert_allclose(model.transitions_.toarray()[1], [0.5, 0, 0.5])


def test_session_gap_splits_sessions() -> None:
    # user 0: items 0, 1 then a 2-hour gap, then item 2
    inter = _sessions([[0, 1, 2]], n_items=3, gap_after={1: 7200})
    joined = SessionTransitions(window=1, reverse_weight=0.0, alpha=0.0).fit(inter)
    split = SessionTransitions(window=1, reverse_weight=0.0, alpha=0.0, session_gap_seconds=1800).fit(inter)
    assert joined.transitions_[1, 2] == 1.0 and split.transitions_[1, 2] == 0.0
    assert split.transitions_[0, 1] == 1.0


def test_unseen_items_fall_back_to_popularity() -> None:
    inter = _sessions([[0, 1], [0, 1], [2, 0]], n_items=4)
    model = SessionTransitions().fit(inter)
    ids, scores = model.recommend(-1, k=2, sequences=[np.array([3])])  # item 3 has no transitions
    assert ids.tolist() == [0, 1] and np.isfinite(scores).all()


@pytest.mark.parametrize(
    ("param", "value"), [("window", 0), ("alpha", 1.5), ("reverse_weight", -1.0), ("session_gap_seconds", 0)]
)
def test_bad_params_raise(param: str, value: object) -> None:
    inter = _sessions([[0, 1]], n_items=2)
    with pytest.raises(ConfigError, match=param):
        SessionTransitions(**{param: value}).fit(inter)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def beauty_loo():
    from tuijian.evaluate.protocols import make_protocol

    return make_protocol("loo", "amazon-beauty")


def test_beauty_loo_accuracy(beauty_loo) -> None:
    """Real data: fitted on train + valid, ranks each user's held-out last item (all items, history excluded)."""
    from tuijian.evaluate.runner import evaluate_model

    stage = beauty_loo.stage("test")
    model = SessionTransitions().fit(stage.fit)
    res = evaluate_model(model, stage, ks=(10,))
    # measured 0.0618 NDCG@10 / 0.0978 HR@10 (bench/RESULTS.md); popularity gets ~0.006
    assert res["ndcg@10"] > 0.05 and res["hr@10"] > 0.085, res
