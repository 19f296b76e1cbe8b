"""Keyword extraction: corpus TF-IDF (fit once, query per document) and TextRank (one document, no corpus).

>>> ex = TfidfKeywords().fit(["red retrospot cake cases", "red retrospot jumbo bag", "white heart holder"])
>>> ex.keywords("red retrospot jumbo bag", k=2)[0][0] in {"jumbo", "bag"}
True
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np

from tuijian.exceptions import ConfigError, NotFittedError
from tuijian.nlp.tokenize import tokenize


def content_tokens(text: str) -> list[str]:
    """Tokens with stopwords, digits and one-letter Latin tokens removed (either language)."""
    return tokenize(text or "", remove_stopwords=True)


class TfidfKeywords:
    """Rank a document's tokens by ``tf * idf`` with the idf learned on a corpus (smoothed, sklearn style)."""

    def __init__(self, min_df: int = 1, max_df: float = 0.5):
        self.min_df = min_df
        self.max_df = max_df

    def fit(self, documents: Iterable[str]) -> TfidfKeywords:
        """Learn document frequencies from ``documents``."""
        df: Counter[str] = Counter()
        n = 0
        for doc in documents:
            n += 1
            df.update(set(content_tokens(doc)))
        if n == 0:
            raise ConfigError("documents must hold at least one text, got an empty collection")
        limit = self.max_df * n if self.max_df <= 1.0 else self.max_df
        self.n_documents_ = n
        self.idf_ = {
            t: float(np.log((1 + n) / (1 + c)) + 1.0)
            for t, c in df.items()
            if self.min_df <= c <= max(limit, 1)
        }
        return self

    def keywords(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` best ``(token, score)`` pairs of ``text``; tokens outside the fitted vocabulary are skipped."""
        if not hasattr(self, "idf_"):
            raise NotFittedError("TfidfKeywords is not fitted; call fit(documents) first")
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        tf = Counter(t for t in content_tokens(text) if t in self.idf_)
        total = sum(tf.values()) or 1
        scored = sorted(((t, c / total * self.idf_[t]) for t, c in tf.items()), key=lambda p: (-p[1], p[0]))
        return scored[:k]


def textrank_keywords(
    text: str, k: int = 5, window: int = 3, damping: float = 0.85, n_iter: int = 50
) -> list[tuple[str, float]]:
    """TextRank over the co-occurrence graph of content tokens (``window`` tokens apart)."""
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    tokens = content_tokens(text)
    if not tokens:
        return []
    neighbours: dict[str, set[str]] = defaultdict(set)
    for i, a in enumerate(tokens):
        for b in tokens[i + 1 : i + window]:
            if a != b:
                neighbours[a].add(b)
                neighbours[b].add(a)
    nodes = sorted(set(tokens))
    if len(nodes) == 1:
        return [(nodes[0], 1.0)]
    index = {t: i for i, t in enumerate(nodes)}
    score = np.ones(len(nodes))
    for _ in range(n_iter):
        new = np.full(len(nodes), 1.0 - damping)
        for t, ns in neighbours.items():
            share = damping * score[index[t]] / len(ns)
            for n in ns:
                new[index[n]] += share
        if np.abs(new - score).max() < 1e-6:
            score = new
            break
        score = new
    ranked = sorted(zip(nodes, score, strict=True), key=lambda p: (-p[1], p[0]))
    return [(t, float(s)) for t, s in ranked[:k]]
