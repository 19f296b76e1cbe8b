"""Explanations precomputed with the top lists (:mod:`tuijian.explain.stored`): a stored explanation is the
model's own explanation of the same (user, item), number for number, and an explained request of a trained user
reads it instead of explaining again; any item without one is explained as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.explain.test_shown_features import COMMON, N_USERS, _data, _same
from tuijian.data.interactions import Interactions
from tuijian.exceptions import StorageError
from tuijian.explain.pipeline import explain_ranked
from tuijian.explain.ranker import attribution_method
from tuijian.explain.reasons import Evidence
from tuijian.explain.stored import FILE, StoredExplanations, precompute_explanations
from tuijian.models.base import Recommender
from tuijian.models.hybrid import HybridRecommender
from tuijian.models.knn import ItemKNN
from tuijian.models.pipeline import Pipeline
from tuijian.models.toplists import TopLists, precompute_top_lists

PER_USER = 6


@pytest.fixture(scope="module")
def data() -> tuple[Interactions, pd.DataFrame]:
    return _data()


@pytest.fixture(scope="module", params=["hybrid", "hybrid-grouped", "item-knn"])
def model(request: pytest.FixtureRequest, data: tuple[Interactions, pd.DataFrame]) -> Recommender:
    inter, catalog = data
    if request.param == "item-knn":
        return ItemKNN(n_neighbors=10).fit(inter)
    if request.param == "hybrid-grouped":
        features = {"repeat": True, "time": True, "genre": True}
        return HybridRecommender(features=features, repeats=True, **COMMON).fit(inter, items=catalog)
    return HybridRecommender(features={}, **COMMON).fit(inter, items=catalog)


@pytest.fixture(scope="module")
def stored(model: Recommender, tmp_path_factory: pytest.TempPathFactory) -> tuple[TopLists, TopLists]:
    """The model's lists without and with explanations (the latter through an npz round trip)."""
    import dataclasses

    lists = precompute_top_lists(model, 12)
    explained = precompute_explanations(model, lists, PER_USER)
    path = tmp_path_factory.mktemp("stored") / FILE
    explained.save(path)
    loaded = StoredExplanations.load(path, model.interactions_.n_users)
    return lists, dataclasses.replace(lists, explained=loaded)


def test_a_stored_explanation_is_the_models_own(
    model: Recommender, stored: tuple[TopLists, TopLists]
) -> None:
    """Every stored (user, item): the model's ``explain`` on the same evidence gives the same reasons,
    attributions and base value (repr: every float bit for bit)."""
    plain, lists = stored
    table = lists.explained
    assert table is not None and table.method == "path"
    pipe = Pipeline(model, top_lists=plain)
    n = 0
    deep = plain.tail_base is not None  # a ranker's lists: every stored candidate is explained
    for user in range(N_USERS):
        a, b = int(table.user_ptr[user]), int(table.user_ptr[user + 1])
        items = table.item[a:b].tolist()
        if deep:
            row = plain.ids[user]
            assert items[: (row >= 0).sum()] == (row[row >= 0].tolist() if items else [])
        else:
            assert len(items) <= PER_USER
        got = table.lookup(user, items)
        assert sorted(got) == sorted(items)
        query = pipe.user_query(user)
        pipe.recommend(query, PER_USER)  # as served: the scratch the stored list leaves
        want = model.explain(Evidence.of(model, query), np.asarray(items, np.int64))  # type: ignore[attr-defined]
        _same([got[t] for t in items], want)
        n += len(items)
    assert n >= N_USERS * PER_USER // 2  # most users have stored explanations
    assert table.lookup(N_USERS + 5, [0, 1]) == {} and table.lookup(0, [-7]) == {}


