"""Okapi BM25 over short documents (catalogue entries, review snippets, policy paragraphs), English and Chinese."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from tuijian.exceptions import ConfigError, NotFittedError
from tuijian.nlp.tokenize import tokenize

# -ves plurals of -f / -fe nouns (shelves/shelf, knives/knife); other -ves words (gloves, sleeves) keep the e
_VES_PLURALS = {
    "shelves": "shelf", "knives": "knife", "leaves": "leaf", "wolves": "wolf", "halves": "half",
    "loaves": "loaf", "scarves": "scarf", "calves": "calf", "elves": "elf", "wives": "wife", "lives": "life",
    "thieves": "thief", "hooves": "hoof", "dwarves": "dwarf",
}  # fmt: skip


def index_tokens(text: str) -> list[str]:
    """Content tokens with a light English plural fold (``boxes``/``box``, ``glasses``/``glass``, ``cases``/``case``,
    ``shelves``/``shelf``)."""
    out = []
    for t in tokenize(text or "", remove_stopwords=True):
        if t in _VES_PLURALS:
            t = _VES_PLURALS[t]
        elif (
            t.isascii() and len(t) > 3 and t.endswith("es") and t[:-2].endswith(("x", "ss", "ch", "sh", "zz"))
        ):
            t = t[:-2]
        elif t.isascii() and len(t) > 3 and t.endswith("s") and not t.endswith("ss"):
            t = t[:-1]
        out.append(t)
    return out


class BM25:
    """BM25 with parameters ``k1`` and ``b``; :meth:`search` returns ``(doc index, score)`` best first."""

    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1 = k1
        self.b = b

    def fit(self, documents: Sequence[str]) -> BM25:
        if not len(documents):
            raise ConfigError("documents must not be empty")
        vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        lengths = np.zeros(len(documents))
        for d, doc in enumerate(documents):
            tokens = index_tokens(doc)
            lengths[d] = len(tokens)
            for t, c in Counter(tokens).items():
                rows.append(d)
                cols.append(vocab.setdefault(t, len(vocab)))
                vals.append(c)
        tf = sp.csr_matrix((vals, (rows, cols)), shape=(len(documents), len(vocab)), dtype=np.float64)
        df = np.bincount(tf.indices, minlength=len(vocab))
        n = len(documents)
        self.idf_ = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        avg = lengths.mean() or 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths / avg)
        tf = tf.tocoo()
        weights = tf.data * (self.k1 + 1) / (tf.data + norm[tf.row])
        self.matrix_ = sp.csc_matrix((weights, (tf.row, tf.col)), shape=tf.shape)
        self.vocabulary_ = vocab
        return self

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query``."""
        if not hasattr(self, "matrix_"):
            raise NotFittedError("BM25 is not fitted; call fit(documents) first")
        terms = [self.vocabulary_[t] for t in dict.fromkeys(index_tokens(query)) if t in self.vocabulary_]
        if not terms:
            return np.zeros(self.matrix_.shape[0])
        return np.asarray(self.matrix_[:, terms] @ self.idf_[terms]).ravel()

    def search(self, query: str, k: int = 10) -> list[tuple[int, float]]:
        s = self.scores(query)
        top = np.argsort(-s, kind="stable")[:k]
        return [(int(i), float(s[i])) for i in top if s[i] > 0]
