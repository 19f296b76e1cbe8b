"""Decision-path and TreeSHAP contributions of the hybrid's LightGBM ranker (:mod:`tuijian.explain.tree_paths`):
they add up to the score, the served sums equal the per-leaf sums bit for bit, and the leaf look-up is
LightGBM's own."""

from __future__ import annotations

import numpy as np
import pytest

from tests.models.conformance import checkerboard
from tests.models.test_hybrid import FIXED, SMALL
from tuijian.explain.tree_paths import PathAttributor, _LeafIndex, contributions
from tuijian.models.hybrid import HybridRecommender


@pytest.fixture(scope="module")
def hybrid() -> HybridRecommender:
    model = HybridRecommender(
        retrievers={"item-knn": {"n_neighbors": 10}, "session-transitions": {}, "popularity": {}},
        **FIXED,
        **SMALL,
    )
    return model.fit(checkerboard().interactions)


@pytest.mark.parametrize("method", ["path", "shap"])
def test_contributions_add_up_to_the_score(hybrid: HybridRecommender, method: str) -> None:
    seq = hybrid.train_sequence(3)
    _, _, feats = hybrid.pair_features(np.array([3]), hybrid.interactions_.matrix[[3]], [seq])
    phi = contributions(hybrid, feats, method)
    np.testing.assert_allclose(phi.sum(axis=1), hybrid._predict(feats), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="method must be one of"):
        contributions(hybrid, feats, "lime")


def test_path_contributions_are_the_per_leaf_sums_bit_for_bit(hybrid: HybridRecommender) -> None:
    """The served attribution (one gather of trees x rows) equals summing each row's leaf rows tree by tree,
    exactly (the served explanations' weights must not move with the way they are gathered)."""
    seq = hybrid.train_sequence(3)
    _, _, feats = hybrid.pair_features(np.array([3]), hybrid.interactions_.matrix[[3]], [seq])
    want = np.zeros((len(feats), feats.shape[1] + 1))
    for booster in hybrid.boosters_:
        att = PathAttributor(booster, feats.shape[1])
        leaves = np.asarray(booster.predict(feats, pred_leaf=True), np.int64) + att.offsets[None, :]
        per_row = np.zeros((len(feats), feats.shape[1] + 1))
        for r in range(len(feats)):
            acc = att.leaf_contrib[leaves[r, 0]].copy()
            for leaf in leaves[r, 1:]:
                acc += att.leaf_contrib[leaf]
            per_row[r, :-1] = acc
        per_row[:, -1] = att.base
        want += per_row
    want /= len(hybrid.boosters_)
    got = contributions(hybrid, feats, "path")
    assert got.shape == want.shape and (got.view(np.int64) == want.view(np.int64)).all()


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
