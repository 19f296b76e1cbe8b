"""The shop data the generators and the assistant read: catalogue, reviews per item, popularity and user
interest tags, built once from a :class:`~tuijian.data.datasets.Dataset` (or from frames)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from tuijian.exceptions import SchemaError, UnknownIdError
from tuijian.generate.facts import ItemFacts, facts_from_row


@dataclass
class ShopData:
    """Catalogue (``item_id`` index), reviews and ratings per item, events, and the dataset's currency."""

    items: pd.DataFrame
    events: pd.DataFrame | None = None
    reviews: dict[str, list[str]] = field(default_factory=dict)
    ratings: dict[str, list[float]] = field(default_factory=dict)
    currency: str = "GBP"
    name: str = "shop"

    @classmethod
    def from_frames(
        cls,
        items: pd.DataFrame,
        events: pd.DataFrame | None = None,
        reviews: pd.DataFrame | None = None,
        *,
        currency: str = "GBP",
        name: str = "shop",
    ) -> ShopData:
        """``reviews`` needs ``item`` and ``text`` (``title`` and ``rating`` are used when present)."""
        if "item_id" not in items.columns:
            raise SchemaError(f"items needs an 'item_id' column; got {list(items.columns)}")
        frame = items.copy()
        frame["item_id"] = frame["item_id"].astype(str)
        for col in ("title", "description", "brand", "category"):
            if col not in frame.columns:
                frame[col] = ""
            frame[col] = frame[col].fillna("").astype(str)
        if "price" not in frame.columns:
            frame["price"] = float("nan")
        texts: dict[str, list[str]] = defaultdict(list)
        ratings: dict[str, list[float]] = defaultdict(list)
        if reviews is not None and len(reviews):
            title = reviews["title"].fillna("") if "title" in reviews else ""
            body = (title + ". " + reviews["text"].fillna("")).str.strip(". ").str.strip()
            has_rating = "rating" in reviews
            for item, text, rating in zip(
                reviews["item"].astype(str),
                body,
                reviews["rating"] if has_rating else [None] * len(reviews),
                strict=True,
            ):
                if text:
                    texts[item].append(text)
                if rating is not None and not pd.isna(rating):
                    ratings[item].append(float(rating))
        return cls(
            frame.drop_duplicates("item_id").set_index("item_id", drop=False),
            events,
            dict(texts),
            dict(ratings),
            currency,
            name,
        )

    def facts(self, item_id: str, max_reviews: int = 200, classifier: Any | None = None) -> ItemFacts:
        """:class:`ItemFacts` of one item; unknown ids raise :class:`UnknownIdError`."""
        item_id = str(item_id)
        if item_id not in self.items.index:
            raise UnknownIdError(f"item {item_id!r} is not in the {self.name} catalogue")
        row = self.items.loc[item_id].to_dict()
        return facts_from_row(
            row,
            self.reviews.get(item_id, [])[:max_reviews],
            self.ratings.get(item_id),
            currency=self.currency,
            classifier=classifier,
        )

    def popularity(self) -> pd.Series:
        """Number of events per item (0 for items without events), indexed by ``item_id``."""
        if not hasattr(self, "_popularity"):
            counts = (
                self.events["item"].astype(str).value_counts()
                if self.events is not None
                else pd.Series(dtype=float)
            )
            self._popularity = counts.reindex(self.items.index, fill_value=0).astype(float)
        return self._popularity

    def user_history(self, user_id: str) -> pd.DataFrame:
        """The user's events; unknown users raise :class:`UnknownIdError`."""
        if self.events is None:
            raise UnknownIdError(f"user {user_id!r}: the {self.name} data has no events")
        hist = self.events[self.events["user"].astype(str) == str(user_id)]
        if hist.empty:
            raise UnknownIdError(f"user {user_id!r} has no events in {self.name}")
        return hist

    def interests(self, user_id: str, k: int = 8) -> list[str]:
        """The user's interest tags (``kind:value``), strongest first, from their history."""
        from tuijian.nlp.features import item_features, user_interest_tags

        hist = self.user_history(user_id)
        if not hasattr(self, "_features"):
            self._features = item_features(self.items.reset_index(drop=True))
        tags = user_interest_tags(hist, self._features, k=k * 3, include_keywords=False)
        return [t for t, _ in tags.get(str(user_id), [])][:k]


_CURRENCY = {"online-retail": "GBP", "online-retail-demo": "GBP", "amazon-office": "USD"}


@lru_cache(maxsize=4)
def load_shop(name: str, data_dir: str | None = None) -> ShopData:
    """:class:`ShopData` of a named dataset (cached per process)."""
    from tuijian.data.datasets import load_dataset

    ds = load_dataset(name, data_dir)
    if ds.items is None:
        raise SchemaError(f"dataset {name!r} has no catalogue (items frame)")
    return ShopData.from_frames(
        ds.items, ds.events, ds.reviews, currency=_CURRENCY.get(name, "USD"), name=name
    )
