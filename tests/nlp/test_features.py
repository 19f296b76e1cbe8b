from __future__ import annotations

import numpy as np
import pandas as pd

from tuijian.nlp.features import (
    interest_labels,
    item_features,
    item_tag_matrix,
    numeric_item_features,
    user_interest_tags,
)

ITEMS = pd.DataFrame(
    {
        "item_id": ["85123A", "21561", "22629", "85099B"],
        "title": [
            "WHITE HANGING HEART T-LIGHT HOLDER",
            "DINOSAUR LUNCH BOX WITH CUTLERY",
            "SPACEBOY LUNCH BOX",
            "JUMBO BAG RED RETROSPOT",
        ],
        "price": [2.55, 2.55, 1.95, 2.08],
    }
)


def test_item_features_and_tag_matrix():
    reviews = pd.DataFrame(
        {"item": ["21561", "21561"], "text": ["Great quality, my son loves it", "poor quality"]}
    )
    f = item_features(ITEMS, reviews)
    assert "pattern:dinosaur" in f.loc["21561", "tags"] and "kw:dinosaur" in f.loc["21561", "tags"]
    assert f.loc["21561", "n_reviews"] == 2 and f.loc["85123A", "n_reviews"] == 0
    assert f.loc["21561", "aspect_quality"] == 0.0  # one praise, one complaint
    m, names = item_tag_matrix(f, ["21561", "missing", "22629"])
    assert m.shape == (3, len(names)) and m[1].nnz == 0
    assert np.isclose((m[0].multiply(m[0])).sum(), 1.0)
    assert (m[0] @ m[2].T).toarray()[0, 0] > 0  # both lunch boxes share tags
    num = numeric_item_features(f)
    assert {"nlp_sentiment", "nlp_aspect_quality", "nlp_pack_count"} <= set(num.columns)


def test_user_interest_tags_weight_purchases_over_views():
    f = item_features(ITEMS)
    events = pd.DataFrame(
        {
            "user": ["u1", "u1", "u1"],
            "item": ["21561", "22629", "85123A"],
            "kind": ["purchase", "purchase", "view"],
            "text": [None, None, None],
        }
    )
    tags = user_interest_tags(events, f, k=5, include_keywords=False)["u1"]
    top = [t for t, _ in tags]
    assert top[0] == "product_type:lunch box"
    assert abs(sum(w for _, w in tags) - 1.0) < 1e-9
    assert "lunch box" in interest_labels(tags)
