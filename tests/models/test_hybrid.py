"""Hybrid pipeline: the contract, learning which retriever to trust, label carving, features, persistence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tests.models.conformance import RecommenderContract, checkerboard, checkerboard_catalog
from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError
from tuijian.models import registry
from tuijian.models.base import Recommender, ScoringBatch
from tuijian.models.holdout import Holdout
from tuijian.models.hybrid import HybridRecommender
from tuijian.models.hybrid_parts import LabelStrategy
from tuijian.models.hybrid_training import carve_labels, negative_sample
from tuijian.models.ranker_features import (
    REPEAT_FEATURES,
    _repeat_cycle,
    feature_names,
    gather,
    transition_matrix,
    user_state,
)

# small, single-threaded LightGBM: tiny data, and OpenMP threads thrash on a busy 2-core machine
SMALL_RANKER = dict(
    n_estimators=30, min_child_samples=10, num_leaves=3, early_stopping_rounds=10, n_rankers=1
)
SMALL = dict(ranker=SMALL_RANKER, n_candidates=20, num_threads=1)
FIXED = dict(labels={"kind": "random", "fraction": 0.3}, features={}, refit=False, gate=False)


class TestHybrid(RecommenderContract):
    def make_model(self) -> HybridRecommender:
        # the checkerboard's last events are always the highest item ids of a block, so "last item"
        # labels would teach item identity; random labels teach the personal signal
        return HybridRecommender(
            retrievers={"item-knn": {"n_neighbors": 10}, "popularity": {}}, **FIXED, **SMALL
        )


# ---------------------------------------------------------------------- learning the right retriever
N_ITEMS = 120


def _rule(prefix: np.ndarray) -> int:
    """The hidden next-item rule: a per-user stride from the first item (not a function of the last item)."""
    stride = 1 + int(prefix[1]) % 7
    return int((prefix[0] + len(prefix) * stride) % N_ITEMS)


class RuleRetriever(Recommender):
    """Knows the hidden rule: scores the rule's next item 1, others a little below."""

    name: ClassVar[str] = "test-rule"

    def _fit(self, interactions: Interactions) -> None:
        self.ready_ = True

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        out = np.zeros((len(batch.users), self.n_items), dtype=np.float32)
        for r, seq in enumerate(batch.sequences):
            out[r] = np.random.default_rng(len(seq)).random(self.n_items) * 0.5
            if len(seq) >= 2:
                out[r, _rule(np.asarray(seq))] = 1.0
        return out


class NoiseRetriever(Recommender):
    """Deterministic noise: scores from a hash of the history."""

    name: ClassVar[str] = "test-noise"

    def _fit(self, interactions: Interactions) -> None:
        self.ready_ = True

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        return np.stack(
            [
                np.random.default_rng(int(np.sum(s) * 31 + len(s))).random(self.n_items)
                for s in batch.sequences
            ]
        ).astype(np.float32)


