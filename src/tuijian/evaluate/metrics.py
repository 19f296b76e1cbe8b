"""Top-k ranking metrics, vectorised over users.

Inputs
------
``ranked``
    ``(n_users, L)`` int array of item indices, best first; ``-1`` pads rows
    that have fewer than ``L`` recommendations. Only the first ``k`` columns
    are used (missing columns count as padding).
``relevant``
    ``(n_users, n_items)`` CSR matrix; a stored non-zero means "relevant"
    (binary relevance). Row ``u`` of ``relevant`` belongs to row ``u`` of
    ``ranked``.

Accuracy metrics return one value per user (``float64`` array); users with no
relevant item get ``nan`` (their recall/NDCG is undefined), so average with
:func:`numpy.nanmean` or drop them beforehand as the runner does. Definitions
follow RecBole (``recbole.evaluator.metrics``). Beyond-accuracy metrics
(coverage, novelty, diversity, Gini) return one number for the whole list set.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tuijian.exceptions import ConfigError


def _check(ranked: np.ndarray, k: int) -> np.ndarray:
    if not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    r = np.asarray(ranked)
    if r.ndim != 2:
        raise ConfigError(f"ranked must be a 2-D array (users x positions), got shape {r.shape}")
    r = r[:, :k].astype(np.int64, copy=False)
    if r.shape[1] < k:
        r = np.pad(r, ((0, 0), (0, k - r.shape[1])), constant_values=-1)
    return r


def hits(ranked: np.ndarray, relevant: sp.csr_matrix, k: int) -> np.ndarray:
    """Boolean ``(n_users, k)``: position ``j`` of user ``u`` holds a relevant item."""
    r = _check(ranked, k)
    rel = sp.csr_matrix(relevant)
    if rel.shape[0] != r.shape[0]:
        raise ConfigError(f"relevant has {rel.shape[0]} rows but ranked has {r.shape[0]}; they must match")
    n_items = rel.shape[1]
    if r.size and r.max() >= n_items:
        raise ConfigError(f"ranked holds item index {int(r.max())} but relevant has only {n_items} columns")
    rel = rel.copy()
    rel.sum_duplicates()
    rel.eliminate_zeros()
    rows = np.repeat(np.arange(rel.shape[0], dtype=np.int64), np.diff(rel.indptr))
    keys = rows * n_items + rel.indices.astype(np.int64)  # sorted: CSR rows in order, indices sorted
    q = np.arange(r.shape[0], dtype=np.int64)[:, None] * n_items + np.where(r >= 0, r, 0)
    pos = np.searchsorted(keys, q)
    found = (
        (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == q)
        if len(keys)
        else np.zeros(q.shape, bool)
    )
    return found & (r >= 0)


def n_relevant(relevant: sp.csr_matrix) -> np.ndarray:
    """Number of relevant (stored non-zero) items per user."""
    rel = sp.csr_matrix(relevant, copy=True)
    rel.sum_duplicates()
    rel.eliminate_zeros()
    return np.diff(rel.indptr).astype(np.float64)


def _nan_if_empty(values: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64).copy()
    out[n_rel == 0] = np.nan
    return out


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def metrics_from_hits(h: np.ndarray, n_rel: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """All accuracy metrics @k from a hit matrix (``h[:, :k]``) and relevant counts, per user."""
    h = np.asarray(h, dtype=bool)[:, :k]
    if h.shape[1] < k:
        h = np.pad(h, ((0, 0), (0, k - h.shape[1])))
    n = np.asarray(n_rel, dtype=np.float64)
    n_hit = h.sum(1).astype(np.float64)
    disc = _discounts(k)
    ideal_cum = np.concatenate([[0.0], np.cumsum(disc)])
    denom_k = np.minimum(n, k)
    prec_j = np.cumsum(h, axis=1) / np.arange(1, k + 1, dtype=np.float64)
    first = np.argmax(h, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "precision": n_hit / k,
            "recall": n_hit / n,
            "hr": (n_hit > 0).astype(np.float64),
            "ndcg": (h * disc).sum(1) / ideal_cum[denom_k.astype(np.int64)],
            "map": (prec_j * h).sum(1) / denom_k,
            "mrr": np.where(n_hit > 0, 1.0 / (first + 1), 0.0),
        }
    return {name: _nan_if_empty(v, n) for name, v in out.items()}


def precision_at_k(ranked: np.ndarray, relevant: sp.csr_matrix, k: int) -> np.ndarray:
    """Precision@k = |relevant ∩ top-k| / k (RecBole divides by k even if fewer items are listed)."""
    return metrics_from_hits(hits(ranked, relevant, k), n_relevant(relevant), k)["precision"]


def recall_at_k(ranked: np.ndarray, relevant: sp.csr_matrix, k: int) -> np.ndarray:
    """Recall@k = |relevant ∩ top-k| / |relevant|."""
    return metrics_from_hits(hits(ranked, relevant, k), n_relevant(relevant), k)["recall"]


def hit_rate_at_k(ranked: np.ndarray, relevant: sp.csr_matrix, k: int) -> np.ndarray:
    """HR@k = 1 if any of the top-k items is relevant, else 0 (HR@k = Recall@k under leave-one-out)."""
    return metrics_from_hits(hits(ranked, relevant, k), n_relevant(relevant), k)["hr"]


def ndcg_at_k(ranked: np.ndarray, relevant: sp.csr_matrix, k: int) -> np.ndarray:
    """NDCG@k with binary relevance.

    DCG@k = Σ_{j=1..k} rel_j / log2(j + 1); IDCG@k = Σ_{j=1..min(|rel|, k)} 1 / log2(j + 1);
    NDCG@k = DCG@k / IDCG@k.
    """
    return metrics_from_hits(hits(ranked, relevant, k), n_relevant(relevant), k)["ndcg"]


def map_at_k(ranked: np.ndarray, relevant: sp.csr_matrix, k: int) -> np.ndarray:
    """MAP@k (RecBole): AP@k = Σ_{j=1..k} rel_j · Precision@j / min(|rel|, k)."""
    return metrics_from_hits(hits(ranked, relevant, k), n_relevant(relevant), k)["map"]


def mrr_at_k(ranked: np.ndarray, relevant: sp.csr_matrix, k: int) -> np.ndarray:
    """MRR@k = 1 / (rank of the first relevant item in the top-k), 0 if there is none."""
    return metrics_from_hits(hits(ranked, relevant, k), n_relevant(relevant), k)["mrr"]


def catalogue_coverage(ranked: np.ndarray, n_items: int, k: int) -> float:
    """Coverage@k = |distinct items in all top-k lists| / n_items."""
    if n_items < 1:
        raise ConfigError(f"n_items must be >= 1, got {n_items}")
    r = _check(ranked, k)
    return float(len(np.unique(r[r >= 0])) / n_items)


def novelty(ranked: np.ndarray, item_popularity: np.ndarray, n_users: int, k: int) -> float:
    """Mean self-information of recommended items, in bits.

    novelty = mean over users of mean over their top-k items of −log2(pop_i / n_users),
    where ``pop_i`` is the number of training users who interacted with item ``i``.
    Items with ``pop_i = 0`` are counted as ``pop_i = 1`` (the information is
    bounded by log2(n_users)). Padding (-1) is skipped; users with empty lists are skipped.
    """
    if n_users < 1:
        raise ConfigError(f"n_users must be >= 1, got {n_users}")
    r = _check(ranked, k)
    pop = np.clip(np.asarray(item_popularity, dtype=np.float64), 1.0, None)
    info = -np.log2(pop / n_users)
    valid = r >= 0
    per_item = np.where(valid, info[np.where(valid, r, 0)], 0.0)
    count = valid.sum(1)
    ok = count > 0
    if not ok.any():
        return float("nan")
    return float(np.mean(per_item.sum(1)[ok] / count[ok]))


def intra_list_diversity(ranked: np.ndarray, item_features: sp.spmatrix | np.ndarray, k: int) -> float:
    """ILD@k = mean over users of (1 − mean pairwise cosine similarity of their top-k items).

    ``item_features`` is an ``(n_items, d)`` dense or sparse matrix (e.g.
    one-hot category and brand, or text embeddings). Rows are L2-normalised; a
    zero row has similarity 0 with everything. For a list of m items with unit
    vectors v, Σ_{a<b} cos(v_a, v_b) = (‖Σ v‖² − Σ ‖v‖²) / 2, so no m × m matrix
    is formed. Lists with fewer than two items are skipped.
    """
    r = _check(ranked, k)
    feats = sp.csr_matrix(item_features, dtype=np.float64)
    if r.size and r.max() >= feats.shape[0]:
        raise ConfigError(f"ranked holds item {int(r.max())} but item_features has {feats.shape[0]} rows")
    norms = np.sqrt(np.asarray(feats.multiply(feats).sum(1)).ravel())
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    unit = sp.diags(inv) @ feats
    valid = r >= 0
    m = valid.sum(1)
    rows = np.repeat(np.arange(r.shape[0]), valid.sum(1))
    sel = sp.csr_matrix((np.ones(int(valid.sum())), (rows, r[valid])), shape=(r.shape[0], feats.shape[0]))
    summed = sel @ unit
    sq = np.asarray(summed.multiply(summed).sum(1)).ravel()
    self_sq = sel @ (norms > 0).astype(np.float64)
    pairs = m * (m - 1) / 2.0
    ok = m >= 2
    if not ok.any():
        return float("nan")
    mean_sim = (sq[ok] - self_sq[ok]) / 2.0 / pairs[ok]
    return float(np.mean(1.0 - mean_sim))


def gini_index(ranked: np.ndarray, n_items: int, k: int) -> float:
    """Exposure Gini@k over the whole catalogue (0 = every item shown equally often, →1 = one item gets all).

    With x_i the number of top-k lists containing item i, sorted ascending over
    all ``n_items`` items (unrecommended items have x_i = 0):
    G = Σ_i (2i − n − 1) x_i / (n Σ_i x_i), i = 1..n (RecBole's ``GiniIndex``).
    """
    if n_items < 1:
        raise ConfigError(f"n_items must be >= 1, got {n_items}")
    r = _check(ranked, k)
    counts = np.bincount(r[r >= 0], minlength=n_items).astype(np.float64)
    total = counts.sum()
    if total == 0:
        return float("nan")
    x = np.sort(counts)
    idx = np.arange(1, n_items + 1, dtype=np.float64)
    return float(((2 * idx - n_items - 1) * x).sum() / (n_items * total))


ACCURACY_METRICS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "hr": hit_rate_at_k,
    "ndcg": ndcg_at_k,
    "map": map_at_k,
    "mrr": mrr_at_k,
}
