"""Non-personalised baselines: global and recent popularity.

Every user gets the same ranking (minus what ``exclude_seen`` removes), which makes
them the cold-start fallback of last resort and the floor every model must beat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender, ScoringBatch
from tuijian.models.persist import NpzPersistence

if TYPE_CHECKING:
    import scipy.sparse as sp

    from tuijian.explain.reasons import Evidence, Explanation

_WEIGHTINGS = ("users", "weight", "events")


def _popularity(u: np.ndarray, i: np.ndarray, w: np.ndarray, n_items: int, weighting: str) -> np.ndarray:
    if weighting == "users":  # distinct users per item
        if len(u):
            n_users = int(u.max()) + 1
            pairs = np.unique(i.astype(np.int64) * n_users + u.astype(np.int64))
            return np.bincount(pairs // n_users, minlength=n_items).astype(np.float64)
        return np.zeros(n_items)
    if weighting == "events":  # number of events
        return np.bincount(i, minlength=n_items).astype(np.float64)
    return np.bincount(i, weights=w, minlength=n_items).astype(np.float64)  # summed weights


class Popularity(NpzPersistence, Recommender):
    """Items ranked by how many distinct users interacted with them.

    ``weighting``: ``"users"`` (distinct users, default), ``"events"`` (event count) or
    ``"weight"`` (sum of the event weights, e.g. purchase > cart > click > view).
    Ties are broken by item index, so the ranking is deterministic.
    """

    name: ClassVar[str] = "popularity"
    _persisted: ClassVar[tuple[str, ...]] = ("popularity_",)

    def __init__(self, weighting: str = "users") -> None:
        self.weighting = weighting

    def _fit(self, interactions: Interactions) -> None:
        if self.weighting not in _WEIGHTINGS:
            raise ConfigError(f"weighting must be one of {_WEIGHTINGS}, got {self.weighting!r}")
        n_items = interactions.n_items
        m = interactions.matrix
        if self.weighting == "users":  # stored entries of the matrix are the distinct (user, item) pairs
            pop = np.bincount(m.indices[m.data != 0], minlength=n_items)
        elif self.weighting == "events":
            pop = np.bincount(interactions.log["i"].to_numpy(np.int64), minlength=n_items)
        else:
            log = interactions.log
            weights = log["weight"].to_numpy(np.float64) if "weight" in log.columns else np.ones(len(log))
            pop = np.bincount(log["i"].to_numpy(np.int64), weights=weights, minlength=n_items)
        #: popularity score per item
        self.popularity_ = pop.astype(np.float32)

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        return np.repeat(self.popularity_[None, :], len(batch.users), axis=0)

    def score_columns(
        self, history: sp.csr_matrix, sequence: np.ndarray, cols: np.ndarray
    ) -> np.ndarray | None:
        """The items' popularity (the same for every row; base class)."""
        self._check_fitted()
        return np.asarray(self.popularity_[np.asarray(cols, np.int64)], dtype=np.float32)

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """ "Popular with shoppers": the item's popularity is its whole score."""
        from tuijian.explain.attribution import item_values

        self._check_fitted()
        return item_values(items, self.popularity_, "popular")


class RecentPopularity(NpzPersistence, Recommender):
    """Popularity over the last ``window_days`` of the log (newest event = now).

    With ``half_life_days`` each event counts ``0.5 ** (age / half_life_days)`` instead of
    1 (``weighting`` is then ignored) and ``window_days=None`` uses the whole log.
    Items with no activity in the window follow, ranked by all-time popularity, so
    the ranking always covers the catalogue.
    """

    name: ClassVar[str] = "recent-popularity"
    _persisted: ClassVar[tuple[str, ...]] = ("popularity_", "recent_popularity_", "cutoff_ts_")

    def __init__(
        self, window_days: float | None = 30.0, half_life_days: float | None = None, weighting: str = "users"
    ) -> None:
        self.window_days = window_days
        self.half_life_days = half_life_days
        self.weighting = weighting

    def _fit(self, interactions: Interactions) -> None:
        if self.window_days is not None and not self.window_days > 0:
            raise ConfigError(f"window_days must be > 0 or None, got {self.window_days!r}")
        if self.half_life_days is not None and not self.half_life_days > 0:
            raise ConfigError(f"half_life_days must be > 0 or None, got {self.half_life_days!r}")
        if self.weighting not in _WEIGHTINGS:
            raise ConfigError(f"weighting must be one of {_WEIGHTINGS}, got {self.weighting!r}")
        log = interactions.log
        n_items = interactions.n_items
        u = log["u"].to_numpy(np.int64)
        i = log["i"].to_numpy(np.int64)
        ts = log["ts"].to_numpy(np.int64)
        w = log["weight"].to_numpy(np.float64) if "weight" in log.columns else np.ones(len(log))
        now = int(ts.max()) if len(ts) else 0
        cutoff = (
            now - int(self.window_days * 86400) if self.window_days is not None else np.iinfo(np.int64).min
        )
        recent = ts >= cutoff
        if self.half_life_days is not None:
            decay = np.power(0.5, (now - ts[recent]) / (self.half_life_days * 86400.0))
            recent_pop = np.bincount(i[recent], weights=decay, minlength=n_items)
        else:
            recent_pop = _popularity(u[recent], i[recent], w[recent], n_items, self.weighting)
        self.cutoff_ts_ = int(max(cutoff, np.iinfo(np.int64).min))
        self.recent_popularity_ = recent_pop.astype(np.float64)
        self.popularity_ = _popularity(u, i, w, n_items, self.weighting)
        # active items keep their recent score; inactive ones get a score in (-1, 0) by all-time popularity
        tail = self.popularity_ / (self.popularity_.max() + 1.0) - 1.0 if n_items else self.popularity_
        self._scores_ = np.where(recent_pop > 0, recent_pop, tail).astype(np.float32)

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        if getattr(self, "_scores_", None) is None:
            tail = self.popularity_ / (self.popularity_.max() + 1.0) - 1.0
            self._scores_ = np.where(self.recent_popularity_ > 0, self.recent_popularity_, tail).astype(
                np.float32
            )
        return np.repeat(self._scores_[None, :], len(batch.users), axis=0)

    def score_columns(
        self, history: sp.csr_matrix, sequence: np.ndarray, cols: np.ndarray
    ) -> np.ndarray | None:
        """The items' trending score (the same for every row; base class)."""
        self._check_fitted()
        scores = getattr(self, "_scores_", None)
        if scores is None:  # built by _score on first use
            scores = self.score(np.full(1, -1, np.int64), history=history, sequences=[sequence])[0]
        return np.asarray(scores[np.asarray(cols, np.int64)], dtype=np.float32)

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """ "Trending": the recent count for items active in the window, else all-time ``popular``."""
        from tuijian.explain.reasons import Explanation, Reason

        self._check_fitted()
        out = []
        for t in np.asarray(items, np.int64).tolist():
            recent = float(self.recent_popularity_[t])
            reason = (
                Reason("trending", (), recent)
                if recent > 0
                else Reason("popular", (), float(self.popularity_[t]))
            )
            out.append(Explanation(t, [reason]))
        return out
