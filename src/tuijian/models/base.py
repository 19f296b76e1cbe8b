"""The recommender contract every model implements.

Batch-first, integer-only (see ../shared/STYLE.md)::

    model.fit(interactions) -> model
    model.recommend(users, k=10, *, exclude_seen=True, candidates=None,
                    history=None, sequences=None) -> (item_indices, scores)

* ``users`` is one user index (-> 1-D arrays) or an array (-> 2-D arrays).
  ``-1`` means "a user the model was not trained on": it is scored from
  ``history``/``sequences`` alone (fold-in), which is also how real-time events
  reach a model without retraining.
* ``history`` is a CSR matrix, one row per requested user, of what each user has
  interacted with. By default it is the user's row of the training matrix. It is
  what ``exclude_seen`` filters and what history-based models score from.
* ``sequences`` is, per requested user, the item indices in time order (for
  sequential models). By default it comes from the training log.
* ``candidates`` restricts the ranking to these item indices.

Rows with fewer than ``k`` eligible items are padded with index ``-1`` and score
``-inf``.

One request, online or offline, is a :class:`~tuijian.models.query.RecQuery`
(time-ordered history, session, exclusions, filters); ``recommend_query(query, k)``
answers it through ``recommend`` (a model may override it with a faster path that
returns exactly the same, as item-kNN does). The serving pipeline
(:mod:`tuijian.models.pipeline`) adds the fallback chain and reason codes.

Subclasses write ``_fit`` and ``_score``; ``recommend`` is implemented once here.
Optional abilities are Protocols (:class:`SimilarItems`, :class:`Persistable`, :class:`Explainable`)
that a model implements or does not.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError, NotFittedError

if TYPE_CHECKING:
    from tuijian.explain.reasons import Evidence, Explanation
    from tuijian.models.query import RecQuery
    from tuijian.models.toplists import TopListParts

UserArg = int | np.integer | Sequence[int] | np.ndarray


@dataclass
class ScoringBatch:
    """What ``_score`` receives: a batch of users and what is known about them."""

    users: np.ndarray  # int64, -1 for users unknown to the model
    history: sp.csr_matrix  # len(users) x n_items
    _sequences: list[np.ndarray] | None
    _model: Recommender

    @property
    def sequences(self) -> list[np.ndarray]:
        """Time-ordered item sequences per user (from the training log unless given)."""
        if self._sequences is None:
            seqs = self._model._train_sequences()
            empty = np.zeros(0, dtype=np.int64)
            hist = self.history
            self._sequences = (
                [
                    seqs[u] if u >= 0 else hist.indices[hist.indptr[r] : hist.indptr[r + 1]].astype(np.int64)
                    for r, u in enumerate(self.users)
                ]
                if seqs is not None
                else [empty for _ in self.users]
            )
        return self._sequences


class Recommender(abc.ABC):
    """Base class of all top-k recommenders.

    Constructor arguments are hyper-parameters and are only stored; learned
    state ends in ``_``. ``get_params`` returns the constructor arguments.
    """

    #: registry name, e.g. ``"ease"``
    name: ClassVar[str] = ""
    #: scores at or below this mean "no evidence" (item-kNN: no neighbour in the history); the serving
    #: pipeline fills those places from the fallback chain instead. ``None``: every finite score counts.
    evidence_floor: ClassVar[float | None] = None
    #: whether training for serving stores each trained user's top list (:mod:`tuijian.models.toplists`):
    #: ``True``/``False``; ``None``: when one request is slow (measured at training)
    precompute: ClassVar[bool | None] = None

    interactions_: Interactions

    # ------------------------------------------------------------------ params
    def get_params(self) -> dict[str, Any]:
        import inspect

        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self" and hasattr(self, p)}

    def set_params(self, **params: Any) -> Self:
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ConfigError(f"{type(self).__name__} has no parameter {key!r}; valid: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def clone(self, **params: Any) -> Self:
        """An unfitted copy with the same (or overridden) hyper-parameters."""
        new = type(self)(**self.get_params())
        return new.set_params(**params) if params else new

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ fitting
    def fit(self, interactions: Interactions) -> Self:
        """Learn from ``interactions``; returns ``self``."""
        if interactions.n_users == 0 or interactions.n_items == 0:
            raise ConfigError(f"cannot fit {type(self).__name__} on empty interactions: {interactions!r}")
        self.interactions_ = interactions
        self._seq_cache: list[np.ndarray] | None = None
        self._fit(interactions)
        return self

    @abc.abstractmethod
    def _fit(self, interactions: Interactions) -> None: ...

    @abc.abstractmethod
    def _score(self, batch: ScoringBatch) -> np.ndarray:
        """Dense ``(len(batch.users), n_items)`` scores; higher is better."""

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "interactions_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(interactions) first")

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return self.interactions_.n_items

    def _item_batch(self, items: UserArg) -> tuple[bool, np.ndarray]:
        """``(scalar, indices)`` of an item argument, checked against the catalogue size."""
        self._check_fitted()
        idx = np.atleast_1d(np.asarray(items, dtype=np.int64))
        bad = (idx < 0) | (idx >= self.n_items)
        if bad.any():
            raise ConfigError(f"item indices must be in [0, {self.n_items}); got {idx[bad][:5].tolist()}")
        return np.ndim(items) == 0, idx

    def _train_sequences(self) -> list[np.ndarray] | None:
        if getattr(self, "_seq_cache", None) is None:
            self._seq_cache = self.interactions_.sequences()
        return self._seq_cache

    # ------------------------------------------------------------------ scoring
    def _batch(
        self,
        users: np.ndarray,
        history: sp.csr_matrix | None,
        sequences: Sequence[np.ndarray] | None,
    ) -> ScoringBatch:
        n_items = self.n_items
        n_train_users = self.interactions_.n_users
        if users.ndim != 1:
            raise ConfigError(f"users must be a scalar or 1-D array, got shape {users.shape}")
        if ((users < -1) | (users >= n_train_users)).any():
            bad = users[(users < -1) | (users >= n_train_users)][:5].tolist()
            raise ConfigError(f"user indices must be in [-1, {n_train_users}); got {bad}")
        if history is None:
            if (users < 0).any() and sequences is None:
                raise ConfigError("users with index -1 (unknown) need `history` or `sequences`")
            if sequences is not None and (users < 0).any():
                history = _sequences_to_csr(sequences, n_items)
            else:
                safe = np.where(users >= 0, users, 0)
                history = self.interactions_.matrix[safe]
                if (users < 0).any():
                    history = history.multiply((users >= 0)[:, None]).tocsr()
        else:
            history = sp.csr_matrix(history, dtype=np.float32)
            if history.shape != (len(users), n_items):
                raise ConfigError(f"history must have shape ({len(users)}, {n_items}), got {history.shape}")
        seqs = list(sequences) if sequences is not None else None
        if seqs is not None and len(seqs) != len(users):
            raise ConfigError(f"sequences must have one entry per user ({len(users)}), got {len(seqs)}")
        return ScoringBatch(users=users, history=history, _sequences=seqs, _model=self)

    def score(
        self,
        users: UserArg,
        *,
        history: sp.csr_matrix | None = None,
        sequences: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        """Raw scores for all items: 1-D for a scalar user, 2-D for an array."""
        self._check_fitted()
        scalar = np.ndim(users) == 0
        u = np.atleast_1d(np.asarray(users, dtype=np.int64))
        s = np.asarray(self._score(self._batch(u, history, sequences)), dtype=np.float32)
        return s[0] if scalar else s

    def score_columns(
        self, history: sp.csr_matrix, sequence: np.ndarray, cols: np.ndarray
    ) -> np.ndarray | None:
        """One fold-in row's scores at ``cols`` alone: ``score([-1], history=history, sequences=[sequence])[0,
        cols]`` bit for bit (float32), or ``None`` (the default) when the model has no cheaper exact way and
        the caller scores the whole row (:mod:`tuijian.models.column_scores`). ``history``: ``1 x n_items``."""
        return None

    def recommend(
        self,
        users: UserArg,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        candidates: np.ndarray | Sequence[int] | None = None,
        history: sp.csr_matrix | None = None,
        sequences: Sequence[np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores (see module docstring)."""
        self._check_fitted()
        if not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        scalar = np.ndim(users) == 0
        u = np.atleast_1d(np.asarray(users, dtype=np.int64))
        batch = self._batch(u, history, sequences)
        scores = np.array(self._score(batch), dtype=np.float32, copy=True)
        if scores.shape != (len(u), self.n_items):
            raise RuntimeError(
                f"{type(self).__name__}._score returned shape {scores.shape}, expected {(len(u), self.n_items)}"
            )
        mask_scores(scores, batch.history if exclude_seen else None, candidates)
        ids, top = topk(scores, k)
        return (ids[0], top[0]) if scalar else (ids, top)

    def top_list_parts(self, users: np.ndarray) -> TopListParts | None:
        """Trained users' rows as candidate lists plus a tail rule (:mod:`tuijian.models.toplists`), for
        models whose rows follow one; ``None`` (the default): store plain top-n lists."""
        return None

    def recommend_query(self, query: RecQuery, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(item indices, scores)`` for one :class:`~tuijian.models.query.RecQuery`.

        Exactly ``recommend(user, k, exclude_seen=False, candidates=..., history=..., sequences=...)``
        with the arguments of :meth:`RecQuery.model_inputs`; subclasses may answer faster, never differently.
        """
        self._check_fitted()
        query.check(self.n_items, self.interactions_.n_users)
        user, history, sequences, candidates = query.model_inputs(self)
        return self.recommend(
            user, k, exclude_seen=False, candidates=candidates, history=history, sequences=sequences
        )

    def train_sequence(self, user: int) -> np.ndarray:
        """The user's training items in time order (empty for ``-1``)."""
        self._check_fitted()
        seqs = self._train_sequences()
        if user < 0 or seqs is None:
            return np.zeros(0, dtype=np.int64)
        return seqs[user]


def mask_scores(
    scores: np.ndarray, seen: sp.csr_matrix | None, candidates: np.ndarray | Sequence[int] | None
) -> None:
    """In place: set seen items and non-candidates to ``-inf``."""
    scores[~np.isfinite(scores)] = -np.inf
    if seen is not None and seen.nnz:
        rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
        scores[rows, seen.indices] = -np.inf
    if candidates is not None:
        cand = np.asarray(candidates, dtype=np.int64)
        keep = np.zeros(scores.shape[1], dtype=bool)
        keep[cand[(cand >= 0) & (cand < scores.shape[1])]] = True
        scores[:, ~keep] = -np.inf


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k of a dense score matrix; ``-inf`` entries come back as index ``-1``."""
    n, m = scores.shape
    kk = min(k, m)
    if kk < m:
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        # argpartition picks arbitrary members of a tie that straddles the cut; take the lowest indices
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1)
        for r in np.flatnonzero(((scores >= kth[:, None]).sum(axis=1) > kk) & np.isfinite(kth)):
            above = np.flatnonzero(scores[r] > kth[r])
            part[r] = np.concatenate([above, np.flatnonzero(scores[r] == kth[r])[: kk - len(above)]])
    else:
        part = np.tile(np.arange(m), (n, 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    # stable tie-break by item index for determinism
    order = np.lexsort((part, -part_scores), axis=1)
    ids = np.take_along_axis(part, order, axis=1)
    top = np.take_along_axis(part_scores, order, axis=1)
    ids = np.where(np.isfinite(top), ids, -1)
    if kk < k:
        ids = np.pad(ids, ((0, 0), (0, k - kk)), constant_values=-1)
        top = np.pad(top, ((0, 0), (0, k - kk)), constant_values=-np.inf)
    return ids.astype(np.int64), top.astype(np.float32)


def top_of(cand: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of a candidate slice as ``(ids, values)``, best first, ties by lowest index (as :func:`topk`).

    Written for one request: a partition, then the chosen few ordered in Python.
    """
    n = len(cand)
    if n > k:
        part = np.argpartition(values, n - k - 1)
        top = part[n - k :]
        vl = values[top].tolist()
        kth = min(vl)
        if values[part[n - k - 1]] >= kth:  # a tie straddles the cut: every item at least as good competes
            sel = np.flatnonzero(values >= kth)
            if len(sel) > 256:
                sel = sel[np.lexsort((cand[sel], -values[sel]))[:k]]
            il, vl = cand[sel].tolist(), values[sel].tolist()
        else:
            il = cand[top].tolist()
    else:
        il, vl = cand.tolist(), values.tolist()
    pairs = sorted(zip(il, vl, strict=True), key=lambda iv: (-iv[1], iv[0]))[:k]
    return (
        np.array([i for i, _ in pairs], dtype=np.int64),
        np.array([v for _, v in pairs], dtype=np.float32),
    )


def _sequences_to_csr(sequences: Sequence[np.ndarray], n_items: int) -> sp.csr_matrix:
    rows = (
        np.concatenate([np.full(len(s), r) for r, s in enumerate(sequences)])
        if len(sequences)
        else np.zeros(0)
    )
    cols = (
        np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences]) if len(sequences) else np.zeros(0)
    )
    if len(cols) and (cols.min() < 0 or cols.max() >= n_items):
        bad = cols[(cols < 0) | (cols >= n_items)][:5].tolist()
        raise ConfigError(f"sequence item indices must be in [0, {n_items}); got {bad}")
    m = sp.csr_matrix(
        (np.ones(len(cols), np.float32), (rows.astype(np.int64), cols.astype(np.int64))),
        shape=(len(sequences), n_items),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


@runtime_checkable
class SimilarItems(Protocol):
    """Models that can say which items are like a given item."""

    def similar_items(self, items: UserArg, k: int = 10) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class Explainable(Protocol):
    """Models that say why they scored items as they did, read off their own scoring state (the same
    weights, sequence and history ``_score`` uses): one :class:`~tuijian.explain.reasons.Explanation` per
    item of ``items``, for the user described by ``evidence`` (:class:`~tuijian.explain.reasons.Evidence`,
    built from a query by ``Evidence.of(model, query)``). See :mod:`tuijian.explain`."""

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]: ...


@runtime_checkable
class Persistable(Protocol):
    """Models that save to / load from a directory of safe files (npz, JSON, safetensors, LightGBM text)."""

    def save(self, path: str) -> None: ...

    @classmethod
    def load(cls, path: str) -> Recommender: ...


def copy_model(model: Recommender) -> Recommender:
    return copy.deepcopy(model)
