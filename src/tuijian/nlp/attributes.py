"""Attribute extraction from product titles with curated lexicons and rules.

Works on shouting catalogue titles ("WHITE HANGING HEART T-LIGHT HOLDER", "SET OF 3 CAKE TINS PANTRY DESIGN")
and on Amazon-style titles ("BIC Round Stic Ball Pen, Fine Point, 0.8mm, Black, 12 Pens (GSF11-Blk)").

>>> a = extract_attributes("SET OF 3 CAKE TINS PANTRY DESIGN")
>>> a.pack_count, a.product_type
(3, 'tin')
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from tuijian.nlp.lexicon import ATTRIBUTE_KINDS, chinese_terms, english_matcher

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


def extract_attributes(title: str, brand: str | None = None) -> Attributes:
    """Extract colour, material, size, style, pattern, occasion, recipient, product type, pack count and
    dimensions from a product title (English or Chinese).

    ``brand`` (when known) is removed from the title first, so "Paper Mate" is not read as a paper product.
    """
    attrs = Attributes()
    if not title or not isinstance(title, str):
        return attrs
    if re.search(r"[\u4e00-\u9fff]", title):
        return _extract_chinese(title)
    text = normalise_title(title)
    if brand and isinstance(brand, str) and normalise_title(brand):
        text = text.replace(normalise_title(brand), " , ")
    qualifier = re.search(r"\s(?:with|for|in|and)\s", text)
    head_end = qualifier.start() if qualifier else len(text)
    pattern, terms = english_matcher()
    product_hits: list[tuple[int, int, str, str]] = []
    for m in pattern.finditer(text):
        term = terms[m.lastindex - 1]  # type: ignore[operator]
        surface = m.group(0)
        if term.kind == "product_type":
            product_hits.append((m.end(), len(surface), term.value, surface))
            continue
        values = getattr(attrs, term.kind)
        if term.value not in values:
            values.append(term.value)
            attrs.raw.setdefault(term.value, surface)
    if product_hits:
        # The head noun of an English noun phrase comes last: prefer the match that ends latest, then the longest.
        # A trailing "design"/"pack" clause does not hold a product type, so this works for "... PANTRY DESIGN".
        before = [hit for hit in product_hits if hit[0] <= head_end]
        end, _, value, surface = max(before or product_hits)
        attrs.product_type = value
        attrs.raw.setdefault(value, surface)
    attrs.pack_count = _pack_count(text)
    attrs.dimensions = [m.group(0).strip() for m in _DIMENSION.finditer(text)]
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
