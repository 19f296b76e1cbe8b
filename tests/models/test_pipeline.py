"""The serving pipeline: model list, evidence floor, fallback fill, reason codes, business rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.knn import ItemKNN
from tuijian.models.pipeline import Pipeline
from tuijian.models.popularity import Popularity


def shop() -> Interactions:
    """Items 0-1-2 are bought together, 3-4 together; 5 is popular with everyone else; 6 nobody bought."""
    rows = []
    for u in range(6):
        rows += [(f"a{u}", "i0", "purchase"), (f"a{u}", "i1", "view"), (f"a{u}", "i2", "view")]
        rows += [(f"b{u}", "i3", "purchase"), (f"b{u}", "i4", "purchase")]
    rows += [(f"c{u}", "i5", "purchase") for u in range(9)] + [("z", "i6", "view")]
    ev = pd.DataFrame(rows, columns=["user", "item", "kind"]).assign(ts=np.arange(len(rows)))
    return Interactions.from_events(ev)


def test_reasons_name_the_most_similar_history_item_and_repeats() -> None:
    inter = shop()
    pipe = Pipeline(ItemKNN().fit(inter))
    i = {iid: k for k, iid in enumerate(inter.items.ids)}
    ranked = pipe.recommend(pipe.session_query(np.array([i["i0"]])), 4)
    assert [r[0] for r in ranked[:2]] == sorted([i["i1"], i["i2"]])  # equal similarity: lowest index first
    assert all(r[2] == ["similar_to:i0"] for r in ranked[:2])
    assert [r[2] for r in ranked[2:]] == [["popular"], ["popular"]]  # no evidence left: the fallback fills
    user = inter.users.lookup(np.array(["a0"]))[0]
    again = pipe.recommend(pipe.user_query(int(user), exclude_purchased=False), 3)
    assert again[0][2][0] == "repeat" and again[0][0] == i["i0"]  # bought before, shown again, tagged


def test_a_model_without_similar_items_explains_and_finds_them_with_item_knn() -> None:
    inter = shop()
    pipe = Pipeline(Popularity().fit(inter))
    i = {iid: k for k, iid in enumerate(inter.items.ids)}
    ranked = pipe.recommend(pipe.session_query(np.array([i["i3"]])), 6)
    assert ranked[0][0] == i["i5"] and ranked[0][2] == ["personalized"]  # the model's pick, not similar
    assert [r[2] for r in ranked if r[0] == i["i4"]] == [["similar_to:i3"]]
    similar = pipe.similar(i["i3"], 2)
    assert similar[0][0] == i["i4"] and similar[0][2] == ["similar_to:i3"]


def test_filters_exclusions_and_bad_input() -> None:
    inter = shop()
    pipe = Pipeline(ItemKNN().fit(inter))
    allowed = np.zeros(inter.n_items, dtype=bool)
    allowed[[1, 4, 5]] = True
    ranked = pipe.recommend(pipe.session_query(np.array([0]), allowed=allowed), 5)
    assert {r[0] for r in ranked} <= {1, 4, 5}  # fewer than k allowed items: the list is shorter
    with pytest.raises(ConfigError, match="session items"):
        pipe.session_query(np.array([inter.n_items]))
    with pytest.raises(ConfigError, match="boolean mask"):
        pipe.session_query(np.array([0]), allowed=np.ones(3, bool))
    with pytest.raises(ConfigError, match="k must be"):
        pipe.recommend(pipe.user_query(0), 0)