def _rule_sequences(n_users: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n_users:
        seq = list(rng.choice(N_ITEMS, 2, replace=False))
        for _ in range(int(rng.integers(2, 6))):
            seq.append(_rule(np.asarray(seq)))
        if len(set(seq)) == len(seq):
            out.append(np.asarray(seq, dtype=np.int64))
    return out


def _interactions(seqs: list[np.ndarray]) -> Interactions:
    rows = [(f"u{u}", f"i{i}", t) for u, s in enumerate(seqs) for t, i in enumerate(s)]
    ev = pd.DataFrame(rows, columns=["user", "item", "ts"])
    return Interactions.from_events(ev, users=Vocabulary([f"u{u}" for u in range(len(seqs))]),
                                    items=Vocabulary([f"i{i}" for i in range(N_ITEMS)]))  # fmt: skip


@pytest.fixture(scope="module")
def synthetic_retrievers() -> Iterator[None]:
    """The two synthetic retrievers, registered for this module only."""
    registry.register("test-rule", "tests.models.test_hybrid:RuleRetriever")
    registry.register("test-noise", "tests.models.test_hybrid:NoiseRetriever")
    yield
    for name in ("test-rule", "test-noise"):
        registry._REGISTRY.pop(name, None)


@pytest.fixture(scope="module")
def rule_model(synthetic_retrievers: None) -> HybridRecommender:
    inter = _interactions(_rule_sequences(400, seed=1))
    model = HybridRecommender(
        retrievers={"test-noise": {}, "test-rule": {}, "popularity": {}},
        labels={},
        features={},
        refit=False,
        gate=False,
        **SMALL,
    )
    return model.fit(inter)


def test_learns_to_trust_the_informative_retriever(rule_model: HybridRecommender) -> None:
    imp = rule_model.feature_importance_
    rule = sum(v for k, v in imp.items() if k.startswith("test-rule:"))
    noise = sum(v for k, v in imp.items() if k.startswith("test-noise:"))
    assert rule > 5 * noise, imp
    # unseen users following the rule: the rule's item comes first
    fresh = [s[:-1] for s in _rule_sequences(60, seed=99)]
    n = rule_model.n_items
    hist = sp.csr_matrix((np.ones(sum(map(len, fresh))), (np.repeat(np.arange(60), [len(s) for s in fresh]),
                                                          np.concatenate(fresh))), shape=(60, n))  # fmt: skip
    ids, _ = rule_model.recommend(np.full(60, -1), k=1, history=hist, sequences=fresh)
    expected = np.array([_rule(s) for s in fresh])
    assert (ids[:, 0] == expected).mean() >= 0.9


def test_noise_only_hybrid_is_not_better_than_chance(synthetic_retrievers: None) -> None:
    """Control: without the rule retriever nothing finds the rule item (the test above is not trivial)."""
    inter = _interactions(_rule_sequences(200, seed=2))
    model = HybridRecommender(
        retrievers={"test-noise": {}, "popularity": {}},
        labels={},
        features={},
        refit=False,
        gate=False,
        **SMALL,
    ).fit(inter)
    fresh = [s[:-1] for s in _rule_sequences(60, seed=98)]
    ids, _ = model.recommend(np.full(60, -1), k=1, history=None, sequences=fresh)
    assert (ids[:, 0] == np.array([_rule(s) for s in fresh])).mean() < 0.3


def test_pruning_scores_each_retriever_left_out_and_keeps_what_helps(synthetic_retrievers: None) -> None:
    """``prune_retrievers``: the best setup is scored on the holdout without each retriever; the rule
    retriever, without which nothing finds the next item, is never dropped, and the fitted model uses
    exactly the retrievers it kept (their candidates and columns only)."""
    inter = _interactions(_rule_sequences(300, seed=3))
    model = HybridRecommender(
        retrievers={"test-noise": {}, "test-rule": {}, "popularity": {}, "item-knn": {"n_neighbors": 10}},
        prune_retrievers=True,
        gate=False,
        **SMALL,
    ).fit(inter)
    table = model.selection_["validation"]
    for r in ("test-noise", "test-rule", "popularity", "item-knn"):
        assert any(k.endswith(f"without {r}]") for k in table), table
    without_rule = next(v for k, v in table.items() if k.endswith("without test-rule]"))
    assert without_rule < model.selection_["validation_ndcg@10"] - 0.1
    kept = model.retriever_names_
    assert "test-rule" in kept and set(kept) == set(model.selection_["retrievers"]) and len(kept) >= 2
    assert set(model.models_) == set(kept)
    assert all(n.split(":")[0] in kept for n in model.feature_names_ if n.endswith((":score", ":rank")))
    fresh = [s[:-1] for s in _rule_sequences(40, seed=97)]
    ids, _ = model.recommend(np.full(40, -1), k=1, history=None, sequences=fresh)
    assert (ids[:, 0] == np.array([_rule(s) for s in fresh])).mean() >= 0.8


# ---------------------------------------------------------------------- label carving, helpers
def test_carve_last_leaves_no_label_in_history() -> None:
    inter = checkerboard().interactions
    inner, labels = carve_labels(inter, "last", 0.1, 30.0, seed=0)
    seqs = inter.sequences()
    assert inner.nnz == inter.nnz - inter.n_users
    for u in range(inter.n_users):
        lab = labels.indices[labels.indptr[u] : labels.indptr[u + 1]].tolist()
        assert lab == [int(seqs[u][-1])]
        assert inner.matrix[u, lab[0]] == 0


def test_carve_time_uses_the_last_days_only() -> None:
    inter = checkerboard().interactions  # user u's 7 events are on day u, one an hour from 00:00
    with pytest.raises(ConfigError, match="no events"):
        carve_labels(inter, "time", 0.1, days=3.5, seed=0)  # only users with no earlier history
    inner, labels = carve_labels(inter, "time", 0.1, days=3.0 / 24, seed=0)  # the last 3 hours
    assert np.flatnonzero(np.diff(labels.indptr) > 0).tolist() == [15]
    assert labels.nnz == 4 and inner.nnz == inter.nnz - 4
    inner, labels = carve_labels(inter, "random", 0.3, 30.0, seed=0)
    assert (np.diff(labels.indptr) == 2).all()  # floor(0.3 * 7) = 2 per user
    assert inner.nnz + labels.nnz == inter.nnz


def test_negative_sample_keeps_positives_and_caps_negatives() -> None:
    rows = np.repeat(np.arange(3), 50)
    y = np.zeros(150, dtype=bool)
    y[[0, 60, 61]] = True
    keep = negative_sample(rows, y, 5, np.random.default_rng(0))
    assert keep[y].all()
    assert np.bincount(rows[keep & ~y]).tolist() == [5, 5, 5]


def test_gather_and_transitions() -> None:
    t = transition_matrix([np.array([0, 1, 2]), np.array([0, 1]), np.array([0, 2])], 3)
    assert t[0, 1] == pytest.approx(2 / 3) and t[0, 2] == pytest.approx(1 / 3) and t[1, 2] == 1.0
    got = gather(t, np.array([0, 0, 1, -1, 2]), np.array([1, 0, 2, 1, 0]))
    np.testing.assert_allclose(got, [2 / 3, 0, 1, 0, 0], rtol=1e-6)


def test_user_state_repeat_times_and_cycle() -> None:
    day = 86400.0
    # user 0 bought item 0 on days 0, 2 and 4, item 1 on day 1, item 2 on day 3; user 1 item 3 once
    seqs = [np.array([0, 1, 0, 2, 0]), np.array([3])]
    ts = [np.array([0.0, 1.0, 2.0, 3.0, 4.0]) * day, np.array([5.0]) * day]
    st = user_state(seqs, 4, ts)
    # duplicates keep the last (or first) time / position, they are never summed
    assert st.item_ts.toarray()[0].tolist() == [4 * day, 1 * day, 3 * day, 0.0]
    assert st.first_ts.toarray()[0, 0] == 0.0 and st.first_ts.toarray()[0, 2] == 3 * day
    assert st.last_pos.toarray()[0].tolist() == [5.0, 2.0, 4.0, 0.0]
    rows, cols = np.array([0, 0, 1]), np.array([0, 1, 3])
    count = gather(st.counts, rows, cols)
    days_since = np.array([1.0, 4.0, 0.0])  # as of day 5
    share, user_repeat, interval, due = _repeat_cycle(st, rows, cols, count, days_since)
    np.testing.assert_allclose(share, [0.6, 0.2, 1.0], rtol=1e-6)
    np.testing.assert_allclose(user_repeat, [0.4, 0.4, 0.0], rtol=1e-6)
    assert interval[0] == pytest.approx(2.0) and np.isnan(interval[1:]).all()  # (4 - 0) days / 2 repeats
    assert due[0] == pytest.approx(0.5) and np.isnan(due[1:]).all()
    names = feature_names(["ease"], repeat_features=True)
    assert names[-len(REPEAT_FEATURES) :] == list(REPEAT_FEATURES)
    assert not set(REPEAT_FEATURES) & set(feature_names(["ease"]))


def test_bad_params_are_named() -> None:
    inter = checkerboard().interactions
    with pytest.raises(ConfigError, match="labels kind"):
        HybridRecommender(labels={"kind": "future"}).fit(inter)
    with pytest.raises(ConfigError, match="no field"):
        HybridRecommender(features={"colour": True}).fit(inter)
    with pytest.raises(ConfigError, match="refit"):
        HybridRecommender(refit="sometimes").fit(inter)
    with pytest.raises(ConfigError, match="n_candidates"):
        HybridRecommender(n_candidates=0).fit(inter)
    with pytest.raises(ConfigError, match="unknown retriever"):
        HybridRecommender(retrievers={"no-such-model": {}}).fit(inter)


def test_catalog_features_and_content_retriever(tmp_path) -> None:
    data = checkerboard()
    model = TestHybrid().make_model().set_params(retrievers={"item-knn": {"n_neighbors": 10}, "content": {}})
    model.fit(data.interactions, items=checkerboard_catalog())
    assert model.catalog_.content is not None and model.catalog_.price is not None
    ids, _ = model.recommend(np.arange(16), k=3)
    assert (data.item_block[ids] == data.user_block[:, None]).all()
    model.save(str(tmp_path / "h"))
    config = json.loads((tmp_path / "h" / "config.json").read_text())
    assert config["retrievers"] == ["item-knn", "content"]
    assert (tmp_path / "h" / "ranker.txt").read_text().startswith("tree")
    loaded = HybridRecommender.load(str(tmp_path / "h"))
    np.testing.assert_array_equal(loaded.recommend(np.arange(16), k=3)[0], ids)


def test_rerankers_apply_in_recommend() -> None:
    data = checkerboard()
    base = TestHybrid().make_model()
    model = base.clone(business_rules={"exclude_items": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]})
    model.fit(data.interactions, items=checkerboard_catalog())
    ids, _ = model.recommend(np.array([0, 8]), k=3)
    assert not (set(ids[0].tolist()) & set(range(10)))  # user 0's block is banned: nothing from it
    assert (data.item_block[ids[1]] == 1).all()


