"""Sentiment on the real labelled data. Tests train on a stratified subset (speed); the acceptance figures on the
full training split come from ``bench/sentiment.py`` and ``tuijian nlp evaluate-sentiment``."""

from __future__ import annotations

import numpy as np
import pytest

from tuijian.exceptions import ConfigError, ModelNotFoundError, NotFittedError
from tuijian.nlp.sentiment import SentimentClassifier, evaluate_sentiment, labelled_reviews, stratified_split


@pytest.fixture(scope="module")
def english_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("sent") / "en"
    return evaluate_sentiment("womens-clothing-reviews", max_train=3000, model_dir=path), path


def test_english_held_out_accuracy_on_subset(english_run):
    metrics, _ = english_run
    assert metrics["n_test"] == 3964 and metrics["n_train"] == 3000
    assert metrics["accuracy"] >= 0.90 and metrics["macro_f1"] >= 0.75


def test_chinese_held_out_accuracy_on_subset():
    metrics = evaluate_sentiment("chinese-shopping-reviews", max_train=4000, max_test=3000)
    assert metrics["n_test"] == 3000
    assert metrics["accuracy"] >= 0.88 and metrics["macro_f1"] >= 0.88


def test_save_load_round_trip_without_pickle(english_run):
    _, path = english_run
    model = SentimentClassifier.load(path)
    texts = ["I love this dress, it fits perfectly", "cheap fabric, it ripped after one wash. returned it"]
    assert model.predict(texts).tolist() == [1, 0]
    assert (path / "sentiment.json").exists() and (path / "sentiment.npz").exists()
    with np.load(path / "sentiment.npz", allow_pickle=False) as arrays:
        assert arrays["coef"].ndim == 1


def test_split_is_stratified_and_seeded():
    data = labelled_reviews("womens-clothing-reviews")
    assert data.dropped["neutral_rating"] == 2871
    a_train, a_test = stratified_split(data.labels, 0.2, 42)
    b_train, b_test = stratified_split(data.labels, 0.2, 42)
    assert np.array_equal(a_test, b_test) and not set(a_train) & set(a_test)
    assert abs(data.labels[a_test].mean() - data.labels.mean()) < 0.005


def test_errors(tmp_path):
    with pytest.raises(NotFittedError):
        SentimentClassifier().predict(["x"])
    with pytest.raises(ModelNotFoundError):
        SentimentClassifier.load(tmp_path)
    with pytest.raises(ConfigError, match="dataset"):
        labelled_reviews("imdb")
