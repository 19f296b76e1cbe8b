"""NLP features that feed the recommenders.

* :func:`item_features` — per item: keywords (corpus TF-IDF over the catalogue), title attributes, flat
  ``kind:value`` tags, and (when reviews are given) review count, mean sentiment and per-aspect scores.
* :func:`item_tag_matrix` — a sparse items x tags matrix (L2-normalised rows) for content vectors.
* :func:`numeric_item_features` — a dense frame of ranker features (sentiment, aspects, attribute flags).
* :func:`user_interest_tags` — weighted interest tags per user from their history (and their review texts).

The hybrid ranker consumes these; see ``docs/nlp.md`` for the contract.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from tuijian.exceptions import SchemaError
from tuijian.nlp.aspects import aspect_scores
from tuijian.nlp.attributes import extract_attributes
from tuijian.nlp.keywords import TfidfKeywords

ASPECTS: tuple[str, ...] = (
    "fit",
    "size",
    "quality",
    "price",
    "comfort",
    "fabric",
    "colour",
    "look",
    "delivery",
    "service",
    "performance",
)


def _text(row: Mapping[str, Any], fields: Iterable[str]) -> str:
    parts = []
    for f in fields:
        v = row.get(f)
        if isinstance(v, str) and v.strip():
            parts.append(v)
    return " ".join(parts)


def item_features(
    items: pd.DataFrame,
    reviews: pd.DataFrame | None = None,
    *,
    classifier: Any | None = None,
    n_keywords: int = 5,
    review_item_col: str = "item",
    review_text_col: str = "text",
) -> pd.DataFrame:
    """One row per catalogue item (index ``item_id``) with columns ``keywords``, ``attributes`` (dict),
    ``tags`` (list of ``kind:value`` and ``kw:token``), and, with ``reviews``, ``n_reviews``,
    ``mean_sentiment`` (classifier probability, or NaN without a classifier) and ``aspect_<name>`` in [-1, 1].
    """
    if "item_id" not in items.columns:
        raise SchemaError(f"items needs an 'item_id' column; got {list(items.columns)}")
    frame = items.copy()
    frame["item_id"] = frame["item_id"].astype(str)
    fields = [c for c in ("title", "description", "category") if c in frame.columns]
    records = frame.to_dict("records")
    texts = [_text(r, fields) for r in records]
    extractor = TfidfKeywords(max_df=0.2).fit(texts)
    rows = []
    for rec, text in zip(records, texts, strict=True):
        title = rec.get("title") if isinstance(rec.get("title"), str) else ""
        brand = rec.get("brand") if isinstance(rec.get("brand"), str) else None
        attrs = extract_attributes(title or "", brand=brand)
        keywords = [t for t, _ in extractor.keywords(text, n_keywords)] if text else []
        rows.append(
            {
                "item_id": rec["item_id"],
                "keywords": keywords,
                "attributes": attrs.to_dict(),
                "tags": attrs.tags() + [f"kw:{k}" for k in keywords],
            }
        )
    out = pd.DataFrame(rows).set_index("item_id")
    if reviews is not None:
        out = out.join(
            review_features(
                reviews, classifier=classifier, item_col=review_item_col, text_col=review_text_col
            ),
            how="left",
        )
        out["n_reviews"] = out["n_reviews"].fillna(0).astype(int)
    return out


def review_features(
    reviews: pd.DataFrame, *, classifier: Any | None = None, item_col: str = "item", text_col: str = "text"
) -> pd.DataFrame:
    """Per item: ``n_reviews``, ``mean_sentiment`` and ``aspect_<name>`` scores from its review texts."""
    for col in (item_col, text_col):
        if col not in reviews.columns:
            raise SchemaError(f"reviews needs column {col!r}; got {list(reviews.columns)}")
    frame = reviews[[item_col, text_col]].copy()
    frame[text_col] = frame[text_col].fillna("").astype(str)
    frame = frame[frame[text_col].str.strip() != ""]
    frame[item_col] = frame[item_col].astype(str)
    if classifier is not None and len(frame):
        frame["p"] = classifier.predict_proba(frame[text_col].tolist())
    else:
        frame["p"] = np.nan
    rows = []
    for item, group in frame.groupby(item_col, sort=False):
        scores = aspect_scores(group[text_col].tolist())
        row = {"item_id": item, "n_reviews": len(group), "mean_sentiment": float(group["p"].mean())}
        for a in ASPECTS:
            row[f"aspect_{a}"] = scores[a]["score"] if a in scores else 0.0
        rows.append(row)
    cols = ["item_id", "n_reviews", "mean_sentiment", *[f"aspect_{a}" for a in ASPECTS]]
    return pd.DataFrame(rows, columns=cols).set_index("item_id")


def item_tag_matrix(features: pd.DataFrame, item_ids: Iterable[str] | None = None) -> tuple[Any, list[str]]:
    """Sparse ``items x tags`` matrix (rows L2-normalised) in the order of ``item_ids`` (default: the frame's
    index), and the tag names of its columns. Items without features get an empty row."""
    import scipy.sparse as sp

    ids = [str(i) for i in (item_ids if item_ids is not None else features.index)]
    tag_lists = features["tags"].to_dict()
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for r, item in enumerate(ids):
        for tag in tag_lists.get(item, []) or []:
            rows.append(r)
            cols.append(vocab.setdefault(tag, len(vocab)))
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(ids), len(vocab)))
    m.sum_duplicates()
    m.data[:] = 1.0
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    m = sp.diags(1.0 / norms) @ m
    names = [""] * len(vocab)
    for t, i in vocab.items():
        names[i] = t
    return m.tocsr(), names


def numeric_item_features(features: pd.DataFrame) -> pd.DataFrame:
    """Dense numeric ranker features per item: review count (log1p), mean sentiment, aspect scores,
    pack count and the number of attributes found."""
    out = pd.DataFrame(index=features.index)
    if "n_reviews" in features:
        out["nlp_log_reviews"] = np.log1p(features["n_reviews"].fillna(0).astype(float))
        out["nlp_sentiment"] = features["mean_sentiment"].astype(float).fillna(0.5)
        for a in ASPECTS:
            out[f"nlp_aspect_{a}"] = features[f"aspect_{a}"].astype(float).fillna(0.0)
    out["nlp_pack_count"] = [float(a.get("pack_count") or 1) for a in features["attributes"]]
    out["nlp_n_attributes"] = [
        float(sum(bool(t) and not t.startswith("kw:") for t in tags)) for tags in features["tags"]
    ]
    return out


def user_interest_tags(
    events: pd.DataFrame,
    features: pd.DataFrame,
    *,
    k: int = 10,
    weights: Mapping[str, float] | None = None,
    include_keywords: bool = True,
) -> dict[str, list[tuple[str, float]]]:
    """Interest tags per user: every item the user touched contributes its tags with the event's weight
    (purchase > cart > click > view by default), review texts contribute their own attributes/keywords; the
    ``k`` best tags per user with weights normalised to sum to 1."""
    from tuijian.data.schema import DEFAULT_EVENT_WEIGHTS

    for col in ("user", "item"):
        if col not in events.columns:
            raise SchemaError(f"events needs column {col!r}; got {list(events.columns)}")
    w = dict(DEFAULT_EVENT_WEIGHTS if weights is None else weights)
    tag_lists = features["tags"].to_dict()
    # tag weights are floats, which typing's Counter (int counts) does not allow
    totals: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
    kinds = events["kind"].astype(str) if "kind" in events else pd.Series("purchase", index=events.index)
    texts = events["text"] if "text" in events else pd.Series(None, index=events.index, dtype=object)
    for user, item, kind, text in zip(
        events["user"].astype(str), events["item"].astype(str), kinds, texts, strict=True
    ):
        weight = float(w.get(kind, 1.0))
        for tag in tag_lists.get(item, []) or []:
            if include_keywords or not tag.startswith("kw:"):
                totals[user][tag] += weight
        if isinstance(text, str) and text.strip():
            for tag in extract_attributes(text).tags():
                if not tag.startswith("product_type") and not tag.startswith("pack_count"):
                    totals[user][tag] += 0.5 * weight
    out: dict[str, list[tuple[str, float]]] = {}
    for user, counter in totals.items():
        best = heapq.nlargest(k, counter.items(), key=itemgetter(1))  # what Counter.most_common(k) does
        s = sum(v for _, v in best) or 1.0
        out[user] = [(t, v / s) for t, v in best]
    return out


def interest_labels(tags: Iterable[tuple[str, float]] | Iterable[str]) -> list[str]:
    """Human-readable interest words from ``kind:value`` tags (``"pattern:dinosaur"`` -> ``"dinosaur"``)."""
    out = []
    for t in tags:
        tag = t[0] if isinstance(t, tuple) else t
        value = tag.split(":", 1)[-1]
        if value and value not in out and not value.isdigit():
            out.append(value)
    return out