def test_cold_user_gets_the_fallback_chain() -> None:
    model = TestHybrid().make_model().fit(checkerboard().interactions)
    empty = sp.csr_matrix((1, model.n_items), dtype=np.float32)
    ids, scores = model.recommend(-1, k=5, history=empty, sequences=[np.zeros(0, np.int64)])
    pop = model.context_.log_pop
    assert (ids >= 0).all() and np.isfinite(scores).all()
    assert pop[ids].tolist() == sorted(pop[ids].tolist(), reverse=True)


def test_cold_item_is_placed_through_content() -> None:
    """An item nobody bought yet (a new teapot) reaches tea buyers' lists at ``cold_item_rank``."""
    from tests.models.conformance import checkerboard_events

    catalog = checkerboard_catalog()
    new = pd.DataFrame([("i20", "porcelain tea cup", "porcelain tea cup for green tea", "tea-brand", "Home>tea", 9.0)],
                       columns=catalog.columns)  # fmt: skip
    items = Vocabulary([f"i{n:02d}" for n in range(21)])
    users = Vocabulary([f"u{n:02d}" for n in range(16)])
    inter = Interactions.from_events(checkerboard_events(), users=users, items=items)
    model = TestHybrid().make_model().set_params(retrievers={"item-knn": {"n_neighbors": 10}, "content": {}})
    model.fit(inter, items=pd.concat([catalog, new], ignore_index=True))
    ids, _ = model.recommend(np.arange(16), k=4)
    assert (ids[:8, 2] == 20).all()  # tea buyers: third place
    assert not (ids[8:] == 20).any()  # runners: the tea cup is no content match
    assert (
        model.clone(cold_item_rank=None).fit(inter, items=pd.concat([catalog, new])).recommend(0, k=4)[0][2]
        != 20
    )


