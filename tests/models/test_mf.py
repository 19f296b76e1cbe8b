"""ALS and BPR (wrapping ``implicit``): contract, equality with implicit itself, fold-in, real data (ML-100K u1)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tests.models._ml100k import topk_metrics
from tests.models.conformance import RecommenderContract
from tuijian.exceptions import ConfigError
from tuijian.models import registry
from tuijian.models.mf import ALS, BPR, factor_scores


class TestALS(RecommenderContract):
    def make_model(self) -> ALS:
        return ALS(n_factors=4, reg=1.0, alpha=5.0, n_iterations=15, random_state=0, num_threads=1)


class TestBPR(RecommenderContract):
    def make_model(self) -> BPR:
        return BPR(n_factors=8, learning_rate=0.05, reg=0.01, n_iterations=200, random_state=0)


@pytest.fixture(scope="module")
def als_u1(ml100k_u1_implicit) -> ALS:
    inter, _ = ml100k_u1_implicit
    return ALS(n_factors=32, reg=0.05, alpha=2.0, n_iterations=10, random_state=3).fit(inter)


def test_registry_names() -> None:
    assert registry.model_class("als") is ALS and registry.model_class("bpr") is BPR


def test_als_equals_implicit_on_same_data(als_u1: ALS, ml100k_u1_implicit) -> None:
    """Peer check: same matrix and parameters give implicit's own factors and recommendations."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    inter, _ = ml100k_u1_implicit
    with threadpool_limits(1, "blas"):
        ref = AlternatingLeastSquares(
            factors=32, regularization=0.05, alpha=2.0, iterations=10, random_state=3
        )
        ref.fit(inter.matrix, show_progress=False)
    np.testing.assert_allclose(als_u1.item_factors_, ref.item_factors, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(als_u1.user_factors_, ref.user_factors, rtol=1e-5, atol=1e-6)
    users = np.arange(50)
    ours, _ = als_u1.recommend(users, k=10)
    theirs, _ = ref.recommend(users, inter.matrix[users], N=10, filter_already_liked_items=True)
    assert (ours == theirs).mean() > 0.98  # ties may order differently


def test_als_beats_popularity_on_ml100k(als_u1: ALS, ml100k_u1_implicit, ml100k_u1_popularity) -> None:
    _, relevant = ml100k_u1_implicit
    got = topk_metrics(als_u1, relevant)
    assert got["hr"] >= ml100k_u1_popularity["hr"] + 0.05, (got, ml100k_u1_popularity)
    assert got["precision"] >= 1.3 * ml100k_u1_popularity["precision"], (got, ml100k_u1_popularity)


def test_als_fold_in_matches_trained_user(als_u1: ALS, ml100k_u1_implicit) -> None:
    """An unknown user (-1) with a trained user's history gets nearly that user's list (exact LS vs CG)."""
    inter, _ = ml100k_u1_implicit
    users = np.arange(0, 300, 10)
    trained, _ = als_u1.recommend(users, k=10)
    folded, _ = als_u1.recommend(np.full(len(users), -1), k=10, history=inter.matrix[users])
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(trained, folded, strict=True)])
    assert overlap >= 0.8, overlap


def test_als_small_fold_in_on_one_thread_is_identical(als_u1: ALS, ml100k_u1_implicit) -> None:
    """A served request folds in a few users on a one-thread solver; the vectors are bit-identical to the
    multi-threaded batch solve (each user's least squares is independent)."""
    inter, _ = ml100k_u1_implicit
    rows = inter.matrix[:200]
    batch = als_u1.fold_in(rows)  # > 64 rows: the model's own thread count
    for u in (0, 7, 199):
        np.testing.assert_array_equal(als_u1.fold_in(rows[u]), batch[u : u + 1])
    np.testing.assert_array_equal(als_u1.fold_in(rows[:5]), batch[:5])


@pytest.mark.parametrize("n_factors", [3, 32, 130])
def test_factor_scores_of_one_user_equal_the_batch_row(n_factors: int) -> None:
    """A one-row product runs the same BLAS routine as a batch (numpy would pick GEMV, which sums in another
    order), so a user's scores are the same bits alone, in any batch, on any slice of the rows."""
    rng = np.random.default_rng(n_factors)
    items = rng.standard_normal((5003, n_factors)).astype(np.float32)
    users = rng.standard_normal((300, n_factors)).astype(np.float32)
    batch = factor_scores(users, items)
    np.testing.assert_allclose(batch, users @ items.T, rtol=1e-5, atol=1e-4)
    for u in (0, 1, 150, 299):
        np.testing.assert_array_equal(factor_scores(users[u : u + 1], items), batch[u : u + 1])
    np.testing.assert_array_equal(factor_scores(users[17:273], items), batch[17:273])


