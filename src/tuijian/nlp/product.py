"""Product understanding: a structured record per catalogue item, every field with its provenance.

A title is read the way a shop assistant reads it. The product type is the head noun phrase ("bottle opener", not
"bottle"; "shredder oil", not "shredder"), found as the right-most product noun of the title's head part (before
the first comma and before "with"/"for"/"in"), extended to the longest known compound that ends on it. Motif nouns
("heart", "owl") are the type only when nothing else is. Pack count ("Set of 6", "Pack of 12", "12 Pencils") is
told apart from capacity ("100 Sheets", "16 oz"), and "Letter Size" is a size, not a letter motif.

Every value keeps its :class:`Evidence`: the input field and the token span it came from.

>>> r = understand("BULL DOG BOTTLE OPENER")
>>> r.product_type.value, r.product_type.evidence.text, r.theme[0].value
('bottle opener', 'BOTTLE OPENER', 'dog')
>>> r = understand("Swingline Stack-and-Shred 100X Hands Free Shredder, Cross-Cut, 100 Sheets, 1-2 Users")
>>> r.product_type.value, r.capacity[0].value, r.pack_count
('shredder', '100 sheets', None)
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from tuijian.exceptions import DataError
from tuijian.nlp.lexicon import attribute_lexicon

Source = Literal["title", "description", "category"]

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+(?:'[a-z]+)?|[^\sa-z0-9]", re.IGNORECASE)
_SEGMENT_BREAK = frozenset(",;:()[]{}|")
_CONNECTOR = frozenset("&+")
_QUALIFIER = frozenset({"with", "for", "in", "w", "plus", "featuring", "including", "includes", "fits"})
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
class Evidence:
    """Where a value came from: the input field, the token span ``[start, end)`` and the words as written."""

    source: Source
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Fact:
    """One value of a record field with its evidence."""

    value: str | int
    evidence: Evidence


@dataclass
class ProductRecord:
    """What an item is, read from its title (and category or description where the title is silent)."""

    product_type: Fact | None = None
    theme: list[Fact] = field(default_factory=list)
    colour: list[Fact] = field(default_factory=list)
    material: list[Fact] = field(default_factory=list)
    size: list[Fact] = field(default_factory=list)
    capacity: list[Fact] = field(default_factory=list)
    pack_count: Fact | None = None
    audience: list[Fact] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (values with their evidence)."""
        return asdict(self)

    def values(self, name: str) -> list[str | int]:
        """The bare values of field ``name`` (a list even for single-valued fields)."""
        got = getattr(self, name)
        if got is None:
            return []
        return [f.value for f in got] if isinstance(got, list) else [got.value]


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
                if self.toks[i].low in _QUALIFIER and spaced and not self._joined(i) and not all_in_one:
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


def _head_candidates(r: _Reader, lo: int, hi: int) -> list[tuple[int, int, str, bool]]:
    """``(start, end, value, strong)`` for every product noun phrase in tokens ``[lo, hi)``, longest per end."""
    lex = _lexicon()
    idx = [i for i in r.words(lo, hi) if not r.claimed[i]]
    shouting = r.text.upper() == r.text
    found = []
    for j in range(len(idx)):
        for n in range(min(lex.max_len, j + 1), 0, -1):
            span = idx[j - n + 1 : j + 1]
            phrase = " ".join(r.norm(i) for i in span)
            if phrase in lex.phrases:
                found.append((span[0], span[-1] + 1, lex.phrases[phrase], True))
                break
            if n == 1 and (phrase in lex.heads or phrase in lex.weak) and not _feature_use(r, idx, j):
                found.append((span[0], span[-1] + 1, lex.plural_out.get(phrase, phrase), phrase in lex.heads))
            elif (
                n == 1
                and shouting
                and len(phrase) >= 8
                and phrase.isalpha()
                and not phrase.endswith(_ADJECTIVE_ENDINGS)
            ):
                # "CHOCOLATECANDLE": a compound written as one word ends in its head.
                for k in range(len(phrase) - 4, 3, -1):
                    if phrase[k:] in lex.heads:
                        found.append((span[0], span[-1] + 1, phrase[k:], True))
                        break
    return found