def test_repeats_learns_the_users_staple_item(tmp_path) -> None:
    """Each user re-buys a personal staple every week among random one-off items: it must come first."""
    rng = np.random.default_rng(0)
    day = 86400
    rows = []
    for u in range(120):
        staple = f"i{u % N_ITEMS}"
        for week in range(8):
            rows.append((f"u{u}", staple, week * 7 * day + u))
            rows.append((f"u{u}", f"i{rng.integers(N_ITEMS)}", week * 7 * day + 3 * day + u))
    ev = pd.DataFrame(rows, columns=["user", "item", "ts"])
    ev["ts"] = pd.to_datetime(ev["ts"], unit="s", utc=True)
    inter = Interactions.from_events(ev, items=Vocabulary([f"i{i}" for i in range(N_ITEMS)]))
    model = HybridRecommender(
        retrievers={"popularity": {}, "recent-popularity": {}},
        repeats=True,
        features={"repeat": True},
        labels={"kind": "time", "days": 10.0},
        refit=False,
        gate=False,
        **SMALL,
    ).fit(inter)
    assert model.feature_names_[-len(REPEAT_FEATURES) :] == list(REPEAT_FEATURES)
    users = np.arange(inter.n_users)
    ids, _ = model.recommend(users, k=1, exclude_seen=False)
    staple = [f"i{int(str(inter.users.ids[u])[1:]) % N_ITEMS}" for u in users]
    staple_idx = inter.items.lookup(staple)
    assert (ids[:, 0] == staple_idx).mean() > 0.9
    model.save(str(tmp_path / "h"))
    loaded = HybridRecommender.load(str(tmp_path / "h"))
    np.testing.assert_array_equal(loaded.recommend(users, k=1, exclude_seen=False)[0], ids)


