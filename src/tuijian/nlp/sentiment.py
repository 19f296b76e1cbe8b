"""Review sentiment: TF-IDF word + character n-grams -> logistic regression, trained on real labelled reviews.

* Chinese (``chinese-shopping-reviews``): words from jieba (uni+bigrams) and character 1-3-grams.
* English (``womens-clothing-reviews``): rating >= 4 is positive, <= 2 negative, 3 is dropped; words (uni+bigrams)
  and character 2-5-grams within word boundaries.

A fitted model is saved as JSON (settings and vocabularies) plus an ``.npz`` of arrays (idf weights and
coefficients) and loaded without pickle, so a model file can never run code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tuijian.exceptions import ConfigError, DataError, ModelNotFoundError, NotFittedError

Language = Literal["en", "zh"]

#: Labelled review sets and the language of each.
SENTIMENT_DATASETS: dict[str, Language] = {
    "chinese-shopping-reviews": "zh",
    "womens-clothing-reviews": "en",
    "womens-clothing-demo": "en",
}

_FORMAT = "tuijian-sentiment/1"


def _jieba_words(text: str) -> list[str]:
    from tuijian.nlp.tokenize import _jieba

    return [t for t in _jieba().lcut(text) if t.strip()]


@dataclass
class LabelledReviews:
    """Texts with 0/1 labels, and how many source rows were left out and why."""

    texts: np.ndarray
    labels: np.ndarray
    language: Language
    dropped: dict[str, int]


def labelled_reviews(name: str, data_dir: str | Path | None = None) -> LabelledReviews:
    """Load a labelled review set by dataset name (see :data:`SENTIMENT_DATASETS`).

    Rows without text are counted in ``dropped["empty_text"]``; English 3-star reviews are counted in
    ``dropped["neutral_rating"]``.
    """
    if name not in SENTIMENT_DATASETS:
        raise ConfigError(f"dataset must be one of {sorted(SENTIMENT_DATASETS)}, got {name!r}")
    from tuijian.data.datasets import load_dataset

    reviews = load_dataset(name, data_dir).reviews
    if reviews is None:
        raise DataError(f"dataset {name!r} has no reviews frame")
    dropped: dict[str, int] = {}
    if SENTIMENT_DATASETS[name] == "zh":
        text = reviews["review"].fillna("").astype(str).str.strip()
        labels = reviews["label"].astype(int).to_numpy()
        keep = (text != "").to_numpy()
    else:
        text = (reviews["title"].fillna("") + ". " + reviews["text"].fillna("")).str.strip(". ").str.strip()
        rating = reviews["rating"].astype(int).to_numpy()
        labels = (rating >= 4).astype(int)
        neutral = rating == 3
        dropped["neutral_rating"] = int(neutral.sum())
        keep = (text != "").to_numpy() & ~neutral
        dropped["empty_text"] = int(((text == "").to_numpy() & ~neutral).sum())
    if SENTIMENT_DATASETS[name] == "zh":
        dropped["empty_text"] = int((~keep).sum())
    return LabelledReviews(
        text.to_numpy()[keep].astype(object), labels[keep], SENTIMENT_DATASETS[name], dropped
    )


def stratified_split(
    labels: np.ndarray, test_size: float = 0.2, seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified train/test row indices."""
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"test_size must be in (0, 1), got {test_size}")
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    train, test = train_test_split(idx, test_size=test_size, stratify=labels, random_state=seed)
    return np.sort(train), np.sort(test)