def _unknown_last_noun(r: _Reader, lo: int, cut: int, after: int) -> int | None:
    """In a mixed-case title the last word of the head part is the head noun even when the lexicon lacks it
    ("3M Adjustable Monitor Arm", "Elmer's Rubber Cement"); model codes, adjectives and known words are not."""
    if r.text.upper() == r.text:
        return None
    words = [w for w in r.words(lo, cut) if w >= after]
    if len(words) != 1:  # only the word right after the known head: "Monitor Arm", not "Printer Hp Lex Dell"
        return None
    i = words[0]
    tok = r.toks[i]
    lex = _lexicon()
    known = tok.norm in lex.heads or tok.norm in lex.weak or tok.norm in lex.phrases
    described = any(tok.norm in table for table in lex.terms.values())
    if (
        r.claimed[i]
        or known
        or described
        or not tok.low.isalpha()
        or len(tok.low) < 3
        or tok.low in _NOT_HEAD
        or tok.low.endswith(_ADJECTIVE_ENDINGS)
        or (i > 0 and r.toks[i - 1].end == tok.start)
    ):
        return None
    return i


def _feature_use(r: _Reader, idx: list[int], j: int) -> bool:
    """ "BATTERY OPERATED", "Battery-Powered": the noun describes a feature, not the product."""
    return j + 1 < len(idx) and r.toks[idx[j + 1]].low in (
        "operated",
        "powered",
        "shaped",
        "style",
        "compatible",
    )


def _counted(r: _Reader, pool: list[tuple[int, int, str, bool]]) -> tuple[int, int, str, bool] | None:
    """ "SET 10 CARDS FILIGREE BAUBLE": the plural noun right after a pack phrase is what the item is."""
    for c in pool:
        before = r.words(0, c[0])[-3:]
        low = [r.toks[i].low for i in before]
        plural = r.toks[c[1] - 1].low != r.toks[c[1] - 1].norm
        if (
            plural
            and len(low) >= 2
            and _is_number(r.toks[before[-1]])
            and (low[-2] in _PACK_NOUN or (low[-2] == "of" and len(low) == 3 and low[0] in _PACK_NOUN))
        ):
            return c
    return None


def _with_modifier(r: _Reader, start: int, end: int, value: str) -> tuple[int, str]:
    """ "UMBRELLA STAND", "SEWING KIT": a product noun right before a one-word head makes a compound."""
    lex = _lexicon()
    p = start - 1
    if (
        " " in value
        or p < 0
        or r.claimed[p]
        or not r.toks[p].low.isalpha()
        or r.toks[p].end == r.toks[start].start
    ):
        return start, value
    modifier = r.toks[p].norm
    singular = r.toks[p].low == modifier  # noun modifiers are singular: "FIGURES TINS" is not a "figure tin"
    if singular and modifier in lex.modifiers and modifier != value:
        return p, f"{modifier} {value}"
    return start, value


def _product_type(r: _Reader) -> Fact | None:
    segments = r.segments()
    per_segment = [_head_candidates(r, lo, cut) for lo, cut, _ in segments]
    if not any(per_segment):  # "BA II Plus Professional Financial Calculator": the qualifier was not one
        per_segment = [_head_candidates(r, cut, hi) for _, cut, hi in segments]
    chosen = None
    for cands in per_segment:
        strong = [c for c in cands if c[3]]
        if strong:
            chosen, pool = strong[-1], strong
            break
    if chosen is None:
        for cands in per_segment:
            if cands:
                chosen, pool = cands[-1], cands
                break
    if chosen is None:
        return _named_set(r)
    chosen = _counted(r, pool) or chosen
    compounds = [c for c in pool if " " in c[2] and c[1] <= chosen[0]]
    shouting = r.text.upper() == r.text  # Online Retail style: descriptors trail the head
    if (
        shouting and " " not in chosen[2] and compounds
    ):  # "STORAGE TIN VINTAGE DOILY": a compound beats a later noun
        chosen = compounds[-1]
    segment = next(((lo, cut) for lo, cut, _ in segments if lo <= chosen[0] < cut), None)
    last = None if segment is None else _unknown_last_noun(r, segment[0], segment[1], chosen[1])
    if last is not None:
        chosen = (last, last + 1, r.toks[last].norm, True)
    start, end, value, _ = chosen
    start, value = _with_modifier(r, start, end, value)
    # "CUP & SAUCER", "NECKLACE+BRACELET", "DESK AND CHAIR": two heads joined by "and" name one product.
    words = r.words(0, start)
    if len(words) >= 2 and r.norm(words[-1]) == "and":
        for c in pool:
            if c[1] == words[-2] + 1 and c[3]:
                start, value = c[0], f"{c[2]} and {value}"
    return r.fact(value, start, end)