# ---------------------------------------------------------------------- several label sets, bagged rankers
def test_carve_offsets_give_earlier_label_sets() -> None:
    inter = checkerboard().interactions  # user u's 7 events are on day u, one an hour from 00:00
    seqs = inter.sequences()
    inner, labels = carve_labels(inter, "last", 0.1, 30.0, seed=0, offset=1)
    assert inner.nnz == inter.nnz - 2 * inter.n_users  # the label and the event after it are gone
    for u in range(inter.n_users):
        assert labels.indices[labels.indptr[u] : labels.indptr[u + 1]].tolist() == [int(seqs[u][-2])]
    # "time": the window that ends `days` before the end, later events dropped
    # user 15 (day 15, hours 0-6): offset 0 labels hours 4-6, offset 1 hours 2-3 with 0-1 as history
    inner, labels = carve_labels(inter, "time", 0.1, days=2.0 / 24, seed=0, offset=0)
    assert labels.nnz == 3
    inner, labels = carve_labels(inter, "time", 0.1, days=2.0 / 24, seed=0, offset=1)
    assert np.flatnonzero(np.diff(labels.indptr) > 0).tolist() == [15]
    assert labels.nnz == 2 and inner.nnz == inter.nnz - 3 - 2
    a = carve_labels(inter, "random", 0.3, 30.0, seed=0, offset=0)[1]
    b = carve_labels(inter, "random", 0.3, 30.0, seed=0, offset=1)[1]
    assert (a != b).nnz > 0  # another draw
    with pytest.raises(ConfigError, match="offset"):
        carve_labels(inter, "last", 0.1, 30.0, seed=0, offset=-1)


def test_label_sets_and_bagged_rankers_round_trip(tmp_path) -> None:
    data = checkerboard()
    model = (
        TestHybrid()
        .make_model()
        .set_params(
            labels={"kind": "random", "fraction": 0.3, "n_sets": 2},
            ranker={**SMALL_RANKER, "n_rankers": 3},
            features={"time": True},
        )
    )
    model.fit(data.interactions)
    assert len(model.boosters_) == 3 and len(model.ranker_texts_) == 3
    ids, scores = model.recommend(np.arange(16), k=3)
    assert (data.item_block[ids] == data.user_block[:, None]).all()
    model.save(str(tmp_path / "h"))
    assert (tmp_path / "h" / "ranker_2.txt").is_file()
    loaded = HybridRecommender.load(str(tmp_path / "h"))
    assert len(loaded.boosters_) == 3
    ids2, scores2 = loaded.recommend(np.arange(16), k=3)
    np.testing.assert_array_equal(ids2, ids)
    np.testing.assert_allclose(scores2, scores, rtol=1e-5)
    with pytest.raises(ConfigError, match="n_rankers"):
        HybridRecommender(ranker={"n_rankers": 0}).fit(data.interactions)
    with pytest.raises(ConfigError, match="n_sets"):
        HybridRecommender(labels={"n_sets": 0}).fit(data.interactions)


