"""The recommendation pipeline, online and offline alike: query -> model -> fallback -> reasons.

::

    RecQuery (time-ordered history, session, exclusions, filters as a candidate mask)
      -> model.recommend_query(query, k)   candidates, scorer, ranker and the model's own rerankers
                                           (the hybrid's business filters and MMR), i.e. ``recommend``;
                                           or the model's precomputed top list for a known user without
                                           fresh events, when it gives exactly that (:mod:`.toplists`)
      -> evidence floor                    scores at or below ``model.evidence_floor`` are not evidence
      -> fallback chain                    fills what the model left short (:class:`FallbackChain`:
                                           the model's own ``fallback_`` if it has one, else popularity),
                                           within the filters and the model's own business rules
      -> reason codes                      one per item, from here only

Reason codes: ``similar_to:<item id>`` (the history item most similar to the recommended one, by the
item-kNN similarity), ``personalized`` (scored by the model with no similar history item), ``repeat``
first when the item was bought before and repeats are allowed, and the fallback step's name (``popular``,
``trending``, ``session``, ``content``) for fill items.

:class:`Pipeline` is built once per served model (it precomputes per-user purchases, the reason
similarity and the fallback chain), then answers any number of queries; it is read-only afterwards, so
threads may share it. The service (:mod:`tuijian.service.engine`) only looks ids up, builds the query and
renders the answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from tuijian.exceptions import ConfigError, UnknownIdError
from tuijian.models.base import Recommender, SimilarItems
from tuijian.models.fallback import FallbackChain
from tuijian.models.query import RecQuery
from tuijian.models.rerank import BusinessFilter
from tuijian.models.toplists import StoredCandidates, TopLists

#: ``(item index, score, reason codes)``, best first
Ranked = list[tuple[int, float, list[str]]]

_EMPTY = np.zeros(0, dtype=np.int64)


class Pipeline:
    """Answers :class:`RecQuery` and similar-item requests for one fitted model (see module docstring).

    Parameters
    ----------
    model: a fitted recommender.
    fallback: the chain that fills short lists; default: ``model.fallback_`` when the model has one,
        else a ``("popular",)`` chain fitted on the model's interactions.
    top_lists: the model's precomputed top lists (:mod:`tuijian.models.toplists`): a known user without
        fresh events is answered from them whenever that is exactly ``model.recommend_query``.
    """

    def __init__(
        self, model: Recommender, fallback: FallbackChain | None = None, top_lists: TopLists | None = None
    ) -> None:
        from tuijian.models.knn import ItemKNN

        model._check_fitted()
        self.model = model
        if top_lists is not None and (
            top_lists.n_users != model.interactions_.n_users or top_lists.n_items != model.n_items
        ):
            raise ConfigError(
                f"top lists of {top_lists.n_users} users x {top_lists.n_items} items do not fit the model "
                f"({model.interactions_.n_users} x {model.n_items})"
            )
        self.top_lists = top_lists
        inter = model.interactions_
        self.n_items = inter.n_items
        own = getattr(model, "fallback_", None)
        self.fallback = fallback or (
            own if isinstance(own, FallbackChain) else FallbackChain(steps=("popular",)).fit(inter)
        )
        # item-kNN explains recommendations (and finds similar items for models that cannot)
        self.knn = model if isinstance(model, ItemKNN) else ItemKNN().fit(inter)
        self.similar_source: Any = model if isinstance(model, SimilarItems) else self.knn
        self.reason_similar_to = [f"similar_to:{i}" for i in inter.items.ids]
        self.floor = model.evidence_floor
        #: the model's own business rules (its BusinessFilter rerankers) as an item mask: they bound the
        #: fallback fill and similar items too, not only the model's list
        self.rules: np.ndarray | None = None
        rerankers = getattr(model, "rerankers", None)
        if callable(rerankers):
            rules = [r for r in rerankers() if isinstance(r, BusinessFilter)]
            if rules:
                context = model.rerank_context(np.zeros(0, dtype=np.int64))  # type: ignore[attr-defined]
                self.rules = np.logical_and.reduce([r.allowed(context) for r in rules])
        #: distinct users per item
        self.popularity = inter.item_popularity()
        log = inter.log
        u = log["u"].to_numpy(np.int64)
        i = log["i"].to_numpy(np.int64)
        buy = (
            log["kind"].to_numpy(dtype=object) == "purchase"
            if "kind" in log.columns
            else np.ones(len(log), bool)
        )
        bought = sp.csr_matrix(
            (np.ones(int(buy.sum()), np.float32), (u[buy], i[buy])), shape=inter.matrix.shape
        )
        bought.sum_duplicates()
        self._buy_ptr, self._buy_idx = bought.indptr, bought.indices.astype(np.int64)
        self.n_users = inter.n_users
        self._seqs = [model.train_sequence(u) for u in range(self.n_users)]
        if isinstance(self.similar_source, SimilarItems) and self.n_items:
            self.similar_source.similar_items(0, 1)  # build the model's own caches while loading

    # ------------------------------------------------------------------ per-user lookups
    def purchases(self, user: int) -> np.ndarray:
        """The items ``user`` bought in the training data (ascending)."""
        if user < 0:
            return _EMPTY
        return self._buy_idx[self._buy_ptr[user] : self._buy_ptr[user + 1]]

    def user_query(
        self,
        user: int,
        fresh: list[tuple[int, float, bool]] | None = None,
        *,
        session: np.ndarray | None = None,
        exclude_purchased: bool = True,
        allowed: np.ndarray | None = None,
    ) -> RecQuery:
        """The query of a user: trained history plus ``fresh`` events ``(item, weight, is_purchase)`` (oldest
        first); bought items are excluded (or, with ``exclude_purchased=False``, tagged ``repeat``)."""
        if not -1 <= user < self.n_users:
            raise ConfigError(f"user must be -1 or an index below {self.n_users}, got {user}")
        seq = self._seqs[user] if user >= 0 else _EMPTY
        bought = self.purchases(user)
        if fresh:
            items = self._items(np.fromiter((f[0] for f in fresh), np.int64, len(fresh)), "fresh")
            history = np.concatenate([seq, items])
            weights = np.concatenate([np.ones(len(seq)), np.fromiter((f[1] for f in fresh), np.float64)])
            new_buys = [f[0] for f in fresh if f[2]]
            if new_buys:
                bought = np.concatenate([bought, np.asarray(new_buys, np.int64)])
            n_fresh = len(fresh)
        else:
            history, weights, n_fresh = seq, None, 0
        query = RecQuery(
            user=user,
            history=history,
            weights=weights,
            n_fresh=n_fresh,
            session=_EMPTY if session is None else self._items(session, "session"),
            exclude=bought if exclude_purchased else _EMPTY,
            allowed=self._mask(allowed),
            repeats=_EMPTY if exclude_purchased else bought,
        )
        query.checked = True  # the rest are the model's own indices
        return query

    def session_query(
        self, items: np.ndarray, *, allow_repeats: bool = False, allowed: np.ndarray | None = None
    ) -> RecQuery:
        """The query of an anonymous session (its items in time order)."""
        session = self._items(items, "session")
        seen = np.unique(session)
        return RecQuery(
            session=session,
            exclude=_EMPTY if allow_repeats else seen,
            allowed=self._mask(allowed),
            repeats=seen if allow_repeats else _EMPTY,
            checked=True,
        )

    def _items(self, items: np.ndarray, name: str) -> np.ndarray:
        arr = np.asarray(items, dtype=np.int64)
        if len(arr) and not (arr.min() >= 0 and arr.max() < self.n_items):
            raise ConfigError(f"{name} items must be item indices in [0, {self.n_items})")
        return arr

    def _mask(self, allowed: np.ndarray | None) -> np.ndarray | None:
        if allowed is not None and (allowed.dtype != bool or allowed.shape != (self.n_items,)):
            raise ConfigError(
                f"allowed must be a boolean mask of {self.n_items} items, got {allowed.dtype} {allowed.shape}"
            )
        return allowed

    # ------------------------------------------------------------------ answers
    def recommend(self, query: RecQuery, k: int = 10) -> Ranked:
        """The top ``k`` for ``query``: the model's list (above the evidence floor), then the fallback."""
        if not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        seq = query.sequence
        if len(seq) == 0:
            return self.fill([], seq, k, query.exclude, query.allowed)
        stored = self.top_lists.answer(query, k) if self.top_lists is not None else None
        if stored is not None and self.top_lists is not None and self.top_lists.ranks is not None:
            # what an explanation of this list reads instead of ranking every item again (shown_features)
            query.scratch = StoredCandidates(self.top_lists, int(query.user))
        ids, scores = stored if stored is not None else self.model.recommend_query(query, k)
        return self.fill(self._explain(query, ids, scores), seq, k, query.exclude, query.allowed)

    def similar(self, item: int, k: int = 10, allowed: np.ndarray | None = None) -> Ranked:
        """Items like ``item`` (the model's own ``similar_items``, else item-kNN), then the fallback."""
        if not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be a positive integer, got {k!r}")
        if not 0 <= item < self.n_items:
            raise UnknownIdError(f"item index {item} is not in [0, {self.n_items})")
        source = self.similar_source
        allowed = self._bounded(allowed)
        if allowed is None:
            ids, scores = source.similar_items(item, k)
            n = int((ids >= 0).sum())
            ids, scores = ids[:n], scores[:n]
        else:
            ids, scores = source.similar_items(item, self.n_items)
            ok = ids >= 0
            ok &= allowed[np.where(ok, ids, 0)]
            ids, scores = ids[ok][:k], scores[ok][:k]
        reason = [self.reason_similar_to[item]]
        ranked = [(i, s, reason) for i, s in zip(ids.tolist(), scores.tolist(), strict=True)]
        seq = np.asarray([item], dtype=np.int64)
        return self.fill(ranked, seq, k, seq, allowed)

    def fill(
        self,
        ranked: Ranked,
        sequence: np.ndarray,
        k: int,
        exclude: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
    ) -> Ranked:
        """``ranked`` completed to ``k`` items from the fallback chain (never an excluded or chosen item)."""
        need = k - len(ranked)
        if need <= 0:
            return ranked
        chosen = np.fromiter((r[0] for r in ranked), np.int64, len(ranked))
        ex = chosen if exclude is None or not len(exclude) else np.concatenate([exclude, chosen])
        extra = self.fallback.fill(sequence, need, ex, self._bounded(allowed))
        return ranked + [(i, s, [reason]) for i, s, reason in extra]

    def _bounded(self, allowed: np.ndarray | None) -> np.ndarray | None:
        if self.rules is None:
            return allowed
        return self.rules if allowed is None else allowed & self.rules

    # ------------------------------------------------------------------ reasons
    def _explain(self, query: RecQuery, ids: np.ndarray, scores: np.ndarray) -> Ranked:
        """The model's items above the evidence floor, with their reason codes (see module docstring)."""
        il, sl = ids.tolist(), scores.tolist()
        floor = -np.inf if self.floor is None else self.floor
        n = 0
        while n < len(il) and il[n] >= 0 and sl[n] > floor:  # padding and no-evidence items end the list
            n += 1
        if n < len(il):
            il, sl, ids = il[:n], sl[:n], ids[:n]
        best = self.knn.best_sources(query, ids)
        because = self.reason_similar_to
        repeats = set(query.repeats.tolist()) if len(query.repeats) else ()
        out: Ranked = []
        for t, s, b in zip(il, sl, best, strict=True):
            reason = because[b] if b >= 0 else "personalized"
            out.append((t, s, ["repeat", reason] if t in repeats else [reason]))
        return out
