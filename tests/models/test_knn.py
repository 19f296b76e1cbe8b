"""Item- and user-based kNN: contract, hand-computed similarities, and real data (ML-100K u1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tests.models._ml100k import topk_metrics
from tests.models.conformance import RecommenderContract
from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.knn import ItemKNN, UserKNN
from tuijian.models.similarity import item_item_similarity


class TestItemKNNCosine(RecommenderContract):
    def make_model(self) -> ItemKNN:
        return ItemKNN(n_neighbors=5)


class TestItemKNNPearson(RecommenderContract):
    def make_model(self) -> ItemKNN:
        return ItemKNN(similarity="pearson", n_neighbors=5, shrinkage=1.0)


class TestUserKNNCosine(RecommenderContract):
    def make_model(self) -> UserKNN:
        return UserKNN(n_neighbors=4)


class TestUserKNNPearson(RecommenderContract):
    def make_model(self) -> UserKNN:
        return UserKNN(similarity="pearson", n_neighbors=4, shrinkage=0.5)


X = sp.csr_matrix(
    np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]], dtype=np.float32)
)


def test_item_cosine_by_hand() -> None:
    dense = X.toarray().astype(float)
    norms = np.linalg.norm(dense, axis=0)
    expected = dense.T @ dense / np.outer(norms, norms)
    np.fill_diagonal(expected, 0.0)
    w = item_item_similarity(X, n_neighbors=None).toarray()
    np.testing.assert_allclose(w, expected, rtol=1e-6)
    # shrinkage adds to the denominator: sim(0, 1) = 2 / (sqrt(3) sqrt(3) + 1)
    w = item_item_similarity(X, n_neighbors=None, shrinkage=1.0).toarray()
    assert w[0, 1] == pytest.approx(2.0 / 4.0)


def test_item_pearson_is_full_vector_correlation() -> None:
    dense = X.toarray().astype(float)
    corr = np.corrcoef(dense.T)
    np.fill_diagonal(corr, 0.0)
    w = item_item_similarity(X, similarity="pearson", n_neighbors=None).toarray()
    np.testing.assert_allclose(w, np.where(corr > 0, corr, 0.0), rtol=1e-6, atol=1e-7)


def test_pruning_keeps_top_neighbours_per_target() -> None:
    full = item_item_similarity(X, n_neighbors=None).toarray()
    w = item_item_similarity(X, n_neighbors=1).toarray()  # neighbour x target
    assert ((w > 0).sum(axis=0) <= 1).all()
    for target in range(4):
        assert w[:, target].max() == pytest.approx(full[:, target].max())


def test_asymmetric_cosine() -> None:
    dense = X.toarray().astype(float)
    sq = (dense**2).sum(axis=0)
    w = item_item_similarity(X, n_neighbors=None, alpha=0.8).toarray()
    # W[neighbour, target] = <t, n> / (|t|^(2 alpha) |n|^(2 (1 - alpha)))
    assert w[3, 0] == pytest.approx(1.0 / (sq[0] ** 0.8 * sq[3] ** 0.2))


def test_item_knn_scores_are_history_times_w() -> None:
    inter = _inter(X)
    model = ItemKNN(n_neighbors=2).fit(inter)
    expected = X.toarray() @ model.similarity_.toarray()
    np.testing.assert_allclose(model.score(np.arange(5)), expected, rtol=1e-6)


def test_user_knn_by_hand() -> None:
    inter = _inter(X)
    model = UserKNN(n_neighbors=1).fit(inter)
    # user 0 = {0, 1}; cosine to users 1..4: 2/sqrt6, 1/2, 0, 1/2 -> nearest is user 1 = {0, 1, 2}
    scores = model.score(0)
    np.testing.assert_allclose(scores, np.array([1, 1, 1, 0]) * 2 / np.sqrt(6), rtol=1e-6)
    ids, top = model.recommend(0, k=2)
    assert ids.tolist() == [2, 3] and top[1] == 0.0  # unscored items still rank, after scored ones


def test_bad_params() -> None:
    inter = _inter(X)
    with pytest.raises(ConfigError, match="similarity"):
        ItemKNN(similarity="jaccard").fit(inter)
    with pytest.raises(ConfigError, match="n_neighbors"):
        UserKNN(n_neighbors=0).fit(inter)
    with pytest.raises(ConfigError, match="alpha"):
        ItemKNN(alpha=1.5).fit(inter)


def _inter(x: sp.csr_matrix) -> Interactions:
    coo = x.tocoo()
    frame = pd.DataFrame({"user": coo.row.astype(str), "item": coo.col.astype(str), "ts": np.arange(coo.nnz)})
    from tuijian.data.vocabulary import Vocabulary

    return Interactions.from_events(
        frame,
        users=Vocabulary([str(i) for i in range(x.shape[0])]),
        items=Vocabulary([str(i) for i in range(x.shape[1])]),
    )


@pytest.mark.parametrize("model", [ItemKNN(), UserKNN(), UserKNN(similarity="pearson")], ids=repr)
def test_beats_popularity_on_ml100k(model, ml100k_u1_implicit, ml100k_u1_popularity) -> None:
    inter, relevant = ml100k_u1_implicit
    got = topk_metrics(model.fit(inter), relevant)
    pop = ml100k_u1_popularity
    assert got["hr"] >= pop["hr"] + 0.05, (got, pop)
    assert got["precision"] >= 1.35 * pop["precision"], (got, pop)


@pytest.mark.parametrize("binary", [True, False])
def test_fast_query_path_is_bit_identical_to_recommend(binary: bool) -> None:
    """On real data (Online Retail demo, event-kind weights): the sparse gather of ``recommend_query`` gives
    the very scores of scipy's ``history @ W`` (same float32 summation order) and the same lists, for
    trained users, fresh events, filters and exclusions."""
    from tuijian.data.datasets import load_dataset
    from tuijian.data.interactions import WeightConfig
    from tuijian.models.query import RecQuery

    inter = Interactions.from_events(load_dataset("online-retail-demo").events, WeightConfig())
    model = ItemKNN(binary=binary).fit(inter)
    seqs = inter.sequences()
    allowed = np.arange(inter.n_items) % 3 != 0
    for u in range(0, inter.n_users, 11):
        query = RecQuery(user=u, history=seqs[u])
        items, values = query.history_vector(model)
        targets, contrib, _ = model._gather(items, None if binary else values)
        scores = np.zeros(inter.n_items, np.float32)
        np.add.at(scores, targets, contrib)
        np.testing.assert_array_equal(scores, model.score(u))
        for k in (1, 10, 60):
            got, want = model.recommend_query(query, k), model.recommend(u, k, exclude_seen=False)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
        fresh = np.concatenate([seqs[u], seqs[u + 1][:3]])
        q2 = RecQuery(user=u, history=fresh, weights=np.full(len(fresh), 8.0), n_fresh=3,
                      exclude=seqs[u][:5], allowed=allowed)  # fmt: skip
        _, row, _, cand = q2.model_inputs(model)
        got, want = (
            model.recommend_query(q2, 10),
            model.recommend(u, 10, exclude_seen=False, candidates=cand, history=row),
        )
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_similar_items_are_the_rows_of_max_w_wt() -> None:
    """The precomputed sorted lists answer exactly like the dense formula: ``max(W, W^T)``, positives only,
    the item itself left out, ties by lowest index."""
    inter = Interactions.from_events(
        pd.DataFrame({"user": np.repeat(np.arange(60), 4).astype(str),
                      "item": (np.arange(240) * 7 % 37).astype(str), "ts": np.arange(240)})
    )  # fmt: skip
    model = ItemKNN(n_neighbors=4).fit(inter)
    w = model.similarity_.toarray()
    dense = np.maximum(w, w.T)
    np.fill_diagonal(dense, 0)
    dense[dense <= 0] = -np.inf
    from tuijian.models.base import topk

    for item in range(inter.n_items):
        ids, scores = model.similar_items(item, k=6)
        want_ids, want_scores = topk(dense[item][None, :], 6)
        np.testing.assert_array_equal(ids, want_ids[0])
        np.testing.assert_array_equal(scores, want_scores[0])
    batch, _ = model.similar_items(np.array([0, 5]), k=3)
    np.testing.assert_array_equal(batch[1], model.similar_items(5, k=3)[0])
