"""What an explanation is made of: :class:`Reason` and :class:`Explanation` (plain data, no model code).

A :class:`Reason` says *why* one item was recommended, in terms a shopper understands, and carries the
evidence the scorer itself used:

=====================  ===================================================================  ==============
kind                   meaning (``items``)                                                   from
=====================  ===================================================================  ==============
``history``            "because you bought / looked at X" (the history items that            item-kNN, EASE,
                       contributed most to the score)                                        RP3beta, hybrid
``recent``             goes with what you looked at most recently (the recent items          session model,
                       that mattered most)                                                   SASRec, hybrid
``content``            shares attributes / keywords with X (``terms``: the shared words)     content, hybrid
``popular``            bought by many shoppers                                               popularity
``trending``           bought by many shoppers lately                                        recent popularity
``similar_shoppers``   shoppers with a history like yours chose it                           ALS, BPR, user-kNN
``repeat``             you had it before / it is often bought again                          repeat models
``price``              in the price range you usually buy                                    hybrid
``new``                new in the shop                                                       hybrid
``exploration``        shown to learn what you like (a bandit's exploration), flagged       rerankers
=====================  ===================================================================  ==============

``weight`` is the reason's share of the score in the scorer's own units: a contribution to a linear
score (item-kNN, EASE, RP3beta, session transitions, content), a score drop when the evidence is
removed (SASRec), a popularity count, or a sum of the ranker's TreeSHAP contributions (the hybrid).
Weights of different models are not comparable; within one explanation they order the reasons.

Items are model indices here; the service turns them into item ids (:mod:`tuijian.explain.render`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from tuijian.models.base import Recommender
    from tuijian.models.query import RecQuery

#: every reason kind, in the order a sentence prefers them on equal weight
KINDS: tuple[str, ...] = (
    "history",
    "recent",
    "content",
    "repeat",
    "similar_shoppers",
    "price",
    "new",
    "trending",
    "popular",
    "exploration",
)
_KIND_ORDER = {k: n for n, k in enumerate(KINDS)}
#: the reason code the live bandit (:mod:`tuijian.service.bandit`) adds to the items of a list it shows to
#: explore; it becomes an ``exploration`` reason, always shown first
EXPLORATION_CODE = "exploration"


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason for one recommended item (see module docstring)."""

    kind: str
    items: tuple[int, ...] = ()
    weight: float = 0.0
    terms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown reason kind {self.kind!r}; known: {', '.join(KINDS)}")


@dataclass(frozen=True, slots=True)
class Attribution:
    """One ranker feature's TreeSHAP contribution to one item's score, and the reason kind it maps to."""

    feature: str
    value: float
    contribution: float
    kind: str | None  # None: a feature about the shopper only (history length, ...), the same for every item


@dataclass(slots=True)
class Explanation:
    """Why one item is in a list: its reasons (strongest first) and, for a ranked model, the attributions."""

    item: int
    reasons: list[Reason]
    attributions: list[Attribution] = field(default_factory=list)
    #: the ranker's expected value (TreeSHAP base value): score = base + sum of all contributions
    base_value: float | None = None


_new = object.__new__
_A, _R = vars(Attribution), vars(Reason)  # the slots' descriptors
_SET_FEATURE, _SET_VALUE, _SET_CONTRIB = (
    _A["feature"].__set__,
    _A["value"].__set__,
    _A["contribution"].__set__,
)
_SET_AKIND = _A["kind"].__set__
_SET_KIND, _SET_ITEMS, _SET_WEIGHT, _SET_TERMS = (
    _R[name].__set__ for name in ("kind", "items", "weight", "terms")
)


def new_attribution(feature: str, value: float, contribution: float, kind: str | None) -> Attribution:
    """``Attribution(feature, value, contribution, kind)``, its slots set directly: what the frozen dataclass's
    ``__init__`` does through ``object.__setattr__``, in about half the time (the ranker makes twelve per item;
    ``tests/explain/test_reasons.py`` checks the objects equal the class's own)."""
    out = _new(Attribution)
    _SET_FEATURE(out, feature)
    _SET_VALUE(out, value)
    _SET_CONTRIB(out, contribution)
    _SET_AKIND(out, kind)
    return out


def new_reason(kind: str, items: tuple[int, ...], weight: float, terms: tuple[str, ...]) -> Reason:
    """``Reason(kind, items, weight, terms)`` as :func:`new_attribution` makes an attribution, without the check
    of ``kind``: for kinds taken from :data:`KINDS`."""
    out = _new(Reason)
    _SET_KIND(out, kind)
    _SET_ITEMS(out, items)
    _SET_WEIGHT(out, weight)
    _SET_TERMS(out, terms)
    return out


def strongest(reasons: list[Reason], top_n: int) -> list[Reason]:
    """The ``top_n`` reasons with positive weight, strongest first (kinds in :data:`KINDS` order on ties)."""
    order = _KIND_ORDER
    keep = [r for r in reasons if r.weight > 0 or r.kind == "exploration"]
    keep.sort(key=lambda r: (-r.weight, order[r.kind]))
    return keep[:top_n]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a model scores one user from, exactly as its ``_score`` sees it: the user index (``-1``: fold-in),
    the history row (distinct items ascending, their values) and the time-ordered sequence."""

    user: int
    items: np.ndarray
    values: np.ndarray
    sequence: np.ndarray
    #: what the model computed while scoring this query (``RecQuery.scratch``), reused by its ``explain``
    scratch: Any = None

    @classmethod
    def of(cls, model: Recommender, query: RecQuery) -> Evidence:
        """The evidence of ``query`` for ``model``: the same row and sequence ``recommend_query`` scores."""
        items, values = query.history_vector(model)
        user = (
            query.user
        )  # as RecQuery.model_inputs passes it (a known user with fresh events keeps its index)
        return cls(
            user, np.asarray(items, np.int64), np.asarray(values, np.float32), query.sequence, query.scratch
        )

    def row(self, n_items: int) -> sp.csr_matrix:
        """The history as a ``1 x n_items`` CSR row (what ``Recommender.score(history=...)`` takes). The arrays
        are given in the dtypes scipy would convert them to (float32 values; int32 indices where they fit), which
        spares its conversions: the same matrix."""
        values = self.values if self.values.dtype == np.float32 else self.values.astype(np.float32)
        if n_items <= np.iinfo(np.int32).max:
            items, indptr = self.items.astype(np.int32), np.array([0, len(self.items)], np.int32)
        else:
            items, indptr = self.items, np.array([0, len(self.items)])
        return sp.csr_matrix((values, items, indptr), shape=(1, n_items))

    def without(self, item: int) -> Evidence:
        """The same evidence with every event of ``item`` removed (the faithfulness test's counterfactual)."""
        keep = self.items != item
        return Evidence(-1, self.items[keep], self.values[keep], self.sequence[self.sequence != item])
