"""Metrics against values computed by hand (see the comments for each number)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from tuijian.evaluate import metrics as M
from tuijian.exceptions import ConfigError

L3 = 1 / math.log2(3)  # discount of rank 2
L5 = 1 / math.log2(5)  # discount of rank 4

# two users, six items; user 0 likes {1, 2}, user 1 likes {5}; -1 is padding
RANKED = np.array([[3, 1, -1, 2], [0, 4, 1, 2]])
RELEVANT = sp.csr_matrix(np.array([[0, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1]], dtype=np.float32))


def test_hits_marks_relevant_positions_and_ignores_padding() -> None:
    h = M.hits(RANKED, RELEVANT, 4)
    assert h.tolist() == [[False, True, False, True], [False, False, False, False]]


def test_accuracy_metrics_at_3() -> None:
    # user 0: top-3 = [3, 1, pad] -> one hit at rank 2; user 1: no hit
    assert M.precision_at_k(RANKED, RELEVANT, 3) == pytest.approx([1 / 3, 0.0])
    assert M.recall_at_k(RANKED, RELEVANT, 3) == pytest.approx([1 / 2, 0.0])
    assert M.hit_rate_at_k(RANKED, RELEVANT, 3) == pytest.approx([1.0, 0.0])
    # DCG = 1/log2(3); IDCG over min(|rel|=2, k=3) = 2 positions = 1 + 1/log2(3)
    assert M.ndcg_at_k(RANKED, RELEVANT, 3) == pytest.approx([L3 / (1 + L3), 0.0])
    # AP = (P@2 = 1/2) / min(2, 3)
    assert M.map_at_k(RANKED, RELEVANT, 3) == pytest.approx([0.25, 0.0])
    assert M.mrr_at_k(RANKED, RELEVANT, 3) == pytest.approx([0.5, 0.0])


def test_accuracy_metrics_at_4() -> None:
    # user 0: hits at ranks 2 and 4
    assert M.precision_at_k(RANKED, RELEVANT, 4) == pytest.approx([0.5, 0.0])
    assert M.recall_at_k(RANKED, RELEVANT, 4) == pytest.approx([1.0, 0.0])
    assert M.ndcg_at_k(RANKED, RELEVANT, 4) == pytest.approx([(L3 + L5) / (1 + L3), 0.0])
    # AP = (P@2 + P@4) / 2 = (1/2 + 2/4) / 2
    assert M.map_at_k(RANKED, RELEVANT, 4) == pytest.approx([0.5, 0.0])
    assert M.mrr_at_k(RANKED, RELEVANT, 4) == pytest.approx([0.5, 0.0])


def test_idcg_uses_min_of_relevant_and_k() -> None:
    # 5 relevant items, k = 2, both top-2 hit: IDCG has only 2 terms, so NDCG = 1 and MAP = 1, recall = 2/5
    ranked = np.array([[0, 1]])
    rel = sp.csr_matrix(np.ones((1, 5)))
    assert M.ndcg_at_k(ranked, rel, 2) == pytest.approx([1.0])
    assert M.map_at_k(ranked, rel, 2) == pytest.approx([1.0])
    assert M.recall_at_k(ranked, rel, 2) == pytest.approx([0.4])


def test_leave_one_out_hit_rate_equals_recall() -> None:
    ranked = np.array([[4, 2, 7], [1, 0, 3], [5, 6, 9]])
    rel = sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 1, 2], [7, 8, 5])), shape=(3, 10))
    hr = M.hit_rate_at_k(ranked, rel, 3)
    assert hr == pytest.approx([1.0, 0.0, 1.0])
    assert M.recall_at_k(ranked, rel, 3) == pytest.approx(hr)
    # ranks 3 and 1: NDCG = 1/log2(4) = 0.5 and 1
    assert M.ndcg_at_k(ranked, rel, 3) == pytest.approx([0.5, 0.0, 1.0])
    assert M.mrr_at_k(ranked, rel, 3) == pytest.approx([1 / 3, 0.0, 1.0])


def test_users_without_relevant_items_are_nan() -> None:
    rel = sp.csr_matrix((2, 6))
    for fn in (M.precision_at_k, M.recall_at_k, M.ndcg_at_k, M.map_at_k, M.mrr_at_k, M.hit_rate_at_k):
        assert np.isnan(fn(RANKED, rel, 3)).all()


def test_unsorted_and_explicit_zero_relevance_entries() -> None:
    # CSR with unsorted column indices and a stored zero (not relevant)
    rel = sp.csr_matrix((np.array([1.0, 0.0, 1.0]), np.array([2, 3, 1]), np.array([0, 3])), shape=(1, 6))
    assert M.hits(RANKED[:1], rel, 4).tolist() == [[False, True, False, True]]
    assert M.n_relevant(rel).tolist() == [2.0]


def test_ranked_shorter_than_k_counts_as_padding() -> None:
    ranked = np.array([[1]])
    rel = sp.csr_matrix(np.array([[0, 1]]))
    assert M.precision_at_k(ranked, rel, 4) == pytest.approx([0.25])


def test_metrics_from_hits_matches_single_functions() -> None:
    rng = np.random.default_rng(0)
    ranked = np.stack([rng.permutation(50)[:20] for _ in range(30)])
    rel = sp.random(30, 50, density=0.1, random_state=1, format="csr")
    rel.data[:] = 1.0
    h = M.hits(ranked, rel, 20)
    out = M.metrics_from_hits(h, M.n_relevant(rel), 10)
    np.testing.assert_allclose(out["ndcg"], M.ndcg_at_k(ranked, rel, 10))
    np.testing.assert_allclose(out["map"], M.map_at_k(ranked, rel, 10))
    np.testing.assert_allclose(out["recall"], M.recall_at_k(ranked, rel, 10))


def test_coverage_and_gini() -> None:
    # top-3 lists: [3, 1] and [0, 4, 1] -> items {0, 1, 3, 4} of 6
    assert M.catalogue_coverage(RANKED, 6, 3) == pytest.approx(4 / 6)
    # exposures per item: 0:1 1:2 2:0 3:1 4:1 5:0 -> sorted [0,0,1,1,1,2], sum 5
    # G = sum((2i - n - 1) x_i) / (n sum x) = (-1 + 1 + 3 + 10) / 30
    assert M.gini_index(RANKED, 6, 3) == pytest.approx(13 / 30)
    assert M.gini_index(np.array([[0, 1], [2, 3]]), 4, 2) == pytest.approx(0.0)  # perfectly equal


def test_novelty() -> None:
    pop = np.array([4, 2, 1, 1, 1, 0])  # 4 training users; item 5 unseen (counted as 1)
    # self-information: 0, 1, 2, 2, 2, 2 bits; user 0 -> (2 + 1) / 2, user 1 -> (0 + 2 + 1) / 3
    assert M.novelty(RANKED, pop, 4, 3) == pytest.approx((1.5 + 1.0) / 2)


def test_intra_list_diversity_dense_and_sparse() -> None:
    feats = np.array([[1, 0], [1, 0], [0, 1], [1, 1], [0, 1], [0, 0]], dtype=float)
    # user 0 [3, 1]: cos = 1/sqrt(2) -> 1 - 0.7071; user 1 [0, 4, 1]: cos 0, 1, 0 -> 1 - 1/3
    expected = ((1 - 1 / math.sqrt(2)) + (1 - 1 / 3)) / 2
    assert M.intra_list_diversity(RANKED, feats, 3) == pytest.approx(expected)
    assert M.intra_list_diversity(RANKED, sp.csr_matrix(feats * 3.0), 3) == pytest.approx(expected)
    # a zero feature vector is similar to nothing: [5, 0] -> diversity 1
    assert M.intra_list_diversity(np.array([[5, 0]]), feats, 2) == pytest.approx(1.0)


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ConfigError, match="k must be a positive integer"):
        M.recall_at_k(RANKED, RELEVANT, 0)
    with pytest.raises(ConfigError, match="rows"):
        M.recall_at_k(RANKED, RELEVANT[:1], 3)
    with pytest.raises(ConfigError, match="2-D"):
        M.recall_at_k(np.array([1, 2]), RELEVANT, 3)
    with pytest.raises(ConfigError, match="item index 9"):
        M.recall_at_k(np.array([[9], [0]]), RELEVANT, 1)