def _named_set(r: _Reader) -> Fact | None:
    """ "KENSINGTON COFFEE SET": with no product noun, "<word> set" names the product."""
    words = [i for i in r.words() if not r.claimed[i]]
    for k in range(len(words) - 1, 0, -1):
        prev = r.toks[words[k - 1]]
        if r.toks[words[k]].norm == "set" and prev.low.isalpha() and words[k - 1] + 1 == words[k]:
            return r.fact(f"{prev.norm} set", words[k - 1], words[k] + 1)
    return None


def _quantity_end(toks: list[_Tok], i: int) -> int:
    """The end of the number at ``i``, taking in a fraction: "8", "1/2", "8 1/2", "1-3/4"."""

    def fraction_at(k: int) -> bool:
        return (
            k + 2 < len(toks)
            and _is_number(toks[k])
            and toks[k + 1].low == "/"
            and toks[k + 1].start == toks[k].end
            and _is_number(toks[k + 2])
        )

    if fraction_at(i):
        return i + 3
    if fraction_at(i + 1) or (i + 2 < len(toks) and toks[i + 1].low == "-" and fraction_at(i + 2)):
        return i + 4 if toks[i + 1].low != "-" else i + 5
    return i + 1


def _capacity_and_size(r: _Reader, record: ProductRecord) -> None:
    toks, i = r.toks, 0
    while i < len(toks):
        tok = toks[i]
        if not _is_number(tok):
            i += 1
            continue
        j = _quantity_end(toks, i)
        while True:  # 8.5 x 11, 12 x 10 x 15, 9.5" x 6.5", 2 in x 10 yd
            k = j + 1 if j < len(toks) and toks[j].low in _LENGTH_UNITS else j
            if k + 1 < len(toks) and toks[k].low in ("x", "by") and _is_number(toks[k + 1]):
                j = _quantity_end(toks, k + 1)
                continue
            break
        nxt = j + 1 if j < len(toks) and toks[j].low == "-" else j
        unit = toks[nxt].low if nxt < len(toks) else ""
        if unit in _CAPACITY_UNITS and j == _quantity_end(toks, i):
            record.capacity.append(r.fact(f"{tok.low} {_CAPACITY_UNITS[unit]}", i, nxt + 1))
            i = nxt + 1
        elif (
            unit in _LENGTH_UNITS
            and not (unit == "in" and j == i + 1 and nxt + 1 < len(toks))  # "2 in 1"
            and not (toks[nxt].text == "M" and r.text.upper() != r.text)  # the brand 3M
        ):
            end = nxt + 1
            if end < len(toks) and toks[end].low == "capacity":
                record.capacity.append(r.fact(r.text[tok.start : toks[end].end].lower(), i, end + 1))
                end += 1
            else:
                record.size.append(r.fact(r.text[tok.start : toks[nxt].end].lower(), i, end))
            i = end
        else:
            i = j
    words = r.words()
    for k, i in enumerate(words):
        if toks[i].low not in _PAPER_SIZES or r.claimed[i]:
            continue
        after = toks[words[k + 1]].low if k + 1 < len(words) else ""
        before = toks[words[k - 1]].low if k > 0 else ""
        seg_end = i + 1 >= len(toks) or toks[i + 1].low in _SEGMENT_BREAK
        if after == "size":
            record.size.append(r.fact(f"{toks[i].low} size", i, words[k + 1] + 1))
        elif after in _PAPER_SIZES or before in _PAPER_SIZES or (seg_end and k > 0 and "," in r.text):
            record.size.append(r.fact(f"{toks[i].low} size", i, i + 1))


