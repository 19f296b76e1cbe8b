"""Sentiment accuracy on the held-out stratified 20 % splits, side by side with SnowNLP (zh) and VADER (en).

    nice -n 10 .venv/bin/python bench/sentiment.py [--json bench/sentiment.json]

Tuijian's classifier trains on the full 80 % training part; SnowNLP and VADER are used as shipped (no training)
and scored on exactly the same test rows (SnowNLP: positive if sentiments >= 0.5; VADER: compound >= 0.05).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from tuijian.nlp.sentiment import SentimentClassifier, labelled_reviews, stratified_split


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": round(float(accuracy_score(y, p)), 4),
        "macro_f1": round(float(f1_score(y, p, average="macro")), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rows = []
    for name in ("chinese-shopping-reviews", "womens-clothing-reviews"):
        data = labelled_reviews(name)
        train, test = stratified_split(data.labels, 0.2, args.seed)
        y = data.labels[test]
        t = time.perf_counter()
        model = SentimentClassifier(language=data.language).fit(data.texts[train], data.labels[train])
        fit_s = time.perf_counter() - t
        rows.append(
            {
                "dataset": name,
                "method": "tuijian tfidf+lr",
                "n_train": len(train),
                "n_test": len(test),
                **_scores(y, model.predict(data.texts[test])),
                "fit_s": round(fit_s, 1),
            }
        )
        t = time.perf_counter()
        if data.language == "zh":
            from snownlp import SnowNLP

            pred = np.array([int(SnowNLP(s).sentiments >= 0.5) for s in data.texts[test]])
            method = "SnowNLP 0.12.3"
        else:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            vader = SentimentIntensityAnalyzer()
            pred = np.array([int(vader.polarity_scores(s)["compound"] >= 0.05) for s in data.texts[test]])
            method = "VADER 3.3.2"
        rows.append(
            {
                "dataset": name,
                "method": method,
                "n_train": 0,
                "n_test": len(test),
                **_scores(y, pred),
                "fit_s": round(time.perf_counter() - t, 1),
            }
        )
        print(json.dumps(rows[-2]), json.dumps(rows[-1]), sep="\n", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
