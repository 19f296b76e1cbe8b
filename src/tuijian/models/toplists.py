"""Precomputed top lists (after Gorse's offline/online split): every trained user's best ``N`` items, scored
once at training time, so that serving a known user costs a lookup instead of a full scoring.

Offline, :func:`precompute_top_lists` runs the model's own batch ``recommend(users, N, exclude_seen=False)``
over every trained user, in batches, with a progress log, and keeps ``(item indices, scores)``; a sample of
users is then scored one at a time and must match bit for bit, else every user is scored on their own (BLAS
may round a batched product differently). The artifact stores the lists as ``toplists.npz`` beside the model
(:func:`tuijian.models.artifacts.save_model`), never pickled.

Online, :meth:`TopLists.answer` answers a :class:`~tuijian.models.query.RecQuery` from the stored list only
when that is provably what ``model.recommend_query(query, k)`` returns:

* the query is the trained one: a known user without fresh events (``RecQuery.trained``), which the model
  scores from its trained state, exactly like the stored list was scored;
* the filters and exclusions leave at least ``k`` items of the stored list, or the stored list is complete
  (it ends in padding, so every other item scored ``-inf``).

``recommend`` orders every item by score, then by item index, and a candidate set only removes items from
that order, so the first ``k`` allowed items of the stored prefix are exactly the model's top ``k``.

A model whose rows follow a *tail rule* (:meth:`~tuijian.models.base.Recommender.top_list_parts`; the
hybrid's ranker: its candidates get ranker scores, every other item scores ``tail_base[user] +
tail_key[item]``, below all candidates) stores each user's whole candidate list and that rule. Such a list
answers every filter: when the filter leaves fewer than ``k`` stored items, the row is rebuilt from the
stored scores and the rule (``n_items`` additions, no model call), exactly as the model assembles it. Users
whose candidate list is longer than the stored width keep the plain prefix rule. Any other query returns
``None`` and the caller scores it in full. Such lists also keep the ranker's feature row of every stored
candidate (:attr:`TopLists.rows`, :mod:`tuijian.models.toplist_rows`: memory-mapped, while they fit a budget):
an explanation of the list attributes those rows instead of building them again.

Models opt in through :attr:`~tuijian.models.base.Recommender.precompute` (``True``/``False``; ``None``:
when one request costs more than :data:`PRECOMPUTE_MIN_MS`, measured at training). A model whose
``recommend`` reranks (``model.rerankers()`` not empty: MMR, business rules) ranks from a pool that depends
on ``k``, so its lists are never precomputed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from tuijian.exceptions import ConfigError, StorageError
from tuijian.models.toplist_rows import ROWS_BUDGET_MB, ROWS_FILE, load_rows, with_rows

if TYPE_CHECKING:
    from pathlib import Path

    from tuijian.models.base import Recommender
    from tuijian.models.query import RecQuery

log = logging.getLogger("tuijian.models")

#: items kept per user
TOP_N = 200
#: a model with ``precompute = None`` is precomputed when one request takes longer than this (median)
PRECOMPUTE_MIN_MS = 5.0
#: users scored per ``recommend`` call while precomputing
BATCH_USERS = 1024
FILE = "toplists.npz"


@dataclass(frozen=True)
class TopListParts:
    """A batch of rows as a tail-rule model builds them (see the module docstring): per row ``r``, its
    candidates ``ids[indptr[r]:indptr[r+1]]`` best first (ties by item index) with their ``scores``; every
    other item ``i`` scores ``tail_base[r] + tail_key[i]`` (float32), below every candidate."""

    indptr: np.ndarray  # (B + 1,) int64
    ids: np.ndarray  # (nnz,) int32
    scores: np.ndarray  # (nnz,) float32
    tail_base: np.ndarray  # (B,) float32
    tail_key: np.ndarray  # (n_items,) float32
    #: per stored item, its rank in each retriever's top list (:attr:`TopLists.ranks`); ``None``: not kept
    ranks: np.ndarray | None = None  # (nnz, R) uint8/uint16


class StoredCandidates(NamedTuple):
    """Set as ``query.scratch`` when a stored tail-rule list answered the query: the lists and the user,
    whose stored candidates and their retriever ranks (:meth:`TopLists.stored_ranks`) an explanation reads."""

    lists: TopLists
    user: int


@dataclass(frozen=True)
class TopLists:
    """Per trained user, the model's top ``n`` item indices (``-1`` padding) and scores, best first; with
    ``tail_key``, each user's whole candidate list and the tail rule instead (module docstring)."""

    ids: np.ndarray  # (n_users, n) int32
    scores: np.ndarray  # (n_users, n) float32
    n_items: int
    #: how they were scored: ``"batch"`` (checked against one-user requests), ``"per-user"`` or ``"tail"``
    scored: str = "batch"
    #: tail rule: per item, its offset (``None``: plain top-n lists)
    tail_key: np.ndarray | None = None
    #: tail rule: per user, the base of the non-candidates' scores; NaN where the list was cut to ``n``
    tail_base: np.ndarray | None = None
    #: tail rule of a ranker over retrievers: per user and stored item, its rank in each retriever's top
    #: candidates (``n_candidates + 1`` outside them and in padding), as the ranker's features hold it; what an
    #: explanation of a stored list reads instead of ranking every item again (``shown_features``)
    ranks: np.ndarray | None = None  # (n_users, n, R) uint8/uint16
    #: the model's explanations of every trained user's default request, made at training time
    #: (:class:`tuijian.explain.stored.StoredExplanations`, saved as its own file beside the lists); ``None``:
    #: explanations are computed per request
    explained: Any = None
    #: tail rule of a ranker over retrievers: the ranker's feature row of each stored item, user ``u``'s at
    #: ``rows[row_ptr[u]:row_ptr[u + 1]]`` in the order of its stored items (a cut list keeps none; a stored
    #: item that is not a candidate, zeros), built at training by the model's own ``shown_features``, the code
    #: an explanation of the list otherwise runs per request (:func:`~tuijian.models.toplist_rows.with_rows`).
    #: Memory-mapped when loaded (:data:`~tuijian.models.toplist_rows.ROWS_FILE`): the workers of a server
    #: share its pages. ``None``: not kept
    rows: np.ndarray | None = None  # (nnz, F) float32
    row_ptr: np.ndarray | None = None  # (n_users + 1,) int64

    @property
    def n(self) -> int:
        return int(self.ids.shape[1])

    @property
    def n_users(self) -> int:
        return int(self.ids.shape[0])

    def answer(self, query: RecQuery, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``model.recommend_query(query, k)`` from the stored list, or ``None`` when it cannot be told
        from it (see module docstring)."""
        if not query.trained or query.user >= self.n_users:
            return None
        query.check(self.n_items, self.n_users)
        return self.row_top(query.user, k, query.candidate_mask(self.n_items))

    def row_top(self, user: int, k: int, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The trained ``user``'s top ``k`` among the items of ``keep`` (a boolean mask; ``None``: all), or
        ``None`` when the stored list cannot tell it."""
        row = self.ids[user]
        valid = int(np.count_nonzero(row >= 0))  # padding only trails: -inf scores sort last
        ids = row[:valid]
        picked = np.arange(valid) if keep is None else np.flatnonzero(keep[ids])
        tail = self.tail_key is not None and self.tail_base is not None and np.isfinite(self.tail_base[user])
        if len(picked) < k and tail:
            return self._with_tail(user, k, ids, keep)
        complete = self.tail_key is None and (valid < self.n or self.n == self.n_items)
        if len(picked) < k and not complete:
            return None  # an allowed item below the stored list may belong in the top k
        picked = picked[:k]
        out_ids = np.full(k, -1, dtype=np.int64)
        out_scores = np.full(k, -np.inf, dtype=np.float32)
        out_ids[: len(picked)] = ids[picked]
        out_scores[: len(picked)] = self.scores[user, picked]
        return out_ids, out_scores

    def _with_tail(
        self, user: int, k: int, ids: np.ndarray, keep: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The row as the model assembles it (tail rule, stored candidates), masked, then its top ``k``."""
        from tuijian.models.base import topk

        assert self.tail_key is not None and self.tail_base is not None
        row = self.tail_base[user] + self.tail_key
        row[ids] = self.scores[user, : len(ids)]
        if keep is not None:
            row[~keep] = -np.inf
        out_ids, out_scores = topk(row[None, :], k)
        return out_ids[0], out_scores[0]

    # ------------------------------------------------------------------ files
    def save(self, path: Path) -> None:
        """Write ``path`` (npz: ``ids``, ``scores``, ``n_items``, the tail rule if any; no pickle)."""
        arrays: dict[str, np.ndarray] = {
            "ids": self.ids,
            "scores": self.scores,
            "n_items": np.asarray(self.n_items, dtype=np.int64),
            "scored": np.asarray(self.scored),
        }
        if self.tail_key is not None and self.tail_base is not None:
            arrays |= {"tail_key": self.tail_key, "tail_base": self.tail_base}
        if self.ranks is not None:
            arrays["ranks"] = self.ranks
        if self.rows is not None and self.row_ptr is not None:
            arrays["row_ptr"] = self.row_ptr
            np.save(
                path.with_name(ROWS_FILE), np.ascontiguousarray(self.rows, np.float32), allow_pickle=False
            )
        np.savez(path, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: Path, model: Recommender) -> TopLists:
        """Read ``path`` and check that it belongs to ``model`` (its users and items)."""
        from tuijian.models.artifacts import load_npz

        arrays = load_npz(path)
        try:
            ids, scores, n_items = arrays["ids"], arrays["scores"], int(arrays["n_items"])
        except KeyError as exc:
            raise StorageError(f"{path} is not a top-lists file: missing {exc}") from None
        n_users = model.interactions_.n_users
        if ids.shape != scores.shape or ids.ndim != 2 or ids.shape[0] != n_users or n_items != model.n_items:
            raise StorageError(
                f"{path} holds top lists of {ids.shape[0]} users x {n_items} items, but the model has "
                f"{n_users} users x {model.n_items} items; retrain to rebuild them"
            )
        scored = str(arrays["scored"]) if "scored" in arrays else "batch"
        key, base = arrays.get("tail_key"), arrays.get("tail_base")
        if key is not None and (base is None or key.shape != (n_items,) or base.shape != (n_users,)):
            raise StorageError(f"{path} holds a malformed tail rule; retrain to rebuild the top lists")
        ranks = arrays.get("ranks")
        if ranks is not None and (ranks.ndim != 3 or ranks.shape[:2] != ids.shape or key is None):
            raise StorageError(f"{path} holds malformed candidate ranks; retrain to rebuild the top lists")
        rows, row_ptr = load_rows(path, arrays.get("row_ptr"), ranks, model)
        return cls(
            ids=ids, scores=scores, n_items=n_items, scored=scored, tail_key=key, tail_base=base, ranks=ranks,
            rows=rows, row_ptr=row_ptr,
        )  # fmt: skip

    def stored_ranks(self, user: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The trained ``user``'s stored items and their ranks in each retriever (:attr:`ranks`), or
        ``None`` when they are not kept or the list was cut (its candidates are not all stored)."""
        if self.ranks is None or self.tail_base is None or not np.isfinite(self.tail_base[user]):
            return None
        return self.ids[user], self.ranks[user]

    def stored_rows(self, user: int) -> np.ndarray | None:
        """The ranker's feature rows of the trained ``user``'s stored items (:attr:`rows`), in the order of
        :meth:`stored_ranks`' items, or ``None`` when they are not kept."""
        if self.rows is None or self.row_ptr is None or self.stored_ranks(user) is None:
            return None
        return self.rows[int(self.row_ptr[user]) : int(self.row_ptr[user + 1])]


def precomputable(model: Recommender) -> bool:
    """True when ``model.recommend`` ranks without a ``k``-dependent reranking step."""
    rerankers = getattr(model, "rerankers", None)
    return not (callable(rerankers) and rerankers())


def request_ms(model: Recommender, n_users: int = 5, k: int = 10) -> float:
    """Median wall time of one ``recommend`` for a trained user (a few users spread over the index)."""
    users = np.linspace(0, model.interactions_.n_users - 1, n_users).astype(np.int64)
    model.recommend(int(users[0]), k, exclude_seen=False)  # lazy caches
    times = []
    for u in users.tolist():
        start = time.perf_counter()
        model.recommend(u, k, exclude_seen=False)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def should_precompute(model: Recommender, precompute: bool | None = None) -> bool:
    """Whether to store top lists for ``model``: ``precompute`` if given, else the model's own
    :attr:`~tuijian.models.base.Recommender.precompute`, else whether a request is slow; never for a
    model that reranks."""
    if not precomputable(model):
        return False
    choice = model.precompute if precompute is None else precompute
    if choice is None:
        ms = request_ms(model)
        log.info("measured request cost", extra={"model": model.name, "ms": round(ms, 2)})
        return ms > PRECOMPUTE_MIN_MS
    return bool(choice)


def precompute_top_lists(
    model: Recommender,
    n: int = TOP_N,
    batch_users: int = BATCH_USERS,
    check_users: int = 32,
    rows_budget_mb: float = ROWS_BUDGET_MB,
) -> TopLists:
    """Score every trained user once with the model's own ``recommend`` and keep the top ``n``.

    Users are scored in batches of ``batch_users``. A batched product may round the last bit of a score
    differently from a one-user request (BLAS blocks a matrix product by its shape), so ``check_users``
    users spread over the index are then scored one at a time and compared bit for bit; if any differs,
    every user is scored on their own (exact by construction, slower). ``TopLists.scored`` says which.
    """
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"n must be a positive integer, got {n!r}")
    if not precomputable(model):
        raise ConfigError(f"{type(model).__name__} reranks its lists; they depend on k and cannot be stored")
    n_users, n = model.interactions_.n_users, min(n, model.n_items)
    tailed = _precompute_tail(model, n, batch_users, check_users, rows_budget_mb)
    if tailed is not None:
        return tailed
    ids = np.empty((n_users, n), dtype=np.int32)
    scores = np.empty((n_users, n), dtype=np.float32)
    started = time.perf_counter()

    def progress(done: int, how: str) -> None:
        log.info(
            "precomputing top lists",
            extra={"model": model.name, "scored": how, "users_done": done, "users": n_users,
                   "seconds": round(time.perf_counter() - started, 1)},
        )  # fmt: skip

    for start in range(0, n_users, batch_users):
        users = np.arange(start, min(start + batch_users, n_users), dtype=np.int64)
        ids[users], scores[users] = model.recommend(users, n, exclude_seen=False)
        progress(int(users[-1]) + 1, "batch")
    check = np.unique(np.linspace(0, n_users - 1, min(check_users, n_users)).astype(np.int64))
    if all(_same_row(model, int(u), n, ids[u], scores[u]) for u in check.tolist()):
        return TopLists(ids=ids, scores=scores, n_items=model.n_items, scored="batch")
    log.warning(
        "batched scores differ from one-user requests in the last bits; scoring every user on their own",
        extra={"model": model.name},
    )
    step = max(1, n_users // 20)
    for u in range(n_users):
        ids[u], scores[u] = model.recommend(u, n, exclude_seen=False)
        if (u + 1) % step == 0 or u + 1 == n_users:
            progress(u + 1, "per-user")
    return TopLists(ids=ids, scores=scores, n_items=model.n_items, scored="per-user")


def _same_row(model: Recommender, user: int, n: int, ids: np.ndarray, scores: np.ndarray) -> bool:
    got_ids, got_scores = model.recommend(user, n, exclude_seen=False)
    return bool(np.array_equal(got_ids, ids) and np.array_equal(got_scores, scores))


#: a tail-rule list is cut to this many candidates at most (users with more keep the plain prefix rule)
TAIL_MAX_WIDTH = 2048


def _precompute_tail(
    model: Recommender, n: int, batch_users: int, check_users: int, rows_budget_mb: float
) -> TopLists | None:
    """Top lists with the tail rule (module docstring) when ``model.top_list_parts`` gives one, checked
    against the model's own ``recommend`` for sampled users, with and without a filter; else ``None``. The
    ranker's feature rows of the stored items are kept while they fit ``rows_budget_mb``
    (:attr:`TopLists.rows`)."""
    n_users = model.interactions_.n_users
    started = time.perf_counter()
    chunks: list[TopListParts] = []
    for start in range(0, n_users, batch_users):
        users = np.arange(start, min(start + batch_users, n_users), dtype=np.int64)
        parts = model.top_list_parts(users)
        if parts is None:
            return None
        chunks.append(parts)
        log.info(
            "precomputing candidate lists",
            extra={"model": model.name, "users_done": int(users[-1]) + 1, "users": n_users,
                   "seconds": round(time.perf_counter() - started, 1)},
        )  # fmt: skip
    lengths = np.concatenate([np.diff(c.indptr) for c in chunks])
    width = int(min(max(n, int(lengths.max(initial=0))), TAIL_MAX_WIDTH))
    ids = np.full((n_users, width), -1, dtype=np.int32)
    scores = np.full((n_users, width), -np.inf, dtype=np.float32)
    base = np.concatenate([c.tail_base for c in chunks]).astype(np.float32)
    ranks = _rank_table(chunks, n_users, width)
    row = 0
    for c in chunks:
        for r in range(len(c.indptr) - 1):
            a, b = int(c.indptr[r]), int(c.indptr[r + 1])
            m = min(b - a, width)
            ids[row, :m], scores[row, :m] = c.ids[a : a + m], c.scores[a : a + m]
            if ranks is not None and c.ranks is not None:
                ranks[row, :m] = c.ranks[a : a + m]
            row += 1
    base[lengths > width] = np.nan  # cut lists: only their prefix is known
    lists = TopLists(
        ids=ids,
        scores=scores,
        n_items=model.n_items,
        scored="tail",
        tail_key=chunks[0].tail_key,
        tail_base=base,
        ranks=ranks,
    )
    rng = np.random.default_rng(0)
    check = np.unique(np.linspace(0, n_users - 1, min(check_users, n_users)).astype(np.int64))
    for u in check.tolist():
        keep = rng.random(model.n_items) < 0.05  # a narrow filter: the tail fills most of the list
        allowed = np.flatnonzero(keep)
        for mask, cand in ((None, None), (keep, allowed)):
            got = lists.row_top(u, n, mask)
            want = model.recommend(u, n, exclude_seen=False, candidates=cand)
            if got is None or not (np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])):
                log.warning(
                    "candidate lists differ from one-user requests; storing plain top lists",
                    extra={"model": model.name, "user": u},
                )
                return None
    return with_rows(model, lists, rows_budget_mb)


def _rank_table(chunks: list[TopListParts], n_users: int, width: int) -> np.ndarray | None:
    """The ``(n_users, width, R)`` table of :attr:`TopLists.ranks`, filled with the "outside" rank (the
    largest a chunk holds; padding and cut items keep it), or ``None`` when a chunk has no ranks."""
    if not chunks or any(c.ranks is None for c in chunks):
        return None
    first = chunks[0].ranks
    assert first is not None
    outside = max(int(c.ranks.max(initial=0)) for c in chunks if c.ranks is not None)
    return np.full((n_users, width, first.shape[1]), outside, dtype=first.dtype)
