"""The hybrid's ranker explained (:mod:`tuijian.explain.ranker`): features mapped to reason kinds, and
explanations naming the user's history (the contributions themselves: ``test_tree_paths.py``)."""

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
