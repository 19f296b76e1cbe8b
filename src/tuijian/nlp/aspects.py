"""Aspect-level opinions in reviews: which aspect (fit, quality, price, size, comfort, fabric, colour, look,
delivery, service …) a clause talks about and whether it praises or criticises it.

A review is cut into clauses at punctuation and at contrast words ("but", "however", "although", "though";
但, 但是, 可是, 不过, 虽然…但…), so each aspect gets the polarity of its own clause: in "The fabric is soft but the
zipper broke" the fabric is praised and the zipper (quality) criticised. Inside a clause, opinion words from the
lexicon are summed with

* **negation scope**: an English negator (not, no, never, n't, hardly, without, nothing …) flips the opinion words
  of the next few words, up to a scope breaker ("and", "because", "which" …); "no way" flips to the end of the
  clause. A Chinese negator (不, 没, 没有, 别, 不是, 并不, 一点也不, 毫无 …) flips an opinion word it governs, across
  degree words (不是很好吃, 并不像别人说的那么难吃, 没有想象中好).
* **intensifiers and diminishers**: "very"/很/非常 weigh an opinion 1.5, "a bit"/有点 0.5; "too X" is a complaint
  ("too long"), "not too X" mild praise.
* **phrases** that a word list would misread: "worth every penny", "runs small", "nothing special", 没得说,
  不是一般的 (an intensifier, not a negation), 没想到 (not a negation).

A clause that names an aspect but holds no opinion takes the opinion of the next clause of the same sentence when
that clause names no aspect of its own ("the fabric, however, is not finished off"). When the lexicon finds no
opinion at all and a fitted :class:`~tuijian.nlp.sentiment.SentimentClassifier` is given, the classifier decides
the clause.
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

#: Sentence ends; an opinion never carries across them.
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？;；\n])")
#: Clause boundaries: punctuation, dashes and contrast words.
_CLAUSE_SPLIT = re.compile(
    r"[.!?;\n。！？；，,、:：()（）…~]+|\s-+\s|--+"
    r"|\b(?:but|however|although|though|whereas|yet)\b"
    r"|但是|(?<!不)但|不过|可是|然而|可惜|而是|就是|只是",
    re.IGNORECASE,
)
_EN_WORD = re.compile(r"[a-z]+(?:[-'][a-z]+)*|\$?\d+")
#: Words that end an English negation's scope.
_SCOPE_BREAKERS = frozenset(
    ["and", "because", "which", "since", "if", "when", "while", "who", "where", "then"]
)
_EN_SCOPE = 4
_ZH_SCOPE = 8
_INTENSIFY, _DIMINISH = 1.5, 0.5


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


@dataclass(frozen=True)
class _English:
    words: dict[str, float]
    phrases: dict[tuple[str, ...], tuple[str, float]]
    negators: frozenset[str]
    max_phrase: int


@cache
def _english() -> _English:
    op = aspect_lexicon()["opinion"]
    words: dict[str, float] = {}
    words.update({w: 0.5 for w in op["en"].get("weak_positive", [])})
    words.update({w: 1.0 for w in op["en"]["positive"]})
    words.update({w: -1.0 for w in op["en"]["negative"]})
    words.pop("too", None)  # "too X" is handled as a complaint about X
    phrases: dict[tuple[str, ...], tuple[str, float]] = {}

    def add(kind: str, items: Iterable[str], value: float = 0.0) -> None:
        for item in items:
            phrases[tuple(_EN_WORD.findall(item.lower()))] = (kind, value)

    add("opinion", op["en"].get("phrases", {}).get("positive", []), 1.0)
    add("opinion", op["en"].get("phrases", {}).get("negative", []), -1.0)
    add("wide_negator", op.get("wide_negators_en", []))
    add("skip", op.get("not_negators_en", []))
    add("degree", op.get("intensifiers_en", []), _INTENSIFY)
    add("degree", op.get("diminishers_en", []), _DIMINISH)
    negators = frozenset(op["negators_en"])
    return _English(words, phrases, negators, max(len(p) for p in phrases))


@dataclass(frozen=True)
class _Chinese:
    words: tuple[tuple[str, int], ...]
    negators: tuple[str, ...]
    not_negators: tuple[str, ...]
    fillers: tuple[str, ...]
    degrees: tuple[tuple[str, float], ...]


@cache
def _chinese() -> _Chinese:
    op = aspect_lexicon()["opinion"]
    words = [(w, 1) for w in op["zh"]["positive"]] + [(w, -1) for w in op["zh"]["negative"]]
    degrees = [(w, _INTENSIFY) for w in op.get("intensifiers_zh", [])]
    degrees += [(w, _DIMINISH) for w in op.get("diminishers_zh", [])]

    def longest_first(items: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted(set(items), key=lambda w: (-len(w), w)))

    return _Chinese(
        words=tuple(sorted(words, key=lambda p: -len(p[0]))),
        negators=longest_first(op["negators_zh"]),
        not_negators=longest_first(op.get("not_negators_zh", [])),
        fillers=longest_first(op.get("fillers_zh", []) + [w for w, _ in degrees]),
        degrees=tuple(sorted(degrees, key=lambda p: -len(p[0]))),
    )


def clauses(text: str) -> list[str]:
    """Cut a review into opinion clauses."""
    return [c.strip() for c in _CLAUSE_SPLIT.split(text or "") if c and c.strip()]


def _english_score(clause: str) -> float:
    lex = _english()
    words = _EN_WORD.findall(clause.lower().replace("’", "'"))
    score = 0.0
    negated_until = -1  # index of the last word still under negation
    degree = 1.0
    i = 0
    while i < len(words):
        kind, value, step = "", 0.0, 1
        for n in range(min(lex.max_phrase, len(words) - i), 0, -1):
            if tuple(words[i : i + n]) in lex.phrases:
                (kind, value), step = lex.phrases[tuple(words[i : i + n])], n
                break
        w = words[i]
        negated = i <= negated_until
        if kind == "opinion" or (not kind and w in lex.words):
            value = value if kind else lex.words[w]
            score += (-value if negated else value) * degree
            degree = 1.0
        elif kind == "wide_negator":
            negated_until = len(words)
        elif kind == "degree":
            degree *= value
        elif kind == "skip":
            pass
        elif w in lex.negators or w.endswith("n't"):
            negated_until = i + _EN_SCOPE
        elif w in _SCOPE_BREAKERS:
            negated_until = min(negated_until, i)
            degree = 1.0
        elif w == "too" and i + 1 < len(words) and words[i + 1] not in _SCOPE_BREAKERS:
            # "too long" complains; "not too tight" is mild praise
            score += (0.5 if negated else -1.0) * degree
            degree = 1.0
            step = 2
        i += step
    return score


def _chinese_score(clause: str) -> float:
    lex = _chinese()
    masked = clause
    for phrase in lex.not_negators:
        masked = masked.replace(phrase, "_" * len(phrase))
    taken = [False] * len(masked)
    score = 0.0
    for word, sign in lex.words:
        start = masked.find(word)
        while start >= 0:
            end = start + len(word)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(word)
                score += sign * _chinese_modifier(masked[max(0, start - _ZH_SCOPE) : start], word)
            start = masked.find(word, end)
    if score == 0 and "毫无" in masked:
        score = -1.0  # 毫无质感, 毫无质量可言: "utterly without" a good thing
    return score


def _chinese_modifier(before: str, word: str) -> float:
    """The weight (negative when negated) that the words right before ``word`` give it."""
    lex = _chinese()
    weight = 1.0
    rest = before
    if "不是一般的" in rest:
        return _INTENSIFY
    for _ in range(4):  # peel degree and filler words: 不是很好吃, 一点也不新鲜
        for degree, w in lex.degrees:
            if rest.endswith(degree):
                weight *= w
                break
        for filler in lex.fillers:
            if rest.endswith(filler):
                rest = rest[: -len(filler)]
                break
        else:
            break
    negated = any(rest.endswith(n) for n in lex.negators)
    if not negated:
        # comparisons: 没有想象中好, 并不像别人说的那么难吃, 颜色没有图片上鲜艳
        negated = bool(re.search(r"(没有|并没有|不像|不如|没)[^不没]{0,6}$", before)) and not word.startswith(
            ("不", "没")
        )
    if negated and word.startswith(("不", "没")) and not any(rest.endswith(n) for n in ("不是", "并不")):
        negated = False
    return -weight if negated else weight


def _aspects_in(clause: str, lang: str) -> list[str]:
    if lang == "zh":
        return [a for a, s in aspect_lexicon()["aspects"].items() if any(t in clause for t in s["zh"])]
    low = clause.lower()
    return [a for a, pattern in _english_aspect_patterns() if pattern.search(low)]


def _polarity(score: float) -> int:
    return (score > 0) - (score < 0)


def aspect_opinions(
    text: str, classifier: Any | None = None, language: str | None = None
) -> list[AspectOpinion]:
    """Aspect opinions of one review, in order of appearance."""
    lang = language or detect_language(text or "")
    score_clause = _chinese_score if lang == "zh" else _english_score
    out: list[AspectOpinion] = []
    for sentence in _SENTENCE_SPLIT.split(text or ""):
        parts = clauses(sentence)
        found = [_aspects_in(c, lang) for c in parts]
        polarity = [_polarity(score_clause(c)) for c in parts]
        for i, clause in enumerate(parts):
            if not found[i]:
                continue
            p = polarity[i]
            if p == 0 and i + 1 < len(parts) and not found[i + 1]:
                p = polarity[i + 1]
            if p == 0 and classifier is not None:
                prob = float(classifier.predict_proba([clause])[0])
                p = 1 if prob >= 0.7 else -1 if prob <= 0.3 else 0
            out.extend(AspectOpinion(a, p, clause) for a in found[i])
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
