"""The hybrid's ranker attributions (:mod:`tuijian.explain.ranker`): additive decision-path and TreeSHAP
contributions, features mapped to reason kinds, and explanations naming the user's history."""

from __future__ import annotations

import numpy as np
import pytest

from tests.models.conformance import checkerboard
from tests.models.test_hybrid import FIXED, SMALL
from tuijian.explain.ranker import contributions, feature_kind
from tuijian.explain.reasons import Evidence
from tuijian.models.hybrid import HybridRecommender
from tuijian.models.query import RecQuery


@pytest.fixture(scope="module")
def hybrid() -> HybridRecommender:
    model = HybridRecommender(
        retrievers={"item-knn": {"n_neighbors": 10}, "session-transitions": {}, "popularity": {}},
        **FIXED,
        **SMALL,
    )
    return model.fit(checkerboard().interactions)


def test_feature_kinds() -> None:
    assert feature_kind("ease:score") == feature_kind("item-knn:rank") == "history"
    assert feature_kind("session-transitions:rel") == feature_kind("sim_last1") == "recent"
    assert feature_kind("content_sim") == feature_kind("content:score") == "content"
    assert feature_kind("als:score") == "similar_shoppers"
    assert feature_kind("recent-popularity:score") == feature_kind("item_trend") == "trending"
    assert feature_kind("user_hist_len") is None and feature_kind("unknown-thing") is None


@pytest.mark.parametrize("method", ["path", "shap"])
def test_contributions_add_up_to_the_score(hybrid: HybridRecommender, method: str) -> None:
    seq = hybrid.train_sequence(3)
    _, _, feats = hybrid.pair_features(np.array([3]), hybrid.interactions_.matrix[[3]], [seq])
    phi = contributions(hybrid, feats, method)
    np.testing.assert_allclose(phi.sum(axis=1), hybrid._predict(feats), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="method must be one of"):
        contributions(hybrid, feats, "lime")


def test_explanations_use_the_scored_rows_and_name_the_history(hybrid: HybridRecommender) -> None:
    query = RecQuery(user=9, history=hybrid.train_sequence(9))
    ids, _ = hybrid.recommend_query(query, 3)
    assert query.scratch is not None and query.scratch[0] is hybrid  # the rows the ranker scored
    explanations = hybrid.explain(Evidence.of(hybrid, query), ids)
    assert [e.item for e in explanations] == ids.tolist()
    history = set(query.history.tolist())
    for e in explanations:
        assert e.attributions and e.base_value is not None
        assert abs(e.attributions[0].contribution) >= abs(e.attributions[-1].contribution)
        for r in e.reasons:
            assert r.weight > 0
            if r.kind in ("history", "recent"):
                assert r.items and set(r.items) <= history
    # the same explanation without the scratch (features recomputed) is identical
    again = hybrid.explain(Evidence.of(hybrid, RecQuery(user=9, history=hybrid.train_sequence(9))), ids)
    assert [[(r.kind, r.items) for r in e.reasons] for e in again] == [
        [(r.kind, r.items) for r in e.reasons] for e in explanations
    ]


def test_the_dashboard_can_ask_for_exact_treeshap(hybrid: HybridRecommender) -> None:
    from tuijian.explain.ranker import attribution_method

    query = RecQuery(user=9, history=hybrid.train_sequence(9))
    ids, _ = hybrid.recommend_query(query, 2)
    ev = Evidence.of(hybrid, query)
    _, cols, feats = hybrid.pair_features(np.array([9]), hybrid.interactions_.matrix[[9]], [query.history])
    rows = [int(np.flatnonzero(cols == t)[0]) for t in ids]
    for method in ("path", "shap"):
        want = contributions(hybrid, feats[rows], method)
        with attribution_method(method):
            got = hybrid.explain(ev, ids)
        for e, phi in zip(got, want, strict=True):
            assert e.base_value == pytest.approx(phi[-1], abs=1e-6)
            top = e.attributions[0]
            assert top.contribution == pytest.approx(phi[hybrid.feature_names_.index(top.feature)], abs=1e-6)
            assert abs(top.contribution) == pytest.approx(np.abs(phi[:-1]).max(), abs=1e-6)
    with pytest.raises(ValueError, match="method must be one of"), attribution_method("lime"):
        pass


def test_path_contributions_are_the_per_leaf_sums_bit_for_bit(hybrid: HybridRecommender) -> None:
    """The served attribution (one gather of trees x rows) equals summing each row's leaf rows tree by tree,
    exactly (the served explanations' weights must not move with the way they are gathered)."""
    from tuijian.explain.ranker import PathAttributor

    seq = hybrid.train_sequence(3)
    _, _, feats = hybrid.pair_features(np.array([3]), hybrid.interactions_.matrix[[3]], [seq])
    want = np.zeros((len(feats), feats.shape[1] + 1))
    for booster in hybrid.boosters_:
        att = PathAttributor(booster, feats.shape[1])
        leaves = np.asarray(booster.predict(feats, pred_leaf=True), np.int64) + att.offsets[None, :]
        per_row = np.zeros((len(feats), feats.shape[1] + 1))
        for r in range(len(feats)):
            acc = att.leaf_contrib[leaves[r, 0]].copy()
            for leaf in leaves[r, 1:]:
                acc += att.leaf_contrib[leaf]
            per_row[r, :-1] = acc
        per_row[:, -1] = att.base
        want += per_row
    want /= len(hybrid.boosters_)
    got = contributions(hybrid, feats, "path")
    assert got.shape == want.shape and (got.view(np.int64) == want.view(np.int64)).all()


def test_leaf_index_is_lightgbm_pred_leaf(hybrid: HybridRecommender) -> None:
    """The served leaf look-up (LightGBM's single-row C API, one predictor per thread) gives the leaves
    ``Booster.predict(pred_leaf=True)`` gives, for float32 and float64 rows with NaN, zeros, infinities and
    values far outside the training range, one row at a time or many (``predict`` itself past FAST_ROWS)."""
    import threading

    from tuijian.explain.ranker import _LeafIndex

    rng = np.random.default_rng(7)
    seq = hybrid.train_sequence(3)
    _, _, feats = hybrid.pair_features(np.array([3]), hybrid.interactions_.matrix[[3]], [seq])
    n = feats.shape[1]
    noise = rng.normal(size=(200, n)) * rng.choice([1e-3, 1.0, 1e3, 1e6], size=(200, n))
    rows = np.concatenate([feats, noise.astype(np.float32)])
    rows[rng.random(rows.shape) < 0.15] = np.nan
    rows[rng.random(rows.shape) < 0.1] = 0.0
    rows[rng.random(rows.shape) < 0.02] = np.inf
    rows[rng.random(rows.shape) < 0.02] = -np.inf
    for booster in hybrid.boosters_:
        want = np.asarray(booster.predict(rows, pred_leaf=True), np.int64).reshape(len(rows), -1)
        leaf = _LeafIndex(booster, n)
        for dtype in (np.float32, np.float64):
            for size in (1, 7, _LeafIndex.FAST_ROWS, _LeafIndex.FAST_ROWS + 1):
                for start in range(0, len(rows), size * 5):
                    got = leaf(rows[start : start + size].astype(dtype))
                    assert got.dtype == np.int64 and np.array_equal(got, want[start : start + size])
        # another thread gets its own predictor: the same leaves
        seen: list[np.ndarray] = []
        worker = threading.Thread(target=lambda: seen.append(leaf(rows[:10])))  # noqa: B023
        worker.start()
        worker.join()
        assert np.array_equal(seen[0], want[:10])
