"""Decision-path and TreeSHAP contributions of the hybrid's LightGBM ranker (:mod:`tuijian.explain.tree_paths`):
they add up to the score, the served sums are bit for bit the dense per-tree sums they replaced, and the leaf
look-up is LightGBM's own."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.models.conformance import checkerboard
from tests.models.test_hybrid import FIXED, SMALL, SMALL_RANKER
from tuijian.explain import tree_paths
from tuijian.explain.tree_paths import PathAttributor, PathEnsemble, _LeafIndex, contributions
from tuijian.models.hybrid import HybridRecommender

RETRIEVERS = {"item-knn": {"n_neighbors": 10}, "session-transitions": {}, "popularity": {}}


@pytest.fixture(scope="module")
def hybrid() -> HybridRecommender:
    model = HybridRecommender(retrievers=RETRIEVERS, **FIXED, **SMALL)
    return model.fit(checkerboard().interactions)


@pytest.fixture(scope="module")
def hybrid3() -> HybridRecommender:
    """Three rankers of deeper trees, averaged as the served hybrid's are."""
    ranker = {**SMALL_RANKER, "n_rankers": 3, "num_leaves": 15, "min_child_samples": 3}
    model = HybridRecommender(retrievers=RETRIEVERS, **FIXED, **{**SMALL, "ranker": ranker})
    return model.fit(checkerboard().interactions)


@pytest.fixture(scope="module")
def forest() -> list[Any]:
    """Three boosters of different sizes on 12 features, trained with missing values (31-leaf trees, paths
    crediting a feature several times), and a booster whose only tree is a single leaf."""
    import lightgbm as lgb

    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 12)) * rng.choice([1e-3, 1.0, 1e3], size=12)
    x[rng.random(x.shape) < 0.1] = np.nan
    y = np.nan_to_num(np.sin(x[:, 0]) + x[:, 1] * 1e-3 + (x[:, 2] > 0)) + rng.normal(size=3000) * 0.1
    params = {
        "objective": "regression",
        "num_leaves": 31,
        "min_data_in_leaf": 5,
        "verbose": -1,
        "num_threads": 1,
    }
    boosters = [
        lgb.train({**params, "seed": s, "bagging_fraction": 0.7, "bagging_freq": 1}, lgb.Dataset(x, y), n)
        for s, n in ((0, 40), (1, 55), (2, 47))
    ]
    stump = lgb.train({**params, "min_data_in_leaf": 2000}, lgb.Dataset(x, y), 1)
    assert stump.dump_model()["tree_info"][0]["num_leaves"] == 1
    return [*boosters, stump]


def hybrid_rows(model: HybridRecommender) -> np.ndarray:
    seq = model.train_sequence(3)
    return model.pair_features(np.array([3]), model.interactions_.matrix[[3]], [seq])[2]


