"""Precomputed top lists: the stored answer is ``recommend``'s, bit for bit, or there is none (MovieLens-100K u1)."""

from __future__ import annotations

import dataclasses
import json
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError, StorageError
from tuijian.models.artifacts import load_model, load_top_lists, save_model
from tuijian.models.hybrid import HybridRecommender
from tuijian.models.knn import ItemKNN
from tuijian.models.mf import ALS
from tuijian.models.pipeline import Pipeline
from tuijian.models.query import RecQuery
from tuijian.models.toplists import (
    ROWS_FILE,
    TopLists,
    precomputable,
    precompute_top_lists,
    should_precompute,
)

K = 10


@pytest.fixture(scope="module")
def knn(ml100k_u1_implicit: tuple[Interactions, dict[int, set[int]]]) -> ItemKNN:
    return ItemKNN().fit(ml100k_u1_implicit[0])


@pytest.fixture(scope="module")
def knn_top(knn: ItemKNN) -> TopLists:
    return precompute_top_lists(knn, 40, batch_users=300)


def _offline(model: ItemKNN | ALS, query: RecQuery) -> tuple[np.ndarray, np.ndarray]:
    keep = query.candidate_mask(model.n_items)
    return model.recommend(
        query.user, K, exclude_seen=False, candidates=None if keep is None else np.flatnonzero(keep)
    )


def test_stored_answers_are_recommend_bit_for_bit(knn: ItemKNN, knn_top: TopLists) -> None:
    """Known users without fresh events, no filter, their purchases excluded, a wide and a narrow filter:
    whenever the stored list answers, it is exactly ``recommend``; a narrow filter mostly cannot be told."""
    pipe = Pipeline(knn)
    rng = np.random.default_rng(0)
    used = {"stored": 0, "none": 0}
    assert knn_top.scored == "batch" and knn_top.ids.shape == (knn.interactions_.n_users, 40)
    for u in range(0, knn.interactions_.n_users, 16):
        for share in (None, 0.9, 0.05):
            allowed = None if share is None else rng.random(knn.n_items) < share
            for exclude in (True, False):
                query = pipe.user_query(u, None, exclude_purchased=exclude, allowed=allowed)
                got = knn_top.answer(query, K)
                used["stored" if got is not None else "none"] += 1
                if got is None:
                    continue
                want = _offline(knn, query)
                np.testing.assert_array_equal(got[0], want[0])
                np.testing.assert_array_equal(got[1], want[1])
    assert used["stored"] > 100 and used["none"] > 20, used


def test_a_complete_list_answers_any_filter(knn: ItemKNN) -> None:
    """Lists that cover every item (or end in padding) answer even a filter that leaves fewer than k."""
    top = precompute_top_lists(knn, knn.n_items + 5)
    assert top.n == knn.n_items
    allowed = np.zeros(knn.n_items, bool)
    allowed[[3, 50, 700]] = True
    query = Pipeline(knn).user_query(7, None, allowed=allowed)
    got = top.answer(query, K)
    assert got is not None and (got[0][3:] == -1).all() and np.isneginf(got[1][3:]).all()
    want = _offline(knn, query)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_fresh_events_unknown_users_and_sessions_are_scored_in_full(knn: ItemKNN, knn_top: TopLists) -> None:
    pipe = Pipeline(knn)
    assert knn_top.answer(pipe.user_query(5, [(12, 1.0, False)]), K) is None
    assert knn_top.answer(pipe.user_query(-1, [(12, 1.0, False)]), K) is None
    assert knn_top.answer(pipe.session_query(np.array([1, 2])), K) is None
    assert knn_top.answer(pipe.user_query(5, None), K) is not None


