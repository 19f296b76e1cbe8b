"""Aspect-level opinions in reviews: which aspect (fit, quality, price, size, comfort, fabric, colour, look,
delivery, service …) a clause talks about and whether it praises or criticises it.

A review is cut into clauses at punctuation and contrast words ("but", "但是"); each clause gets the aspects whose
terms it contains and a polarity from the opinion lexicon (with negation: "not comfortable" is negative).
When the lexicon finds no opinion word and a fitted :class:`~tuijian.nlp.sentiment.SentimentClassifier` is
given, the classifier decides the clause.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from tuijian.nlp.lexicon import aspect_lexicon
from tuijian.nlp.tokenize import detect_language

_CLAUSE_SPLIT = re.compile(r"[.!?;\n。！？；，,]+|\s+but\s+|\s+however\s+|\s+although\s+|但是|不过|可是|就是")
_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class AspectOpinion:
    """One aspect judged in one clause: polarity +1 / -1 (0 = mentioned without a clear opinion)."""

    aspect: str
    polarity: int
    evidence: str


@cache
def _english_aspect_patterns() -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for aspect, spec in aspect_lexicon()["aspects"].items():
        alts = "|".join(re.escape(t) for t in sorted(spec["en"], key=len, reverse=True))
        out.append((aspect, re.compile(rf"\b(?:{alts})\b")))
    return out


@cache
def _opinion_sets() -> dict[str, frozenset[str]]:
    op = aspect_lexicon()["opinion"]
    return {
        "en+": frozenset(op["en"]["positive"]),
        "en-": frozenset(op["en"]["negative"]),
        "zh+": frozenset(op["zh"]["positive"]),
        "zh-": frozenset(op["zh"]["negative"]),
        "neg_en": frozenset(op["negators_en"]),
        "neg_zh": frozenset(op["negators_zh"]),
    }


def clauses(text: str) -> list[str]:
    """Cut a review into opinion clauses."""
    return [c.strip() for c in _CLAUSE_SPLIT.split(text or "") if c and c.strip()]


def _english_polarity(clause: str) -> int:
    sets = _opinion_sets()
    words = _EN_WORD.findall(clause.lower().replace("’", "'"))
    score = 0
    for i, w in enumerate(words):
        sign = 1 if w in sets["en+"] else -1 if w in sets["en-"] else 0
        if not sign:
            continue
        window = words[max(0, i - 3) : i]
        if any(n in sets["neg_en"] or n.endswith("n't") for n in window):
            sign = -sign
        score += sign
    return (score > 0) - (score < 0)


def _chinese_polarity(clause: str) -> int:
    sets = _opinion_sets()
    score = 0
    taken = [False] * len(clause)
    words = sorted([(w, 1) for w in sets["zh+"]] + [(w, -1) for w in sets["zh-"]], key=lambda p: -len(p[0]))
    for word, sign in words:
        start = clause.find(word)
        while start >= 0:
            end = start + len(word)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(word)
                before = clause[max(0, start - 2) : start]
                s = -sign if any(n in before for n in sets["neg_zh"]) and not word.startswith("不") else sign
                score += s
            start = clause.find(word, end)
    return (score > 0) - (score < 0)


def aspect_opinions(
    text: str, classifier: Any | None = None, language: str | None = None
) -> list[AspectOpinion]:
    """Aspect opinions of one review, in order of appearance."""
    lang = language or detect_language(text or "")
    spec = aspect_lexicon()["aspects"]
    out: list[AspectOpinion] = []
    for clause in clauses(text):
        if lang == "zh":
            found = [a for a, s in spec.items() if any(t in clause for t in s["zh"])]
            polarity = _chinese_polarity(clause)
        else:
            low = clause.lower()
            found = [a for a, pattern in _english_aspect_patterns() if pattern.search(low)]
            polarity = _english_polarity(clause)
        if not found:
            continue
        if polarity == 0 and classifier is not None:
            p = float(classifier.predict_proba([clause])[0])
            polarity = 1 if p >= 0.7 else -1 if p <= 0.3 else 0
        out.extend(AspectOpinion(a, polarity, clause) for a in found)
    return out


def aspect_scores(texts: Iterable[str], classifier: Any | None = None) -> dict[str, dict[str, float]]:
    """Aggregate over many reviews: per aspect, ``mentions``, ``positive``, ``negative`` and
    ``score`` = (positive - negative) / mentions in [-1, 1]."""
    counts: dict[str, dict[str, float]] = defaultdict(
        lambda: {"mentions": 0.0, "positive": 0.0, "negative": 0.0}
    )
    for text in texts:
        for op in aspect_opinions(text, classifier):
            c = counts[op.aspect]
            c["mentions"] += 1
            c["positive"] += op.polarity > 0
            c["negative"] += op.polarity < 0
    for c in counts.values():
        c["score"] = (c["positive"] - c["negative"]) / c["mentions"] if c["mentions"] else 0.0
    return dict(counts)


def aspect_name(aspect: str, language: str = "en") -> str:
    """Display name of an aspect in ``language``."""
    if language == "zh":
        return aspect_lexicon()["aspects"].get(aspect, {}).get("name_zh", aspect)
    return aspect
