"""Rating prediction with classic neighbourhood collaborative filtering.

Item-based (Sarwar et al. 2001, in the mean-centred form)::

    r̂(u, i) = m(i) + Σ_{j ∈ N_k(i; u)} s(i, j) · (r(u, j) − m(j)) / Σ_{j ∈ N_k(i; u)} |s(i, j)|

User-based (Resnick et al. 1994)::

    r̂(u, i) = m(u) + Σ_{v ∈ N_k(u; i)} s(u, v) · (r(v, i) − m(v)) / Σ_{v ∈ N_k(u; i)} |s(u, v)|

``N_k(i; u)`` are the ``n_neighbors`` items most similar to ``i`` *that u rated*
(``N_k(u; i)``: the most similar users that rated ``i``); only positive similarities
count. ``m`` is the entity's mean rating (``centering="mean"``, the classic form) or
the baseline ``μ + b_u + b_i`` (``centering="baseline"``, Koren 2010).

Similarities, all over co-rated pairs only:

* ``"pearson"``: Pearson correlation, each side centred by its mean over the co-rated pairs;
* ``"cosine"``: cosine of the ratings centred by each entity's overall mean;
* ``"adjusted-cosine"``: cosine of the ratings centred by the *other* side's mean
  (for items: by the user's mean — Sarwar's adjusted cosine).

They are shrunk by ``n / (n + shrinkage)`` (``n`` co-rated pairs) and set to 0 when
``n < min_support``. When no neighbour qualifies (or the user/item is unknown) the
prediction falls back to the baseline ``μ + b_u + b_i`` (regularised biases).
Predictions are clipped to ``rating_range`` (by default the training min and max).
The similarity matrix is dense over the entity side (items for item-based, users for
user-based).
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, DataError, NotFittedError, SchemaError

RATING_SIMILARITIES = ("pearson", "cosine", "adjusted-cosine")
CENTERINGS = ("mean", "baseline")


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    t, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape or t.size == 0:
        raise ConfigError(
            f"y_true and y_pred must be non-empty and of equal shape, got {t.shape} and {p.shape}"
        )
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    t, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape or t.size == 0:
        raise ConfigError(
            f"y_true and y_pred must be non-empty and of equal shape, got {t.shape} and {p.shape}"
        )
    return float(np.mean(np.abs(t - p)))


def baseline_biases(
    rows: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray,
    shape: tuple[int, int],
    reg_user: float,
    reg_item: float,
    n_epochs: int,
) -> tuple[float, np.ndarray, np.ndarray]:
    """``μ``, ``b_u``, ``b_i`` by alternating regularised least squares (Koren 2010, eq. 2)."""
    mu = float(values.mean())
    bu = np.zeros(shape[0])
    bi = np.zeros(shape[1])
    n_u = np.bincount(rows, minlength=shape[0])
    n_i = np.bincount(cols, minlength=shape[1])
    for _ in range(n_epochs):
        bi = np.bincount(cols, weights=values - mu - bu[rows], minlength=shape[1]) / (reg_item + n_i)
        bu = np.bincount(rows, weights=values - mu - bi[cols], minlength=shape[0]) / (reg_user + n_u)
    return mu, bu, bi


def corated_similarity(
    values: sp.csr_matrix, similarity: str, shrinkage: float, min_support: int
) -> np.ndarray:
    """Dense ``entities x entities`` similarity from ``values`` (observations x entities, CSR).

    ``values`` holds the (possibly pre-centred) ratings on the rated pattern. All sums
    run over the observations both entities share.
    """
    v = sp.csr_matrix(values, dtype=np.float64)
    b = v.copy()
    b.data[:] = 1.0
    vt = v.T.tocsr()
    n = (b.T @ b).toarray()
    sxy = (vt @ v).toarray()
    sxx = (v.multiply(v).T.tocsr() @ b).toarray()  # [i, j] = Σ_{co-rated} v_i²
    if similarity == "pearson":
        sx = (vt @ b).toarray()  # [i, j] = Σ_{co-rated} v_i
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_n = np.where(n > 0, 1.0 / np.where(n > 0, n, 1.0), 0.0)
        num = sxy - sx * sx.T * inv_n
        var = np.maximum(sxx - sx * sx * inv_n, 0.0)
    else:
        num = sxy
        var = sxx
    denom = np.sqrt(var * var.T)
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = np.where(denom > 1e-12, num / np.where(denom > 1e-12, denom, 1.0), 0.0)
    if shrinkage > 0:
        sim *= n / (n + shrinkage)
    sim[n < max(min_support, 1)] = 0.0
    np.fill_diagonal(sim, 0.0)
    return sim


class _NeighbourRating:
    """Shared machinery; subclasses say whether the entities are items or users."""

    _entity_is_item: ClassVar[bool]

    def __init__(
        self,
        similarity: str = "pearson",
        n_neighbors: int = 40,
        shrinkage: float = 100.0,
        min_support: int = 2,
        centering: str = "mean",
        reg_user: float = 15.0,
        reg_item: float = 10.0,
        n_baseline_epochs: int = 10,
        rating_range: tuple[float, float] | None = None,
    ) -> None:
        self.similarity = similarity
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage
        self.min_support = min_support
        self.centering = centering
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.n_baseline_epochs = n_baseline_epochs
        self.rating_range = rating_range

    def __repr__(self) -> str:
        return f"{type(self).__name__}(similarity={self.similarity!r}, n_neighbors={self.n_neighbors}, shrinkage={self.shrinkage})"

    def _validate_params(self) -> None:
        if self.similarity not in RATING_SIMILARITIES:
            raise ConfigError(f"similarity must be one of {RATING_SIMILARITIES}, got {self.similarity!r}")
        if self.centering not in CENTERINGS:
            raise ConfigError(f"centering must be one of {CENTERINGS}, got {self.centering!r}")
        if not isinstance(self.n_neighbors, int | np.integer) or self.n_neighbors < 1:
            raise ConfigError(f"n_neighbors must be a positive integer, got {self.n_neighbors!r}")
        if self.shrinkage < 0 or self.min_support < 0:
            raise ConfigError(
                f"shrinkage and min_support must be >= 0, got {self.shrinkage!r} and {self.min_support!r}"
            )

    # ------------------------------------------------------------------ fitting
    def fit(self, ratings: pd.DataFrame) -> Self:
        """Learn from a frame with columns ``user``, ``item``, ``value``.

        Non-numeric or non-finite values are an error (with the count and examples);
        repeated (user, item) pairs are averaged and counted in ``n_duplicates_``.
        """
        self._validate_params()
        missing = [c for c in ("user", "item", "value") if c not in ratings.columns]
        if missing:
            raise SchemaError(
                f"ratings lack column(s) {missing}; expected user, item, value; got {list(ratings.columns)}"
            )
        if len(ratings) == 0:
            raise DataError("cannot fit a rating model on an empty ratings frame")
        value = pd.to_numeric(ratings["value"], errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(value) | ratings["user"].isna().to_numpy() | ratings["item"].isna().to_numpy()
        if bad.any():
            raise DataError(
                f"{int(bad.sum())} of {len(ratings)} rating rows have a missing id or non-numeric value, e.g. rows {np.flatnonzero(bad)[:5].tolist()}; fix or remove them first"
            )
        frame = pd.DataFrame(
            {
                "user": ratings["user"].astype(str).to_numpy(),
                "item": ratings["item"].astype(str).to_numpy(),
                "value": value,
            }
        )
        grouped = frame.groupby(["user", "item"], sort=False, as_index=False)["value"].mean()
        self.n_duplicates_ = int(len(frame) - len(grouped))
        self.users_ = Vocabulary.from_values(grouped["user"])
        self.items_ = Vocabulary.from_values(grouped["item"])
        u = self.users_.lookup(grouped["user"].to_numpy())
        i = self.items_.lookup(grouped["item"].to_numpy())
        r = grouped["value"].to_numpy(np.float64)
        shape = (len(self.users_), len(self.items_))
        lo, hi = (
            (float(r.min()), float(r.max())) if self.rating_range is None else map(float, self.rating_range)
        )
        self.clip_ = (lo, hi)
        self.global_mean_, self.user_bias_, self.item_bias_ = baseline_biases(
            u, i, r, shape, self.reg_user, self.reg_item, self.n_baseline_epochs
        )
        self.user_mean_ = np.bincount(u, weights=r, minlength=shape[0]) / np.maximum(
            np.bincount(u, minlength=shape[0]), 1
        )
        self.item_mean_ = np.bincount(i, weights=r, minlength=shape[1]) / np.maximum(
            np.bincount(i, minlength=shape[1]), 1
        )
        # observations x entities, and query x neighbour-candidates (same thing transposed)
        q, e = (u, i) if self._entity_is_item else (i, u)
        n_q, n_e = (shape[0], shape[1]) if self._entity_is_item else (shape[1], shape[0])
        if self.similarity == "pearson":
            sim_values = r
        elif self.similarity == "cosine":
            sim_values = r - self._entity_mean()[e]
        else:
            sim_values = r - self._query_mean()[q]
        self.similarity_ = corated_similarity(
            sp.csr_matrix((sim_values, (q, e)), shape=(n_q, n_e)),
            self.similarity,
            self.shrinkage,
            self.min_support,
        )
        dev = r - self._centre(q, e)
        self._deviations_ = sp.csr_matrix((dev, (q, e)), shape=(n_q, n_e))
        self._deviations_.sort_indices()
        return self

    def _entity_mean(self) -> np.ndarray:
        return self.item_mean_ if self._entity_is_item else self.user_mean_

    def _query_mean(self) -> np.ndarray:
        return self.user_mean_ if self._entity_is_item else self.item_mean_

    def _centre(self, q: np.ndarray, e: np.ndarray) -> np.ndarray:
        """The value each rating is centred on (and the prediction starts from)."""
        if self.centering == "mean":
            return self._entity_mean()[e]
        bq, be = (
            (self.user_bias_, self.item_bias_) if self._entity_is_item else (self.item_bias_, self.user_bias_)
        )
        return self.global_mean_ + bq[q] + be[e]

    # ------------------------------------------------------------------ predicting
    def predict(
        self, users: np.ndarray | pd.Series | list, items: np.ndarray | pd.Series | list
    ) -> np.ndarray:
        """Predicted ratings for the (user, item) pairs, by external id; unknown ids get the baseline."""
        if not hasattr(self, "similarity_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(ratings) first")
        u = self.users_.lookup(np.asarray(users, dtype=object).astype(str), missing="negative")
        i = self.items_.lookup(np.asarray(items, dtype=object).astype(str), missing="negative")
        if u.shape != i.shape:
            raise ConfigError(f"users and items must have the same length, got {len(u)} and {len(i)}")
        baseline = (
            self.global_mean_
            + np.where(u >= 0, self.user_bias_[np.maximum(u, 0)], 0.0)
            + np.where(i >= 0, self.item_bias_[np.maximum(i, 0)], 0.0)
        )
        pred = baseline.copy()
        known = np.flatnonzero((u >= 0) & (i >= 0))
        if len(known):
            q, e = (u[known], i[known]) if self._entity_is_item else (i[known], u[known])
            num, den = self._neighbour_sums(q, e)
            ok = den > 0
            pred[known[ok]] = self._centre(q[ok], e[ok]) + num[ok] / den[ok]
        return np.clip(pred, *self.clip_)

    def _neighbour_sums(self, q: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Σ s·dev and Σ|s| over each pair's top-k positive neighbours, grouped by query."""
        num = np.zeros(len(q))
        den = np.zeros(len(q))
        dev = self._deviations_
        k = int(self.n_neighbors)
        order = np.argsort(q, kind="stable")
        qs = q[order]
        starts = np.flatnonzero(np.r_[True, qs[1:] != qs[:-1]])
        ends = np.r_[starts[1:], len(qs)]
        for s, t in zip(starts, ends, strict=True):
            rows = order[s:t]
            query = qs[s]
            cand = dev.indices[dev.indptr[query] : dev.indptr[query + 1]]
            if len(cand) == 0:
                continue
            d = dev.data[dev.indptr[query] : dev.indptr[query + 1]]
            sims = self.similarity_[np.ix_(e[rows], cand)]
            sims = np.where(sims > 0, sims, 0.0)
            if len(cand) > k:
                part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
                sims = np.take_along_axis(sims, part, axis=1)
                d_sel = d[part]
            else:
                d_sel = np.broadcast_to(d, sims.shape)
            num[rows] = (sims * d_sel).sum(axis=1)
            den[rows] = sims.sum(axis=1)
        return num, den


class ItemKNNRating(_NeighbourRating):
    """Item-based neighbourhood rating predictor (see module docstring)."""

    _entity_is_item = True


class UserKNNRating(_NeighbourRating):
    """User-based neighbourhood rating predictor (see module docstring)."""

    _entity_is_item = False
