"""The curated attribute and aspect lexicons (``nlp/resources/*.json``), loaded once and compiled to regexes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

#: Attribute kinds in the order they are reported.
ATTRIBUTE_KINDS: tuple[str, ...] = (
    "product_type",
    "colour",
    "material",
    "size",
    "style",
    "pattern",
    "occasion",
    "recipient",
)


@dataclass(frozen=True)
class Term:
    """One surface form of a canonical lexicon value."""

    kind: str
    value: str
    surface: str


def _read(name: str) -> dict[str, Any]:
    return json.loads(resources.files("tuijian.nlp.resources").joinpath(name).read_text("utf-8"))


@cache
def attribute_lexicon() -> dict[str, dict[str, dict[str, list[str]]]]:
    """``{kind: {canonical value: {"en": [surface forms], "zh": [Chinese names]}}}``."""
    data = _read("attributes.json")
    return {kind: data[kind] for kind in ATTRIBUTE_KINDS}


@cache
def aspect_lexicon() -> dict[str, Any]:
    """``{"aspects": {aspect: {"en": [...], "zh": [...], "name_zh": str}}, "opinion": {...}}``."""
    return _read("aspects.json")


def _phrase_pattern(surface: str) -> str:
    parts = [re.escape(p) for p in re.split(r"[\s]+", surface.strip())]
    return r"[\s\-]+".join(parts)


@cache
def english_matcher() -> tuple[re.Pattern[str], tuple[Term, ...]]:
    """One alternation over every English surface form (longest first), with a term per group index."""
    terms: list[Term] = []
    for kind, values in attribute_lexicon().items():
        for value, forms in values.items():
            for surface in forms["en"]:
                terms.append(Term(kind, value, surface.lower()))
    terms.sort(key=lambda t: -len(t.surface))
    pattern = "|".join(f"({_phrase_pattern(t.surface)})" for t in terms)
    return re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])"), tuple(terms)


@cache
def chinese_terms() -> tuple[Term, ...]:
    """Every Chinese name of every attribute value, longest first (for substring matching)."""
    terms = [
        Term(kind, value, surface)
        for kind, values in attribute_lexicon().items()
        for value, forms in values.items()
        for surface in forms["zh"]
    ]
    return tuple(sorted(terms, key=lambda t: -len(t.surface)))


def chinese_name(kind: str, value: str) -> str:
    """The preferred Chinese name of an attribute value (its first ``zh`` form), or the value itself."""
    forms = attribute_lexicon().get(kind, {}).get(value)
    return forms["zh"][0] if forms and forms["zh"] else value