def test_als_one_user_request_is_the_batch_row(als_u1: ALS) -> None:
    """``recommend`` for one user gives the same scores as that user's row of a batched request."""
    users = np.arange(0, 256)
    ids, scores = als_u1.recommend(users, k=50, exclude_seen=False)
    for u in (0, 101, 255):
        one_ids, one_scores = als_u1.recommend(int(u), k=50, exclude_seen=False)
        np.testing.assert_array_equal(one_ids, ids[u])
        np.testing.assert_array_equal(one_scores, scores[u])


def test_als_history_update_changes_vector(als_u1: ALS, ml100k_u1_implicit) -> None:
    inter, _ = ml100k_u1_implicit
    row = inter.matrix[0].copy()
    default = als_u1.score(0)
    np.testing.assert_allclose(
        default, als_u1.user_factors_[0] @ als_u1.item_factors_.T, rtol=1e-5, atol=1e-6
    )
    extra = sp.csr_matrix(
        row + sp.csr_matrix(([1.0] * 5, ([0] * 5, [500, 501, 502, 503, 504])), shape=row.shape)
    )
    updated = als_u1.score(0, history=extra)
    assert not np.allclose(default, updated)


def test_bpr_on_ml100k_beats_popularity_and_folds_in(ml100k_u1_implicit, ml100k_u1_popularity) -> None:
    inter, relevant = ml100k_u1_implicit
    model = BPR(n_factors=16, learning_rate=0.01, reg=0.01, n_iterations=100, random_state=1).fit(inter)
    got = topk_metrics(model, relevant)
    assert got["hr"] >= ml100k_u1_popularity["hr"] + 0.03, (got, ml100k_u1_popularity)
    assert got["precision"] >= 1.1 * ml100k_u1_popularity["precision"], (got, ml100k_u1_popularity)
    # fold-in: a user scored from history alone ranks their own training items far above random
    users = np.arange(0, 200, 5)
    hist = inter.matrix[users]
    scores = model.score(np.full(len(users), -1), history=hist)
    ranks = (-scores).argsort(axis=1).argsort(axis=1)
    mean_rank = np.mean([ranks[r, hist[r].indices].mean() for r in range(len(users))])
    assert mean_rank < 0.25 * inter.n_items, mean_rank


def test_similar_items_cosine(als_u1: ALS) -> None:
    ids, scores = als_u1.similar_items(np.array([0, 5]), k=5)
    f = als_u1.item_factors_
    unit = f / np.linalg.norm(f, axis=1, keepdims=True)
    expect = unit[0] @ unit.T
    expect[0] = -np.inf
    np.testing.assert_array_equal(ids[0], np.argsort(-expect)[:5])
    np.testing.assert_allclose(scores[0], np.sort(expect)[::-1][:5], rtol=1e-5)
    with pytest.raises(ConfigError, match="item indices"):
        als_u1.similar_items(10**6)


@pytest.mark.parametrize(
    ("cls", "params", "name"),
    [
        (ALS, {"n_factors": 0}, "n_factors"),
        (ALS, {"alpha": -1.0}, "alpha"),
        (ALS, {"reg": "big"}, "reg"),
        (BPR, {"learning_rate": 0}, "learning_rate"),
        (BPR, {"n_iterations": 2.5}, "n_iterations"),
    ],
)
def test_bad_params_name_the_parameter(cls, params, name, ml100k_u1_implicit) -> None:
    inter, _ = ml100k_u1_implicit
    with pytest.raises(ConfigError, match=name):
        cls(**params).fit(inter)


# ---------------------------------------------------------------------- single-threaded BLAS, cheaply
def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_single_threaded_blas_limits_and_restores(als_u1: ALS) -> None:
    from tuijian.models.mf import single_threaded_blas

    als_u1.fold_in(als_u1.interactions_.matrix[:2])  # implicit and its BLAS are loaded
    before = _blas_threads()
    with single_threaded_blas():
        assert set(_blas_threads()) == {1}
        with single_threaded_blas():  # nested: still one thread, and leaving it keeps the outer limit
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before


