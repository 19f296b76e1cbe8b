"""Meaning claims of a generated text, each judged against the item's structured product record.

What a text says the item *is* (product type), how many come in a pack, its capacity, colour, material, size,
theme and audience, and which review quotes it presents as praise or complaint. The shop's own title (or its
short form) and the Chinese spec line (规格：…) are the shop's words, not claims, and are set aside first.

>>> from tuijian.generate.facts import ItemFacts
>>> f = ItemFacts("23170", "BULL DOG BOTTLE OPENER")
>>> [(c.kind, c.value, ok) for c, ok in meaning_claims("It is a bottle with a dog design.", f)]
[('type', 'bottle', False), ('theme', 'dog', True)]
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from tuijian.generate.grammar import SPEC_LINE
from tuijian.nlp.aspects import aspect_opinions
from tuijian.nlp.lexicon import attribute_lexicon
from tuijian.nlp.product import chinese_product_type, understand
from tuijian.nlp.product.reader import _lexicon, _norm_phrase, _singular
from tuijian.nlp.product.vocab import _vocabulary

if TYPE_CHECKING:
    from tuijian.generate.facts import ItemFacts
    from tuijian.generate.guard import Claim

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_QUOTE = re.compile(r'"([^"]{3,})"|“([^”]{3,})”')
#: Nouns that are not product claims: what copy says about shopping ("your basket") and packaging.
_NOT_A_PRODUCT = frozenset({"set", "pack", "piece", "gift", "present", "item", "product", "design", "style"})
_OWNER = frozenset({"your", "my", "our", "any", "their"})
_CAPACITY_UNITS = frozenset({"sheet", "page", "oz", "ml", "cup", "gallon", "litre", "liter"})
_ZH_GENERIC = frozenset({"套装", "套件", "礼品", "商品", "收纳", "装饰"})
_AUDIENCE_SKIP = frozenset({"her", "him", "toy", "toys", "nursery", "lady"})
#: Praise and complaint markers before a quote (nearest wins).
_POSITIVE_CUES = ("pros:", "shoppers say", "praise", "优点", "买家评价", "好评")
_NEGATIVE_CUES = ("cons:", "complaint", "缺点", "差评")
_PACK_EN = (
    re.compile(r"\b(?:set|pack|box|bag|tube|packet) of (\d+)\b"),
    re.compile(r"\b(\d+)[- ](?:pack|piece|pc|pcs|count)\b"),
    re.compile(r"\b(?:pack|set) holds (\d+)\b"),
    re.compile(r"\b(\d+) [a-z -]{1,40}? in (?:one|a|each|every) (?:pack|set|box)\b"),
)
_PACK_ZH = (
    re.compile(r"(?:一套|每套|每包|每盒|一包|一盒)(\d+)|共(\d+)套"),
    re.compile(r"(\d+)[个只支张本件条把台套片]装"),
)
_CAPACITY_EN = re.compile(
    r"(?:capacity:?|up to|holds?) (\d+(?:\.\d+)?) ?(sheets?|pages?|oz|ml|cups?|gallons?)\b"
)
_CAPACITY_ZH = re.compile(r"(?:容量：?|容纳)(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class _Record:
    """The record's values in comparable form."""

    type_norm: str | None
    type_zh: str | None
    themes: frozenset[str]
    colours: frozenset[str]
    materials: frozenset[str]
    sizes: frozenset[str]
    audience: frozenset[str]
    capacity: frozenset[float]
    pack_count: int | None
    title_words: frozenset[str]
    phrases: tuple[str, ...]  # sizes and capacities as the record writes them


def _record_of(facts: ItemFacts, extra_sources: tuple[str, ...]) -> _Record:
    memo = facts.__dict__.get("_meaning_memo")
    key = (facts.title, facts.description, id(facts.record), extra_sources)
    if memo is not None and memo[0] == key:
        return memo[1]
    r = facts.record
    # The description may name a colour or material the title does not (read with the same reader).
    extra = [understand(t) for t in (facts.description[:400], *extra_sources) if t]
    values: dict[str, set[str]] = {k: set() for k in ("theme", "colour", "material", "size", "audience")}
    for rec in (r, *extra):
        for kind in values:
            values[kind].update(str(v) for v in rec.values(kind))
    caps = set()
    for v in r.values("capacity"):
        m = re.match(r"[\d.]+", str(v))
        if m:
            caps.add(float(m.group(0)))
    type_value = None if r.product_type is None else str(r.product_type.value)
    out = _Record(
        type_norm=None if type_value is None else _norm_phrase(type_value),
        type_zh=None if type_value is None else chinese_product_type(type_value),
        themes=frozenset(values["theme"]),
        colours=frozenset(values["colour"]),
        materials=frozenset(values["material"]),
        sizes=frozenset(values["size"]) | frozenset(str(v) for v in r.values("size")),
        audience=frozenset(values["audience"]),
        capacity=frozenset(caps),
        pack_count=None if r.pack_count is None else int(r.pack_count.value),
        title_words=frozenset(_singular(w) for w in _WORD.findall(facts.title.lower())),
        phrases=tuple(
            sorted({str(v) for v in [*r.values("size"), *r.values("capacity")]}, key=len, reverse=True)
        ),
    )
    facts.__dict__["_meaning_memo"] = (key, out)
    return out


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        for i in range(a, b):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def _shop_words(text: str, facts: ItemFacts) -> list[tuple[int, int]]:
    """Spans of the shop's own words: the spec line, the title and its short form."""
    from tuijian.generate.naming import _short_title

    spans = [m.span() for m in SPEC_LINE.finditer(text)]
    low = text.lower()
    names = {facts.title, facts.display_name, _short_title(facts.display_name), facts.brand}
    for name in sorted((n for n in names if n and len(n) >= 3), key=len, reverse=True):
        start = low.find(name.lower())
        while start >= 0:
            spans.append((start, start + len(name)))
            start = low.find(name.lower(), start + len(name))
    return spans


