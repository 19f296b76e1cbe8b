"""Per-user scores of a fitted model on sparse users, and paired bootstrap intervals.

Used by the ``augment`` model to decide on its holdout whether augmentation helps, and by
``bench/gan.py`` to report before/after figures on the validation and test splits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from tuijian.evaluate import metrics as M
from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender, mask_scores, topk


def per_user_metrics(
    model: Recommender,
    users: np.ndarray,
    targets: sp.csr_matrix,
    exclude: sp.csr_matrix | None,
    k: int = 10,
    batch_size: int = 1024,
) -> dict[str, np.ndarray]:
    """``{"ndcg@k", "recall@k"}``, one value per user of ``users`` (rows of ``targets``/``exclude``).

    ``model.score(users)`` (each user's own training history) ranks the items; ``exclude`` rows are
    removed from the ranking (``None``: nothing is).
    """
    users = np.asarray(users, dtype=np.int64)
    ranked = np.full((len(users), k), -1, dtype=np.int64)
    for s in range(0, len(users), batch_size):
        batch = users[s : s + batch_size]
        scores = np.array(model.score(batch), dtype=np.float32, copy=True)
        mask_scores(scores, exclude[batch] if exclude is not None else None, None)
        ranked[s : s + len(batch)] = topk(scores, k)[0]
    rel = targets[users]
    out = M.metrics_from_hits(M.hits(ranked, rel, k), M.n_relevant(rel), k)
    return {f"ndcg@{k}": out["ndcg"], f"recall@{k}": out["recall"]}


def paired_bootstrap(
    before: np.ndarray, after: np.ndarray, *, n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0
) -> dict[str, Any]:
    """Means of ``before``/``after`` (paired per user) and percentile bootstrap intervals of each
    mean and of the mean difference ``after - before``, resampling users."""
    a = np.asarray(before, dtype=np.float64)
    b = np.asarray(after, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ConfigError(
            f"before and after must be 1-D arrays of the same length, got {a.shape} and {b.shape}"
        )
    if len(a) < 2:
        raise ConfigError(f"the bootstrap needs at least 2 users, got {len(a)}")
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha!r}")
    rng = np.random.default_rng(seed)
    n = len(a)
    means_a, means_b = np.empty(n_resamples), np.empty(n_resamples)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        means_a[start:stop] = a[idx].mean(axis=1)
        means_b[start:stop] = b[idx].mean(axis=1)
    q = [alpha / 2, 1 - alpha / 2]

    def ci(values: np.ndarray) -> list[float]:
        return [float(v) for v in np.quantile(values, q)]

    return {
        "n_users": n,
        "before": float(a.mean()),
        "before_ci": ci(means_a),
        "after": float(b.mean()),
        "after_ci": ci(means_b),
        "diff": float(b.mean() - a.mean()),
        "diff_ci": ci(means_b - means_a),
    }
