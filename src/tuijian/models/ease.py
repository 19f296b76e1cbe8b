"""EASE: embarrassingly shallow autoencoder (Steck, WWW 2019).

Closed form: ``P = (X^T X + reg I)^-1`` and ``B = I - P / diag(P)`` (so ``diag(B) = 0``);
``score = history @ B``. The ``n_items x n_items`` matrix is dense, which is fine up to
a few tens of thousands of items (12k items: 0.6 GB in float32).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender, ScoringBatch, UserArg, topk
from tuijian.models.persist import NpzPersistence

if TYPE_CHECKING:
    from tuijian.explain.reasons import Evidence, Explanation


class EASE(NpzPersistence, Recommender):
    """Linear item-item autoencoder with a zero diagonal.

    Parameters
    ----------
    reg: L2 regularisation ``lambda`` added to the Gram diagonal (500 suits ML-1M;
        sparse e-commerce logs such as Beauty prefer 30-100).
    binary: treat every interaction as 1 (default); otherwise use the matrix weights.
    dropout: emphasised-denoising strength ``p`` of EDLAE (Steck, NeurIPS 2020): each item's
        regulariser becomes ``reg + p / (1 - p) * (X^T X)_ii``, so popular items are regularised
        more. ``0`` (default) is plain EASE.
    dtype: ``"float32"`` (default) or ``"float64"`` for the stored ``B``; the solve
        always runs in float64.
    """

    name: ClassVar[str] = "ease"
    _persisted: ClassVar[tuple[str, ...]] = ("weights_",)

    def __init__(
        self, reg: float = 500.0, binary: bool = True, dtype: str = "float32", dropout: float = 0.0
    ) -> None:
        self.reg = reg
        self.binary = binary
        self.dtype = dtype
        self.dropout = dropout

    def _fit(self, interactions: Interactions) -> None:
        if not (isinstance(self.reg, int | float) and self.reg > 0):
            raise ConfigError(f"reg must be a positive number, got {self.reg!r}")
        if not (isinstance(self.dropout, int | float) and 0.0 <= self.dropout < 1.0):
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        x = sp.csr_matrix(interactions.matrix, dtype=np.float64, copy=True)
        if self.binary:
            x.data[:] = 1.0
        gram = (x.T @ x).toarray()
        diag = np.diag_indices_from(gram)
        gram[diag] += float(self.reg) + self.dropout / (1.0 - self.dropout) * gram[diag]
        # Cholesky inverse of the SPD Gram matrix (about half the work of a general inverse)
        chol, info = scipy.linalg.lapack.dpotrf(gram, lower=False, overwrite_a=True)
        if info != 0:
            raise ConfigError(
                f"X^T X + reg I is not positive definite (LAPACK info={info}); increase reg (got {self.reg})"
            )
        inv, info = scipy.linalg.lapack.dpotri(chol, lower=False, overwrite_c=True)
        if info != 0:
            raise ConfigError(
                f"inverting X^T X + reg I failed (LAPACK info={info}); increase reg (got {self.reg})"
            )
        inv = np.triu(inv) + np.triu(inv, 1).T
        b = inv / (-np.diag(inv))[None, :]
        b[np.diag_indices_from(b)] = 0.0
        #: item x item weights ``B`` (row = history item, column = scored item)
        self.weights_ = b.astype(self.dtype)

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        hist = sp.csr_matrix(batch.history, dtype=self.weights_.dtype, copy=True)
        if self.binary:
            hist.data[:] = 1.0
        return np.asarray(hist @ self.weights_, dtype=np.float32)

    def score_columns(
        self, history: sp.csr_matrix, sequence: np.ndarray, cols: np.ndarray
    ) -> np.ndarray | None:
        """``history @ B`` at ``cols``, summed as scipy sums the full product (base class)."""
        from tuijian.models.column_scores import dense_product_columns, row_entries

        self._check_fitted()
        items, values = row_entries(history)  # float32 (as score's batch), then the weights' dtype
        values = values.astype(self.weights_.dtype)
        if self.binary:
            values[:] = 1.0
        return np.asarray(dense_product_columns(items, values, self.weights_, cols), dtype=np.float32)

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """ "Because you bought h": the largest terms ``value_h * B[h, item]`` of ``history @ B``."""
        from tuijian.explain.attribution import item_item

        self._check_fitted()
        return item_item(evidence, items, self.weights_, binary=self.binary)

    def similar_items(self, items: UserArg, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items with the largest weight from each given item (``B[item]``), the item itself excluded."""
        self._check_fitted()
        if not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        scalar, idx = self._item_batch(items)
        scores = np.array(self.weights_[idx], dtype=np.float32)
        scores[np.arange(len(idx)), idx] = -np.inf
        ids, top = topk(scores, int(k))
        return (ids[0], top[0]) if scalar else (ids, top)