def test_the_pipeline_answers_the_same_with_and_without_top_lists(knn: ItemKNN, knn_top: TopLists) -> None:
    full, fast = Pipeline(knn), Pipeline(knn, top_lists=knn_top)
    for u in range(0, knn.interactions_.n_users, 50):
        assert fast.recommend(fast.user_query(u, None), K) == full.recommend(full.user_query(u, None), K)
    other = TopLists(ids=knn_top.ids[:10], scores=knn_top.scores[:10], n_items=knn.n_items)
    with pytest.raises(ConfigError, match="do not fit the model"):
        Pipeline(knn, top_lists=other)


def _assert_rows_are_one_user_requests(model: ALS, top: TopLists) -> None:
    """Every 37th stored row is the model's one-user ``recommend``, bit for bit."""
    for u in range(0, model.interactions_.n_users, 37):
        ids, scores = model.recommend(u, top.n, exclude_seen=False)
        np.testing.assert_array_equal(top.ids[u], ids)
        np.testing.assert_array_equal(top.scores[u], scores)


def test_factor_model_lists_are_batched_and_equal_one_user_requests(
    ml100k_u1_implicit: tuple[Interactions, dict[int, set[int]]],
) -> None:
    """A factor model scores one user with the same BLAS routine as a batch (``factor_scores``), so its lists
    are scored in batches, and every stored row is the one-user ``recommend`` exactly."""
    als = ALS(n_factors=16, n_iterations=3, random_state=0).fit(ml100k_u1_implicit[0])
    top = precompute_top_lists(als, 30, batch_users=256)
    assert top.scored == "batch"
    _assert_rows_are_one_user_requests(als, top)


class _BatchSensitiveALS(ALS):
    """Scores whose last bits depend on the batch size, as a GEMV/GEMM mix would give."""

    def _score(self, batch):  # type: ignore[no-untyped-def]
        scores = super()._score(batch)
        return scores if len(batch.users) == 1 else np.nextafter(scores, np.float32(np.inf))


def test_batched_lists_that_differ_from_one_user_requests_are_rescored(
    ml100k_u1_implicit: tuple[Interactions, dict[int, set[int]]],
) -> None:
    """When a batch rounds differently from a one-user request, every user is scored on their own."""
    als = _BatchSensitiveALS(n_factors=16, n_iterations=3, random_state=0).fit(ml100k_u1_implicit[0])
    top = precompute_top_lists(als, 30, batch_users=256)
    assert top.scored == "per-user"
    _assert_rows_are_one_user_requests(als, top)


def test_artifact_stores_and_checks_the_lists(tmp_path, knn: ItemKNN, knn_top: TopLists) -> None:
    """Saved with the version as npz; a version without lists (older ones) loads with none; lists of another
    model are refused."""
    version = save_model(knn, tmp_path, top_lists=knn_top)
    folder = tmp_path / "item-knn" / version
    assert (folder / "toplists.npz").is_file()
    assert json.loads((folder / "config.json").read_text())["top_lists"] == {
        "file": "toplists.npz",
        "n": 40,
        "scored": "batch",
    }
    loaded = load_top_lists(tmp_path, "item-knn", version)
    assert loaded is not None and loaded.scored == "batch"
    np.testing.assert_array_equal(loaded.ids, knn_top.ids)
    np.testing.assert_array_equal(loaded.scores, knn_top.scores)
    old = save_model(knn, tmp_path)
    assert load_top_lists(tmp_path, "item-knn", old) is None
    assert load_model(tmp_path, "item-knn", old).is_fitted
    events = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "y", "x"], "kind": "view", "ts": [1, 2, 3]})
    small = ItemKNN().fit(Interactions.from_events(events))
    with pytest.raises(StorageError, match="retrain"):
        TopLists.load(folder / "toplists.npz", small)
    with pytest.raises(ConfigError, match="do not fit"):
        save_model(small, tmp_path, top_lists=knn_top)


class _AlwaysPrecomputed(ItemKNN):
    name: ClassVar[str] = "always-precomputed-knn"
    precompute: ClassVar[bool | None] = True


