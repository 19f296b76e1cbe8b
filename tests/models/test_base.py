"""The contract machinery in tuijian.models.base: topk, masking, padding, scalar vs batch, history and -1 users."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, NotFittedError
from tuijian.models.base import Recommender, ScoringBatch, mask_scores, topk


class EchoModel(Recommender):
    """Scores = history @ M + item prior; records the last batch it saw."""

    name = "echo-test"

    def __init__(self, prior_weight: float = 0.01) -> None:
        self.prior_weight = prior_weight

    def _fit(self, interactions: Interactions) -> None:
        n = interactions.n_items
        self.m_ = np.roll(np.eye(n, dtype=np.float32), 1, axis=1)  # item i -> item i + 1
        self.prior_ = self.prior_weight * np.arange(n, dtype=np.float32)[::-1]

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        self.last_batch_ = batch
        return np.asarray(batch.history @ self.m_) + self.prior_


class BadShape(EchoModel):
    def _score(self, batch: ScoringBatch) -> np.ndarray:
        return np.zeros((1, 2))


@pytest.fixture
def inter() -> Interactions:
    frame = pd.DataFrame(
        {"user": ["a", "a", "b", "c", "c"], "item": ["0", "3", "1", "4", "2"], "ts": [1, 2, 1, 5, 6]}
    )
    return Interactions.from_events(
        frame, users=Vocabulary(["a", "b", "c"]), items=Vocabulary([str(i) for i in range(6)])
    )


def test_topk_sorts_breaks_ties_by_index_and_pads() -> None:
    scores = np.array([[1.0, 3.0, 3.0, 0.5, 3.0], [2.0, -np.inf, -np.inf, 1.0, -np.inf]], dtype=np.float32)
    ids, top = topk(scores, 2)
    assert ids.tolist() == [[1, 2], [0, 3]]
    ids, top = topk(scores, 4)
    assert ids.tolist() == [[1, 2, 4, 0], [0, 3, -1, -1]]
    assert np.isneginf(top[1, 2:]).all()
    ids, top = topk(scores, 7)  # k > n_items
    assert ids.shape == (2, 7) and ids[0, 5:].tolist() == [-1, -1] and ids[0, :5].tolist() == [1, 2, 4, 0, 3]


def test_topk_ties_across_the_cut_take_lowest_indices() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.integers(0, 3, size=(4, 50)).astype(np.float32)
        ids, _ = topk(scores, 7)
        for row, s in zip(ids, scores, strict=True):
            expected = np.lexsort((np.arange(50), -s))[:7]
            assert row.tolist() == expected.tolist()


def test_mask_scores() -> None:
    scores = np.array([[1.0, np.nan, 2.0, 3.0], [1.0, 2.0, np.inf, 0.0]], dtype=np.float32)
    seen = sp.csr_matrix(np.array([[0, 0, 1, 0], [1, 0, 0, 0]], dtype=np.float32))
    mask_scores(scores, seen, [1, 2, 3, 99])
    assert np.isneginf(scores[0, [0, 1, 2]]).all() and scores[0, 3] == 3.0
    assert np.isneginf(scores[1, [0, 2]]).all() and scores[1, 1] == 2.0 and scores[1, 3] == 0.0


def test_scalar_and_batch(inter: Interactions) -> None:
    model = EchoModel().fit(inter)
    ids, scores = model.recommend(0, k=3)
    assert ids.shape == (3,) and ids[0] == 1 and ids[1] == 4  # a saw 0 and 3 -> 1 and 4 score 1
    ids2, _ = model.recommend([0, 2], k=3)
    assert ids2.shape == (2, 3) and ids2[0].tolist() == ids.tolist()
    assert model.recommend(np.int64(1), k=2)[0].shape == (2,)


def test_history_override_and_unknown_users(inter: Interactions) -> None:
    model = EchoModel().fit(inter)
    hist = sp.csr_matrix(np.array([[0, 0, 0, 0, 0, 1]], dtype=np.float32))
    ids, _ = model.recommend(-1, k=1, history=hist)
    assert ids.tolist() == [0]  # 5 -> 0 (wraps)
    ids, _ = model.recommend(0, k=1, history=hist)  # override replaces a's training row
    assert ids.tolist() == [0]
    # unknown user from sequences alone
    ids, _ = model.recommend([-1, 1], k=1, sequences=[np.array([2, 2]), np.array([4])])
    assert ids[0].tolist() == [3]
    assert model.last_batch_.history[0].toarray().tolist() == [[0, 0, 1, 0, 0, 0]]
    assert model.last_batch_.sequences[1].tolist() == [4]
    with pytest.raises(ConfigError, match="history"):
        model.recommend(-1, k=1)
    with pytest.raises(ConfigError, match="shape"):
        model.recommend(0, k=1, history=sp.csr_matrix((1, 3)))
    with pytest.raises(ConfigError, match="sequences"):
        model.recommend([0, 1], k=1, sequences=[np.array([1])])


def test_default_sequences_come_from_the_log(inter: Interactions) -> None:
    model = EchoModel().fit(inter)
    model.recommend([2, -1], k=1, history=sp.csr_matrix(np.array([[0, 1, 0, 0, 0, 0]] * 2, dtype=np.float32)))
    seqs = model.last_batch_.sequences
    assert seqs[0].tolist() == [4, 2] and seqs[1].tolist() == [1]


def test_errors(inter: Interactions) -> None:
    with pytest.raises(NotFittedError):
        EchoModel().recommend(0)
    model = EchoModel().fit(inter)
    for bad_k in (0, -3, 1.0, None):
        with pytest.raises(ConfigError, match="k must"):
            model.recommend(0, k=bad_k)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="user indices"):
        model.recommend([0, 3], k=1)
    with pytest.raises(ConfigError, match="1-D"):
        model.recommend(np.zeros((2, 2), dtype=int), k=1)
    with pytest.raises(RuntimeError, match="shape"):
        BadShape().fit(inter).recommend(0, k=1)
    with pytest.raises(ConfigError, match="no parameter"):
        model.set_params(n_factors=3)
    assert model.clone(prior_weight=0.5).prior_weight == 0.5 and not model.clone().is_fitted


def test_candidates_and_include_seen(inter: Interactions) -> None:
    model = EchoModel().fit(inter)
    ids, scores = model.recommend(0, k=3, candidates=np.array([0, 1, 5]))
    assert ids.tolist() == [1, 5, -1]  # 0 is seen
    ids, _ = model.recommend(0, k=3, candidates=[0, 1, 5], exclude_seen=False)
    assert sorted(ids.tolist()) == [0, 1, 5]


def test_top_of_a_slice_equals_topk_ties_included() -> None:
    """``top_of`` (one request's candidates) picks and orders exactly as ``topk`` over the full row, also when
    a tie straddles the cut (lowest indices win)."""
    from tuijian.models.base import top_of

    rng = np.random.default_rng(1)
    for _ in range(500):
        n, k = int(rng.integers(1, 400)), int(rng.integers(1, 30))
        cand = rng.choice(3000, n, replace=False)
        values = (np.round(rng.random(n) * rng.integers(1, 30)) + 1).astype(np.float32)
        full = np.full((1, 3000), -np.inf, np.float32)
        full[0, cand] = values
        ids, top = topk(full, k)
        real = ids[0] >= 0
        got_ids, got_top = top_of(cand, values, k)
        np.testing.assert_array_equal(got_ids, ids[0][real])
        np.testing.assert_array_equal(got_top, top[0][real])


def test_recommend_query_is_recommend_with_the_query_arguments(inter: Interactions) -> None:
    from tuijian.models.query import RecQuery

    model = EchoModel().fit(inter)
    allowed = np.ones(inter.n_items, dtype=bool)
    allowed[0] = False
    seq = np.array([3, 1, 3])
    got = model.recommend_query(RecQuery(history=seq, n_fresh=3, exclude=np.array([2]), allowed=allowed), 3)
    row = sp.csr_matrix(([1.0, 2.0], ([0, 0], [1, 3])), shape=(1, inter.n_items))
    keep = allowed.copy()
    keep[2] = False
    want = model.recommend(
        -1, 3, exclude_seen=False, candidates=np.flatnonzero(keep), history=row, sequences=[seq]
    )
    np.testing.assert_array_equal(got[0], want[0])
    assert model.last_batch_.sequences[0].tolist() == [3, 1, 3]  # the time order reaches the model
    with pytest.raises(ConfigError, match="query history"):
        model.recommend_query(RecQuery(history=np.array([inter.n_items])), 3)