def test_activity_window_and_value_features() -> None:
    from tuijian.models.ranker_features import RATING_FEATURES, TIME_FEATURES, build_context

    day = 86400
    # item 0 had on days 0, 1, 2; item 1 only on day 10; user 0 active days 0-2 (values 5, 3), user 1 day 10
    ev = pd.DataFrame(
        [("a", "i0", 0, 5.0), ("a", "i2", 2 * day, 3.0), ("b", "i0", day, 4.0), ("c", "i0", 2 * day, 4.0),
         ("c", "i1", 10 * day, 2.0)],
        columns=["user", "item", "ts", "value"],
    )  # fmt: skip
    ev["ts"] = pd.to_datetime(ev["ts"], unit="s", utc=True)
    inter = Interactions.from_events(ev)
    ctx = build_context(inter)
    i0, i1, i2 = inter.items.lookup(["i0", "i1", "i2"])
    np.testing.assert_allclose(ctx.item_mean_value[[i0, i1, i2]], [13 / 3, 2.0, 3.0])
    seqs = [np.array([i0, i2])]
    st = user_state(seqs, inter.n_items, [np.array([0.0, 2 * day])], [np.array([5.0, 3.0])])
    assert st.user_mean_value[0] == pytest.approx(4.0)
    rows, cols = np.array([0, 0]), np.array([i0, i1])
    feats = pair_features_cols(ctx, st, rows, cols, time_features=True, rating_features=True)
    age, gap, pop, share = (feats[name] for name in TIME_FEATURES)
    np.testing.assert_allclose(age, [10.0, 0.0])  # t_ref = day 10
    np.testing.assert_allclose(gap, [-2.0, 8.0])  # item 1 appeared 8 days after the user's last event
    np.testing.assert_allclose(pop, np.log1p([3, 0]))  # events in [day -1, day 3]: item 0 three times
    np.testing.assert_allclose(share, [3 / 4, 0.0])
    assert feats["item_mean_value"][0] == pytest.approx(13 / 3)
    assert feats["user_mean_value"].tolist() == [4.0, 4.0]
    assert set(RATING_FEATURES) <= set(feats)


def pair_features_cols(ctx, st, rows, cols, **kw) -> dict[str, np.ndarray]:  # noqa: ANN001
    from tuijian.models.ranker_features import pair_features

    n = ctx.n_items
    scores = [np.zeros((1, n), np.float32)]
    ranks = [np.ones((1, n), np.int32)]
    x = pair_features(ctx, st, rows, cols, scores, ranks, **kw)
    names = feature_names(["r"], time_features=kw.get("time_features", False),
                          rating_features=kw.get("rating_features", False))  # fmt: skip
    assert x.shape[1] == len(names)
    return {name: x[:, j] for j, name in enumerate(names)}


