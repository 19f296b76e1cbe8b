"""Response bytes written directly parse to exactly what JSONResponse would send for the same dict."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tuijian.service.encode import encode
from tuijian.service.snapshot import Catalog


def _catalog() -> Catalog:
    ids = np.asarray(["a", 'quo"te', "推荐-1", "no-meta", "back\\slash"], dtype=object)
    items = pd.DataFrame(
        {
            "item_id": ["a", 'quo"te', "推荐-1", "back\\slash"],
            "title": ["Plain", 'Say "hi"\n', "连衣裙 红色", ""],
            "price": [1.5, np.nan, 199.0, 0.1 + 0.2],
            "category": [["home"], [], ["服装", "女装"], ["x", "y"]],
        }
    )
    return Catalog.build(ids, items)


def _reference(catalog: Catalog, ranked: list[tuple[int, float, list[str]]], head: dict) -> bytes:
    """What the dict path (Engine._response + JSONResponse) renders."""
    items = [{**catalog.records[i], "score": round(s, 6), "reasons": r} for i, s, r in ranked]
    return json.dumps(
        {**head, "items": items}, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode()


@pytest.mark.parametrize(
    "ranked",
    [
        [],
        [(0, 1.0, ["popular"])],
        [
            (2, 0.123456789, ["similar_to:推荐-1"]),
            (1, 3e-9, ["repeat", "similar_to:a"]),
            (4, 431.0, ["personalized"]),
        ],
        [(3, float(np.float32(0.7)), ['similar_to:quo"te']), (0, -2.5, ["trending", "new_item"])],
    ],
)
def test_encode_matches_json_dumps(ranked: list[tuple[int, float, list[str]]]) -> None:
    cat = _catalog()
    snap = SimpleNamespace(catalog=cat)
    head = {"request_id": "r-1", "model_version": "item-knn:v0001", "source": "history", "user": '用户 "7"'}
    body = encode(snap, ranked, head)  # type: ignore[arg-type]
    assert json.loads(body) == json.loads(_reference(cat, ranked, head))
    assert list(json.loads(body)) == [*head, "items"]  # same key order
    empty = encode(snap, ranked, {})  # type: ignore[arg-type]
    assert json.loads(empty) == {"items": json.loads(_reference(cat, ranked, {}))["items"]}


def test_encode_refuses_non_finite_scores() -> None:
    snap = SimpleNamespace(catalog=_catalog())
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="non-finite"):
            encode(snap, [(0, bad, ["popular"])], {"request_id": "r"})  # type: ignore[arg-type]


def test_impression_ids_are_json_literals() -> None:
    cat = _catalog()
    assert [json.loads(s) for s in cat.id_json] == [r["item_id"] for r in cat.records]
