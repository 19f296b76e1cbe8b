"""The explanation of a stored list (:mod:`tuijian.models.shown_features`): the shown items' feature rows
are built alone, and must be bit for bit the rows the full candidate scoring holds for them, so that the
explanation of a list read from the top lists is the one of the list the ranker scored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.models.test_hybrid import SMALL_RANKER
from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.explain.reasons import Evidence, Explanation
from tuijian.models.base import topk
from tuijian.models.hybrid import HybridRecommender
from tuijian.models.query import RecQuery
from tuijian.models.shown_features import item_ranks
from tuijian.models.toplists import StoredCandidates, precompute_top_lists

N_USERS, N_ITEMS = 70, 48


def _data() -> tuple[Interactions, pd.DataFrame]:
    """Users who browse one of four shelves (items of a shelf share words, a category and a price band),
    with a few repeats, a sprinkle of other items and hourly timestamps."""
    rng = np.random.default_rng(5)
    rows = []
    for u in range(N_USERS):
        shelf = u % 4
        for step in range(int(rng.integers(3, 12))):
            item = shelf * 12 + int(rng.integers(12)) if rng.random() < 0.8 else int(rng.integers(N_ITEMS))
            rows.append((f"u{u}", f"i{item}", 1_700_000_000 + u * 86400 + step * 3600))
    ev = pd.DataFrame(rows, columns=["user", "item", "ts"])
    ev["ts"] = pd.to_datetime(ev["ts"], unit="s", utc=True)
    inter = Interactions.from_events(ev, items=Vocabulary([f"i{i}" for i in range(N_ITEMS)]))
    words = ("tea cup porcelain", "running shoe sport", "garden hose green", "desk lamp office")
    catalog = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(N_ITEMS)],
            "title": [f"{words[i // 12]} {i}" for i in range(N_ITEMS)],
            "description": [f"a {words[i // 12]} number {i % 5}" for i in range(N_ITEMS)],
            "brand": [f"brand{i % 4}" for i in range(N_ITEMS)],
            "category": [f"shelf{i // 12}|band{i % 3}" if i % 7 else "" for i in range(N_ITEMS)],
            "price": [float(5 + i) if i % 5 else np.nan for i in range(N_ITEMS)],
        }
    )
    return inter, catalog


RETRIEVERS = {
    "item-knn": {"n_neighbors": 10},
    "ease": {"reg": 10.0},
    "popularity": {},
    "session-transitions": {},
    "content": {},
}
COMMON: dict[str, Any] = dict(
    retrievers=RETRIEVERS,
    labels={"kind": "random", "fraction": 0.3},
    refit=False,
    gate=False,
    ranker=SMALL_RANKER,
    n_candidates=5,  # few: most items are outside some retriever's top, many outside every one
    num_threads=1,
)


@pytest.fixture(scope="module")
def data() -> tuple[Interactions, pd.DataFrame]:
    return _data()


@pytest.fixture(scope="module")
def base_model(data: tuple[Interactions, pd.DataFrame]) -> HybridRecommender:
    """The base feature groups (the numpy path of ``shown_rows``)."""
    inter, catalog = data
    return HybridRecommender(features={}, **COMMON).fit(inter, items=catalog)


@pytest.fixture(scope="module")
def repeat_model(data: tuple[Interactions, pd.DataFrame]) -> HybridRecommender:
    """The base feature groups with the user's own items as candidates (counts, days and steps since)."""
    inter, catalog = data
    return HybridRecommender(features={}, repeats=True, **COMMON).fit(inter, items=catalog)


@pytest.fixture(scope="module")
def grouped_model(data: tuple[Interactions, pd.DataFrame]) -> HybridRecommender:
    """Repeats as candidates and optional feature groups (the ranking code on the shown pairs)."""
    inter, catalog = data
    return HybridRecommender(
        features={"repeat": True, "time": True, "genre": True}, repeats=True, **COMMON
    ).fit(inter, items=catalog)


def _check_rows(model: HybridRecommender, user: int) -> int:
    seq = model.train_sequence(user)
    history = model.interactions_.matrix[[user]]
    _, cols, feats = model.pair_features(np.array([user]), history, [seq])
    # every item, in an order that is not the candidates' (and one item twice)
    items = np.concatenate([np.random.default_rng(user).permutation(N_ITEMS), cols[:1]])
    candidate, rows = model.shown_features(user, history, seq, items)
    assert (candidate == np.isin(items, cols)).all()
    want = feats[np.searchsorted(cols, items[candidate])]
    assert rows.dtype == np.float32 and rows.shape == want.shape
    assert (rows.view(np.uint32) == want.view(np.uint32)).all()  # bit for bit, NaNs included
    return int((~candidate).sum())


