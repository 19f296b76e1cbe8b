"""Explanations of served lists (:mod:`tuijian.explain.pipeline`) on the checkerboard: model items, fallback
fill items, repeats and the bandit's exploration flag."""

from __future__ import annotations

import numpy as np

from tests.models.conformance import checkerboard
from tuijian.explain.pipeline import explain_ranked
from tuijian.explain.reasons import EXPLORATION_CODE
from tuijian.models.knn import ItemKNN
from tuijian.models.pipeline import Pipeline


def _pipeline() -> tuple[Pipeline, np.ndarray]:
    data = checkerboard()
    return Pipeline(ItemKNN(n_neighbors=5).fit(data.interactions)), data.item_block


def test_model_items_name_the_knn_source_first_and_fill_items_are_popular() -> None:
    pipe, block = _pipeline()
    query = pipe.user_query(0)
    ranked = pipe.recommend(query, 8)
    explanations = explain_ranked(pipe, query, ranked)
    assert [e.item for e in explanations] == [i for i, _, _ in ranked]
    history = set(query.history.tolist())
    for (item, _, codes), e in zip(ranked, explanations, strict=True):
        if codes[-1].startswith("similar_to:"):
            first = e.reasons[0]
            assert first.kind == "history" and set(first.items) <= history
            # the reason code's source is the largest term of history @ W: named first
            assert pipe.model.interactions_.items.ids[first.items[0]] == codes[-1].split(":", 1)[1]
            assert block[item] == 0
        else:
            assert [r.kind for r in e.reasons] == [codes[-1]] and codes[-1] == "popular"


def test_repeat_and_exploration_codes_become_reasons() -> None:
    pipe, _ = _pipeline()
    query = pipe.user_query(0, exclude_purchased=False)
    ranked = pipe.recommend(query, 10)
    assert any("repeat" in codes for _, _, codes in ranked)
    explained = explain_ranked(pipe, query, ranked)
    for (item, _, codes), e in zip(ranked, explained, strict=True):
        if "repeat" in codes:
            assert any(r.kind == "repeat" and r.items == (item,) for r in e.reasons)
    # the hook for the bandit: a reranker tags an item "explore"; the explanation says so first
    item, score, codes = ranked[-1]
    tagged = ranked[:-1] + [(item, score, [*codes, EXPLORATION_CODE])]
    last = explain_ranked(pipe, query, tagged)[-1]
    assert last.reasons[0].kind == "exploration"
    # the scorer's own reasons stay (the tag is not the step that chose the item)
    assert last.reasons[1:] == explained[-1].reasons[: len(last.reasons) - 1]