def test_which_models_are_precomputed(knn: ItemKNN) -> None:
    """Asked, the model's own choice, or measured; never a model whose reranking depends on k."""
    assert should_precompute(knn, True) and not should_precompute(knn, False)
    assert isinstance(should_precompute(knn), bool)  # measured: item-kNN is cheap on ML-100K
    always = _AlwaysPrecomputed()
    always.fit(knn.interactions_)
    assert should_precompute(always)
    reranking = HybridRecommender(diversity=0.5)
    assert not precomputable(reranking) and not should_precompute(reranking, True)
    assert precomputable(HybridRecommender())


@pytest.fixture(scope="module")
def hybrid(ml100k_u1_implicit: tuple[Interactions, dict[int, set[int]]]) -> HybridRecommender:
    return _small_hybrid(ml100k_u1_implicit[0], {"item-knn": {}, "popularity": {}}, n_estimators=30)


def _small_hybrid(inter: Interactions, retrievers: dict, n_estimators: int) -> HybridRecommender:
    ranker = dict(
        n_estimators=n_estimators, min_child_samples=10, num_leaves=3, early_stopping_rounds=10, n_rankers=1
    )
    model = HybridRecommender(
        retrievers=retrievers,
        labels={"kind": "random", "fraction": 0.3},
        features={},
        refit=False,
        gate=False,
        ranker=ranker,
        n_candidates=20,
        num_threads=1,
    )
    return model.fit(inter)


def test_the_hybrid_stores_its_candidates_and_answers_every_filter(hybrid: HybridRecommender) -> None:
    """The ranker's rows are candidates plus a popularity tail: its lists store every candidate and the tail
    rule, so a filter that leaves fewer than k stored items is still answered, exactly as ``recommend``."""
    top = precompute_top_lists(hybrid, 30, batch_users=300)
    assert top.scored == "tail" and top.tail_key is not None and top.tail_base is not None
    assert np.isfinite(top.tail_base).all()  # every list holds all its candidates (<= 2 x 20)
    pipe = Pipeline(hybrid)
    rng = np.random.default_rng(1)
    tails = 0
    for u in range(0, hybrid.interactions_.n_users, 23):
        for share in (None, 0.3, 0.01):
            allowed = None if share is None else rng.random(hybrid.n_items) < share
            query = pipe.user_query(u, None, exclude_purchased=True, allowed=allowed)
            got = top.answer(query, K)
            assert got is not None  # a trained user is always answered
            stored = top.ids[u][top.ids[u] >= 0]
            tails += int(not np.isin(got[0][got[0] >= 0], stored).all())
            want = _offline(hybrid, query)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
    assert tails > 10  # the tail rule was exercised
    assert top.answer(pipe.user_query(5, [(12, 1.0, False)]), K) is None  # fresh events: scored in full


def test_tail_lists_round_trip_and_a_cut_list_falls_back_to_its_prefix(
    tmp_path, hybrid: HybridRecommender
) -> None:
    top = precompute_top_lists(hybrid, 30, batch_users=300)
    version = save_model(hybrid, tmp_path, top_lists=top)
    loaded = load_top_lists(tmp_path, "hybrid", version)
    assert loaded is not None and loaded.scored == "tail"
    np.testing.assert_array_equal(loaded.tail_base, top.tail_base)
    np.testing.assert_array_equal(loaded.tail_key, top.tail_key)
    # a user whose candidate list was cut to the stored width keeps only the prefix rule
    base = top.tail_base.copy()
    base[3] = np.nan
    cut = TopLists(top.ids, top.scores, top.n_items, "tail", top.tail_key, base)
    narrow = np.zeros(hybrid.n_items, bool)
    narrow[:2] = True
    query = Pipeline(hybrid).user_query(3, None, allowed=narrow)
    assert cut.answer(query, K) is None and top.answer(query, K) is not None


