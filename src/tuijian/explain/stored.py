"""Explanations precomputed with the top lists: the explained request of a known user becomes a lookup.

A known user without fresh events is served from the version's precomputed top lists
(:mod:`tuijian.models.toplists`); the model explains the items it ranked from that user's trained history
alone, so the explanation of each (user, item) pair is fixed for the version, like the list. At training time
(:func:`precompute_explanations`) every trained user's default request is answered through the serving
:class:`~tuijian.models.pipeline.Pipeline` (``k`` = :data:`EXPLAINED_PER_USER`, bought items excluded, as
``GET /v1/users/{id}/recommendations`` asks by default) and the model's own ``explain`` is run on the items it
ranked, with the same :class:`~tuijian.explain.reasons.Evidence` a request builds. Those explanations are kept
as flat arrays (:class:`StoredExplanations`, ``explanations.npz`` beside ``toplists.npz``, no pickle).

Online, :func:`tuijian.explain.pipeline.explain_ranked` reads a stored explanation for every model-ranked item
of a trained query that has one, and asks the model only for the others (another ``k``, a filter reaching
deeper into the list, ``exclude_purchased=false``). The stored explanation is the model's own output for the
same evidence, number for number (``tests/explain/test_stored.py``; ``bench/full_scoring.py --check-lookup``
compares served and recomputed explanations). Only explanations built with the attribution method a request
uses are read (the dashboard asks for TreeSHAP; the API uses the decision path, which is what is stored).

Memory: about 0.4 KB per stored item (the reasons, up to twelve ranker attributions in float64); Beauty's
22,363 users x 10 items take 86 MB, explained in about two minutes on one core.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tuijian.exceptions import StorageError
from tuijian.explain.reasons import KINDS, Evidence, Explanation, new_attribution, new_reason

if TYPE_CHECKING:
    from pathlib import Path

    from tuijian.models.base import Recommender
    from tuijian.models.toplists import TopLists

log = logging.getLogger("tuijian.explain")

#: items explained in advance per trained user: the API's default ``k``
EXPLAINED_PER_USER = 10
FILE = "explanations.npz"
_KIND_INDEX = {k: n for n, k in enumerate(KINDS)}
_ARRAYS = (
    "user_ptr", "item", "base", "reason_ptr", "r_kind", "r_weight", "r_item_ptr", "r_items", "r_term_ptr",
    "r_terms", "attr_ptr", "a_feature", "a_value", "a_contrib", "a_kind", "features", "terms",
)  # fmt: skip


@dataclass(frozen=True)
class StoredExplanations:
    """Per trained user, the model's explanations of its first stored items, as flat arrays (CSR style):
    user ``u``'s entries are ``user_ptr[u]:user_ptr[u+1]``; entry ``e``'s reasons ``reason_ptr[e]:...`` and
    attributions ``attr_ptr[e]:...``; a reason's items and terms by their own pointers. Kinds are indices into
    :data:`~tuijian.explain.reasons.KINDS` (``-1``: none), features and terms into ``features`` / ``terms``."""

    method: str
    user_ptr: np.ndarray  # (n_users + 1,) int64
    item: np.ndarray  # (M,) int32
    base: np.ndarray  # (M,) float64, NaN: no base value
    reason_ptr: np.ndarray  # (M + 1,) int64
    r_kind: np.ndarray  # (R,) int8
    r_weight: np.ndarray  # (R,) float64
    r_item_ptr: np.ndarray  # (R + 1,) int64
    r_items: np.ndarray  # int32
    r_term_ptr: np.ndarray  # (R + 1,) int64
    r_terms: np.ndarray  # int32 into terms
    attr_ptr: np.ndarray  # (M + 1,) int64
    a_feature: np.ndarray  # (A,) int32 into features
    a_value: np.ndarray  # (A,) float64 (NaN kept)
    a_contrib: np.ndarray  # (A,) float64
    a_kind: np.ndarray  # (A,) int8
    features: np.ndarray  # str
    terms: np.ndarray  # str

    @property
    def n_users(self) -> int:
        return len(self.user_ptr) - 1

    @property
    def nbytes(self) -> int:
        return sum(int(getattr(self, name).nbytes) for name in _ARRAYS)

    def lookup(self, user: int, items: list[int]) -> dict[int, Explanation]:
        """The stored explanations of ``user`` for those of ``items`` that have one."""
        if not 0 <= user < self.n_users:
            return {}
        a, b = int(self.user_ptr[user]), int(self.user_ptr[user + 1])
        if a == b:
            return {}
        want = set(items)
        entries = [e for e, t in enumerate(self.item[a:b].tolist(), a) if t in want]
        if not entries:
            return {}
        # the user's entries are contiguous: each array is read once, as Python lists
        ra, rb = int(self.reason_ptr[a]), int(self.reason_ptr[b])
        r_ptr = self.reason_ptr[a : b + 1].tolist()
        kinds = self.r_kind[ra:rb].tolist()
        weights = self.r_weight[ra:rb].tolist()
        i_ptr = self.r_item_ptr[ra : rb + 1].tolist()
        r_items = self.r_items[i_ptr[0] : i_ptr[-1]].tolist()
        t_ptr = self.r_term_ptr[ra : rb + 1].tolist()
        r_terms = self.r_terms[t_ptr[0] : t_ptr[-1]].tolist()
        aa, ab = int(self.attr_ptr[a]), int(self.attr_ptr[b])
        a_ptr = self.attr_ptr[a : b + 1].tolist()
        feats = self.a_feature[aa:ab].tolist()
        values = self.a_value[aa:ab].tolist()
        contribs = self.a_contrib[aa:ab].tolist()
        a_kinds = self.a_kind[aa:ab].tolist()
        bases = self.base[a:b].tolist()
        items_now = self.item[a:b].tolist()
        features, terms = self._strings()
        out: dict[int, Explanation] = {}
        for e in entries:
            n = e - a
            reasons = []
            for r in range(r_ptr[n] - ra, r_ptr[n + 1] - ra):
                its = tuple(r_items[i_ptr[r] - i_ptr[0] : i_ptr[r + 1] - i_ptr[0]])
                named = tuple([terms[x] for x in r_terms[t_ptr[r] - t_ptr[0] : t_ptr[r + 1] - t_ptr[0]]])
                reasons.append(new_reason(KINDS[kinds[r]], its, weights[r], named))
            attrs = [
                new_attribution(
                    features[feats[x]], values[x], contribs[x], None if a_kinds[x] < 0 else KINDS[a_kinds[x]]
                )
                for x in range(a_ptr[n] - aa, a_ptr[n + 1] - aa)
            ]
            base = bases[n]
            out[items_now[n]] = Explanation(items_now[n], reasons, attrs, None if base != base else base)
        return out

    def _strings(self) -> tuple[list[str], list[str]]:
        """``features`` and ``terms`` as lists of Python strings (``str`` of each element), made on first use."""
        cached = self.__dict__.get("_string_lists")
        if cached is None:
            cached = ([str(x) for x in self.features], [str(x) for x in self.terms])
            object.__setattr__(self, "_string_lists", cached)  # a cache beside the frozen fields
        return cached

    # ------------------------------------------------------------------ files
    def save(self, path: Path) -> None:
        """Write ``path`` (npz, no pickle)."""
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        np.savez(path, allow_pickle=False, method=np.asarray(self.method), **arrays)

    @classmethod
    def load(cls, path: Path, n_users: int) -> StoredExplanations:
        """Read ``path``; it must hold explanations of ``n_users`` users."""
        from tuijian.models.artifacts import load_npz

        arrays = load_npz(path)
        missing = [name for name in (*_ARRAYS, "method") if name not in arrays]
        if missing:
            raise StorageError(f"{path} is not a stored-explanations file: missing {', '.join(missing)}")
        out = cls(method=str(arrays["method"]), **{name: arrays[name] for name in _ARRAYS})
        if out.n_users != n_users or len(out.reason_ptr) != len(out.item) + 1:
            raise StorageError(
                f"{path} holds explanations of {out.n_users} users, but the model has {n_users}; "
                "retrain to rebuild them"
            )
        return out


class _Builder:
    """Appends explanations to the flat arrays of :class:`StoredExplanations`."""

    def __init__(self) -> None:
        self.user_ptr = [0]
        self.item: list[int] = []
        self.base: list[float] = []
        self.reason_ptr = [0]
        self.r_kind: list[int] = []
        self.r_weight: list[float] = []
        self.r_item_ptr = [0]
        self.r_items: list[int] = []
        self.r_term_ptr = [0]
        self.r_terms: list[int] = []
        self.attr_ptr = [0]
        self.a_feature: list[int] = []
        self.a_value: list[float] = []
        self.a_contrib: list[float] = []
        self.a_kind: list[int] = []
        self.features: dict[str, int] = {}
        self.terms: dict[str, int] = {}

    def add(self, e: Explanation) -> None:
        self.item.append(int(e.item))
        self.base.append(float("nan") if e.base_value is None else float(e.base_value))
        for r in e.reasons:
            self.r_kind.append(_KIND_INDEX[r.kind])
            self.r_weight.append(float(r.weight))
            self.r_items += [int(i) for i in r.items]
            self.r_item_ptr.append(len(self.r_items))
            self.r_terms += [self.terms.setdefault(t, len(self.terms)) for t in r.terms]
            self.r_term_ptr.append(len(self.r_terms))
        self.reason_ptr.append(len(self.r_kind))
        for x in e.attributions:
            self.a_feature.append(self.features.setdefault(x.feature, len(self.features)))
            self.a_value.append(float(x.value))
            self.a_contrib.append(float(x.contribution))
            self.a_kind.append(-1 if x.kind is None else _KIND_INDEX[x.kind])
        self.attr_ptr.append(len(self.a_feature))

    def end_user(self) -> None:
        self.user_ptr.append(len(self.item))

    def build(self, method: str) -> StoredExplanations:
        def strings(table: dict[str, int]) -> np.ndarray:
            return np.asarray(list(table), dtype=str) if table else np.zeros(0, dtype="<U1")

        return StoredExplanations(
            method=method,
            user_ptr=np.asarray(self.user_ptr, np.int64),
            item=np.asarray(self.item, np.int32),
            base=np.asarray(self.base, np.float64),
            reason_ptr=np.asarray(self.reason_ptr, np.int64),
            r_kind=np.asarray(self.r_kind, np.int8),
            r_weight=np.asarray(self.r_weight, np.float64),
            r_item_ptr=np.asarray(self.r_item_ptr, np.int64),
            r_items=np.asarray(self.r_items, np.int32),
            r_term_ptr=np.asarray(self.r_term_ptr, np.int64),
            r_terms=np.asarray(self.r_terms, np.int32),
            attr_ptr=np.asarray(self.attr_ptr, np.int64),
            a_feature=np.asarray(self.a_feature, np.int32),
            a_value=np.asarray(self.a_value, np.float64),
            a_contrib=np.asarray(self.a_contrib, np.float64),
            a_kind=np.asarray(self.a_kind, np.int8),
            features=strings(self.features),
            terms=strings(self.terms),
        )


def explainable(model: Recommender) -> bool:
    """True when ``model`` explains its own items (:class:`~tuijian.explain.reasons.Explainable`)."""
    return callable(getattr(model, "explain", None))


def precompute_explanations(
    model: Recommender, top_lists: TopLists, per_user: int = EXPLAINED_PER_USER
) -> StoredExplanations:
    """Every trained user's default request explained now (see module docstring): the model's own explanations
    of the items it ranked in the first ``per_user`` of the served list, with a progress log."""
    from tuijian.explain.pipeline import model_ranked
    from tuijian.explain.ranker import attribution_method
    from tuijian.models.pipeline import Pipeline

    if not explainable(model):
        raise StorageError(f"{type(model).__name__} does not explain its recommendations; nothing to store")
    pipeline = Pipeline(model, top_lists=top_lists)
    explain = model.explain  # type: ignore[attr-defined]
    builder = _Builder()
    n_users = model.interactions_.n_users
    started = last = time.perf_counter()
    with attribution_method("path"):
        for u in range(n_users):
            query = pipeline.user_query(u)
            if len(query.sequence):
                ranked = pipeline.recommend(query, per_user)
                items = model_ranked(ranked)
                if items:
                    for e in explain(Evidence.of(model, query), np.asarray(items, np.int64)):
                        builder.add(e)
            builder.end_user()
            now = time.perf_counter()
            if now - last > 10 or u + 1 == n_users:
                last = now
                log.info(
                    "precomputing explanations",
                    extra={"model": model.name, "users_done": u + 1, "users": n_users,
                           "seconds": round(now - started, 1)},
                )  # fmt: skip
    return builder.build("path")
