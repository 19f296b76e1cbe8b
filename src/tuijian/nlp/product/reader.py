"""Tokens, the product lexicon and the reader of one input field, shared by the rules of :mod:`tuijian.nlp.product`."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from tuijian.nlp.lexicon import attribute_lexicon
from tuijian.nlp.product.record import Evidence, Fact, Source

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+(?:'[a-z]+)?|[^\sa-z0-9]", re.IGNORECASE)
_SEGMENT_BREAK = frozenset(",;:()[]{}|")
_CONNECTOR = frozenset("&+")
_QUALIFIER = frozenset(
    {"with", "without", "for", "in", "w", "plus", "featuring", "including", "includes", "fits"}
)
_ACCESSORY_QUALIFIER = frozenset({"with", "w", "featuring", "including", "includes"})
_PACK_NOUN = frozenset(
    {"set", "pack", "box", "bag", "tube", "pk", "bundle", "case", "roll", "packet", "tin", "jar", "s"}
)
_PACK_AFTER = frozenset(
    {
        "pack",
        "pk",
        "pc",
        "pcs",
        "piece",
        "pieces",
        "count",
        "ct",
        "set",
        "sets",
        "rolls",
        "roll",
        "ea",
        "box",
        "boxes",
    }
)
_CAPACITY_UNITS = {
    "sheet": "sheets", "sheets": "sheets", "page": "pages", "pages": "pages", "oz": "oz", "ounce": "oz",
    "ounces": "oz", "ml": "ml", "l": "l", "litre": "l", "liter": "l", "litres": "l", "liters": "l", "gallon": "gallons",
    "gallons": "gallons", "mah": "mAh", "gb": "GB", "tb": "TB", "cup": "cups", "cups": "cups",
}  # fmt: skip
_LENGTH_UNITS = frozenset(
    {
        "inch",
        "inches",
        "in",
        '"',
        "cm",
        "mm",
        "m",
        "ft",
        "feet",
        "foot",
        "yd",
        "yard",
        "yards",
        "mil",
        "meter",
        "metre",
    }
)
_PAPER_SIZES = frozenset({"letter", "legal", "a4", "a3", "a5", "a6", "tabloid", "ledger"})
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "twelve": 12, "pair": 2}
_NOT_THEME = frozenset({"office"})
_NOT_PLURAL = frozenset({"canvas", "christmas", "xmas", "atlas", "lens", "series", "species", "news"})
_NOT_HEAD = frozenset(
    [
        "system",
        "series",
        "edition",
        "collection",
        "version",
        "technology",
        "design",
        "style",
        "pro",
        "solution",
        "plus",
        "deluxe",
        "premium",
        "professional",
        "bundle",
        "combo",
        "value",
        "compatible",
        "replacement",
        "retail",
        "packaging",
        "pack",
        "count",
        "set",
        "direct",
        "wireless",
        "black",
        "white",
        "one",
        "two",
        "three",
        "device",
        "unit",
        "model",
        "size",
        "assorted",
        "refurbished",
        "new",
        "original",
        "genuine",
        "adf",
        "duplex",
        "glossy",
        "matte",
        "cyan",
        "magenta",
        "monochrome",
        "capacity",
        "call",
        "demo",
        "product",
        "products",
    ]
)
_ADJECTIVE_ENDINGS = ("able", "ible", "ed", "ing", "al", "ic", "ive", "ous", "less", "ful", "ary", "ly")


@dataclass(frozen=True)
class _Tok:
    text: str  # as written
    low: str
    norm: str  # lower case, singular
    start: int
    end: int


@dataclass(frozen=True)
class _Lexicon:
    heads: frozenset[str]
    modifiers: frozenset[str]  # nouns that, right before a one-word head, make a compound ("umbrella stand")
    weak: frozenset[str]
    phrases: dict[str, str]  # normalised phrase (space-joined singular tokens) -> product type
    max_len: int
    plural_out: dict[str, str]
    terms: dict[str, dict[str, str]]  # kind -> {normalised surface: canonical value}
    term_len: int


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.isalpha() or word.endswith(("ss", "us", "is")) or word in _NOT_PLURAL:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses", "zzes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def _norm_phrase(phrase: str) -> str:
    words = [t.lower() for t in _TOKEN.findall(phrase) if t.isalnum() or "'" in t]
    return " ".join(_singular(w) for w in words)


@cache
def _lexicon() -> _Lexicon:
    text = resources.files("tuijian.nlp.resources").joinpath("product_lexicon.json").read_text("utf-8")
    data = json.loads(text)
    phrases = {_norm_phrase(c): c for c in data["compounds"]}
    phrases.update({_norm_phrase(k): v for k, v in data["aliases"].items()})
    terms: dict[str, dict[str, str]] = {}
    attrs = attribute_lexicon()
    for kind, source_kinds in {
        "colour": ("colour",),
        "material": ("material",),
        "size": ("size",),
        "theme": ("pattern", "occasion", "style"),
        "audience": ("recipient",),
    }.items():
        table = terms.setdefault(kind, {})
        for source_kind in source_kinds:
            for value, forms in attrs[source_kind].items():
                for surface in forms["en"]:
                    table.setdefault(_norm_phrase(surface), value)
        for value, surfaces in data.get(kind, {}).items():
            for surface in surfaces:
                table[_norm_phrase(surface)] = value
    heads = frozenset(_singular(h) for h in data["heads"])
    described = {phrase for kind, table in terms.items() for phrase in table}
    modifiers = (heads | {_singular(m) for m in data["modifiers"]}) - described
    return _Lexicon(
        heads=heads,
        modifiers=frozenset(modifiers),
        weak=frozenset(_singular(h) for h in data["weak_heads"]),
        phrases=phrases,
        max_len=max(len(p.split()) for p in phrases),
        plural_out=dict(data["plural_output"]),
        terms=terms,
        term_len=max(len(s.split()) for table in terms.values() for s in table),
    )


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        low = m.group(0).lower()
        out.append(_Tok(m.group(0), low, _singular(low), m.start(), m.end()))
    return out


class _Reader:
    """The tokens of one input field and the spans already claimed by a field of the record."""

    def __init__(self, text: str, source: Source) -> None:
        self.text = html.unescape(text)
        self.source: Source = source
        self.toks = _tokens(self.text)
        self.claimed = [False] * len(self.toks)
        # "Scotch Printed Message FRAGILE ...", not "ESSENTIAL BALM 3.5g TIN": words of 3+ letters in lower case
        self.mixed_case = any(
            t.text.isalpha() and len(t.text) >= 3 and not t.text.isupper() for t in self.toks
        )

    def fact(self, value: str | int, start: int, end: int, *, claim: bool = True) -> Fact:
        if claim:
            for i in range(start, end):
                self.claimed[i] = True
        text = self.text[self.toks[start].start : self.toks[end - 1].end]
        return Fact(value, Evidence(self.source, start, end, text))

    def words(self, lo: int = 0, hi: int | None = None) -> list[int]:
        """Indices of word/number tokens in ``[lo, hi)``; ``&`` and ``+`` count as words (read as "and")."""
        hi = len(self.toks) if hi is None else hi
        return [
            i for i in range(lo, hi) if self.toks[i].low.isalnum() or "'" in self.toks[i].low or self._conn(i)
        ]

    def _conn(self, i: int) -> bool:
        return self.toks[i].low in _CONNECTOR

    def norm(self, i: int) -> str:
        return "and" if self._conn(i) else self.toks[i].norm

    def segments(self) -> list[tuple[int, int, int]]:
        """Comma-separated parts ``(start, cut, end)``, ``cut`` at the first qualifier word ("with", "for")."""
        parts: list[tuple[int, int]] = []
        start = 0
        for i, tok in enumerate(self.toks + [_Tok(",", ",", ",", 0, 0)]):
            free_dash = tok.low == "-" and self._spaced(i)
            if tok.low in _SEGMENT_BREAK or free_dash or i == len(self.toks):
                if i > start:
                    parts.append((start, i))
                start = i + 1
        heads = []
        for lo, hi in parts:
            cut = hi
            for i in range(lo + 1, hi):
                spaced = self.toks[i].start > self.toks[i - 1].end
                all_in_one = self.toks[i].low == "in" and self.toks[i - 1].low == "all"
                # "Binder Plus ...", not "DECT 6.0 PLUS", "TI-84 Plus": "plus" qualifies only a product noun
                kept = self.toks[i].low == "plus" and self.toks[i - 1].norm not in _lexicon().heads
                # "FRAGILE HANDLE WITH CARE Box Sealing Tape": a capitalised word in a mixed-case title is text
                kept = kept or (self.toks[i].text.isupper() and self.mixed_case)
                if (
                    self.toks[i].low in _QUALIFIER
                    and spaced
                    and not self._joined(i)
                    and not all_in_one
                    and not kept
                ):
                    cut = i
                    break
            heads.append((lo, cut, hi))
        return heads

    def _joined(self, i: int) -> bool:
        before = i > 0 and self.toks[i - 1].low == "-" and self.toks[i - 1].end == self.toks[i].start
        after = (
            i + 1 < len(self.toks)
            and self.toks[i + 1].low == "-"
            and self.toks[i + 1].start == self.toks[i].end
        )
        return before or after

    def _spaced(self, i: int) -> bool:
        t = self.toks
        left = i == 0 or t[i - 1].end < t[i].start
        right = i + 1 >= len(t) or t[i + 1].start > t[i].end
        return left and right


def _number(tok: _Tok) -> int | None:
    if tok.low in _NUMBER_WORDS:
        return _NUMBER_WORDS[tok.low]
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d{1,5}", tok.low):
        return int(tok.low.replace(",", ""))
    return None


def _is_number(tok: _Tok) -> bool:
    return bool(re.fullmatch(r"\d+(?:[.,]\d+)*", tok.low))