def _pack_count(r: _Reader, head: str | None) -> Fact | None:
    toks, words = r.toks, r.words()
    hits: list[tuple[int, int, int]] = []  # (start, end, n)
    for k, i in enumerate(words):
        if r.claimed[i]:
            continue
        low = toks[i].low
        n = _number(toks[i])
        after = [words[m] for m in range(k + 1, min(k + 6, len(words)))]
        if low in _PACK_NOUN and after:
            # "set of 6", "pack/12", "S/12", "SET 3 WICKER BASKETS", "box of 60"
            m = after[0]
            if toks[m].low == "of" and len(after) > 1:
                m = after[1]
            count = _number(toks[m])
            if count is not None and not r.claimed[m] and (low != "s" or m == i + 2):
                hits.append((i, m + 1, count))
        elif low == "pair" and after and toks[after[0]].low == "of":
            hits.append((i, after[0] + 1, 2))
        elif n is not None and after and n > 0:
            first = toks[after[0]].low
            if first in _PACK_AFTER or (
                first == "per" and len(after) > 1 and toks[after[1]].low in ("pack", "box")
            ):
                end = after[1] + 1 if first == "per" else after[0] + 1
                hits.append((i, end, n))
            elif toks[i + 1 : i + 3] and toks[i + 1].low == "/" and toks[i + 2].low == "pack":
                hits.append((i, i + 3, n))
            elif head is not None and (i == 0 or toks[i - 1].low in _SEGMENT_BREAK):
                for m in after[:4]:
                    tok = toks[m]
                    if _is_number(tok):
                        break
                    if tok.norm == head and tok.low != tok.norm:  # "12 Pens", "75 ... CAKE CASES"
                        hits.append((i, m + 1, n))
                        break
    if not hits:
        return None
    start, end, n = min(hits)
    return r.fact(n, start, end)


_THEME_CUE = frozenset(
    {"design", "designs", "pattern", "print", "motif", "shape", "shaped", "theme", "themed"}
)
_FINISH = frozenset(
    {"finish", "look", "effect", "grain", "color", "colour", "colors", "colours", "style", "mate"}
)


def _not_a_term(r: _Reader, kind: str, span: list[int], nxt: str, tails: set[int]) -> bool:
    """Matches that would state a false fact: brands and model words in mixed-case (Amazon) titles ("Five Star",
    "3M", "Phone Plus", "PET" film), finishes ("Wood Finish", "Metallic", "Paper Mate") and materials of an
    accessory named after "with"/"for"."""
    mixed = r.text.upper() != r.text
    surface = " ".join(r.toks[i].low for i in span)
    if mixed and any(r.toks[i].text.isupper() and len(r.toks[i].text) <= 4 for i in span):
        return True  # acronyms: PET, CD
    if kind == "theme" and mixed and nxt not in _THEME_CUE:
        return True
    if kind == "size" and surface == "plus":
        return True
    if kind == "material" and mixed and surface == "paper":
        return (
            True  # "Paper Receipt", "Holds … Paper": in Amazon titles paper is what it holds, not what it is
        )
    return kind == "material" and (surface == "metallic" or nxt in _FINISH or span[0] in tails)


def _terms(r: _Reader, kind: str, out: list[Fact]) -> None:
    lex = _lexicon()
    table = lex.terms[kind]
    idx = r.words()
    tails = {i for _, cut, hi in r.segments() for i in range(cut, hi)}
    j = 0
    while j < len(idx):
        for n in range(min(lex.term_len, len(idx) - j), 0, -1):
            span = idx[j : j + n]
            if any(r.claimed[i] for i in span) or _glued_to_number(r, span[0]):
                continue
            value = table.get(" ".join(r.norm(i) for i in span))
            if value is None or value in _NOT_THEME:
                continue
            nxt = r.toks[span[-1] + 1].low if span[-1] + 1 < len(r.toks) else ""
            end = span[-1] + 1
            if _not_a_term(r, kind, span, nxt, tails):
                continue
            if kind == "size" and nxt in ("point", "tip", "line", "nib"):  # "Medium Point" is the pen's point
                value, end = f"{value} {nxt}", end + 1
            if value not in [f.value for f in out]:
                out.append(r.fact(value, span[0], end))
            else:
                r.fact(value, span[0], end)
            j += n - 1
            break
        j += 1


def _glued_to_number(r: _Reader, i: int) -> bool:
    """A word written onto a number ("240XL", "5C") is part of a model code."""
    return i > 0 and r.toks[i - 1].end == r.toks[i].start and _is_number(r.toks[i - 1])


