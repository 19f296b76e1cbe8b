"""An immutable serving snapshot: one trained model, its pipeline, the id lookups and the catalog.

The engine holds exactly one reference to a :class:`Snapshot`; hot-swapping a model is
replacing that reference (a single atomic assignment), so a request always sees one
consistent model, vocabulary and catalog. Scoring, filters as candidates, the fallback chain
and reason codes all live in the library (:class:`tuijian.models.pipeline.Pipeline`); a snapshot
only adds what serving needs around it: string ids to indices and pre-encoded catalogue entries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from tuijian.data.schema import DEFAULT_EVENT_WEIGHTS
from tuijian.data.vocabulary import Vocabulary
from tuijian.models.base import Recommender
from tuijian.models.pipeline import Pipeline
from tuijian.models.toplists import TopLists

#: fresh events (newer than the model) kept per user
HISTORY_LIMIT = 200


@dataclass(frozen=True)
class Catalog:
    """Item metadata aligned with the model's item indices."""

    title: np.ndarray  # object
    price: np.ndarray  # float64, nan = unknown
    categories: list[list[str]]
    category_index: dict[str, np.ndarray]  # lower-cased category -> bool mask
    records: list[dict[str, Any]]  # per item: the static part of a response entry
    updated_at: int = 0

    @classmethod
    def build(cls, item_ids: np.ndarray, items: pd.DataFrame | None, updated_at: int = 0) -> Catalog:
        n = len(item_ids)
        title = np.full(n, "", dtype=object)
        price = np.full(n, np.nan)
        cats: list[list[str]] = [[] for _ in range(n)]
        index: dict[str, np.ndarray] = {}
        if items is not None and len(items):
            pos = pd.Index(item_ids.astype(str)).get_indexer(items["item_id"].astype(str))
            ok = pos >= 0
            p = pos[ok]
            title[p] = items["title"].to_numpy(dtype=object)[ok]
            price[p] = items["price"].to_numpy(dtype=np.float64)[ok]
            for i, c in zip(p, items["category"].to_numpy(dtype=object)[ok], strict=True):
                cats[i] = list(c)
                for name in c:
                    key = str(name).strip().lower()
                    mask = index.get(key)
                    if mask is None:
                        mask = index[key] = np.zeros(n, dtype=bool)
                    mask[i] = True
        records = [
            {
                "item_id": str(item_ids[i]),
                "title": title[i],
                "price": None if np.isnan(price[i]) else float(price[i]),
                "category": cats[i],
            }
            for i in range(n)
        ]
        return cls(
            title=title,
            price=price,
            categories=cats,
            category_index=index,
            records=records,
            updated_at=updated_at,
        )

    @cached_property
    def fragments(self) -> list[bytes]:
        """Per item, the start of its response entry as UTF-8 JSON: the static fields, then ``,"score":``
        (see :mod:`tuijian.service.encode`)."""
        return [
            json.dumps(r, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()[:-1]
            + b',"score":'
            for r in self.records
        ]

    @cached_property
    def id_json(self) -> list[str]:
        """Per item, its id as a JSON string literal (impression lists are joined from these)."""
        return [json.dumps(r["item_id"], ensure_ascii=False) for r in self.records]


@dataclass
class Snapshot:
    """A model, its :class:`~tuijian.models.pipeline.Pipeline` and the id lookups. Read-only once built."""

    version: str
    model: Recommender
    trained_max_event_id: int
    catalog: Catalog
    users: Vocabulary = field(init=False)
    items: Vocabulary = field(init=False)
    n_items: int = field(init=False)
    pipeline: Pipeline = field(init=False)
    info: dict[str, Any] = field(default_factory=dict)
    #: the version's precomputed top lists (None: every request is scored in full)
    top_lists: TopLists | None = None

    def __post_init__(self) -> None:
        inter = self.model.interactions_
        self.users, self.items, self.n_items = inter.users, inter.items, inter.n_items
        self._user_pos = {uid: k for k, uid in enumerate(inter.users.ids)}
        self._item_pos = {iid: k for k, iid in enumerate(inter.items.ids)}
        self.item_ids = inter.items.ids
        self.pipeline = Pipeline(self.model, top_lists=self.top_lists)
        # the per-item response parts, built here (while loading, off the request path) rather than lazily
        self.catalog.fragments, self.catalog.id_json  # noqa: B018 - warm the caches

    @property
    def popularity(self) -> np.ndarray:
        """Distinct users per item."""
        return self.pipeline.popularity

    def user_index(self, user: str) -> int:
        """Dense index of ``user`` (-1 if the model has not seen it)."""
        return self._user_pos.get(user, -1)

    def item_index(self, item: str) -> int:
        """Dense index of ``item`` (-1 if the model has not seen it)."""
        return self._item_pos.get(item, -1)


def event_weight(kind: str) -> float:
    """The weight of one event of ``kind`` in a history row (as the serving matrix weighs it)."""
    return float(DEFAULT_EVENT_WEIGHTS.get(kind, 1.0))