def meaning_claims(
    text: str, facts: ItemFacts, extra_sources: tuple[str, ...] = ()
) -> Iterator[tuple[Claim, bool]]:
    """Every meaning claim of ``text`` with whether the item's record (or review, for quotes) backs it."""
    from tuijian.generate.guard import Claim

    rec = _record_of(facts, extra_sources)
    # the spec line, the title and the record's own sizes may hold inch marks (14" x 14"): no quotes, no claims
    text = _blank(text, _shop_words(text, facts))
    for value in rec.phrases:  # "letter size", "medium point", '14" x 14"'
        text = _blank(text, [m.span() for m in re.finditer(re.escape(value), text, re.IGNORECASE)])
    quotes = list(_QUOTE.finditer(text))
    for m in quotes:
        quote = m.group(1) or m.group(2)
        yield Claim("quote", quote, m.group(0)), _in_reviews(quote, facts)
        wanted = _cue_polarity(text[: m.start()])
        if wanted:
            got = [o.polarity for o in aspect_opinions(quote) if o.polarity]
            contrary = bool(got) and all(p == -wanted for p in got)
            yield Claim("quote_polarity", "praise" if wanted > 0 else "complaint", quote), not contrary
    body = _blank(text, [m.span() for m in quotes])
    if rec.type_norm is not None:  # the record's own product name is no claim to check ("adhesive roll")
        words = r"[\s-]+".join(re.escape(w) for w in rec.type_norm.split())
        body = _blank(
            body, [m.span() for m in re.finditer(rf"(?<![a-z]){words}(?:e?s)?(?![a-z])", body, re.I)]
        )
    if rec.type_zh:
        body = _blank(body, [m.span() for m in re.finditer(re.escape(rec.type_zh), body)])
    yield from _english_claims(body, rec, Claim)
    yield from _chinese_claims(body, rec, Claim)


def _in_reviews(quote: str, facts: ItemFacts) -> bool:
    q = " ".join(quote.lower().split()).strip(" .!?。！？")
    return any(q in " ".join(r.lower().split()) for r in facts.reviews)


def _cue_polarity(before: str) -> int:
    low = before.lower()
    pos = max((low.rfind(c) for c in _POSITIVE_CUES), default=-1)
    neg = max((low.rfind(c) for c in _NEGATIVE_CUES), default=-1)
    if pos < 0 and neg < 0:
        return 0
    return 1 if pos > neg else -1


@cache
def _english_terms() -> dict[str, tuple[str, str]]:
    """Normalised English surface form -> (claim kind, value) for theme, colour, material, size, audience."""
    out: dict[str, tuple[str, str]] = {}
    lex = attribute_lexicon()
    for kind, claim_kind in (("pattern", "theme"), ("style", "theme"), ("occasion", "theme"), ("colour", "colour"),
                             ("material", "material"), ("size", "size"), ("recipient", "audience")):  # fmt: skip
        for value, forms in lex[kind].items():
            for surface in forms["en"]:
                if claim_kind == "audience" and surface in _AUDIENCE_SKIP:
                    continue
                out[_norm_phrase(surface)] = (claim_kind, value)
    for surface, value in _lexicon().terms.get("theme", {}).items():
        out.setdefault(surface, ("theme", value))
    return {k: v for k, v in out.items() if v[1] != "office"}  # "the office" is where a thing is used