@pytest.mark.parametrize("how", ["default", "deeper", "filtered", "repeats"])
def test_an_explained_request_reads_them(
    model: Recommender, stored: tuple[TopLists, TopLists], how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Served with stored explanations, every request's explanations equal those without; the default
    request asks the model for none, a deeper or filtered one only for the items without a stored one."""
    plain, lists = stored
    with_table, without = Pipeline(model, top_lists=lists), Pipeline(model, top_lists=plain)
    calls: list[int] = []
    own = type(model).explain  # type: ignore[attr-defined]
    deep = plain.tail_base is not None  # every stored candidate explained: only the tail is asked
    checking = False

    def counted(self: Any, evidence: Evidence, items: np.ndarray) -> Any:
        calls.append(len(items))
        if deep and self is model and checking:
            stored_items = set(plain.ids[evidence.user].tolist())
            assert not stored_items & set(items.tolist()), "a stored candidate was explained again"
        return own(self, evidence, items)

    rng = np.random.default_rng(3)
    asked = 0
    for user in range(N_USERS):
        k, allowed, exclude = PER_USER, None, True
        if how == "deeper":
            k = 11
        elif how == "filtered":
            allowed = rng.random(model.n_items) < 0.5
        elif how == "repeats":
            exclude = False
        results = []
        for pipe in (with_table, without):
            query = pipe.user_query(user, allowed=allowed, exclude_purchased=exclude)
            ranked = pipe.recommend(query, k)
            calls.clear()
            checking = pipe is with_table
            monkeypatch.setattr(type(model), "explain", counted)
            results.append((ranked, explain_ranked(pipe, query, ranked)))
            monkeypatch.setattr(type(model), "explain", own)
            if pipe is with_table:
                asked += sum(calls)
                if how == "default":
                    assert calls == [], user
        assert [r[0] for r in results[0][0]] == [r[0] for r in results[1][0]]
        _same(results[0][1], results[1][1])
    if how in ("deeper", "filtered") and not deep:
        assert asked > 0  # some items had no stored explanation and were explained per request


def test_other_attribution_methods_are_not_read(
    stored: tuple[TopLists, TopLists], model: Recommender
) -> None:
    """The dashboard's TreeSHAP explanations are computed, never read from the decision-path table (the
    hybrid's ranker; other models' explanations do not depend on the method, and are the same either way)."""
    _, lists = stored
    pipe, plain = Pipeline(model, top_lists=lists), Pipeline(model)
    with attribution_method("shap"):
        for user in range(0, N_USERS, 7):
            query = pipe.user_query(user)
            ranked = pipe.recommend(query, PER_USER)
            fresh = plain.user_query(user)
            _same(
                explain_ranked(pipe, query, ranked),
                explain_ranked(plain, fresh, plain.recommend(fresh, PER_USER)),
            )


def test_a_table_of_another_model_is_refused(stored: tuple[TopLists, TopLists], tmp_path: Path) -> None:
    _, lists = stored
    assert lists.explained is not None
    lists.explained.save(tmp_path / FILE)
    with pytest.raises(StorageError, match="retrain"):
        StoredExplanations.load(tmp_path / FILE, N_USERS + 1)
    np.savez(tmp_path / "other.npz", ids=np.zeros(3))
    with pytest.raises(StorageError, match="not a stored-explanations file"):
        StoredExplanations.load(tmp_path / "other.npz", N_USERS)


def test_a_table_over_its_budget_keeps_the_default_requests_items(model: Recommender) -> None:
    """A ranker's lists get every stored candidate explained while the table fits ``budget_mb``; over it
    (judged on the first users), only the items of each user's default request, as for other models."""
    lists = precompute_top_lists(model, 12)
    deep = precompute_explanations(model, lists, PER_USER)
    shallow = precompute_explanations(model, lists, PER_USER, budget_mb=1e-6)
    off = precompute_explanations(model, lists, PER_USER, budget_mb=0)
    assert not shallow.every_candidate and not off.every_candidate
    assert np.array_equal(shallow.item, off.item) and np.array_equal(shallow.user_ptr, off.user_ptr)
    assert all(b - a <= PER_USER for a, b in zip(shallow.user_ptr[:-1], shallow.user_ptr[1:], strict=True))
    if lists.tail_base is None:  # plain top-n lists: the default request's items only, whatever the budget
        assert not deep.every_candidate and np.array_equal(deep.item, shallow.item)
        return
    assert deep.every_candidate and len(deep.item) > len(shallow.item)
    for user in range(N_USERS):  # each shallow entry is in the deep table, the same explanation
        a, b = int(shallow.user_ptr[user]), int(shallow.user_ptr[user + 1])
        items = shallow.item[a:b].tolist()
        got, want = deep.lookup(user, items), shallow.lookup(user, items)
        assert sorted(got) == sorted(want)
        _same([got[t] for t in items], [want[t] for t in items])
    # the ranker's feature values are float32, and stored as such
    assert deep.a_value.dtype == np.float32 and deep.a_feature.dtype == np.int16


def test_a_saved_table_is_mapped_not_read(stored: tuple[TopLists, TopLists]) -> None:
    """Loaded tables are read-only views of the mapped file (the workers of a server share its pages; a
    request touches only its user's); the loaded table answers as the built one."""
    _, lists = stored
    table = lists.explained
    assert table is not None
    for name in ("a_contrib", "r_weight", "item", "attr_ptr"):
        arr = getattr(table, name)
        assert not arr.flags.writeable and (not arr.flags.owndata or not arr.size), name
    users = [u for u in range(N_USERS) if table.user_ptr[u + 1] > table.user_ptr[u]]
    assert users
    for user in users[:5]:
        a, b = int(table.user_ptr[user]), int(table.user_ptr[user + 1])
        items = table.item[a:b].tolist()[::-1]
        got = table.lookup(user, items + [-3])  # any order, unknown items ignored
        assert sorted(got) == sorted(items)


def test_a_damaged_file_is_refused(stored: tuple[TopLists, TopLists], tmp_path: Path) -> None:
    _, lists = stored
    assert lists.explained is not None
    lists.explained.save(tmp_path / FILE)
    data = (tmp_path / FILE).read_bytes()
    (tmp_path / FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(
        StorageError, match="not a stored-explanations file.*remove the file to explain its items per request"
    ):
        StoredExplanations.load(tmp_path / FILE, N_USERS)


def test_narrowed_parts_join_without_losing_a_bit() -> None:
    """The builder keeps each flushed part of the feature values in float32 when every value fits it; parts
    that do not fit stay float64, and the joined array holds every value exactly."""
    from tuijian.explain.reasons import Attribution, Explanation, Reason
    from tuijian.explain.stored import _Builder

    values = [0.5, float("nan"), 0.1, 3.0]  # 0.1 is not a float32
    b = _Builder()
    for n, v in enumerate(values):
        b.add(Explanation(n, [Reason("popular", (), 1.0)], [Attribution("f", v, 0.25, None)], 0.0))
        b.end_user()
        b.flush()
    table = b.build("path")
    assert table.a_value.dtype == np.float64 and table.a_feature.dtype == np.int16
    assert [repr(x) for x in table.a_value.tolist()] == [repr(x) for x in values]
    for n, v in enumerate(values):
        got = table.lookup(n, [n])[n].attributions[0].value
        assert repr(got) == repr(v)