def _design_theme(r: _Reader, out: list[Fact]) -> None:
    """ "FLOWER SHOP DESIGN MUG": the unclaimed words before "design" name the theme."""
    idx = r.words()
    for k, i in enumerate(idx):
        if r.toks[i].low != "design" or k == 0:
            continue
        span: list[int] = []
        for m in range(k - 1, -1, -1):
            tok = r.toks[idx[m]]
            adjacent = idx[m] + 1 == (span[0] if span else i)  # no comma or dash in between
            if r.claimed[idx[m]] or not tok.low.isalpha() or len(span) == 3 or not adjacent:
                break
            if tok.low in _QUALIFIER or tok.low in _NOT_HEAD or tok.low.endswith(_ADJECTIVE_ENDINGS):
                break
            span.insert(0, idx[m])
        if span:
            value = " ".join(r.toks[s].norm for s in span)
            if value not in ("asstd", "assorted", "new"):
                out.append(r.fact(value, span[0], span[-1] + 1))


def understand(title: str, description: str | None = None, category: str | None = None) -> ProductRecord:
    """Read a catalogue item into a :class:`ProductRecord`.

    ``title`` is required (it may be empty when ``category`` says what the item is). ``category`` is used for the
    product type only when the title names none, and only a taxonomy path ("Office Products > ... > Laser
    Printers"): its deepest part that names a product wins. ``description`` gives a capacity the title lacks
    ("7-sheet capacity").
    """
    for name, value in (("title", title), ("description", description), ("category", category)):
        if value is not None and not isinstance(value, str):
            raise DataError(
                f"{name} must be a str or None, got {type(value).__name__}; pass the item's text field"
            )
    if title is None:
        raise DataError("title is required; pass '' when the item has no title")
    record = ProductRecord()
    r = _Reader(title, "title")
    _capacity_and_size(r, record)
    record.product_type = _product_type(r)
    head = None
    if record.product_type is not None:
        head = str(record.product_type.value).split()[-1]
        head = _singular(head)
    elif category and ">" in category:
        for part in reversed([p for p in category.split(">") if p.strip()]):
            c = _Reader(part.strip(), "category")
            fact = _product_type(c)
            if fact is not None:
                # The evidence indexes the tokens of the whole category string.
                offset = len(_tokens(html.unescape(category[: category.index(part)])))
                ev = fact.evidence
                record.product_type = Fact(
                    fact.value, Evidence("category", ev.start + offset, ev.end + offset, ev.text)
                )
                break
    record.pack_count = _pack_count(r, head)
    _terms(r, "size", record.size)
    _terms(r, "theme", record.theme)  # before colour: "ICE CREAM DESIGN" is a theme, not a cream colour
    _terms(r, "colour", record.colour)
    _terms(r, "material", record.material)
    _terms(r, "audience", record.audience)
    _design_theme(r, record.theme)
    if description and not record.capacity:
        d = _Reader(description, "description")
        for k, tok in enumerate(d.toks):
            end = _capacity_phrase_end(d, k)
            if _is_number(tok) and end:
                record.capacity.append(d.fact(f"{tok.low} sheets", k, end))
                break
    return record


def _capacity_phrase_end(d: _Reader, k: int) -> int:
    """The end of ``N sheet capacity`` / ``N-sheet capacity`` starting at token ``k`` of a description, else 0."""
    j = k + 1
    if j < len(d.toks) and d.toks[j].low == "-":
        j += 1
    if j + 1 < len(d.toks) and d.toks[j].low in ("sheet", "sheets") and d.toks[j + 1].low == "capacity":
        return j + 2
    return 0


@cache
def _chinese_names() -> tuple[dict[str, str], dict[str, str]]:
    text = resources.files("tuijian.nlp.resources").joinpath("product_zh.json").read_text("utf-8")
    data = json.loads(text)
    return dict(data["types"]), dict(data["heads"])


def chinese_product_type(product_type: str) -> str | None:
    """The Chinese name of a product type from :func:`understand` ("party bunting" -> 派对彩旗).

    The exact type when listed, else "X and Y" as X和Y, else the name of its head noun (the last word:
    "umbrella stand" -> 支架), else ``None``: a caller must not invent a name it does not have.
    """
    if not isinstance(product_type, str):
        raise DataError(f"product_type must be a str, got {type(product_type).__name__}")
    types, heads = _chinese_names()
    key = " ".join(product_type.lower().split())
    if key in types:
        return types[key]
    if " and " in key:
        parts = [chinese_product_type(part) for part in key.split(" and ")]
        return "和".join(parts) if all(parts) else None  # type: ignore[arg-type]
    words = key.split()
    if not words:
        return None
    head = words[-1]
    return heads.get(head) or heads.get(_singular(head)) or types.get(head)
