"""Recommendation API on the Online Retail demo: filters, exclusions, reasons, similar, session, trending, cold start."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def buyer() -> dict[str, Any]:
    """A demo customer with many purchases, and what they bought."""
    from tuijian.data.datasets import load_dataset

    ev = load_dataset("online-retail-demo").events
    counts = ev.groupby("user")["item"].nunique().sort_values(ascending=False)
    user = str(counts.index[len(counts) // 4])
    return {"user": user, "bought": set(ev.loc[ev["user"] == user, "item"].astype(str))}


def test_user_recommendations_shape_and_exclusions(client: Any, buyer: dict[str, Any]) -> None:
    r = client.get(f"/v1/users/{buyer['user']}/recommendations", params={"k": 10})
    assert r.status_code == 200
    body = r.json()
    assert body["model_version"].startswith("item-knn:v") and len(body["request_id"]) >= 8
    assert r.headers["x-request-id"] == body["request_id"]
    assert body["source"] == "history" and len(body["items"]) == 10
    ids = [e["item_id"] for e in body["items"]]
    assert len(set(ids)) == 10 and not set(ids) & buyer["bought"]  # purchased items excluded by default
    scores = [e["score"] for e in body["items"]]
    assert scores == sorted(scores, reverse=True)
    for e in body["items"]:
        assert e["reasons"] and e["reasons"][0].startswith("similar_to:")
        assert e["reasons"][0].split(":", 1)[1] in buyer["bought"]  # the reason is an item they bought


def test_repeats_allowed(client: Any, buyer: dict[str, Any]) -> None:
    body = client.get(
        f"/v1/users/{buyer['user']}/recommendations", params={"k": 50, "exclude_purchased": "false"}
    ).json()
    repeats = [e for e in body["items"] if e["item_id"] in buyer["bought"]]
    assert repeats and all("repeat" in e["reasons"] for e in repeats)


def test_category_and_price_filters(client: Any, buyer: dict[str, Any]) -> None:
    url = f"/v1/users/{buyer['user']}/recommendations"
    body = client.get(url, params={"k": 8, "category": "kitchen & dining"}).json()
    assert len(body["items"]) == 8 and all("Kitchen & dining" in e["category"] for e in body["items"])
    body = client.get(url, params={"k": 8, "price_min": 1, "price_max": 3}).json()
    assert len(body["items"]) == 8 and all(1 <= e["price"] <= 3 for e in body["items"])
    body = client.get(url, params={"k": 5, "category": "Christmas", "price_max": 2}).json()
    assert all("Christmas" in e["category"] and e["price"] <= 2 for e in body["items"])


def test_bad_parameters_are_4xx_naming_them(client: Any, buyer: dict[str, Any]) -> None:
    url = f"/v1/users/{buyer['user']}/recommendations"
    r = client.get(url, params={"category": "spaceships"})
    assert r.status_code == 400 and "unknown category 'spaceships'" in r.json()["detail"]
    r = client.get(url, params={"price_min": 5, "price_max": 1})
    assert r.status_code == 400 and "price_min" in r.json()["detail"]
    r = client.get(url, params={"k": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.k"
    r = client.get(url, params={"k": "ten"})
    assert r.status_code == 422 and r.json()["errors"][0]["input"] == "ten"


def test_cold_user_falls_back_to_session_then_popular(client: Any) -> None:
    body = client.get("/v1/users/never-seen-before/recommendations", params={"k": 5}).json()
    assert body["source"] == "popular" and all(e["reasons"] == ["popular"] for e in body["items"])
    pops = [e["score"] for e in body["items"]]
    assert pops == sorted(pops, reverse=True)
    client.post(
        "/v1/events", json={"user": "someone-else", "item": "22423", "kind": "view", "session": "sess-42"}
    )
    body = client.get("/v1/users/also-new/recommendations", params={"k": 5, "session": "sess-42"}).json()
    assert body["source"] == "session" and body["items"][0]["reasons"] == ["similar_to:22423"]


def test_similar_items(client: Any) -> None:
    body = client.get("/v1/items/22423/similar", params={"k": 5}).json()
    assert body["item"] == "22423" and len(body["items"]) == 5
    assert all(e["item_id"] != "22423" and e["reasons"] == ["similar_to:22423"] for e in body["items"])
    r = client.get("/v1/items/NO-SUCH-ITEM/similar")
    assert r.status_code == 404 and "NO-SUCH-ITEM" in r.json()["detail"]


def test_session_recommendations(client: Any) -> None:
    r = client.post("/v1/sessions/recommendations", json={"items": ["22423", "85123A", "nope"], "k": 6})
    body = r.json()
    ids = [e["item_id"] for e in body["items"]]
    assert body["source"] == "session" and len(ids) == 6 and not {"22423", "85123A"} & set(ids)
    assert body["unknown_items"] == ["nope"]
    assert all(e["reasons"][0] in ("similar_to:22423", "similar_to:85123A") for e in body["items"])
    r = client.post("/v1/sessions/recommendations", json={"items": [], "k": 3})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.items"


def test_trending(client: Any) -> None:
    body = client.get("/v1/trending", params={"k": 5}).json()
    assert len(body["items"]) == 5 and body["items"][0]["reasons"] == ["trending"]
    counts = [e["score"] for e in body["items"] if e["reasons"] == ["trending"]]
    assert counts == sorted(counts, reverse=True)