def test_segment_and_genre_features(tmp_path) -> None:
    from tuijian.models.side_features import (
        build_segment_context,
        genre_matrix,
        genre_pair_features,
        segment_pair_features,
        title_years,
        user_segments,
        year_pair_features,
    )

    # users a, b are F (age 1), c is M (age 2); item i0 had by a and b, i1 by c, i2 by a
    ev = pd.DataFrame([("a", "i0", 0), ("b", "i0", 1), ("c", "i1", 2), ("a", "i2", 3)],
                      columns=["user", "item", "ts"])  # fmt: skip
    inter = Interactions.from_events(ev)
    users = pd.DataFrame({"user_id": ["a", "b", "c", "zz"], "gender": ["F", "F", "M", "M"],
                          "age": ["1", "1", "2", "2"], "zip_code": ["1", "2", "3", "4"]})  # fmt: skip
    codes, attrs = user_segments(users, inter.users)
    assert attrs == ["gender", "age", "genderxage"] and codes.shape == (3, 3)
    ctx = build_segment_context(inter, codes)
    a, c = inter.users.lookup(["a", "c"])
    i0, i1 = inter.items.lookup(["i0", "i1"])
    feats = segment_pair_features(ctx, np.array([a, c, -1]), np.array([0, 0, 2]), np.array([i0, i1, i0]))
    share_gender, lift_gender = feats[3], feats[4]
    # smoothed share of i0 among F users: (2 + 5 * 2/3) / (2 + 5); global share 2/3
    assert share_gender[0] == pytest.approx((2 + 5 * 2 / 3) / 7, rel=1e-5)
    assert lift_gender[0] == pytest.approx(share_gender[0] / (2 / 3), rel=1e-5)
    assert share_gender[1] < 1 / 3  # no F user had i1
    assert np.isnan(feats[0][2]) and np.isnan(share_gender[2])  # unknown user
    items = pd.DataFrame({"item_id": ["i0", "i1", "i2"], "category": ["A|B", "C", ""]})
    g = genre_matrix(items, inter.items)
    assert g is not None and g.shape[1] == 3
    counts = sp.csr_matrix((np.ones(1, np.float32), ([0], [i0])), shape=(1, inter.n_items))
    mean, mx, cos = genre_pair_features(g, counts, np.array([0, 0]), np.array([i0, i1]))
    np.testing.assert_allclose(mean, [1.0, 0.0])
    np.testing.assert_allclose(cos, [1.0, 0.0], atol=1e-6)
    years = title_years(pd.DataFrame({"item_id": ["i0", "i1", "i2"], "title": ["A (1990)", "B (2000)", "C"]}),
                        inter.items)  # fmt: skip
    item_year, gap = year_pair_features(years, counts, np.array([0, 0]), np.array([i0, i1]))
    np.testing.assert_allclose(item_year, [1990.0, 2000.0])
    np.testing.assert_allclose(gap, [0.0, 10.0])
    # end to end on the checkerboard: the flags add named features and the model still ranks
    data = checkerboard()
    cat = checkerboard_catalog()
    cat["title"] = [f"{t} ({1990 + k % 5})" for k, t in enumerate(cat["title"])]
    ids_users = data.interactions.users.ids
    frame = pd.DataFrame({"user_id": ids_users, "gender": [str(k % 2) for k in range(len(ids_users))]})
    model = TestHybrid().make_model().set_params(features={"segment": True, "genre": True, "year": True})
    model.fit(data.interactions, items=cat, users=frame)
    assert "seg_share:gender" in model.feature_names_ and "genre_cosine" in model.feature_names_
    ids, _ = model.recommend(np.arange(16), k=3)
    assert (data.item_block[ids] == data.user_block[:, None]).all()
    model.save(str(tmp_path / "h"))
    loaded = HybridRecommender.load(str(tmp_path / "h"))
    side = loaded.side_
    assert side.segment_attrs == ["gender"] and side.genres is not None and side.years is not None
    np.testing.assert_array_equal(loaded.recommend(np.arange(16), k=3)[0], ids)


# ---------------------------------------------------------------------- self-configuration (auto)
class TestAuto(RecommenderContract):
    """``auto`` (everything chosen on its own validation split) passes the same contract."""

    def make_model(self) -> HybridRecommender:
        from tuijian.models.hybrid import AutoRecommender

        # the checkerboard's last events are its highest item ids, so validate on random events
        return AutoRecommender(
            retrievers={"item-knn": {"n_neighbors": 10}, "popularity": {}},
            holdout={"strategy": "random", "fraction": 0.3},
            **SMALL,
        )


def test_auto_records_its_choice_and_serves_the_validation_winner(rule_data_model) -> None:
    model = rule_data_model
    sel = model.selection_
    table = sel["validation"]
    assert {"test-rule", "test-noise", "popularity"} <= set(table)
    assert any(k.startswith("ranker[") for k in table)
    best = max(table.values())
    assert sel["validation_ndcg@10"] == pytest.approx(best)
    if model.served_ == "ranker":
        key = f"ranker[{model.labels_.label()}; {model.features_.label()}{'; refit' if model.refit_ else ''}]"
    else:
        key = model.served_
    assert sel["chosen"] == model.served_ and table[key] == pytest.approx(best), (key, table)


@pytest.fixture(scope="module")
def rule_data_model(synthetic_retrievers: None) -> HybridRecommender:
    inter = _interactions(_rule_sequences(300, seed=3))
    model = HybridRecommender(retrievers={"test-noise": {}, "test-rule": {}, "popularity": {}}, **SMALL)
    return model.fit(inter)