@pytest.mark.parametrize("which", ["base_model", "repeat_model", "grouped_model"])
def test_shown_rows_are_the_scored_rows_bit_for_bit(which: str, request: pytest.FixtureRequest) -> None:
    model: HybridRecommender = request.getfixturevalue(which)
    outside = sum(_check_rows(model, u) for u in range(N_USERS))
    assert outside > 0  # the test covers items that are not candidates
    if model.repeats_:  # and the user's own items among the candidates
        _, _, feats = model.pair_features(
            np.array([0]), model.interactions_.matrix[[0]], [model.train_sequence(0)]
        )
        assert (feats[:, model.feature_names_.index("ui_count")] > 0).any()


def test_item_ranks_are_the_top_lists_ranks() -> None:
    """Ranks counted for a few items equal the ranks ``retrieve_candidates`` reads off ``topk``, with ties,
    ``-inf`` and rows with fewer finite scores than the top."""
    rng = np.random.default_rng(0)
    n, top = 300, 20
    for trial in range(60):
        sel = rng.integers(0, 8 if trial % 2 else 1000, n).astype(np.float32)  # many ties on odd trials
        sel[rng.random(n) < (0.97 if trial % 5 == 0 else 0.1)] = -np.inf
        ids, scores = topk(sel[None, :], top)
        want = np.full(n, top + 1, np.int32)
        ok = (ids[0] >= 0) & np.isfinite(scores[0])
        want[ids[0][ok]] = np.arange(1, top + 1)[ok]
        items = rng.choice(n, 40)
        assert (item_ranks(sel, items, top) == want[items]).all()


def _same(a: list[Explanation], b: list[Explanation]) -> None:
    assert [e.item for e in a] == [e.item for e in b]
    for x, y in zip(a, b, strict=True):
        # kinds, items, weights, terms, feature values and contributions: repr round-trips every float exactly
        # (and compares NaN feature values as equal)
        assert repr(x.reasons) == repr(y.reasons)
        assert repr(x.attributions) == repr(y.attributions) and repr(x.base_value) == repr(y.base_value)


def test_a_stored_lists_explanation_is_the_recomputed_one(base_model: HybridRecommender) -> None:
    """The explanation without scored rows (a list from the top lists) equals the one built on every
    candidate's row, field for field, and the one of the scored query itself."""
    model = base_model
    for user in range(0, N_USERS, 3):
        query = RecQuery(user=user, history=model.train_sequence(user))
        ids, _ = model.recommend_query(query, 8)
        scored = Evidence.of(model, query)
        assert scored.scratch is not None
        lookup = Evidence(scored.user, scored.items, scored.values, scored.sequence)
        seq = np.asarray(lookup.sequence, np.int64)
        rows, cols, feats = model.pair_features(np.array([user]), lookup.row(model.n_items), [seq])
        full = Evidence(lookup.user, lookup.items, lookup.values, lookup.sequence, (model, rows, cols, feats))
        items = np.concatenate([ids, [i for i in range(N_ITEMS) if i not in cols][:2]])  # and outside items
        got = model.explain(lookup, items)
        _same(got, model.explain(full, items))
        _same(got[: len(ids)], model.explain(scored, ids))


@pytest.mark.parametrize("which", ["base_model", "repeat_model", "grouped_model"])
def test_stored_ranks_give_the_scored_rows_bit_for_bit(which: str, request: pytest.FixtureRequest) -> None:
    """The ranks stored with a tail-rule list are the ranks of the rows the list was ranked from, and the
    shown items' rows built from them (``score_columns``, no full ranking) are those rows, bit for bit."""
    model: HybridRecommender = request.getfixturevalue(which)
    users = np.arange(N_USERS, dtype=np.int64)
    parts = model.top_list_parts(users)
    assert parts is not None and parts.ranks is not None
    rank_cols = [3 * j + 1 for j in range(len(model.models_))]
    stored_candidates = 0
    for user in users.tolist():
        a, b = int(parts.indptr[user]), int(parts.indptr[user + 1])
        ids, table = parts.ids[a:b], parts.ranks[a:b]
        seq = model.train_sequence(user)
        history = model.interactions_.matrix[[user]]
        _, cols, feats = model.pair_features(np.array([user]), history, [seq])
        at = np.searchsorted(cols, ids)
        is_cand = (at < len(cols)) & (cols[np.minimum(at, len(cols) - 1)] == ids)
        assert (table[is_cand] == feats[at[is_cand]][:, rank_cols]).all()
        assert (table[~is_cand] == model.n_candidates + 1).all()  # a placed cold item ranks nowhere
        stored_candidates += int(is_cand.sum())
        items = np.concatenate([np.random.default_rng(user).permutation(N_ITEMS), ids[:1]]).astype(np.int64)
        want = model.shown_features(user, history, seq, items)
        got = model.shown_features(user, history, seq, items, stored=(ids, table))
        assert (got[0] == want[0]).all()
        assert got[1].shape == want[1].shape and (got[1].view(np.uint32) == want[1].view(np.uint32)).all()
    assert stored_candidates > 0