class SentimentClassifier:
    """Binary review sentiment (1 = positive) for one language.

    Parameters
    ----------
    language: ``"en"`` or ``"zh"``.
    reg: inverse regularisation strength ``C`` of the logistic regression.
    max_features: vocabulary cap of each of the two vectorisers.
    min_df: minimum document frequency of a kept n-gram.
    """

    def __init__(
        self, language: Language = "en", reg: float = 4.0, max_features: int = 300_000, min_df: int = 2
    ):
        self.language = language
        self.reg = reg
        self.max_features = max_features
        self.min_df = min_df

    def _vectorizers(self) -> tuple[Any, Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if self.language not in ("en", "zh"):
            raise ConfigError(f"language must be 'en' or 'zh', got {self.language!r}")
        common = {
            "min_df": self.min_df,
            "sublinear_tf": True,
            "max_features": self.max_features,
            "dtype": np.float32,
        }
        if self.language == "zh":
            words = TfidfVectorizer(
                tokenizer=_jieba_words, token_pattern=None, lowercase=False, ngram_range=(1, 2), **common
            )
            chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), **common)
        else:
            words = TfidfVectorizer(ngram_range=(1, 2), **common)
            chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common)
        return words, chars

    def fit(self, texts: Any, labels: Any) -> SentimentClassifier:
        """Fit on raw texts and 0/1 labels."""
        from scipy.sparse import hstack
        from sklearn.linear_model import LogisticRegression

        texts = [str(t) for t in texts]
        y = np.asarray(labels).astype(int)
        if len(texts) != len(y):
            raise ConfigError(f"texts and labels must have the same length, got {len(texts)} and {len(y)}")
        if set(np.unique(y)) - {0, 1} or len(np.unique(y)) < 2:
            raise DataError(f"labels must contain both 0 and 1 (and nothing else), got {np.unique(y)[:5]}")
        words, chars = self._vectorizers()
        X = hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
        clf = LogisticRegression(C=self.reg, max_iter=2000)
        clf.fit(X, y)
        self.words_, self.chars_ = words, chars
        self.coef_ = clf.coef_.ravel().astype(np.float64)
        self.intercept_ = float(clf.intercept_[0])
        return self

    def _check(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(
                "SentimentClassifier is not fitted; call fit(texts, labels) or load(path) first"
            )

    def decision_function(self, texts: Any) -> np.ndarray:
        """Log-odds of the positive class for each text."""
        from scipy.sparse import hstack

        self._check()
        texts = [str(t) for t in texts]
        X = hstack([self.words_.transform(texts), self.chars_.transform(texts)]).tocsr()
        return np.asarray(X @ self.coef_).ravel() + self.intercept_

    def predict_proba(self, texts: Any) -> np.ndarray:
        """Probability that each text is positive."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(texts)))

    def predict(self, texts: Any) -> np.ndarray:
        """0/1 labels."""
        return (self.decision_function(texts) > 0).astype(int)

    def save(self, path: str | Path) -> Path:
        """Write ``path/sentiment.json`` and ``path/sentiment.npz``; returns ``path``."""
        self._check()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": _FORMAT,
            "params": {
                "language": self.language,
                "reg": self.reg,
                "max_features": self.max_features,
                "min_df": self.min_df,
            },
            "words_vocabulary": _vocab_list(self.words_),
            "chars_vocabulary": _vocab_list(self.chars_),
            "intercept": self.intercept_,
        }
        (path / "sentiment.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.savez(
            path / "sentiment.npz", words_idf=self.words_.idf_, chars_idf=self.chars_.idf_, coef=self.coef_
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> SentimentClassifier:
        """Load a model written by :meth:`save` (JSON + npz, no pickle)."""
        path = Path(path)
        meta_file, arrays_file = path / "sentiment.json", path / "sentiment.npz"
        if not meta_file.exists() or not arrays_file.exists():
            raise ModelNotFoundError(
                f"no sentiment model at {path} (expected sentiment.json and sentiment.npz)"
            )
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format") != _FORMAT:
            raise ModelNotFoundError(f"{meta_file} has format {meta.get('format')!r}, expected {_FORMAT!r}")
        model = cls(**meta["params"])
        words, chars = model._vectorizers()
        with np.load(arrays_file, allow_pickle=False) as arrays:
            _restore(words, meta["words_vocabulary"], arrays["words_idf"])
            _restore(chars, meta["chars_vocabulary"], arrays["chars_idf"])
            model.coef_ = arrays["coef"].astype(np.float64)
        model.words_, model.chars_ = words, chars
        model.intercept_ = float(meta["intercept"])
        return model


def _vocab_list(vectorizer: Any) -> list[str]:
    vocab = vectorizer.vocabulary_
    out = [""] * len(vocab)
    for term, index in vocab.items():
        out[index] = term
    return out


def _restore(vectorizer: Any, terms: list[str], idf: np.ndarray) -> None:
    vectorizer.vocabulary = {t: i for i, t in enumerate(terms)}
    vectorizer._validate_vocabulary()
    vectorizer.idf_ = idf


def evaluate_sentiment(
    name: str,
    *,
    seed: int = 42,
    test_size: float = 0.2,
    max_train: int | None = None,
    max_test: int | None = None,
    data_dir: str | Path | None = None,
    model_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Train on the stratified train part of ``name`` and score the held-out test part.

    ``max_train`` caps the training rows (a stratified subsample, for quick checks); the test split is the same
    whatever the cap (``max_test`` scores a stratified part of it, for quick checks only). ``model_dir`` saves the fitted model there. Returns accuracy, macro-F1 and counts.
    """
    import time

    from sklearn.metrics import accuracy_score, f1_score

    data = labelled_reviews(name, data_dir)
    train, test = stratified_split(data.labels, test_size, seed)
    if max_train is not None and max_train < len(train):
        keep, _ = stratified_split(data.labels[train], 1.0 - max_train / len(train), seed)
        train = train[keep]
    if max_test is not None and max_test < len(test):
        keep, _ = stratified_split(data.labels[test], 1.0 - max_test / len(test), seed)
        test = test[keep]
    start = time.perf_counter()
    model = SentimentClassifier(language=data.language).fit(data.texts[train], data.labels[train])
    fit_s = time.perf_counter() - start
    pred = model.predict(data.texts[test])
    if model_dir is not None:
        model.save(model_dir)
    return {
        "dataset": name,
        "accuracy": float(accuracy_score(data.labels[test], pred)),
        "macro_f1": float(f1_score(data.labels[test], pred, average="macro")),
        "n_test": int(len(test)),
        "n_train": int(len(train)),
        "positive_share_test": float(data.labels[test].mean()),
        "dropped": data.dropped,
        "seed": seed,
        "fit_seconds": round(fit_s, 2),
    }
