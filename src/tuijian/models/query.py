"""One recommendation request, in item indices: :class:`RecQuery` (after LensKit's ``RecQuery``).

Online and offline ask a model the same thing through one object::

    RecQuery(user, history, weights, n_fresh, session, exclude, allowed, repeats)

* ``user``: the user's index in the model, or ``-1`` for a user the model was not trained on.
* ``history``: the user's items **in event-time order**, oldest first: the trained history (the model's
  training sequence for a known user) followed by the ``n_fresh`` events newer than the model. Sequential
  models read it as it is, so order matters (session-transitions, SASRec).
* ``weights``: one weight per history event (event-kind weights; ``None``: 1 each).
* ``session``: the current session's items in time order; used when the history is empty.
* ``exclude``: items never to return (bought items unless repeats are allowed; the session items).
* ``allowed``: a boolean mask over items (category and price filters); ``None``: every item.
* ``repeats``: items to tag with the reason ``repeat`` (bought before, shown again).

:meth:`RecQuery.model_inputs` turns a query into the ``users, history, sequences, candidates`` arguments
of :meth:`~tuijian.models.base.Recommender.recommend`, the offline contract, which is how every model
scores a query (:meth:`~tuijian.models.base.Recommender.recommend_query`). A known user without fresh
events is scored from the trained state exactly as offline (``recommend(u)``); otherwise the history row is
the trained row plus the fresh events' weights (summed, as the serving matrix aggregates events), or, for an
unknown user, the events' weights summed per item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from tuijian.exceptions import ConfigError

if TYPE_CHECKING:
    from tuijian.models.base import Recommender

_EMPTY = np.zeros(0, dtype=np.int64)


def _empty() -> np.ndarray:
    return _EMPTY


@dataclass(slots=True)
class RecQuery:
    """A recommendation request in item indices (see module docstring)."""

    user: int = -1
    history: np.ndarray = field(default_factory=_empty)
    weights: np.ndarray | None = None
    n_fresh: int = 0
    session: np.ndarray = field(default_factory=_empty)
    exclude: np.ndarray = field(default_factory=_empty)
    allowed: np.ndarray | None = None
    repeats: np.ndarray = field(default_factory=_empty)
    #: set by :class:`~tuijian.models.pipeline.Pipeline`, which checked the query when building it
    checked: bool = False
    #: what a model computed for this query and may reuse while explaining it (item-kNN's gather)
    scratch: Any = None

    # ------------------------------------------------------------------ views
    @property
    def source(self) -> str:
        """What the model is asked from: ``"history"``, ``"session"`` or ``"popular"`` (nothing known)."""
        if len(self.history):
            return "history"
        return "session" if len(self.session) else "popular"

    @property
    def sequence(self) -> np.ndarray:
        """The items the model scores from, time order: the history, else the session items."""
        return self.history if len(self.history) else np.asarray(self.session, dtype=np.int64)

    @property
    def trained(self) -> bool:
        """True when the model already knows this exact history (a known user without fresh events)."""
        return self.user >= 0 and self.n_fresh == 0 and len(self.history) > 0

    def check(self, n_items: int, n_users: int) -> None:
        """Raise :class:`ConfigError` naming what does not fit a model of ``n_users`` x ``n_items``."""
        if self.checked:
            return
        if not -1 <= self.user < n_users:
            raise ConfigError(f"query user must be -1 or a user index below {n_users}, got {self.user}")
        for name in ("history", "session", "exclude", "repeats"):
            arr = getattr(self, name)
            if len(arr) and not (arr.min() >= 0 and arr.max() < n_items):
                raise ConfigError(f"query {name} must hold item indices in [0, {n_items})")
        if self.weights is not None and len(self.weights) != len(self.history):
            raise ConfigError(
                f"query weights need one value per history event ({len(self.history)}), got {len(self.weights)}"
            )
        if not 0 <= self.n_fresh <= len(self.history):
            raise ConfigError(f"query n_fresh must be in [0, {len(self.history)}], got {self.n_fresh}")
        if self.allowed is not None and self.allowed.shape != (n_items,):
            raise ConfigError(f"query allowed must be a boolean mask of {n_items} items")

    def candidate_mask(self, n_items: int) -> np.ndarray | None:
        """Boolean mask of the items the model may return (``allowed`` minus ``exclude``); None: all."""
        if self.allowed is None and not len(self.exclude):
            return None
        keep = np.ones(n_items, dtype=bool) if self.allowed is None else self.allowed.copy()
        if len(self.exclude):
            keep[self.exclude] = False
        return keep

    def history_vector(self, model: Recommender) -> tuple[np.ndarray, np.ndarray]:
        """The history row as ``(distinct item indices ascending, float32 values)``; see the module docstring."""
        if self.user >= 0:
            m = model.interactions_.matrix
            a, b = m.indptr[self.user], m.indptr[self.user + 1]
            items, values = m.indices[a:b], m.data[a:b]
            if self.n_fresh == 0:
                return items, values
            fresh = slice(len(self.history) - self.n_fresh, None)
            w = self.weights[fresh] if self.weights is not None else np.ones(self.n_fresh)
            return _aggregate(
                np.concatenate([items, self.history[fresh]]), np.concatenate([values.astype(np.float64), w])
            )
        seq = self.sequence
        if len(self.history) and self.weights is not None:
            return _aggregate(seq, np.asarray(self.weights, dtype=np.float64))
        return _aggregate(seq, np.ones(len(seq)))

    def model_inputs(
        self, model: Recommender
    ) -> tuple[int, sp.csr_matrix | None, list[np.ndarray] | None, np.ndarray | None]:
        """``(user, history, sequences, candidates)`` for :meth:`Recommender.recommend` (``exclude_seen=False``)."""
        keep = self.candidate_mask(model.n_items)
        candidates = None if keep is None else np.flatnonzero(keep)
        if self.trained:
            return self.user, None, None, candidates
        items, values = self.history_vector(model)
        row = sp.csr_matrix(
            (values, items, np.array([0, len(items)])), shape=(1, model.n_items), dtype=np.float32
        )
        return self.user, row, [self.sequence], candidates


def _aggregate(items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct item (ascending), the summed weights as float32."""
    if len(items) == 0:
        return _EMPTY, np.zeros(0, np.float32)
    uniq, inv = np.unique(np.asarray(items, dtype=np.int64), return_inverse=True)
    return uniq, np.bincount(inv, weights=weights, minlength=len(uniq)).astype(np.float32)
