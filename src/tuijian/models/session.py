"""SessionTransitions: a fast next-item model for anonymous sessions.

It counts, over all training sequences, how often item ``b`` follows item
``a`` within ``window`` steps (a step ``d`` apart counts ``step_decay ** (d-1)``;
``b`` *before* ``a`` counts ``reverse_weight`` times as much, a co-occurrence
back-off). Each item's row is normalised by ``row_sum ** alpha`` (``alpha=1``:
a multi-step Markov chain ``P(next | item)``; ``alpha=0``: raw counts that
favour popular items).

A session ``x_1 .. x_n`` scores every item as ``sum_j position_decay ** (n-j)
* T[x_j]`` over its last ``max_session_items`` items, plus a tiny popularity
term so that a session with unseen items still gets recommendations. Scoring
is a sparse row lookup: no dense ``items x items`` matrix is ever built, so one
session is scored in well under a millisecond.

Sequences come from ``batch.sequences``: known users use their training
sequence, anonymous visitors (user ``-1``) pass the items they just viewed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender, ScoringBatch, UserArg, topk
from tuijian.models.sequential_data import load_interactions, read_config, save_interactions

if TYPE_CHECKING:
    from tuijian.explain.reasons import Evidence, Explanation


class SessionTransitions(Recommender):
    """Windowed, position-decayed item-to-item transitions (SKNN/Markov-style).

    Parameters
    ----------
    window: how many steps ahead a pair still counts as a transition.
    step_decay: weight multiplier per extra step between the two items.
    reverse_weight: weight of the backward (b before a) co-occurrence.
    alpha: row normalisation exponent in [0, 1].
    position_decay: weight multiplier per step back in the scored session.
    max_session_items: how many of the session's latest items are used.
    session_gap_seconds: split a user's log into sessions at gaps longer than
        this (``None``: each user's log is one sequence).
    pop_weight: weight of the normalised popularity back-off.

    The defaults were chosen on the Amazon Beauty validation split
    (``bench/sasrec_beauty.py --tune``).
    """

    name = "session-transitions"

    def __init__(
        self,
        window: int = 8,
        step_decay: float = 0.8,
        reverse_weight: float = 0.1,
        alpha: float = 0.25,
        position_decay: float = 0.5,
        max_session_items: int = 10,
        session_gap_seconds: int | None = None,
        pop_weight: float = 1e-4,
    ) -> None:
        self.window = window
        self.step_decay = step_decay
        self.reverse_weight = reverse_weight
        self.alpha = alpha
        self.position_decay = position_decay
        self.max_session_items = max_session_items
        self.session_gap_seconds = session_gap_seconds
        self.pop_weight = pop_weight

    def _validate_params(self) -> None:
        for key in ("window", "max_session_items"):
            value = getattr(self, key)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"SessionTransitions {key} must be a positive integer, got {value!r}")
        for key in ("step_decay", "position_decay", "alpha"):
            value = getattr(self, key)
            if not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"SessionTransitions {key} must be in [0, 1], got {value!r}")
        for key in ("reverse_weight", "pop_weight"):
            if float(getattr(self, key)) < 0:
                raise ConfigError(f"SessionTransitions {key} must be >= 0, got {getattr(self, key)!r}")
        gap = self.session_gap_seconds
        if gap is not None and (not isinstance(gap, int | np.integer) or gap < 1):
            raise ConfigError(
                f"SessionTransitions session_gap_seconds must be a positive integer or None, got {gap!r}"
            )

    def _fit(self, interactions: Interactions) -> None:
        self._validate_params()
        log = interactions.log
        n_items = interactions.n_items
        u = log["u"].to_numpy(np.int64)
        i = log["i"].to_numpy(np.int64)
        session = u.copy()
        if self.session_gap_seconds is not None and len(u):
            ts = log["ts"].to_numpy(np.int64)
            new = np.ones(len(u), dtype=bool)
            new[1:] = (u[1:] != u[:-1]) | (np.diff(ts) > self.session_gap_seconds)
            session = np.cumsum(new)
        rows, cols, vals = [], [], []
        for d in range(1, self.window + 1):
            if d >= len(i):
                break
            same = session[:-d] == session[d:]
            a, b = i[:-d][same], i[d:][same]
            w = float(self.step_decay) ** (d - 1)
            rows += [a, b]
            cols += [b, a]
            vals += [np.full(len(a), w), np.full(len(a), w * float(self.reverse_weight))]
        if rows:
            r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        else:
            r = c = np.zeros(0, dtype=np.int64)
            v = np.zeros(0)
        trans = sp.csr_matrix((v, (r, c)), shape=(n_items, n_items), dtype=np.float64)
        trans.sum_duplicates()
        trans.eliminate_zeros()
        row_sum = np.asarray(trans.sum(axis=1)).ravel()
        scale = np.where(row_sum > 0, 1.0 / np.power(np.maximum(row_sum, 1e-12), float(self.alpha)), 0.0)
        self.transitions_ = sp.csr_matrix(sp.diags(scale) @ trans, dtype=np.float32)
        pop = interactions.item_popularity()
        self.popularity_ = (pop / max(pop.max(), 1.0)).astype(np.float32)

    # ------------------------------------------------------------------ scoring
    def _session_matrix(self, seqs: list[np.ndarray]) -> sp.csr_matrix:
        n_items = self.transitions_.shape[0]
        rows, cols, vals = [], [], []
        for r, s in enumerate(seqs):
            s = np.asarray(s, dtype=np.int64)[-self.max_session_items :]
            if len(s) and (s.min() < 0 or s.max() >= n_items):
                raise ConfigError(
                    f"sequence item indices must be in [0, {n_items}); got {s[(s < 0) | (s >= n_items)][:5].tolist()}"
                )
            rows.append(np.full(len(s), r))
            cols.append(s)
            vals.append(float(self.position_decay) ** np.arange(len(s) - 1, -1, -1, dtype=np.float64))
        if not rows:
            return sp.csr_matrix((len(seqs), n_items), dtype=np.float32)
        m = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(seqs), n_items),
            dtype=np.float32,
        )
        m.sum_duplicates()
        return m

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        weights = self._session_matrix(list(batch.sequences))
        scores = (weights @ self.transitions_).toarray()
        scores += float(self.pop_weight) * self.popularity_[None, :]
        return scores

    def score_columns(
        self, history: sp.csr_matrix, sequence: np.ndarray, cols: np.ndarray
    ) -> np.ndarray | None:
        """The session row's transitions at ``cols`` plus the popularity back-off, as ``_score`` adds them
        (base class)."""
        from tuijian.models.column_scores import row_entries, sparse_product_columns

        self._check_fitted()
        cols = np.asarray(cols, np.int64)
        session = np.asarray(sequence, np.int64)[-self.max_session_items :]
        order = np.argsort(session, kind="stable")
        if len(session) and (session[order[0]] < 0 or session[order[-1]] >= self.transitions_.shape[0]):
            items, values = row_entries(self._session_matrix([session]))  # raises the ConfigError
        elif (np.diff(session[order]) > 0).all():
            # no repeats: the session matrix holds each item's float32 weight, at the sorted items
            weights = float(self.position_decay) ** np.arange(len(session) - 1, -1, -1, dtype=np.float64)
            items, values = session[order], weights.astype(np.float32)[order]
        else:  # repeats: their weights summed as scipy sums them
            items, values = row_entries(self._session_matrix([session]))
        scores = np.asarray(sparse_product_columns(items, values, self.transitions_, cols))
        scores += float(self.pop_weight) * self.popularity_[cols]
        return np.asarray(scores, dtype=np.float32)

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """ "Goes with what you just looked at": the recent items with the largest terms
        ``position_decay ** (n-j) * T[x_j, item]`` of the score; the popularity back-off as ``popular``."""
        from tuijian.explain.attribution import weighted_sequence
        from tuijian.explain.reasons import Reason

        self._check_fitted()
        decay = float(self.position_decay)
        out = weighted_sequence(
            evidence,
            items,
            self.transitions_,
            lambda n: decay ** np.arange(n - 1, -1, -1, dtype=np.float64),
            int(self.max_session_items),
        )
        for e in out:
            e.reasons.append(Reason("popular", (), float(self.pop_weight) * float(self.popularity_[e.item])))
        return out

    # ------------------------------------------------------------------ abilities
    def similar_items(self, items: UserArg, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items most often seen right after (and, less, before) each item."""
        self._check_fitted()
        scalar, idx = self._item_batch(items)
        sims = self.transitions_[idx].toarray()
        sims[sims <= 0] = -np.inf
        sims[np.arange(len(idx)), idx] = -np.inf
        ids, scores = topk(sims, k)
        return (ids[0], scores[0]) if scalar else (ids, scores)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str) -> None:
        """Write ``config.json``, ``transitions.npz`` and ``interactions.npz`` into directory ``path``."""
        self._check_fitted()
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {"model": self.name, "params": self.get_params()}
        (out / "config.json").write_text(json.dumps(config, indent=2))
        t = self.transitions_
        np.savez_compressed(
            out / "transitions.npz",
            data=t.data,
            indices=t.indices,
            indptr=t.indptr,
            shape=np.asarray(t.shape),
            popularity=self.popularity_,
        )
        save_interactions(out / "interactions.npz", self.interactions_)

    @classmethod
    def load(cls, path: str) -> SessionTransitions:
        """Inverse of :meth:`save` (``allow_pickle=False``)."""
        src = Path(path)
        config = read_config(src, cls.name, "SessionTransitions")
        model = cls(**config["params"])
        with np.load(src / "transitions.npz", allow_pickle=False) as z:
            model.transitions_ = sp.csr_matrix(
                (z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"])
            )
            model.popularity_ = z["popularity"]
        model.interactions_ = load_interactions(src / "interactions.npz")
        model._seq_cache = None
        return model