def test_an_explained_lookup_reads_the_stored_ranks(base_model: HybridRecommender, tmp_path: Path) -> None:
    """Served from precomputed top lists, the pipeline hands the explanation the stored candidates and
    ranks (no full ranking), and the explanation is the one built from every candidate's scored row."""
    from tuijian.explain.pipeline import explain_ranked
    from tuijian.models.pipeline import Pipeline
    from tuijian.models.toplists import TopLists

    model = base_model
    lists = precompute_top_lists(model, 8)
    assert lists.scored == "tail" and lists.ranks is not None
    lists.save(tmp_path / "toplists.npz")  # the ranks travel with the artifact
    lists = TopLists.load(tmp_path / "toplists.npz", model)
    assert lists.ranks is not None and lists.ranks.dtype == np.uint8
    pipe = Pipeline(model, top_lists=lists)
    for user in range(0, N_USERS, 4):
        query = RecQuery(user=user, history=model.train_sequence(user))
        ranked = pipe.recommend(query, 5)
        assert isinstance(query.scratch, StoredCandidates) and query.scratch.user == user
        got = explain_ranked(pipe, query, ranked)
        fresh = RecQuery(user=user, history=model.train_sequence(user))
        fresh_ranked = Pipeline(model).recommend(fresh, 5)  # scored in full: the rows it ranked
        assert [r[0] for r in fresh_ranked] == [r[0] for r in ranked]
        _same(got, explain_ranked(Pipeline(model), fresh, fresh_ranked))


@pytest.mark.parametrize("which", ["base_model", "repeat_model", "grouped_model"])
def test_stored_rows_are_the_scored_rows_and_read_as_built(
    which: str, request: pytest.FixtureRequest
) -> None:
    """The feature rows kept with a tail-rule list are the candidates' scored rows, bit for bit, and the
    shown items' rows read from them equal the rows built without them (every item, one twice)."""
    model: HybridRecommender = request.getfixturevalue(which)
    lists = precompute_top_lists(model, 8)
    assert lists.rows is not None
    read = 0
    for user in range(N_USERS):
        stored, rows = lists.stored_ranks(user), lists.stored_rows(user)
        assert stored is not None and rows is not None
        ids = stored[0][stored[0] >= 0].astype(np.int64)
        seq = model.train_sequence(user)
        history = model.interactions_.matrix[[user]]
        _, cols, feats = model.pair_features(np.array([user]), history, [seq])
        at = np.searchsorted(cols, ids)
        is_cand = (at < len(cols)) & (cols[np.minimum(at, len(cols) - 1)] == ids)
        assert (rows[is_cand].view(np.uint32) == feats[at[is_cand]].view(np.uint32)).all()
        items = np.concatenate([np.random.default_rng(user).permutation(N_ITEMS), ids[:1]]).astype(np.int64)
        want = model.shown_features(user, history, seq, items, stored=stored)
        got = model.shown_features(user, history, seq, items, stored=stored, rows=rows)
        assert (got[0] == want[0]).all()
        assert got[1].shape == want[1].shape and (got[1].view(np.uint32) == want[1].view(np.uint32)).all()
        read += int(got[0].sum())
    assert read > 0


def test_an_explained_lookup_reads_the_stored_rows_without_building_any(
    base_model: HybridRecommender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the rows kept (and mapped from the artifact), the explanation of a stored list builds no row: no
    retriever scores the user; and it is the explanation built from every candidate's scored row."""
    import tuijian.models.shown_features as shown
    from tuijian.explain.pipeline import explain_ranked
    from tuijian.models.artifacts import load_top_lists, save_model
    from tuijian.models.pipeline import Pipeline

    model = base_model
    version = save_model(model, tmp_path, top_lists=precompute_top_lists(model, 8))
    lists = load_top_lists(tmp_path, model.name, version, model)
    assert lists is not None and lists.rows is not None
    pipe = Pipeline(model, top_lists=lists)

    def no(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a row was built")

    for user in range(0, N_USERS, 4):
        fresh = RecQuery(user=user, history=model.train_sequence(user))
        fresh_ranked = Pipeline(model).recommend(fresh, 5)  # scored in full: the rows it ranked
        want = explain_ranked(Pipeline(model), fresh, fresh_ranked)
        with monkeypatch.context() as m:
            m.setattr(shown, "stored_scores", no)
            m.setattr(shown, "base_rows", no)
            query = RecQuery(user=user, history=model.train_sequence(user))
            ranked = pipe.recommend(query, 5)
            assert isinstance(query.scratch, StoredCandidates)  # a lookup: no row was scored
            got = explain_ranked(pipe, query, ranked)
        assert [r[0] for r in fresh_ranked] == [r[0] for r in ranked]
        _same(got, want)
