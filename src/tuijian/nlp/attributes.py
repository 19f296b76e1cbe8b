"""Attributes of a product as flat tags: a view of the structured product record, and the reading of a
shopper's own words.

:func:`extract_attributes` reads a catalogue title with :func:`tuijian.nlp.product.understand` (the one product
reader) and flattens the record into :class:`Attributes` (``kind:value`` tags for content features and interests).
Chinese titles, which ``understand`` does not read, and free text (a shopper's request, a review) are scanned
with the curated lexicon by :func:`request_attributes`.

>>> a = extract_attributes("SET OF 3 CAKE TINS PANTRY DESIGN")
>>> a.pack_count, a.product_type, a.pattern
(3, 'cake tin', ['pantry'])
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from tuijian.nlp.lexicon import ATTRIBUTE_KINDS, attribute_lexicon, chinese_terms, english_matcher

if TYPE_CHECKING:
    from tuijian.nlp.product import ProductRecord

_PACK_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b(?:set|pack|box|bag|tube|pk|card|bundle|case|roll)s?\s*(?:of\s*|/\s*)(\d{1,4})\b"),
    re.compile(r"\b(\d{1,4})\s*(?:-\s*)?(?:pack|pk|pc|pcs|piece|pieces|count|ct|set)\b"),
    re.compile(r"^\s*(\d{1,4})\s+(?!cm\b|mm\b|inch|in\b|x\b|ml\b|g\b)[a-z]"),
    re.compile(r",\s*(\d{1,4})\s+[a-z]+s\b"),
)
_ZH_PACK = re.compile(r"(\d{1,4})\s*(?:个装|件套|只装|支装|包|盒|件|只|个)")
_DIMENSION = re.compile(
    r"(\d+(?:\.\d+)?)\s*(cm|mm|m|inch|inches|in|\"|ml|l|litre|liter|oz|g|kg)\b(?:\s*x\s*\d+(?:\.\d+)?\s*(?:cm|mm|in|inch)?)?",
)


@dataclass
class Attributes:
    """What a title says about a product. Lists keep title order; ``raw`` maps each value to its surface form."""

    product_type: str | None = None
    colour: list[str] = field(default_factory=list)
    material: list[str] = field(default_factory=list)
    size: list[str] = field(default_factory=list)
    style: list[str] = field(default_factory=list)
    pattern: list[str] = field(default_factory=list)
    occasion: list[str] = field(default_factory=list)
    recipient: list[str] = field(default_factory=list)
    pack_count: int | None = None
    dimensions: list[str] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: ProductRecord) -> Attributes:
        """The attributes of a structured product record (see :func:`attributes_from_record`)."""
        return attributes_from_record(record)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    def tags(self) -> list[str]:
        """Flat ``kind:value`` tags (for content vectors and ranker features)."""
        out: list[str] = []
        if self.product_type:
            out.append(f"product_type:{self.product_type}")
        for kind in ATTRIBUTE_KINDS[1:]:
            out.extend(f"{kind}:{v}" for v in getattr(self, kind))
        if self.pack_count:
            out.append(f"pack_count:{self.pack_count}")
        return out

    def values(self) -> set[str]:
        """Every canonical value found, whatever its kind."""
        found = {v for kind in ATTRIBUTE_KINDS[1:] for v in getattr(self, kind)}
        if self.product_type:
            found.add(self.product_type)
        return found


def normalise_title(title: str) -> str:
    """Lower-case, unescape HTML entities (``&amp;``), unify quotes and separators."""
    text = html.unescape(title or "").lower()
    text = text.replace("’", "'").replace("&", " and ").replace("+", " ")
    text = re.sub(r"[,;:()\[\]{}|/\\]+", " , ", text)
    return re.sub(r"\s+", " ", text).strip()


def _pack_count(text: str) -> int | None:
    for pattern in _PACK_PATTERNS:
        m = pattern.search(text)
        if m:
            n = int(m.group(1))
            if 1 < n <= 1000:
                return n
    return None


def attributes_from_record(record: ProductRecord) -> Attributes:
    """Flatten a :class:`~tuijian.nlp.product.ProductRecord` into :class:`Attributes`: themes go to ``pattern``,
    ``style`` or ``occasion`` by their kind, the audience to ``recipient``, measured sizes to ``dimensions``."""
    from tuijian.nlp.product import theme_kind

    attrs = Attributes()
    if record.product_type is not None:
        attrs.product_type = str(record.product_type.value)
        attrs.raw[attrs.product_type] = record.product_type.evidence.text
    lexicon_sizes = attribute_lexicon()["size"]
    for fact in record.theme:
        value = str(fact.value)
        values = getattr(attrs, theme_kind(value))
        if value not in values:
            values.append(value)
            attrs.raw.setdefault(value, fact.evidence.text)
    for kind, target in (("colour", "colour"), ("material", "material"), ("audience", "recipient")):
        for fact in getattr(record, kind):
            getattr(attrs, target).append(str(fact.value))
            attrs.raw.setdefault(str(fact.value), fact.evidence.text)
    for fact in [*record.size, *record.capacity]:
        value = str(fact.value)
        (attrs.size if value in lexicon_sizes else attrs.dimensions).append(value)
    if record.pack_count is not None:
        attrs.pack_count = int(record.pack_count.value)
    return attrs


def extract_attributes(title: str, brand: str | None = None) -> Attributes:
    """The attributes of a product title: English titles through :func:`tuijian.nlp.product.understand`,
    Chinese titles with the lexicon. ``brand`` (when known) is cut from the front of the title first."""
    if not title or not isinstance(title, str):
        return Attributes()
    if re.search(r"[\u4e00-\u9fff]", title):
        return _extract_chinese(title)
    from tuijian.nlp.product import understand

    if brand and isinstance(brand, str) and title.lower().startswith(brand.lower()):
        title = title[len(brand) :].lstrip(" ,-")
    return attributes_from_record(understand(title))


def request_attributes(text: str) -> Attributes:
    """Attributes a shopper's own words ask for ("a red bag for a child who likes dinosaurs", 红色的闹钟): every
    lexicon term, the product type as the last product word named (free text has no title structure)."""
    attrs = Attributes()
    if not text or not isinstance(text, str):
        return attrs
    if re.search(r"[\u4e00-\u9fff]", text):
        return _extract_chinese(text)
    low = normalise_title(text)
    pattern, terms = english_matcher()
    product_hits: list[tuple[int, str, str]] = []
    for m in pattern.finditer(low):
        term = terms[m.lastindex - 1]  # type: ignore[operator]
        if term.kind == "product_type":
            product_hits.append((m.end(), term.value, m.group(0)))
            continue
        values = getattr(attrs, term.kind)
        if term.value not in values:
            values.append(term.value)
            attrs.raw.setdefault(term.value, m.group(0))
    if product_hits:
        _, value, surface = max(product_hits)
        attrs.product_type = value
        attrs.raw.setdefault(value, surface)
    attrs.pack_count = _pack_count(low)
    attrs.dimensions = [m.group(0).strip() for m in _DIMENSION.finditer(low)]
    return attrs


def _extract_chinese(title: str) -> Attributes:
    attrs = Attributes()
    taken = [False] * len(title)
    product_hits: list[tuple[int, str, str]] = []
    for term in chinese_terms():
        start = title.find(term.surface)
        while start >= 0:
            end = start + len(term.surface)
            if not any(taken[start:end]):
                for i in range(start, end):
                    taken[i] = True
                if term.kind == "product_type":
                    product_hits.append((end, term.value, term.surface))
                else:
                    values = getattr(attrs, term.kind)
                    if term.value not in values:
                        values.append(term.value)
                        attrs.raw.setdefault(term.value, term.surface)
            start = title.find(term.surface, end)
    if product_hits:
        _, value, surface = max(product_hits)
        attrs.product_type = value
        attrs.raw.setdefault(value, surface)
    m = _ZH_PACK.search(title)
    if m and 1 < int(m.group(1)) <= 1000:
        attrs.pack_count = int(m.group(1))
    attrs.dimensions = [m.group(0).strip() for m in _DIMENSION.finditer(title.lower())]
    return attrs
