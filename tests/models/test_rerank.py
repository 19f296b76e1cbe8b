"""Rerankers on hand-made lists: MMR diversity, business filters, chaining and the plug-in interface."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tuijian.exceptions import ConfigError
from tuijian.models.rerank import MMR, BusinessFilter, RerankContext, Reranker, apply_rerankers

# items 0 and 1 are near duplicates, 2 and 3 are unlike anything else
SIM = np.array(
    [
        [1.0, 0.95, 0.0, 0.1],
        [0.95, 1.0, 0.0, 0.1],
        [0.0, 0.0, 1.0, 0.0],
        [0.1, 0.1, 0.0, 1.0],
    ]
)
IDS = np.array([[0, 1, 2, 3]])
SCORES = np.array([[1.0, 0.9, 0.5, 0.0]], dtype=np.float32)


def ctx(**kw: object) -> RerankContext:
    return RerankContext(n_items=4, **kw)  # type: ignore[arg-type]


def test_mmr_pushes_the_near_duplicate_down() -> None:
    sim = sp.csr_matrix(SIM)
    # rel = [1, 0.9, 0.5, 0] (min-max). lambda 0.5: after 0, item 1 -> 0.45 - 0.475 < item 2 -> 0.25;
    # then item 1 (-0.025) beats item 3 (0 - 0.05)
    ids, scores = MMR(relevance_weight=0.5).rerank(IDS, SCORES, 4, ctx(similarity=sim))
    assert ids.tolist() == [[0, 2, 1, 3]]
    np.testing.assert_allclose(scores, [[1.0, 0.5, 0.9, 0.0]])
    # lambda 0.3: item 1 (0.27 - 0.665) falls behind item 3 (0 - 0.07) as well
    ids, _ = MMR(relevance_weight=0.3).rerank(IDS, SCORES, 4, ctx(similarity=sim))
    assert ids.tolist() == [[0, 2, 3, 1]]


def test_mmr_with_full_relevance_keeps_the_order_and_dense_similarity_works() -> None:
    ids, _ = MMR(relevance_weight=1.0).rerank(IDS, SCORES, 3, ctx(similarity=SIM))
    assert ids.tolist() == [[0, 1, 2]]


def test_mmr_handles_padding_and_needs_similarity() -> None:
    ids, scores = MMR(0.5).rerank(
        np.array([[2, -1, -1]]), np.array([[0.3, -np.inf, -np.inf]]), 3, ctx(similarity=SIM)
    )
    assert ids.tolist() == [[2, -1, -1]] and np.isneginf(scores[0, 1:]).all()
    with pytest.raises(ConfigError, match="similarity"):
        MMR(0.5).rerank(IDS, SCORES, 2, ctx())
    with pytest.raises(ConfigError, match="relevance_weight"):
        MMR(1.5)


def test_business_filter_rules() -> None:
    c = ctx(category=np.array([0, 1, 1, 2]), price=np.array([5.0, np.nan, 20.0, 50.0]),
            in_stock=np.array([True, True, False, True]))  # fmt: skip
    assert BusinessFilter(include_categories=[1]).rerank(IDS, SCORES, 4, c)[0].tolist() == [[1, 2, -1, -1]]
    assert BusinessFilter(exclude_categories=[1]).rerank(IDS, SCORES, 4, c)[0].tolist() == [[0, 3, -1, -1]]
    # unknown price fails a price rule
    assert BusinessFilter(min_price=10, max_price=50).rerank(IDS, SCORES, 4, c)[0].tolist() == [
        [2, 3, -1, -1]
    ]
    assert BusinessFilter(in_stock_only=True).rerank(IDS, SCORES, 4, c)[0].tolist() == [[0, 1, 3, -1]]
    ids, scores = BusinessFilter(exclude_items=[0, 3]).rerank(IDS, SCORES, 4, c)
    assert ids.tolist() == [[1, 2, -1, -1]]
    np.testing.assert_allclose(scores[0, :2], [0.9, 0.5])


def test_business_filter_errors_name_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="category"):
        BusinessFilter(include_categories=[1]).rerank(IDS, SCORES, 2, ctx())
    with pytest.raises(ConfigError, match="price"):
        BusinessFilter(max_price=3).rerank(IDS, SCORES, 2, ctx())
    with pytest.raises(ConfigError, match="min_price"):
        BusinessFilter(min_price=5, max_price=1)


class DropOdd:
    """A plug-in reranker (think privacy filter): anything with rerank() slots in."""

    def rerank(self, ids: np.ndarray, scores: np.ndarray, k: int, context: RerankContext):
        keep = ids % 2 == 0
        out_ids = np.full_like(ids, -1)
        out_s = np.full_like(scores, -np.inf)
        for r in range(len(ids)):
            n = int(keep[r].sum())
            out_ids[r, :n], out_s[r, :n] = ids[r][keep[r]], scores[r][keep[r]]
        return out_ids, out_s


def test_apply_rerankers_chains_in_order_and_cuts_to_k() -> None:
    assert isinstance(DropOdd(), Reranker)
    c = ctx(similarity=SIM)
    ids, _ = apply_rerankers([DropOdd(), MMR(0.5)], IDS, SCORES, 2, c)
    assert ids.tolist() == [[0, 2]]
    ids, _ = apply_rerankers([], IDS, SCORES, 3, c)
    assert ids.tolist() == [[0, 1, 2]]
    with pytest.raises(ConfigError, match="not a Reranker"):
        apply_rerankers([object()], IDS, SCORES, 2, c)  # type: ignore[list-item]