def _english_claims(body: str, rec: _Record, claim: type) -> Iterator[tuple[Claim, bool]]:
    low = body.lower()
    words = [(w.group(0), w.start()) for w in _WORD.finditer(low)]
    norms = [_singular(w) for w, _ in words]
    lex = _lexicon()
    terms = _english_terms()
    longest = max(lex.max_len, 3)
    taken = [False] * len(words)
    i = 0
    while i < len(words):
        hit = None
        for n in range(min(longest, len(words) - i), 0, -1):
            if not _adjacent(low, words, i, n):
                continue
            phrase = " ".join(norms[i : i + n])
            if phrase in terms:
                hit = (n, "term", phrase)
                break
            if phrase in lex.phrases or (n == 1 and (phrase in lex.heads or phrase in lex.weak)):
                hit = (n, "type", lex.phrases.get(phrase, phrase))
                break
        if hit is None:
            i += 1
            continue
        n, what, value = hit
        before = norms[i - 1] if i else ""
        if what == "type":
            skip = (
                value in _NOT_A_PRODUCT
                or before in _OWNER
                or (before.replace(".", "").isdigit() and norms[i] in _CAPACITY_UNITS)
            )
            if not skip:
                yield (
                    claim("type", value, body[words[i][1] : words[i + n - 1][1] + len(words[i + n - 1][0])]),
                    (_type_ok(_norm_phrase(value), rec)),
                )
        elif not before.replace(".", "").isdigit():  # "5 stars" is a rating, not a star motif
            kind, canonical = terms[value]
            yield claim(kind, canonical, value), _term_ok(kind, canonical, rec, value)
        for k in range(i, i + n):
            taken[k] = True
        i += n
    for pattern in _PACK_EN:
        for m in pattern.finditer(low):
            yield claim("pack_count", m.group(1), m.group(0)), rec.pack_count == int(m.group(1))
    for m in _CAPACITY_EN.finditer(low):
        yield claim("capacity", m.group(1), m.group(0)), float(m.group(1)) in rec.capacity


def _adjacent(low: str, words: list[tuple[str, int]], i: int, n: int) -> bool:
    """Words ``i .. i+n`` are one phrase: only spaces or hyphens between them."""
    for k in range(i, i + n - 1):
        gap = low[words[k][1] + len(words[k][0]) : words[k + 1][1]]
        if gap.strip(" -"):
            return False
    return True


def _type_ok(phrase: str, rec: _Record) -> bool:
    """A named product agrees with the record: the record's type or its head ("opener" for "bottle opener")."""
    if rec.type_norm is None:
        return all(w in rec.title_words for w in phrase.split())
    if phrase == rec.type_norm or rec.type_norm.endswith(" " + phrase):
        return True
    words = phrase.split()  # "party bunting" for a "bunting" titled PARTY BUNTING
    return words[-1] == rec.type_norm.split()[-1] and all(w in rec.title_words for w in words)


def _term_ok(kind: str, value: str, rec: _Record, surface: str = "") -> bool:
    """A theme, colour, material, size or audience the record has (a theme also by its own name: "london")."""
    allowed = {"theme": rec.themes, "colour": rec.colours, "material": rec.materials, "size": rec.sizes,
               "audience": rec.audience}[kind]  # fmt: skip
    return value in allowed or (kind == "theme" and surface in allowed)


@cache
def _chinese_terms() -> tuple[tuple[str, str, str], ...]:
    """(Chinese surface, claim kind, value), longest first: product names, themes, colours, materials, sizes,
    audiences (two characters or more: one-character words are too ambiguous in running text)."""
    out: list[tuple[str, str, str]] = []
    v = _vocabulary()
    for english, zh in [*v.types.items(), *v.heads.items()]:
        if len(zh) >= 2 and zh not in _ZH_GENERIC:
            out.append((zh, "type", english))
    for value, zh in v.themes.items():
        if len(zh) >= 2 and value != "office":
            out.append((zh, "theme", value))
    lex = attribute_lexicon()
    for kind, claim_kind in (("pattern", "theme"), ("style", "theme"), ("occasion", "theme"), ("colour", "colour"),
                             ("material", "material"), ("size", "size"), ("recipient", "audience")):  # fmt: skip
        for value, forms in lex[kind].items():
            for zh in forms["zh"]:
                if len(zh) >= 2 and value != "office":
                    out.append((zh, claim_kind, value))
    seen: dict[str, tuple[str, str, str]] = {}
    for t in out:
        seen.setdefault(t[0], t)
    return tuple(sorted(seen.values(), key=lambda t: -len(t[0])))


def _chinese_claims(body: str, rec: _Record, claim: type) -> Iterator[tuple[Claim, bool]]:
    if not re.search(r"[\u4e00-\u9fff]", body):
        return
    taken = [False] * len(body)
    found: list[tuple[int, str, str, str]] = []
    for surface, kind, value in _chinese_terms():
        start = body.find(surface)
        while start >= 0:
            end = start + len(surface)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(surface)
                found.append((start, surface, kind, value))
            start = body.find(surface, end)
    for _, surface, kind, value in sorted(found):
        if kind == "type":
            ok = rec.type_zh is not None and (
                rec.type_zh.endswith(surface)
                or (surface.endswith(rec.type_zh) and all(w in rec.title_words for w in value.split()))
            )
            yield claim("type", value, surface), ok
        else:
            yield claim(kind, value, surface), _term_ok(kind, value, rec)
    for pattern in _PACK_ZH:
        for m in pattern.finditer(body):
            count = next(g for g in m.groups() if g)
            yield claim("pack_count", count, m.group(0)), rec.pack_count == int(count)
    for m in _CAPACITY_ZH.finditer(body):
        yield claim("capacity", m.group(1), m.group(0)), float(m.group(1)) in rec.capacity
