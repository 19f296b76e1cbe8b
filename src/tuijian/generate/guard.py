"""Factuality guard: a generated text may say only what the item's data says, checked by meaning.

Surface claims (:func:`extract_claims`): every number must come from the item data or its reviews, a price must
be the item's price in its currency, a capitalised name must occur in the item's text. Meaning claims
(:mod:`tuijian.generate.meaning`) are checked against the item's structured product record, not against the words
of its title: the product named (a "bottle" is not a "bottle opener", 碎纸机 is not shredder oil, 花环 is not
bunting), the pack count ("a set of 100" needs a pack of 100; "100 Sheets" is a capacity), the capacity, colour,
material, size, theme ("Letter Size" is no letter motif) and audience. The shop's own title and the Chinese spec
line are not claims. A review quote must be a real review's words, and may back only its own polarity: a
complaint quoted as a pro is rejected (:func:`tuijian.nlp.aspects.aspect_opinions` judges the quote).

:func:`check` is the one entry point: ``check(text, facts, extra_sources=(), *, free_text=False) -> GuardResult``.
A model's reply is checked with ``free_text=True``: then every content word must also be backed by the item's
data, and meta text, Chinese character soup and repeated sentences are refused (:mod:`tuijian.generate.support`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from tuijian.generate.facts import CURRENCY_SYMBOLS, ItemFacts
from tuijian.nlp.attributes import normalise_title
from tuijian.nlp.lexicon import attribute_lexicon, english_matcher

#: Lexicon kinds whose words count as factual claims.
GUARDED_KINDS: tuple[str, ...] = ("colour", "material", "size")

_NUMBER = re.compile(r"(?P<cur>[£$€¥])?\s?(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)\s?(?P<pct>%)?")
_ZH_CURRENCY = {"英镑": "GBP", "美元": "USD", "欧元": "EUR", "元": "CNY", "人民币": "CNY"}
_ZH_DIGITS = {
    "一": 1,
    "两": 2,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
#: Chinese counts ("三件", "两支"); 一 is left out: 一件好物, 一套6支 use it as an article, not a count.
_ZH_COUNT = re.compile(r"([两二三四五六七八九十])\s*(?:件|个|只|支|套|包|盒|条)")
_CAPITALISED = re.compile(r"(?<![\w'’])([A-Z][A-Za-z0-9&'’\-]*[A-Za-z0-9])")
_CONTRACTION = re.compile(r"['’](?:s|re|ll|ve|d|m|t)$")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;。！？：；“\"(（|｜–—]\s*)$")
#: Capitalised words that make no factual claim (the generator's own words and common English).
_COMMON = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "they",
        "we",
        "you",
        "your",
        "our",
        "my",
        "me",
        "us",
        "is",
        "are",
        "was",
        "were",
        "be",
        "and",
        "or",
        "but",
        "so",
        "if",
        "then",
        "for",
        "with",
        "of",
        "in",
        "on",
        "at",
        "to",
        "from",
        "by",
        "as",
        "yours",
        "only",
        "just",
        "why",
        "love",
        "meet",
        "introducing",
        "say",
        "here",
        "perfect",
        "pros",
        "cons",
        "shoppers",
        "made",
        "priced",
        "picked",
        "pick",
        "take",
        "treat",
        "add",
        "simple",
        "each",
        "what",
        "who",
        "which",
        "how",
        "when",
        "no",
        "not",
        "yes",
        "ok",
        "okay",
        "very",
        "really",
        "great",
        "good",
        "nice",
        "lovely",
        "thank",
        "thanks",
        "please",
        "new",
        "hello",
        "dear",
        "pack",
        "gift",
        "idea",
        "capacity",
        "size",
        "reviews",
        "review",
        "product",
        "day",
    ]
)


@dataclass(frozen=True)
class Claim:
    """A checkable statement in a generated text."""

    kind: str  # number | price | currency | brand | colour | material | size | type | pack_count | capacity
    #            | theme | audience | quote | quote_polarity; free text: unsupported | meta | fluency | repetition
    value: str
    surface: str


@dataclass
class GuardResult:
    """The outcome of :func:`check`."""

    claims: list[Claim] = field(default_factory=list)
    violations: list[Claim] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


@cache
def _chinese_guard_terms() -> tuple[tuple[str, str, str], ...]:
    terms = [
        (surface, kind, value)
        for kind in GUARDED_KINDS
        for value, forms in attribute_lexicon()[kind].items()
        for surface in forms["zh"]
        if len(surface) >= 2  # one-character forms (大, 小, 白) are too ambiguous in running Chinese text
    ]
    return tuple(sorted(terms, key=lambda t: -len(t[0])))


def extract_claims(text: str) -> list[Claim]:
    """Numbers (with currency), brand-like capitalised names and lexicon colour/material/size words."""
    claims: list[Claim] = []
    for m in _NUMBER.finditer(text):
        num = m.group("num").replace(",", "")
        if m.group("cur"):
            claims.append(Claim("price", num, m.group(0).strip()))
            claims.append(Claim("currency", m.group("cur"), m.group("cur")))
        else:
            claims.append(Claim("number", num, m.group(0).strip()))
    for m in _ZH_COUNT.finditer(text):
        claims.append(Claim("number", str(_ZH_DIGITS[m.group(1)]), m.group(0)))
    for word, code in _ZH_CURRENCY.items():
        # an amount's unit (12元, 5英镑), not the character inside a word (元素, 单元)
        if re.search(rf"\d\s*{word}", text) and not (word == "元" and re.search(r"\d\s*(?:美元|欧元)", text)):
            claims.append(Claim("currency", CURRENCY_SYMBOLS[code], word))
    for m in _CAPITALISED.finditer(text):
        word = m.group(1)
        bare = _CONTRACTION.sub("", word.lower())  # "It's", "We're", "You'll" are no names
        if bare in _COMMON or _SENTENCE_START.search(text[: m.start()]):
            continue
        claims.append(Claim("brand", word, word))
    pattern, terms = english_matcher()
    for m in pattern.finditer(normalise_title(text)):
        term = terms[m.lastindex - 1]  # type: ignore[operator]
        if term.kind in GUARDED_KINDS:
            claims.append(Claim(term.kind, term.value, m.group(0)))
    taken = [False] * len(text)
    for surface, kind, value in _chinese_guard_terms():
        start = text.find(surface)
        while start >= 0:
            end = start + len(surface)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(surface)
                claims.append(Claim(kind, value, surface))
            start = text.find(surface, end)
    return claims


@dataclass
class _Grounding:
    numbers: set[float]
    words: str
    values: dict[str, set[str]]
    currency: str


@cache
def _english_guard_forms() -> tuple[dict[str, tuple[str, str]], int]:
    """Guarded English surface forms (hyphens as spaces) -> (kind, value), and the longest form in words."""
    forms: dict[str, tuple[str, str]] = {}
    for kind in GUARDED_KINDS:
        for value, spec in attribute_lexicon()[kind].items():
            for surface in spec["en"]:
                forms[" ".join(surface.lower().replace("-", " ").split())] = (kind, value)
    return forms, max(len(f.split()) for f in forms)


def _source_values(source: str) -> dict[str, set[str]]:
    """Lexicon values mentioned anywhere in a (long) source text: a word n-gram lookup, fast on many reviews."""
    forms, longest = _english_guard_forms()
    values: dict[str, set[str]] = {k: set() for k in GUARDED_KINDS}
    words = re.findall(r"[a-z0-9']+", source.lower())
    for n in range(1, longest + 1):
        for i in range(len(words) - n + 1):
            hit = forms.get(" ".join(words[i : i + n]))
            if hit:
                values[hit[0]].add(hit[1])
    for surface, kind, value in _chinese_guard_terms():
        if surface in source:
            values[kind].add(value)
    return values


def _grounding(facts: ItemFacts, extra_sources: tuple[str, ...]) -> _Grounding:
    cache_key = (facts.item_id, facts.title, len(facts.reviews), facts.price, extra_sources)
    memo = getattr(facts, "_guard_memo", None)
    if memo is not None and memo[0] == cache_key:
        return memo[1]
    source = "\n".join([facts.source_text(), *extra_sources])
    values = _source_values(source)
    for k in GUARDED_KINDS:
        values[k].update(getattr(facts.attributes, k))
    numbers = set(facts.numbers())
    for m in _NUMBER.finditer("\n".join(extra_sources)):
        numbers.add(round(float(m.group("num").replace(",", "")), 4))
    g = _Grounding(
        numbers, normalise_title(source), values, CURRENCY_SYMBOLS.get(facts.currency, facts.currency)
    )
    object.__setattr__(facts, "_guard_memo", (cache_key, g))
    return g


def check(
    text: str, facts: ItemFacts, extra_sources: tuple[str, ...] = (), *, free_text: bool = False
) -> GuardResult:
    """Check every claim of ``text`` against ``facts`` (and ``extra_sources``, e.g. a vetted reason): the surface
    claims of :func:`extract_claims` and the meaning claims of :func:`tuijian.generate.meaning.meaning_claims`.

    ``free_text=True`` (a model's reply, not a template's) adds the checks of :mod:`tuijian.generate.support`:
    every content word backed by the item's data (``unsupported``), no text about the writing (``meta``), a
    Chinese fluency floor (``fluency``) and no repeated sentence (``repetition``)."""
    from tuijian.generate.meaning import meaning_claims

    g = _grounding(facts, extra_sources)
    result = GuardResult(claims=extract_claims(text))
    for claim in result.claims:
        if claim.kind == "number":
            ok = round(float(claim.value), 4) in g.numbers
        elif claim.kind == "price":
            ok = facts.price is not None and abs(float(claim.value) - facts.price) < 0.005
        elif claim.kind == "currency":
            ok = claim.value == g.currency
        elif claim.kind == "brand":
            ok = (
                re.search(rf"(?<![a-z0-9]){re.escape(normalise_title(claim.value))}(?![a-z0-9])", g.words)
                is not None
            )
        else:
            continue  # colour, material and size words are checked by meaning, against the record
        if not ok:
            result.violations.append(claim)
    result.claims = [c for c in result.claims if c.kind not in GUARDED_KINDS]
    for claim, ok in meaning_claims(text, facts, extra_sources):
        result.claims.append(claim)
        if not ok:
            result.violations.append(claim)
    if free_text:
        from tuijian.generate.support import free_text_claims

        for claim, ok in free_text_claims(text, facts, extra_sources):
            if ok:
                continue
            result.claims.append(claim)
            result.violations.append(claim)
    return result