def test_gate_serves_the_best_retriever_when_the_ranker_is_worse(monkeypatch, tmp_path) -> None:
    """A ranker trained on shuffled labels is worse than item-kNN on validation: the hybrid must not ship it."""
    import tuijian.models.hybrid as hybrid_mod

    real = hybrid_mod.train_rankers

    def shuffled(x, y, g, rng, cfg, random_state, num_threads):  # type: ignore[no-untyped-def]
        return real(x, np.random.default_rng(0).permutation(y), g, rng, cfg, random_state, num_threads)

    monkeypatch.setattr(hybrid_mod, "train_rankers", shuffled)
    data = checkerboard()
    model = HybridRecommender(
        retrievers={"item-knn": {"n_neighbors": 10}, "popularity": {}}, labels={"kind": "random", "fraction": 0.3},
        features={}, refit=False, **SMALL,
    ).fit(data.interactions, holdout=Holdout("random", fraction=0.3))  # fmt: skip
    table = model.selection_["validation"]
    assert model.served_ == "item-knn", table
    assert table["item-knn"] > max(v for k, v in table.items() if k.startswith("ranker["))
    knn = registry.create("item-knn", n_neighbors=10).fit(data.interactions)
    users = np.arange(data.interactions.n_users)
    hist = data.interactions.matrix
    seqs = data.interactions.sequences()
    expected = knn.recommend(np.full(len(users), -1), k=3, history=hist, sequences=seqs)[0]
    np.testing.assert_array_equal(model.recommend(users, k=3)[0], expected)
    model.save(str(tmp_path / "gate"))
    loaded = HybridRecommender.load(str(tmp_path / "gate"))
    assert loaded.served_ == "item-knn" and loaded.selection_ == model.selection_
    np.testing.assert_array_equal(loaded.recommend(users, k=3)[0], expected)


def test_holdout_mirrors_protocols_and_chooses_from_data() -> None:
    assert Holdout.for_protocol("loo").strategy == "last"
    assert Holdout.for_protocol("recbole").fraction == pytest.approx(1 / 9)
    h = Holdout.for_protocol("time-repeats", {"window_days": 14})
    assert (h.strategy, h.days, h.repeats) == ("time", 14.0, True)
    with pytest.raises(ConfigError, match="protocol"):
        Holdout.for_protocol("kfold")
    # 16 users x 7 events within 16 days: too short for 30-day windows -> last item
    assert Holdout().resolve(checkerboard().interactions).strategy == "last"
    # a year of weekly returns: time windows
    day = 86400
    rows = [(f"u{u}", f"i{(u + w) % 30}", w * 7 * day + u) for u in range(40) for w in range(52)]
    ev = pd.DataFrame(rows, columns=["user", "item", "ts"])
    ev["ts"] = pd.to_datetime(ev["ts"], unit="s", utc=True)
    assert Holdout().resolve(Interactions.from_events(ev)).strategy == "time"


def test_label_candidates_follow_the_holdout() -> None:
    inter = checkerboard().interactions
    assert [c.kind for c in LabelStrategy.candidates(Holdout("last"), inter)] == ["last"]
    assert LabelStrategy.candidates(Holdout("random", fraction=0.2), inter)[0].fraction == pytest.approx(0.2)


def test_default_retrievers_get_ease_regularisation_chosen_on_validation() -> None:
    data = checkerboard()
    model = HybridRecommender(features={}, refit=False, **SMALL).fit(
        data.interactions, holdout=Holdout("random", fraction=0.3)
    )
    table = model.selection_["validation"]
    tried = sorted(k for k in table if k.startswith("ease(reg="))
    assert tried == ["ease(reg=1000)", "ease(reg=125)", "ease(reg=250)", "ease(reg=500)"], table
    chosen = model.selection_["retrievers"]["ease"]["reg"]
    assert table[f"ease(reg={chosen:g})"] == max(table[k] for k in tried)
    if model.served_ == "ranker":
        assert model.models_["ease"].reg == chosen