def test_single_threaded_blas_scans_libraries_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-call cost was a full library scan (threadpoolctl); now one scan serves every later call."""
    from tuijian.models import mf

    limit = mf._BlasLimit()
    monkeypatch.setattr(mf, "_BLAS_LIMIT", limit)
    with mf.single_threaded_blas():
        first = limit._controller
    assert first is not None
    for _ in range(50):
        with mf.single_threaded_blas():
            assert limit._controller is first
    # a module imported since the scan may have loaded a new BLAS library: the next call scans again
    import sys

    sys_modules_len = limit._n_modules
    sys.modules["tuijian_test_fake_module"] = sys  # type: ignore[assignment]
    try:
        with mf.single_threaded_blas():
            assert limit._controller is not first and limit._n_modules == sys_modules_len + 1
    finally:
        del sys.modules["tuijian_test_fake_module"]


def test_single_threaded_blas_holds_while_another_thread_is_inside() -> None:
    """Concurrent requests: a thread leaving its block does not lift the limit under one still inside."""
    import threading

    from tuijian.models.mf import single_threaded_blas

    inside, release, seen = threading.Event(), threading.Event(), []

    def long_block() -> None:
        with single_threaded_blas():
            inside.set()
            release.wait(10)
            seen.append(_blas_threads())

    t = threading.Thread(target=long_block)
    t.start()
    assert inside.wait(10)
    with single_threaded_blas():
        pass
    release.set()
    t.join(10)
    assert seen and set(seen[0]) == {1}


def test_cached_blas_limit_gives_bit_identical_results(als_u1: ALS) -> None:
    """Fold-in and scores under the cached limit equal, bit for bit, those under a fresh threadpool_limits."""
    from threadpoolctl import threadpool_limits

    history = als_u1.interactions_.matrix[:40]
    ours = als_u1.fold_in(history)
    native = als_u1._native_model()
    with threadpool_limits(limits=1, user_api="blas"):
        ref = np.asarray(native.recalculate_user(np.arange(40), sp.csr_matrix(history)), dtype=np.float32)
    np.testing.assert_array_equal(ours, ref)
    ids, scores = als_u1.recommend(-1, 10, history=history[3])
    ref_scores = factor_scores(ref[3:4], als_u1.item_factors_, as_batch=False)[0]  # folded in: GEMV
    ref_scores[history[3].indices] = -np.inf
    order = np.lexsort((np.arange(len(ref_scores)), -ref_scores))[:10]
    np.testing.assert_array_equal(ids, order)
    np.testing.assert_array_equal(scores, ref_scores[order])


@pytest.mark.parametrize("cls", [ALS, BPR])
def test_score_columns_of_unsorted_and_weighted_histories(cls, ml100k_u1_implicit) -> None:
    """A factor model's ``score_columns`` is the fold-in row's columns bit for bit for histories stored out
    of order, with weights, as COO with a repeated entry; the caller's history is left as it was (BPR's
    fold-in sorts its input)."""
    inter, _ = ml100k_u1_implicit
    model = cls(n_factors=8, random_state=0, **({"num_threads": 1} if cls is ALS else {})).fit(inter)
    rng = np.random.default_rng(2)
    cols = rng.choice(inter.n_items, 40, replace=False)
    items = rng.choice(inter.n_items, 12, replace=False)  # unsorted
    weights = rng.uniform(0.5, 3.0, 12).astype(np.float32)
    unsorted = sp.csr_matrix((weights, items, np.array([0, 12])), shape=(1, inter.n_items))
    coo = sp.coo_matrix(
        (np.r_[weights, 1.5], (np.zeros(13, int), np.r_[items, items[3]])), shape=(1, inter.n_items)
    )
    for history in (unsorted, coo, inter.matrix[[7]]):
        before = history.copy()
        full = np.asarray(model.score(-1, history=history), np.float32)
        got = model.score_columns(history, np.zeros(0, np.int64), cols)
        assert got is not None and np.array_equal(got.view(np.uint32), full[cols].view(np.uint32))
        if sp.isspmatrix_csr(history):
            assert np.array_equal(history.indices, before.indices) and np.array_equal(
                history.data, before.data
            )
