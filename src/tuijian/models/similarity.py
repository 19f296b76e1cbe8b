"""Sparse, blocked similarity computations shared by the neighbourhood models.

Nothing here builds a dense ``n_items x n_items`` matrix: similarities are
computed for a block of target rows at a time and pruned to each row's
``n_neighbors`` best entries before the next block, so memory stays
``O(block * n + n * n_neighbors)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp

from tuijian.exceptions import ConfigError

Similarity = Literal["cosine", "pearson"]
SIMILARITIES: tuple[str, ...] = ("cosine", "pearson")

#: dense cells per block (~64 MB of float64)
_BLOCK_CELLS = 8_000_000


def check_similarity(similarity: str) -> None:
    if similarity not in SIMILARITIES:
        raise ConfigError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")


def prune_rows(dense: np.ndarray, n_neighbors: int | None, *, positive_only: bool = True) -> sp.csr_matrix:
    """Keep each row's ``n_neighbors`` largest entries (only ``> 0`` ones if ``positive_only``)."""
    n_rows, n_cols = dense.shape
    if positive_only:
        dense = np.where(dense > 0, dense, 0.0)
    if n_neighbors is not None and n_neighbors < n_cols:
        part = np.argpartition(-dense, n_neighbors - 1, axis=1)[:, :n_neighbors]
        vals = np.take_along_axis(dense, part, axis=1)
        rows = np.repeat(np.arange(n_rows), n_neighbors)
        out = sp.csr_matrix((vals.ravel(), (rows, part.ravel())), shape=dense.shape)
    else:
        out = sp.csr_matrix(dense)
    out.eliminate_zeros()
    out.sort_indices()
    return out


def _column_stats(x: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    sums = np.asarray(x.sum(axis=0), dtype=np.float64).ravel()
    sq = np.asarray(x.multiply(x).sum(axis=0), dtype=np.float64).ravel()
    return sums, sq


def row_normalisers(
    x: sp.csr_matrix, similarity: str, alpha: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-column statistics of ``x`` (rows are observations) that turn Gram entries into similarities.

    Returns ``(mean, left_norm, right_norm, n_obs)``: for cosine ``mean`` is 0 and the norms
    are ``|c|^(2 alpha)`` and ``|c|^(2 (1 - alpha))`` (``alpha = 0.5`` is the plain cosine);
    for Pearson the norms are the column standard deviations (times ``sqrt(n)``).
    """
    n_obs = x.shape[0]
    sums, sq = _column_stats(x)
    if similarity == "cosine":
        return np.zeros_like(sums), np.power(sq, alpha), np.power(sq, 1.0 - alpha), np.full(1, n_obs)
    mean = sums / max(n_obs, 1)
    var = np.maximum(sq - n_obs * mean * mean, 0.0)
    std = np.sqrt(var)
    return mean, std, std, np.full(1, n_obs)


def similarity_block(
    gram: np.ndarray,
    target_stats: tuple[np.ndarray, np.ndarray],
    other_stats: tuple[np.ndarray, np.ndarray],
    n_obs: int,
    shrinkage: float,
) -> np.ndarray:
    """Similarities from a dense Gram block ``targets x others``.

    ``*_stats`` are ``(mean, norm)`` pairs; Pearson subtracts ``n * mean_t * mean_o``
    from the Gram entry (so missing entries count as observed zeros).
    """
    t_mean, t_norm = target_stats
    o_mean, o_norm = other_stats
    num = gram
    if t_mean.any() or o_mean.any():
        num = gram - n_obs * np.outer(t_mean, o_mean)
    denom = np.outer(t_norm, o_norm) + shrinkage
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), 0.0)
    return sim


def item_item_similarity(
    x: sp.csr_matrix,
    *,
    similarity: str = "cosine",
    n_neighbors: int | None = 100,
    shrinkage: float = 0.0,
    alpha: float = 0.5,
    dtype: type = np.float32,
) -> sp.csr_matrix:
    """Sparse ``W`` (``neighbour x target``) with each target item's top neighbours.

    ``x`` is ``users x items``. Entry ``W[i, j]`` is the similarity of neighbour
    ``i`` to target ``j``, so ``history @ W`` scores every target from the items
    in the history. An item is never its own neighbour; only positive
    similarities are kept.
    """
    check_similarity(similarity)
    x = sp.csr_matrix(x, dtype=np.float64)
    n_users, n_items = x.shape
    mean, left, right, _ = row_normalisers(x, similarity, alpha)
    xt = x.T.tocsr()
    block = max(1, _BLOCK_CELLS // max(n_items, 1))
    parts: list[sp.csr_matrix] = []
    for start in range(0, n_items, block):
        stop = min(start + block, n_items)
        gram = (xt[start:stop] @ x).toarray()
        sim = similarity_block(gram, (mean[start:stop], left[start:stop]), (mean, right), n_users, shrinkage)
        sim[np.arange(stop - start), np.arange(start, stop)] = 0.0
        parts.append(prune_rows(sim, n_neighbors))
    targets_by_neighbours = sp.vstack(parts, format="csr")
    return targets_by_neighbours.T.tocsr().astype(dtype)
