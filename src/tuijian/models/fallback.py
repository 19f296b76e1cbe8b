"""Cold start: an ordered fallback chain with reason codes, and the "repeat, then popular" heuristic.

:class:`FallbackChain` answers for users a learned model cannot score (no history)
and fills lists a model leaves short. Its steps run in order; each adds the items
it can justify, tagged with its reason code, until ``k`` items are found:

``session``   items that followed or co-occur with the items of the current session
              (transitions and co-occurrence learned from the training sequences);
``content``   items whose text is closest to the session items (needs item vectors);
``trending``  items popular in the last ``recent_days`` of the log;
``popular``   items popular over the whole log.

:class:`RepeatThenPopular` (registry name ``"repeat-popular"``) is the shop
heuristic the hybrid must beat on Online Retail: the user's own past items first
(most often, then most recently bought), then global popularity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError, NotFittedError
from tuijian.models.base import Recommender, ScoringBatch
from tuijian.models.persist import NpzPersistence

if TYPE_CHECKING:
    from tuijian.explain.reasons import Evidence, Explanation

FALLBACK_STEPS: tuple[str, ...] = ("session", "content", "trending", "popular")
DAY = 86400.0


class FallbackChain:
    """Ordered cold-start fallback (see module docstring).

    Parameters
    ----------
    steps: the steps to run, in order, from :data:`FALLBACK_STEPS`.
    recent_days: window of the ``trending`` step.
    n_neighbors: similar items kept per item for the ``session`` step.
    """

    def __init__(
        self, steps: Sequence[str] = FALLBACK_STEPS, recent_days: float = 30.0, n_neighbors: int = 50
    ) -> None:
        self.steps = tuple(steps)
        self.recent_days = recent_days
        self.n_neighbors = n_neighbors

    def fit(self, interactions: Interactions, content: sp.csr_matrix | None = None) -> Self:
        """Learn transitions, co-occurrence and popularity from ``interactions``; ``content``: item vectors.

        Only what the steps need is computed (a ``("popular",)`` chain is one count per item).
        """
        from tuijian.models.ranker_features import _cosine_similarity, transition_matrix

        bad = [s for s in self.steps if s not in FALLBACK_STEPS]
        if bad or not self.steps:
            raise ConfigError(
                f"steps must be a non-empty sequence of {FALLBACK_STEPS}, got {list(self.steps)}"
            )
        if content is not None and content.shape[0] != interactions.n_items:
            raise ConfigError(
                f"content must have one row per item ({interactions.n_items}), got {content.shape[0]}"
            )
        n = interactions.n_items
        log = interactions.log
        i = log["i"].to_numpy(np.int64)
        ts = log["ts"].to_numpy(np.float64)
        self.n_items_ = n
        self.session_matrix_ = None
        if "session" in self.steps:
            trans = transition_matrix(interactions.sequences(), n)
            sim = _cosine_similarity(interactions.matrix, self.n_neighbors)
            self.session_matrix_ = sp.csr_matrix(trans + 0.5 * sim, dtype=np.float32)
        self.content_ = sp.csr_matrix(content, dtype=np.float32) if content is not None else None
        #: distinct users per item
        self.popular_ = np.diff(sp.csc_matrix(interactions.matrix > 0).indptr).astype(np.float64)
        recent = ts >= (ts.max() if len(ts) else 0.0) - self.recent_days * DAY
        #: events per item in the last ``recent_days`` of the log
        self.trending_ = np.bincount(i[recent], minlength=n).astype(np.float64)
        self._orders: dict[str, np.ndarray] = {}
        return self

    def _check(self) -> None:
        if not hasattr(self, "n_items_"):
            raise NotFittedError("FallbackChain is not fitted yet; call fit(interactions) first")

    def step_scores(self, step: str, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """``(len(sequences), n_items)`` scores of one step; items the step cannot justify get ``-inf``."""
        self._check()
        b, n = len(sequences), self.n_items_
        out = np.full((b, n), -np.inf, dtype=np.float64)
        if step in ("session", "content"):
            rows = np.repeat(np.arange(b), [len(s) for s in sequences])
            cols = (
                np.concatenate([np.asarray(s, np.int64) for s in sequences])
                if len(rows)
                else np.zeros(0, np.int64)
            )
            # later session items weigh more: weight 1 for the newest, halving every 3 steps back
            ages = np.concatenate([np.arange(len(s))[::-1] for s in sequences]) if len(rows) else np.zeros(0)
            w = np.power(0.5, ages / 3.0)
            profile = sp.csr_matrix((w, (rows, cols)), shape=(b, n))
            if step == "session":
                if self.session_matrix_ is None:
                    return out
                s = (profile @ self.session_matrix_).toarray()
            elif self.content_ is not None:
                s = (profile @ self.content_ @ self.content_.T).toarray()
            else:
                return out
            out = np.where(s > 0, s, -np.inf)
        elif step == "trending":
            out[:] = np.where(self.trending_ > 0, self.trending_, -np.inf)[None, :]
        elif step == "popular":
            out[:] = np.where(self.popular_ > 0, self.popular_, -np.inf)[None, :]
        else:
            raise ConfigError(f"unknown fallback step {step!r}; valid: {FALLBACK_STEPS}")
        return out

    def recommend(
        self, sequences: Sequence[np.ndarray], k: int = 10, *, exclude: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items per request and the reason code of each (``""`` where nothing was left).

        ``sequences``: the items known about each request (session or history, in time
        order; may be empty). ``exclude``: a CSR ``len(sequences) x n_items`` of items
        never to return (e.g. already bought). Session items themselves are excluded.
        """
        self._check()
        if not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        b = len(sequences)
        ids = np.full((b, k), -1, dtype=np.int64)
        reasons = np.full((b, k), "", dtype=object)
        taken = np.zeros((b, self.n_items_), dtype=bool)
        for r, s in enumerate(sequences):
            taken[r, np.asarray(s, np.int64)] = True
        if exclude is not None:
            ex = sp.csr_matrix(exclude)
            taken[np.repeat(np.arange(b), np.diff(ex.indptr)), ex.indices] = True
        filled = np.zeros(b, dtype=np.int64)
        for step in self.steps:
            if (filled >= k).all():
                break
            scores = self.step_scores(step, sequences)
            scores[taken] = -np.inf
            order = np.argsort(-scores, axis=1, kind="stable")
            for r in range(b):
                need = k - filled[r]
                if need <= 0:
                    continue
                cand = order[r, :need]
                cand = cand[np.isfinite(scores[r, cand])]
                ids[r, filled[r] : filled[r] + len(cand)] = cand
                reasons[r, filled[r] : filled[r] + len(cand)] = step
                taken[r, cand] = True
                filled[r] += len(cand)
        return ids, reasons

    def fill(
        self,
        sequence: np.ndarray,
        n: int,
        exclude: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
    ) -> list[tuple[int, float, str]]:
        """One request's ``n`` fill items as ``(item, step score, reason)``: :meth:`recommend` for one
        sequence, with ``allowed`` (a boolean mask over items) as a filter, and fast for the static steps.

        As in :meth:`recommend`, the sequence items and ``exclude`` are never returned.
        """
        self._check()
        out: list[tuple[int, float, str]] = []
        if n <= 0:
            return out
        seq = np.asarray(sequence, dtype=np.int64)
        taken = set(seq.tolist())
        if exclude is not None and len(exclude):
            taken.update(np.asarray(exclude, dtype=np.int64).tolist())
        for step in self.steps:
            need = n - len(out)
            if need <= 0:
                break
            if step in ("trending", "popular"):
                values = self.trending_ if step == "trending" else self.popular_
                order = self._static_order(step, values)
                if allowed is not None:
                    order = order[allowed[order]]
                head = order[: need + len(taken)].tolist()
            else:
                values = self.step_scores(step, [seq])[0]
                if allowed is not None:
                    values[~allowed] = -np.inf
                if taken:
                    values[np.fromiter(taken, np.int64, len(taken))] = -np.inf
                order = np.argsort(-values, kind="stable")[:need]
                head = order[np.isfinite(values[order])].tolist()
            for i in head:
                if i not in taken:
                    out.append((i, float(values[i]), step))
                    taken.add(i)
                    if len(out) >= n:
                        break
        return out

    def _static_order(self, step: str, values: np.ndarray) -> np.ndarray:
        """Items with a positive ``values`` entry, best first (ties by index), cached per step."""
        orders = self.__dict__.setdefault("_orders", {})
        order = orders.get(step)
        if order is None:
            order = np.argsort(-values, kind="stable")
            order = orders[step] = order[values[order] > 0]
        return order

    def scores(self, sequences: Sequence[np.ndarray]) -> np.ndarray:
        """Dense scores that rank items in chain order: every item of an earlier step above any later one."""
        self._check()
        b, n = len(sequences), self.n_items_
        out = np.full((b, n), -np.inf, dtype=np.float64)
        n_steps = len(self.steps)
        for j, step in enumerate(self.steps):
            s = self.step_scores(step, sequences)
            finite = np.isfinite(s)
            top = np.where(finite, s, 0.0).max(axis=1, keepdims=True)
            scaled = np.where(finite, s / np.where(top > 0, top, 1.0), -np.inf)  # in (0, 1]
            level = np.where(finite, (n_steps - j) * 2.0 + scaled, -np.inf)
            out = np.where(np.isfinite(out), out, level)
        return out.astype(np.float32)


