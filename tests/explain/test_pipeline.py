"""Explanations of served lists (:mod:`tuijian.explain.pipeline`) on the checkerboard: model items, fallback
fill items, repeats and the bandit's exploration flag."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

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


def test_warming_builds_the_lazy_tables_and_changes_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """``warm_explanations`` (called when the service loads a model) leaves nothing for the first explained
    request to build: after it, building a ranker's per-leaf table or a retriever's entry keys fails the test;
    and the explanations after warming are those of an unwarmed copy of the model, byte for byte."""
    import copy

    from tests.explain.test_shown_features import COMMON, _data
    from tuijian.explain import attribution, tree_paths
    from tuijian.explain.pipeline import warm_explanations
    from tuijian.explain.render import explained_item_bytes
    from tuijian.models.hybrid import HybridRecommender
    from tuijian.models.pipeline import Pipeline

    inter, catalog = _data()
    model = HybridRecommender(features={}, **COMMON).fit(inter, items=catalog)
    records = [{"item_id": str(i), "title": f"Shelf item {i}"} for i in inter.items.ids]
    asks = [(user, lang) for user in range(0, inter.n_users, 7) for lang in ("en", "zh")]

    def bodies(pipe: Pipeline) -> list[list[bytes]]:
        out = []
        for user, lang in asks:
            query = pipe.user_query(user)
            out.append(explained_item_bytes(pipe, records, query, pipe.recommend(query, 12), lang))
        return out

    cold = bodies(Pipeline(copy.deepcopy(model)))  # an unwarmed copy builds its tables as it goes
    pipe = Pipeline(model)
    assert warm_explanations(pipe, records)
    assert model._path_ensemble.serves(model.boosters_)

    def built(*_: Any, **__: Any) -> None:
        raise AssertionError("a lazy table was built on the request path")

    monkeypatch.setattr(tree_paths.PathAttributor, "__init__", built)
    monkeypatch.setattr(tree_paths.PathEnsemble, "__init__", built)
    monkeypatch.setattr(attribution._EntryKeys, "__init__", built)
    warm = bodies(pipe)
    assert warm == cold
    assert all(len(items) == 12 for items in warm)


def test_warming_a_model_without_histories_is_a_no_op() -> None:
    from tuijian.explain.pipeline import warm_explanations

    class NoHistories:
        n_users = 3

        def user_query(self, user: int) -> Any:
            return type("Q", (), {"sequence": []})()

    assert warm_explanations(NoHistories(), []) is False  # type: ignore[arg-type]


def test_warming_names_every_item_once_as_a_request_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """``warm_names`` makes each item's quoted name in every language at load, the very names a request makes
    on first use; after it, naming an item within the limit builds nothing, and items past it are named lazily."""
    from tuijian.explain import render
    from tuijian.explain.pipeline import warm_names

    titles = ["RED RETROSPOT CAKE STAND", "PARTY BUNTING", "", "LONDON BUS COFFEE MUG", "Shelf item 7"]
    lazy = [{"item_id": str(i), "title": t} for i, t in enumerate(titles)]
    expected = {
        lang: [render._quoted_names(lazy, lang)(i) for i in range(len(lazy))] for lang in render.LANGUAGES
    }
    assert expected["zh"][0] != expected["en"][0]  # Chinese names in Chinese

    records = [dict(r) for r in lazy]  # another catalogue: nothing cached for it
    assert warm_names(records, limit=3) == 3
    made: list[int] = []
    item_title = render.item_title

    def counted(record: dict[str, Any], lang: str) -> str:
        made.append(int(record["item_id"]))
        return item_title(record, lang)

    monkeypatch.setattr(render, "item_title", counted)
    for lang in render.LANGUAGES:
        quoted = render._quoted_names(records, lang)
        assert [quoted(i) for i in range(len(records))] == expected[lang]
    assert made == [3, 4, 3, 4]  # only the items past the limit, once per language
    assert warm_names([], limit=10) == 0
