"""The recommender contract suite: every model in Tuijian passes these tests.

Use it by subclassing in a test file (the class name must start with ``Test``)::

    from tests.models.conformance import RecommenderContract

    class TestEASE(RecommenderContract):
        def make_model(self):
            return EASE(reg=1.0)

The data (:func:`checkerboard`) are two disjoint groups, known exactly:

* users ``0..7`` (group A) interact only with items ``0..9`` (block A), users
  ``8..15`` (group B) only with items ``10..19`` (block B);
* each user has 7 of the 10 items of the block and misses 3 (``j``, ``j+3`` and
  ``j+6`` modulo 10 for the ``j``-th user of the group), so every user has 3 unseen
  items in its own block; events have increasing timestamps, so sequences exist;
* :func:`checkerboard_catalog` gives matching item texts (block A is tea ware,
  block B running gear) for content models.

A personalised model must put a group's unseen block items first. Hooks a
subclass may override:

* ``make_model()`` (required): a new, unfitted model, small and fast;
* ``make_data()``: a different :class:`ContractData` (interactions + the block of
  every user and item), e.g. for models that need other data;
* ``personalised = False`` for non-personalised models (popularity): block tests
  are replaced by "same ranking for everyone";
* ``deterministic = False`` for models whose two fits differ even when seeded;
* ``n_top``: how many top recommendations must come from the user's block (default 3,
  the number of unseen block items).

Tests for optional abilities (:class:`~tuijian.models.base.SimilarItems`,
:class:`~tuijian.models.base.Persistable`, :class:`~tuijian.models.base.Explainable`) run only where the
model has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, NotFittedError
from tuijian.models import registry
from tuijian.models.base import Persistable, Recommender, SimilarItems

GROUP_USERS = 8
BLOCK_ITEMS = 10


@dataclass(frozen=True)
class ContractData:
    interactions: Interactions
    user_block: np.ndarray  # block (0, 1, ...) of each user index
    item_block: np.ndarray  # block of each item index


def checkerboard_events() -> pd.DataFrame:
    """The events frame of the checkerboard (see module docstring)."""
    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    for block in (0, 1):
        for j in range(GROUP_USERS):
            user = block * GROUP_USERS + j
            unseen = {j % BLOCK_ITEMS, (j + 3) % BLOCK_ITEMS, (j + 6) % BLOCK_ITEMS}
            seen = [b for b in range(BLOCK_ITEMS) if b not in unseen]
            for step, b in enumerate(seen):
                item = block * BLOCK_ITEMS + b
                ts = t0 + pd.Timedelta(days=user) + pd.Timedelta(hours=step)
                rows.append((f"u{user:02d}", f"i{item:02d}", "purchase", 1.0, ts))
    return pd.DataFrame(rows, columns=["user", "item", "kind", "value", "ts"])


def checkerboard() -> ContractData:
    """Interactions with ids in index order: user ``uNN`` is index NN, item ``iNN`` is index NN."""
    n_users, n_items = 2 * GROUP_USERS, 2 * BLOCK_ITEMS
    users = Vocabulary([f"u{n:02d}" for n in range(n_users)])
    items = Vocabulary([f"i{n:02d}" for n in range(n_items)])
    inter = Interactions.from_events(checkerboard_events(), users=users, items=items)
    return ContractData(inter, np.arange(n_users) // GROUP_USERS, np.arange(n_items) // BLOCK_ITEMS)


def checkerboard_catalog() -> pd.DataFrame:
    """Item catalog matching the checkerboard blocks (columns of the catalog frame)."""
    block_a = (
        "tea cup",
        "porcelain teapot",
        "green tea tin",
        "tea saucer",
        "ceramic mug",
        "tea strainer",
        "jasmine tea",
        "bamboo tea tray",
        "tea kettle",
        "oolong tea",
    )
    block_b = (
        "running shoe",
        "sports sock",
        "running shorts",
        "fitness tracker",
        "sweat band",
        "water bottle",
        "running jacket",
        "trail shoe",
        "sports cap",
        "gym bag",
    )
    rows = []
    for idx, title in enumerate(block_a + block_b):
        block = "tea" if idx < BLOCK_ITEMS else "running"
        desc = (
            f"A {title} for the perfect cup of tea, made of porcelain and ceramic."
            if block == "tea"
            else f"A {title} for running, jogging and the gym, light and breathable."
        )
        rows.append(
            (
                f"i{idx:02d}",
                title,
                desc,
                f"{block}-brand",
                f"Home>{block}" if block == "tea" else f"Sports>{block}",
                10.0 + idx,
            )
        )
    return pd.DataFrame(rows, columns=["item_id", "title", "description", "brand", "category", "price"])


class RecommenderContract:
    """Contract tests; subclass and implement :meth:`make_model` (see module docstring)."""

    personalised: ClassVar[bool] = True
    deterministic: ClassVar[bool] = True
    n_top: ClassVar[int] = 3

    # ------------------------------------------------------------------ hooks
    def make_model(self) -> Recommender:
        raise TypeError(f"{type(self).__name__} must implement make_model() returning an unfitted model")

    def make_data(self) -> ContractData:
        return checkerboard()

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture(scope="class")
    @classmethod
    def data(cls) -> ContractData:
        return cls().make_data()

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, data: ContractData) -> Recommender:
        return cls().make_model().fit(data.interactions)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _seen(data: ContractData, user: int) -> set[int]:
        m = data.interactions.matrix
        return set(m.indices[m.indptr[user] : m.indptr[user + 1]].tolist())

    @staticmethod
    def _history(items: list[int], n_items: int) -> sp.csr_matrix:
        return sp.csr_matrix(
            (np.ones(len(items), np.float32), (np.zeros(len(items), int), items)), shape=(1, n_items)
        )

    # ------------------------------------------------------------------ basics
    def test_is_recommender_with_name(self) -> None:
        model = self.make_model()
        assert isinstance(model, Recommender)
        assert model.name, "set the class attribute `name`"
        if model.name in registry.available():
            assert registry.model_class(model.name) is type(model)

    def test_fit_returns_self(self, data: ContractData) -> None:
        model = self.make_model()
        assert model.fit(data.interactions) is model
        assert model.is_fitted

    def test_unfitted_raises(self) -> None:
        with pytest.raises(NotFittedError):
            self.make_model().recommend(0, k=3)

    def test_scalar_gives_1d_and_array_gives_2d(self, fitted: Recommender) -> None:
        ids, scores = fitted.recommend(0, k=4)
        assert ids.shape == (4,) and scores.shape == (4,)
        assert ids.dtype == np.int64 and scores.dtype == np.float32
        ids2, scores2 = fitted.recommend(np.array([0, 9, 3]), k=4)
        assert ids2.shape == (3, 4) and scores2.shape == (3, 4)

    def test_batch_equals_single(self, fitted: Recommender, data: ContractData) -> None:
        users = np.arange(data.interactions.n_users)
        ids, scores = fitted.recommend(users, k=5)
        for u in (0, 5, 8, 15):
            one_ids, one_scores = fitted.recommend(int(u), k=5)
            np.testing.assert_array_equal(one_ids, ids[u])
            np.testing.assert_allclose(one_scores, scores[u], rtol=1e-5, atol=1e-6)

    def test_scores_sorted_and_ids_unique(self, fitted: Recommender, data: ContractData) -> None:
        ids, scores = fitted.recommend(np.arange(data.interactions.n_users), k=8)
        assert (np.diff(scores, axis=1) <= 1e-6).all()
        for row in ids:
            real = row[row >= 0]
            assert len(set(real.tolist())) == len(real)
            assert ((real >= 0) & (real < data.interactions.n_items)).all()

    def test_score_shapes(self, fitted: Recommender, data: ContractData) -> None:
        n_items = data.interactions.n_items
        assert fitted.score(2).shape == (n_items,)
        assert fitted.score(np.array([2, 10])).shape == (2, n_items)

    def test_score_columns_are_the_rows_columns(self, fitted: Recommender, data: ContractData) -> None:
        """``score_columns`` (where a model has it) gives a fold-in row's scores at some columns bit for bit as
        the whole row has them, for histories with weights, repeats and an unknown user."""
        n_items = data.interactions.n_items
        seqs = data.interactions.sequences()
        rng = np.random.default_rng(7)
        cases = [(data.interactions.matrix[u], np.asarray(seqs[u], np.int64)) for u in (0, 5, 12)]
        seq = np.array([3, 14, 3, 7, 14, 15], np.int64)  # repeats, both blocks, weights 2 / 1
        cases.append(
            (
                sp.csr_matrix(
                    (np.array([2.0, 1.0, 2.5, 1.0], np.float32), (np.zeros(4, int), [3, 7, 14, 15])),
                    shape=(1, n_items),
                ),
                seq,
            )
        )
        checked = 0
        for history, sequence in cases:
            full = np.array(fitted.score(-1, history=history, sequences=[sequence]), np.float32)
            cols = np.concatenate(
                [rng.choice(n_items, 6, replace=False), history.indices, [int(np.argmax(full))]]
            )
            got = fitted.score_columns(history, sequence, cols)
            if got is None:
                continue
            checked += 1
            assert got.dtype == np.float32 and got.shape == cols.shape
            assert np.array_equal(got.view(np.uint32), full[cols].view(np.uint32)), (got, full[cols])
        if not checked:  # no cheaper exact way: only the base class's default may say so here
            from tuijian.models.base import Recommender as Base

            assert type(fitted).score_columns is Base.score_columns, type(fitted).__name__

    # ------------------------------------------------------------------ filtering
    def test_exclude_seen(self, fitted: Recommender, data: ContractData) -> None:
        n_items = data.interactions.n_items
        ids, _ = fitted.recommend(np.arange(data.interactions.n_users), k=n_items)
        for u, row in enumerate(ids):
            assert not (set(row.tolist()) & self._seen(data, u))

    def test_include_seen_allows_seen_items(self, fitted: Recommender, data: ContractData) -> None:
        n_items = data.interactions.n_items
        ids, scores = fitted.recommend(0, k=n_items, exclude_seen=False)
        kept = set(ids[ids >= 0].tolist())
        assert self._seen(data, 0) <= kept or np.isinf(scores).any()

    def test_candidates_filter(self, fitted: Recommender) -> None:
        cands = np.array([1, 4, 12, 17, 19])
        ids, scores = fitted.recommend(np.array([0, 8]), k=3, candidates=cands)
        assert set(ids[ids >= 0].tolist()) <= set(cands.tolist())
        ids, scores = fitted.recommend(0, k=10, candidates=cands, exclude_seen=False)
        assert (ids[len(cands) :] == -1).all() and np.isneginf(scores[len(cands) :]).all()

    def test_k_larger_than_catalogue_pads(self, fitted: Recommender, data: ContractData) -> None:
        n_items = data.interactions.n_items
        ids, scores = fitted.recommend(0, k=n_items + 5)
        assert ids.shape == (n_items + 5,)
        n_pad = len(self._seen(data, 0)) + 5
        assert (ids[-n_pad:] == -1).all() and np.isneginf(scores[-n_pad:]).all()

    @pytest.mark.parametrize("k", [0, -1, 2.5, "10"])
    def test_bad_k_raises(self, fitted: Recommender, k: object) -> None:
        with pytest.raises(ConfigError):
            fitted.recommend(0, k=k)  # type: ignore[arg-type]

    def test_bad_user_raises(self, fitted: Recommender, data: ContractData) -> None:
        with pytest.raises(ConfigError):
            fitted.recommend(data.interactions.n_users, k=3)
        with pytest.raises(ConfigError):
            fitted.recommend(-1, k=3)  # unknown user without history

    # ------------------------------------------------------------------ known answers
    def test_recommends_own_block(self, fitted: Recommender, data: ContractData) -> None:
        users = np.arange(data.interactions.n_users)
        ids, _ = fitted.recommend(users, k=self.n_top)
        if not self.personalised:  # one global ranking, minus each user's own items
            order = np.argsort(-fitted.score(0), kind="stable")
            for u in users:
                expected = [int(i) for i in order if i not in self._seen(data, int(u))][: self.n_top]
                assert ids[u].tolist() == expected, f"user {u} got {ids[u].tolist()}, expected {expected}"
            return
        for u in users:
            blocks = data.item_block[ids[u]]
            assert (ids[u] >= 0).all() and (blocks == data.user_block[u]).all(), (
                f"user {u} got {ids[u].tolist()}"
            )

    def test_unknown_user_with_history(self, fitted: Recommender, data: ContractData) -> None:
        n_items = data.interactions.n_items
        items = [10, 11, 13, 15]  # block B
        ids, scores = fitted.recommend(
            -1, k=3, history=self._history(items, n_items), sequences=[np.array(items)]
        )
        assert ids.shape == (3,) and not (set(ids.tolist()) & set(items))
        if self.personalised:
            assert (data.item_block[ids] == 1).all(), ids

    def test_history_override_changes_result(self, fitted: Recommender, data: ContractData) -> None:
        n_items = data.interactions.n_items
        items = [11, 12, 14, 16, 18]  # block B items for a group-A user
        ids, _ = fitted.recommend(0, k=3, history=self._history(items, n_items), sequences=[np.array(items)])
        assert not (set(ids.tolist()) & set(items))
        if self.personalised:
            assert (data.item_block[ids] == 1).all(), ids

    # ------------------------------------------------------------------ params
    def test_clone_is_unfitted_with_same_params(self, fitted: Recommender) -> None:
        twin = fitted.clone()
        assert type(twin) is type(fitted) and not twin.is_fitted
        assert twin.get_params() == fitted.get_params()
        assert repr(twin) == repr(fitted)

    def test_set_params_rejects_unknown(self) -> None:
        with pytest.raises(ConfigError):
            self.make_model().set_params(no_such_parameter=1)

    def test_deterministic(self, fitted: Recommender, data: ContractData) -> None:
        if not self.deterministic:
            pytest.skip("model declares itself non-deterministic")
        again = fitted.clone().fit(data.interactions)
        users = np.arange(data.interactions.n_users)
        a_ids, a_scores = fitted.recommend(users, k=5)
        b_ids, b_scores = again.recommend(users, k=5)
        np.testing.assert_array_equal(a_ids, b_ids)
        np.testing.assert_allclose(a_scores, b_scores, rtol=1e-5, atol=1e-6)

    # ------------------------------------------------------------------ optional abilities
    def test_similar_items(self, fitted: Recommender, data: ContractData) -> None:
        if not isinstance(fitted, SimilarItems):
            # the ability is optional: a model without it must not expose a half-made one
            assert not hasattr(fitted, "similar_items")
            return
        ids, scores = fitted.similar_items(3, k=4)
        assert ids.shape == (4,) and scores.shape == (4,)
        assert 3 not in ids.tolist()
        real = ids[ids >= 0]
        assert len(real) and (data.item_block[real] == data.item_block[3]).all(), ids
        batch_ids, _ = fitted.similar_items(np.array([3, 14]), k=2)
        assert batch_ids.shape == (2, 2)
        assert (data.item_block[batch_ids[1][batch_ids[1] >= 0]] == data.item_block[14]).all()

    def test_save_load_roundtrip(self, fitted: Recommender, data: ContractData, tmp_path: object) -> None:
        if not isinstance(fitted, Persistable):
            pytest.skip("model does not implement Persistable")
        path = str(tmp_path / "model")  # type: ignore[operator]
        fitted.save(path)
        loaded = type(fitted).load(path)
        assert loaded.get_params() == fitted.get_params()
        users = np.arange(data.interactions.n_users)
        a_ids, a_scores = fitted.recommend(users, k=6)
        b_ids, b_scores = loaded.recommend(users, k=6)
        np.testing.assert_array_equal(a_ids, b_ids)
        np.testing.assert_allclose(a_scores, b_scores, rtol=1e-6, atol=1e-7)
        items = [10, 12]
        h = self._history(items, data.interactions.n_items)
        np.testing.assert_array_equal(
            fitted.recommend(-1, k=4, history=h, sequences=[np.array(items)])[0],
            loaded.recommend(-1, k=4, history=h, sequences=[np.array(items)])[0],
        )

    # ------------------------------------------------------------------ one query (the serving pipeline)
    def test_recommend_query_equals_recommend(self, fitted: Recommender, data: ContractData) -> None:
        """A :class:`RecQuery` gives exactly ``recommend`` with the same history, sequence and candidates,
        whatever path the model takes (item-kNN answers it without scipy)."""
        from tuijian.models.query import RecQuery

        n_items = data.interactions.n_items
        seqs = data.interactions.sequences()
        allowed = np.zeros(n_items, dtype=bool)
        allowed[::2] = True
        for u in (0, 9):  # a known user as trained, then with candidates and exclusions
            seq = seqs[u]
            got = fitted.recommend_query(RecQuery(user=u, history=seq), 5)
            want = fitted.recommend(u, 5, exclude_seen=False)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
            query = RecQuery(user=u, history=seq, exclude=seq[:2], allowed=allowed)
            keep = allowed.copy()
            keep[seq[:2]] = False
            got = fitted.recommend_query(query, 4)
            want = fitted.recommend(u, 4, exclude_seen=False, candidates=np.flatnonzero(keep))
            np.testing.assert_array_equal(got[0], want[0])
        items = np.array([15, 11, 13, 11])  # an unknown user's events, time order, one item twice
        weights = np.array([1.0, 2.0, 1.0, 4.0])
        got = fitted.recommend_query(RecQuery(history=items, weights=weights, n_fresh=4), 5)
        row = sp.csr_matrix(
            ([6.0, 1.0, 1.0], ([0, 0, 0], [11, 13, 15])), shape=(1, n_items), dtype=np.float32
        )
        want = fitted.recommend(-1, 5, exclude_seen=False, history=row, sequences=[items])
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)

    def test_pipeline_fills_and_explains(self, fitted: Recommender, data: ContractData) -> None:
        """The serving pipeline always returns ``k`` distinct allowed items, never an excluded one, each
        with a reason code."""
        from tuijian.models.pipeline import Pipeline

        pipe = Pipeline(fitted)
        allowed = np.ones(data.interactions.n_items, dtype=bool)
        allowed[:4] = False
        for query in (
            pipe.user_query(0),
            pipe.user_query(9, [(12, 1.0, True), (3, 8.0, False)], allowed=allowed),
            pipe.user_query(-1),
            pipe.session_query(np.array([14, 10])),
        ):
            ranked = pipe.recommend(query, 8)
            ids = [i for i, _, _ in ranked]
            assert len(ids) == 8 and len(set(ids)) == 8, ranked
            assert not set(ids) & set(query.exclude.tolist())
            if query.allowed is not None:
                assert query.allowed[ids].all()
            assert all(reasons and all(isinstance(r, str) for r in reasons) for _, _, reasons in ranked)
        similar = pipe.similar(3, 4)
        assert len(similar) == 4 and 3 not in [i for i, _, _ in similar]

    # ------------------------------------------------------------------ explanations (issue 14)
    def test_explain(self, fitted: Recommender, data: ContractData) -> None:
        """Models that explain themselves (:class:`~tuijian.models.base.Explainable`) give one explanation per
        item, in order; named evidence is the user's own history, from the item's block; and for the models
        whose reasons are exact terms of a linear score (item-kNN, EASE, RP3beta), removing the first "because
        you bought" item lowers the item's score or its rank (faithfulness)."""
        from tuijian.explain.reasons import KINDS, Evidence
        from tuijian.models.base import Explainable
        from tuijian.models.query import RecQuery

        if not isinstance(fitted, Explainable):
            pytest.skip(f"{type(fitted).__name__} does not explain its scores")
        seqs = data.interactions.sequences()
        n_items = data.interactions.n_items
        checked = 0
        exact = type(fitted).__name__ in ("ItemKNN", "EASE", "RP3beta")
        for u in (0, 9):
            query = RecQuery(user=u, history=seqs[u])
            ids, _ = fitted.recommend_query(query, 3)
            evidence = Evidence.of(fitted, query)
            explanations = fitted.explain(evidence, ids)
            assert [e.item for e in explanations] == ids.tolist()
            before = fitted.score(-1, history=evidence.row(n_items), sequences=[evidence.sequence])
            for e in explanations:
                for r in e.reasons:
                    assert r.kind in KINDS and np.isfinite(r.weight)
                    if r.kind in ("history", "recent", "content"):
                        assert set(r.items) <= set(seqs[u].tolist()), (r, seqs[u])
                        if self.personalised:
                            assert (data.item_block[list(r.items)] == data.user_block[u]).all()
                because = [r for r in e.reasons if r.kind == "history" and r.items]
                if (
                    because and exact
                ):  # exact linear terms; the hybrid's rate is measured on real data (bench)
                    cf = evidence.without(because[0].items[0])
                    after = fitted.score(-1, history=cf.row(n_items), sequences=[cf.sequence])
                    rank_before = int((before > before[e.item]).sum())
                    rank_after = int((after > after[e.item]).sum())
                    assert after[e.item] < before[e.item] or rank_after > rank_before
                    checked += 1
        if exact:
            assert checked > 0  # these models always name a history item
