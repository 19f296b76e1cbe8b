"""The facts a generator may use about one item: catalogue fields, the structured product record and review
evidence.

Everything a generated text may claim is derived from an :class:`ItemFacts`: what the item *is* comes from its
:class:`~tuijian.nlp.product.ProductRecord` (``record``), and the factuality guard checks generated text against
that record, :meth:`ItemFacts.numbers` and the reviews.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from tuijian.nlp.aspects import aspect_opinions
from tuijian.nlp.attributes import Attributes
from tuijian.nlp.product import ProductRecord, understand

if TYPE_CHECKING:
    from tuijian.generate.naming import Names

CURRENCY_SYMBOLS: dict[str, str] = {"GBP": "£", "USD": "$", "EUR": "€", "CNY": "¥"}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class Evidence:
    """A short clause quoted from a real review."""

    aspect: str
    polarity: int
    text: str


@dataclass
class ItemFacts:
    """What is known about one item."""

    item_id: str
    title: str
    description: str = ""
    brand: str = ""
    category: str = ""
    price: float | None = None
    currency: str = "GBP"
    record: ProductRecord = field(default_factory=ProductRecord)
    attributes: Attributes = field(default_factory=Attributes)
    reviews: list[str] = field(default_factory=list)
    ratings: list[float] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    derived: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.record == ProductRecord() and (self.title or self.category):
            self.record = understand(self.title, self.description or None, self.category or None)
        if not self.attributes.tags():
            self.attributes = Attributes.from_record(self.record)

    @property
    def names(self) -> Names:
        """What copy calls the item in English and Chinese (built from ``record`` once)."""
        from tuijian.generate.naming import names_for

        key = (self.title, self.category, id(self.record))
        memo = self.__dict__.get("_names")
        if memo is None or memo[0] != key:
            memo = (key, names_for(self.record, self.display_name, self.category))
            self.__dict__["_names"] = memo
        return memo[1]

    @property
    def display_name(self) -> str:
        """The title, or the category with the id when the catalogue has no title."""
        if self.title:
            return self.title
        return f"{self.category.split('>')[-1].strip() or 'item'} {self.item_id}".strip()

    def price_text(self) -> str | None:
        """``£2.55``-style price, or None when unknown."""
        if self.price is None or not math.isfinite(self.price) or self.price <= 0:
            return None
        return f"{CURRENCY_SYMBOLS.get(self.currency, self.currency + ' ')}{self.price:.2f}"

    def source_text(self) -> str:
        """All item text a claim may come from (catalogue fields and reviews)."""
        parts = [self.item_id, self.title, self.description, self.brand, self.category, *self.reviews]
        return "\n".join(p for p in parts if p)

    def numbers(self) -> set[float]:
        """Every number the item data states or that is derived from it (price, counts, shares)."""
        found: set[float] = set()
        for n in _NUMBER.findall(self.source_text()):
            try:
                found.add(round(float(n.replace(",", "")), 4))
            except ValueError:
                continue
        if self.price is not None and math.isfinite(self.price):
            found.add(round(self.price, 2))
        if self.record.pack_count is not None:
            found.add(float(self.record.pack_count.value))
        found.update(round(float(v), 4) for v in self.derived.values())
        return found

    def positive_evidence(self) -> list[Evidence]:
        return [e for e in self.evidence if e.polarity > 0]

    def negative_evidence(self) -> list[Evidence]:
        return [e for e in self.evidence if e.polarity < 0]


def _clean(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def facts_from_row(
    row: dict[str, Any] | pd.Series,
    reviews: list[str] | None = None,
    ratings: list[float] | None = None,
    *,
    currency: str = "GBP",
    classifier: Any | None = None,
    max_evidence_words: int = 18,
) -> ItemFacts:
    """Build :class:`ItemFacts` from a catalogue row (``item_id, title, description, brand, category, price``)
    and the item's review texts (and star ratings, when known)."""
    row = dict(row)
    price = row.get("price")
    try:
        price_f = float(price) if price is not None and _clean(price) != "" else None
    except (TypeError, ValueError):
        price_f = None
    title = _clean(row.get("title"))
    brand = _clean(row.get("brand"))
    description = _clean(row.get("description"))
    category = _clean(row.get("category"))
    record = understand(title, description or None, category or None)
    reviews = [r for r in (reviews or []) if isinstance(r, str) and r.strip()]
    ratings = [float(r) for r in (ratings or []) if r is not None and not pd.isna(r)]
    facts = ItemFacts(
        item_id=_clean(row.get("item_id")),
        title=title,
        description=description,
        brand=brand,
        category=category,
        price=price_f,
        currency=currency,
        record=record,
        attributes=Attributes.from_record(record),
        reviews=reviews,
        ratings=ratings,
    )
    seen: set[str] = set()
    for review in reviews:
        for op in aspect_opinions(review, classifier):
            words = op.evidence.split()
            if op.polarity == 0 or op.evidence in seen:
                continue
            if len(op.evidence) < 4 or len(words) > max_evidence_words:
                continue
            seen.add(op.evidence)
            facts.evidence.append(Evidence(op.aspect, op.polarity, op.evidence.strip(" \"'")))
    if reviews:
        facts.derived["n_reviews"] = float(len(reviews))
    if ratings:
        positive = sum(r >= 4 for r in ratings)
        facts.derived["positive_pct"] = float(round(100 * positive / len(ratings)))
        facts.derived["mean_rating"] = round(sum(ratings) / len(ratings), 1)
        facts.derived["n_ratings"] = float(len(ratings))
        facts.derived["rating_threshold"] = 4.0  # "rated 4 or 5 stars"
        facts.derived["rating_scale"] = 5.0
    return facts