def test_the_hybrid_keeps_its_candidates_rows_and_maps_them_from_the_file(
    tmp_path, hybrid: HybridRecommender
) -> None:
    """The ranker's feature row of every stored candidate is kept with the lists (the rows it was ranked from)
    and read back memory-mapped; a cut list keeps none."""
    top = precompute_top_lists(hybrid, 30, batch_users=300)
    assert top.rows is not None and top.row_ptr is not None
    assert top.rows.dtype == np.float32 and top.rows.shape[1] == len(hybrid.feature_names_)
    assert int(top.row_ptr[-1]) == int((top.ids >= 0).sum())  # one row per stored item
    version = save_model(hybrid, tmp_path, top_lists=top)
    assert (tmp_path / "hybrid" / version / ROWS_FILE).is_file()
    loaded = load_top_lists(tmp_path, "hybrid", version)
    assert loaded is not None and loaded.rows is not None
    assert isinstance(loaded.rows.base, np.memmap) and not loaded.rows.flags.writeable  # the file's pages
    np.testing.assert_array_equal(loaded.row_ptr, top.row_ptr)
    for u in (0, 7, 100):
        got, want = loaded.stored_rows(u), top.stored_rows(u)
        assert got is not None and want is not None and got.shape[0] == int((top.ids[u] >= 0).sum())
        assert (np.asarray(got).view(np.uint32) == want.view(np.uint32)).all()
    base = top.tail_base.copy()
    base[3] = np.nan  # a cut list: its candidates are not all stored
    cut = dataclasses.replace(top, tail_base=base)
    assert cut.stored_rows(3) is None and cut.stored_rows(4) is not None


def test_rows_are_built_as_an_explanation_builds_them_and_kept_within_the_budget(
    ml100k_u1_implicit: tuple[Interactions, dict[int, set[int]]], caplog: pytest.LogCaptureFixture
) -> None:
    """With ALS among the retrievers (a batched product rounds its scores differently from a one-user one),
    the kept rows are the rows the explanation of a stored list would build, bit for bit; rows over the
    budget are not kept, and the lists still are."""
    retrievers = {"item-knn": {}, "als": {"n_factors": 16, "n_iterations": 3}}
    model = _small_hybrid(ml100k_u1_implicit[0], retrievers, n_estimators=20)
    top = precompute_top_lists(model, 30, batch_users=300)
    assert top.rows is not None and top.scored == "tail"
    for u in range(0, model.interactions_.n_users, 37):
        stored, rows = top.stored_ranks(u), top.stored_rows(u)
        assert stored is not None and rows is not None
        items = stored[0][stored[0] >= 0].astype(np.int64)
        history = model.interactions_.matrix[[u]]
        candidate, want = model.shown_features(u, history, model.train_sequence(u), items, stored=stored)
        assert (rows[candidate].view(np.uint32) == want.view(np.uint32)).all()
    with caplog.at_level("INFO", logger="tuijian.models"):
        small = precompute_top_lists(model, 30, batch_users=300, rows_budget_mb=0.01)
    assert small.rows is None and small.ranks is not None and small.scored == "tail"
    assert "exceed the budget" in caplog.text


def test_a_rows_file_that_does_not_fit_is_refused_and_a_missing_one_is_done_without(
    tmp_path, hybrid: HybridRecommender, caplog: pytest.LogCaptureFixture
) -> None:
    top = precompute_top_lists(hybrid, 30, batch_users=300)
    version = save_model(hybrid, tmp_path, top_lists=top)
    file = tmp_path / "hybrid" / version / ROWS_FILE
    data = file.read_bytes()
    file.write_bytes(data[: len(data) - 100])  # truncated
    with pytest.raises(StorageError, match="feature rows file"):
        load_top_lists(tmp_path, "hybrid", version)
    np.save(file, np.zeros((int(top.row_ptr[-1]), 3), np.float32))  # another model's width
    with pytest.raises(StorageError, match="does not fit"):
        load_top_lists(tmp_path, "hybrid", version)
    file.unlink()
    with caplog.at_level("WARNING", logger="tuijian.models"):
        loaded = load_top_lists(tmp_path, "hybrid", version)
    assert loaded is not None and loaded.rows is None and loaded.ranks is not None
    assert "without their feature rows file" in caplog.text