def odd_rows(rows: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``rows`` and ``n`` more far outside them, with NaN, zeros, infinities, tiny and huge values."""
    rng = np.random.default_rng(seed)
    width = rows.shape[1]
    noise = rng.normal(size=(n, width)) * rng.choice([1e-30, 1e-3, 1.0, 1e3, 1e30], size=(n, width))
    out = np.concatenate([rows, noise.astype(rows.dtype)])
    out[rng.random(out.shape) < 0.15] = np.nan
    out[rng.random(out.shape) < 0.1] = 0.0
    out[rng.random(out.shape) < 0.02] = np.inf
    out[rng.random(out.shape) < 0.02] = -np.inf
    return out


def dense_contributions(attributors: list[PathAttributor], feats: np.ndarray) -> np.ndarray:
    """The formulation the served sums replaced: per booster one dense ``(trees, rows, features)`` gather of the
    leaf table summed over the trees (numpy: slice after slice), the boosters' arrays added into zeros one after
    another and divided by their number."""
    out = np.zeros((len(feats), feats.shape[1] + 1), dtype=np.float64)
    for att in attributors:
        leaves = np.asarray(att.booster.predict(feats, pred_leaf=True, num_threads=1), np.int64)
        leaves = leaves.reshape(len(feats), -1)
        by_tree = np.ascontiguousarray(leaves.T) + att.offsets[: leaves.shape[1], None]
        one = np.empty((len(feats), feats.shape[1] + 1))
        one[:, :-1] = att.leaf_contrib.toarray()[by_tree].sum(axis=0)
        one[:, -1] = att.base
        out += one
    return out / len(attributors)


def use_kernels(kernels: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``"csr"``: scipy's kernels (as served); ``"numpy"``: the fallback."""
    if kernels == "numpy":
        monkeypatch.setattr(tree_paths, "_KERNELS", None)
    elif tree_paths._KERNELS is None:
        pytest.skip("this scipy has no CSR kernels")


def same_bits(got: np.ndarray, want: np.ndarray) -> bool:
    return (
        got.dtype == want.dtype == np.float64
        and got.shape == want.shape
        and np.array_equal(got, want)
        and np.array_equal(got.view(np.int64), want.view(np.int64))  # -0.0 is not 0.0 here
    )


@pytest.mark.parametrize("method", ["path", "shap"])
def test_contributions_add_up_to_the_score(hybrid: HybridRecommender, method: str) -> None:
    seq = hybrid.train_sequence(3)
    _, _, feats = hybrid.pair_features(np.array([3]), hybrid.interactions_.matrix[[3]], [seq])
    phi = contributions(hybrid, feats, method)
    np.testing.assert_allclose(phi.sum(axis=1), hybrid._predict(feats), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="method must be one of"):
        contributions(hybrid, feats, "lime")


def test_path_contributions_are_the_per_leaf_sums_bit_for_bit(hybrid: HybridRecommender) -> None:
    """The served attribution equals summing each row's leaf rows tree by tree, exactly (the served
    explanations' weights must not move with the way they are gathered)."""
    feats = hybrid_rows(hybrid)
    want = np.zeros((len(feats), feats.shape[1] + 1))
    for booster in hybrid.boosters_:
        att = PathAttributor(booster, feats.shape[1])
        table = att.leaf_contrib.toarray()
        leaves = np.asarray(booster.predict(feats, pred_leaf=True), np.int64) + att.offsets[None, :]
        per_row = np.zeros((len(feats), feats.shape[1] + 1))
        for r in range(len(feats)):
            acc = table[leaves[r, 0]].copy()
            for leaf in leaves[r, 1:]:
                acc += table[leaf]
            per_row[r, :-1] = acc
        per_row[:, -1] = att.base
        want += per_row
    want /= len(hybrid.boosters_)
    assert same_bits(contributions(hybrid, feats, "path"), want)


def test_leaf_index_is_lightgbm_pred_leaf(hybrid: HybridRecommender) -> None:
    """The served leaf look-up (LightGBM's single-row C API, one predictor per thread) gives the leaves
    ``Booster.predict(pred_leaf=True)`` gives, for float32 and float64 rows with NaN, zeros, infinities and
    values far outside the training range, one row at a time or many (``predict`` itself past FAST_ROWS)."""
    import threading

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
                    # as the ensemble asks: into a column slice of a wider float64 buffer, the rest untouched
                    buffer = np.full((len(got), leaf.n_trees + 5), -1.0)
                    leaf.fill(np.ascontiguousarray(rows[start : start + size], dtype), buffer[:, 2:-3])
                    assert np.array_equal(buffer[:, 2:-3], got) and (buffer[:, :2] == -1).all()
                    assert (buffer[:, -3:] == -1).all()
        # another thread gets its own predictor: the same leaves
        seen: list[np.ndarray] = []
        worker = threading.Thread(target=lambda: seen.append(leaf(rows[:10])))  # noqa: B023
        worker.start()
        worker.join()
        assert np.array_equal(seen[0], want[:10])


def test_the_old_names_still_import_from_the_ranker_module() -> None:
    from tuijian.explain import ranker, tree_paths

    assert ranker.PathAttributor is tree_paths.PathAttributor and ranker._LeafIndex is tree_paths._LeafIndex
    assert ranker.contributions is tree_paths.contributions and ranker.METHODS is tree_paths.METHODS


@pytest.mark.parametrize("name", ["hybrid", "hybrid3"])
@pytest.mark.parametrize("kernels", ["csr", "numpy"])
def test_path_contributions_are_the_dense_sums_bit_for_bit(
    name: str, kernels: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the fixtures' rankers, for the rows they scored and rows far outside them, float32 (as served) and
    float64, one row to many (``predict`` past FAST_ROWS): the served contributions carry the bits of the dense
    per-tree gather they replaced, with scipy's CSR kernels or numpy's fallback, and add up to the score."""
    model: HybridRecommender = request.getfixturevalue(name)
    use_kernels(kernels, monkeypatch)
    rows = odd_rows(hybrid_rows(model), 300, seed=11)
    attributors = [PathAttributor(b, rows.shape[1]) for b in model.boosters_]
    for dtype in (np.float32, np.float64):
        for size in (1, 2, 10, _LeafIndex.FAST_ROWS, _LeafIndex.FAST_ROWS + 1, len(rows)):
            for start in range(0, len(rows), size * 3):
                chunk = rows[start : start + size].astype(dtype)
                assert same_bits(contributions(model, chunk, "path"), dense_contributions(attributors, chunk))
    phi = contributions(model, rows, "path")
    np.testing.assert_allclose(phi.sum(axis=1), model._predict(rows), rtol=1e-6)  # _predict: float32
    if kernels == "csr":  # they passed their check and served
        assert model._path_ensemble._kernels is not None


@pytest.mark.parametrize("kernels", ["csr", "numpy"])
def test_path_ensemble_is_the_dense_sums_bit_for_bit(
    forest: list[Any], kernels: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same on bigger boosters (31 leaves, a feature credited several times on a path), averaged one, three
    or four at a time, one with a single-leaf tree (a leaf crediting nothing); one booster alone
    (``PathAttributor.__call__``) is its sums, undivided."""
    use_kernels(kernels, monkeypatch)
    rng = np.random.default_rng(5)
    rows = odd_rows(rng.normal(size=(40, 12)) * rng.choice([1e-3, 1.0, 1e3], size=12), 400, seed=13)
    attributors = [PathAttributor(b, 12) for b in forest]
    for group in (attributors[:1], attributors[:3], attributors):
        ensemble = PathEnsemble(group)
        assert (ensemble._kernels is not None) == (kernels == "csr")
        for dtype in (np.float32, np.float64):
            for size in (1, 3, 10, _LeafIndex.FAST_ROWS, _LeafIndex.FAST_ROWS + 1, len(rows)):
                for start in range(0, len(rows), size * 4):
                    chunk = rows[start : start + size].astype(dtype)
                    assert same_bits(ensemble(chunk), dense_contributions(group, chunk))
    for att in attributors:
        assert same_bits(att(rows[:10]), dense_contributions([att], rows[:10]))
    if kernels == "csr":  # 64-bit positions: the table's past 2**31 entries, a call's past 2**31 leaf cells
        matmat, todense = tree_paths._KERNELS
        seen: list[np.dtype] = []

        def spy(*args: Any) -> None:
            seen.append(args[3].dtype)  # the leaf cells
            matmat(*args)

        monkeypatch.setattr(tree_paths, "_KERNELS", (spy, todense))
        ensemble = PathEnsemble(attributors)
        monkeypatch.setattr(PathEnsemble, "_INT32_CELLS", 1)
        chunk = rows[: _LeafIndex.FAST_ROWS + 1]
        assert same_bits(ensemble(chunk), dense_contributions(attributors, chunk))
        assert ensemble._indptr.dtype == np.int32 and seen[-1] == np.int64
        wide = PathEnsemble(attributors)
        assert wide._indptr.dtype == np.int64 and wide._kernels is not None
        assert same_bits(wide(chunk), dense_contributions(attributors, chunk)) and seen[-1] == np.int64
    mean = np.mean([b.predict(rows, num_threads=1) for b in forest[:3]], axis=0)
    np.testing.assert_allclose(PathEnsemble(attributors[:3])(rows).sum(axis=1), mean, rtol=1e-9, atol=1e-12)
    assert PathEnsemble(attributors)(rows[:0]).shape == (0, 13)


def test_leaf_tables_store_no_zero(forest: list[Any], hybrid3: HybridRecommender) -> None:
    """Each leaf's row holds the credits of the features on its path and no stored zero, so no -0.0 either:
    the sums skip the absent entries, and adding their 0.0 would change no float (the credits are
    ``(sum so far + child) - parent`` from +0.0, never -0.0, and no partial sum of them is -0.0)."""
    for booster in [*forest, *hybrid3.boosters_]:
        att = PathAttributor(booster, booster.num_feature())
        table = att.leaf_contrib
        assert table.has_canonical_format and table.data.dtype == np.float64
        assert (table.data != 0).all() and np.isfinite(table.data).all()
        dense = table.toarray()
        assert not np.signbit(dense[dense == 0]).any()
        leaves = sum(t["num_leaves"] for t in booster.dump_model()["tree_info"])
        assert len(att.offsets) == booster.num_trees() and table.shape[0] == leaves


def test_kernels_that_fail_or_differ_give_way_to_numpy(
    forest: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """scipy's kernels are private: an ensemble checks them on its own leaves and sums with numpy where they
    raise or differ in a bit (here: summing the trees in reverse)."""
    matmat, todense = tree_paths._csr_kernels() or pytest.skip("this scipy has no CSR kernels")
    attributors = [PathAttributor(b, 12) for b in forest[:3]]
    rows = odd_rows(np.random.default_rng(9).normal(size=(5, 12)), 20, seed=9)
    want = dense_contributions(attributors, rows)

    def broken(*args: Any) -> None:
        raise TypeError("unsupported data types")

    def reversed_trees(n_row: int, n_col: int, ap: Any, aj: Any, *rest: Any) -> None:
        cells = np.concatenate([aj[lo:hi][::-1] for lo, hi in zip(ap[:-1], ap[1:], strict=True)])
        matmat(n_row, n_col, ap, cells.astype(aj.dtype), *rest)

    assert PathEnsemble(attributors)._kernels is not None
    for kernels in ((broken, todense), (reversed_trees, todense)):
        monkeypatch.setattr(tree_paths, "_KERNELS", kernels)
        ensemble = PathEnsemble(attributors)
        assert ensemble._kernels is None and same_bits(ensemble(rows), want)