class RepeatThenPopular(NpzPersistence, Recommender):
    """The user's past items (most often, then most recently), then globally popular items.

    ``recent_days``: popularity counts distinct buyers over the last ``recent_days``
    of the log (``None`` = whole log).
    """

    name: ClassVar[str] = "repeat-popular"
    _persisted: ClassVar[tuple[str, ...]] = ("popularity_",)

    def __init__(self, recent_days: float | None = None) -> None:
        self.recent_days = recent_days

    def _fit(self, interactions: Interactions) -> None:
        if self.recent_days is not None and not self.recent_days > 0:
            raise ConfigError(f"recent_days must be > 0 or None, got {self.recent_days!r}")
        log = interactions.log
        ts = log["ts"].to_numpy(np.int64)
        keep = np.ones(len(log), dtype=bool)
        if self.recent_days is not None and len(ts):
            keep = ts >= ts.max() - self.recent_days * DAY
        pairs = np.unique(
            log["u"].to_numpy(np.int64)[keep] * interactions.n_items + log["i"].to_numpy(np.int64)[keep]
        )
        pop = np.bincount(pairs % interactions.n_items, minlength=interactions.n_items).astype(np.float64)
        #: popularity in [0, 1)
        self.popularity_ = (pop / (pop.max() + 1.0)).astype(np.float32)

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        n = self.n_items
        out = np.tile(self.popularity_, (len(batch.users), 1)).astype(np.float64)
        for r, seq in enumerate(batch.sequences):
            if len(seq) == 0:
                continue
            seq = np.asarray(seq, np.int64)
            counts = np.bincount(seq, minlength=n)
            last = np.zeros(n)
            last[seq] = np.arange(1, len(seq) + 1) / (len(seq) + 1.0)  # later position wins
            seen = counts > 0
            out[r, seen] = 10.0 + counts[seen] + last[seen]
        return out.astype(np.float32)

    def explain(self, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
        """``repeat`` (naming the item) for the user's own past items, else ``popular``."""
        from tuijian.explain.reasons import Explanation, Reason

        self._check_fitted()
        counts = np.bincount(np.asarray(evidence.sequence, np.int64), minlength=self.n_items)
        out = []
        for t in np.asarray(items, np.int64).tolist():
            if counts[t]:
                out.append(Explanation(t, [Reason("repeat", (t,), 10.0 + float(counts[t]))]))
            else:
                out.append(Explanation(t, [Reason("popular", (), float(self.popularity_[t]))]))
        return out
