"""``explain=true`` on the user route (issue 14): structured reasons naming the user's real history, sentences
in English and Chinese, and 422 for a language the service does not speak. Online Retail demo, item-kNN."""

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


def _explained(client: Any, user: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/v1/users/{user}/recommendations", params={"k": 10, "explain": "true", **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_reasons_name_real_items_from_the_history(client: Any, buyer: dict[str, Any]) -> None:
    plain = client.get(f"/v1/users/{buyer['user']}/recommendations", params={"k": 10}).json()
    body = _explained(client, buyer["user"])
    assert [e["item_id"] for e in body["items"]] == [e["item_id"] for e in plain["items"]]  # same ranking
    assert body["language"] == "en" and body["source"] == "history"
    named = 0
    for e, p in zip(body["items"], plain["items"], strict=True):
        assert e["reason_codes"] == p["reasons"]
        assert e["reasons"], e
        for reason in e["reasons"]:
            assert set(reason) >= {"kind", "item_ids", "weight"} and reason["weight"] > 0
        history = [r for r in e["reasons"] if r["kind"] == "history"]
        assert history, e  # item-kNN scores only from history items
        assert set(history[0]["item_ids"]) <= buyer["bought"] and history[0]["item_ids"]
        named += len(history[0]["item_ids"])
        # the code's similar_to item is the strongest term of history @ W, so it is named first
        assert history[0]["item_ids"][0] == p["reasons"][-1].split(":", 1)[1]
        assert e["sentence"].startswith("Because you bought “")
    assert named >= 10


def test_sentence_in_chinese(client: Any, buyer: dict[str, Any]) -> None:
    body = _explained(client, buyer["user"], lang="zh")
    assert body["language"] == "zh"
    for e in body["items"]:
        assert e["sentence"].startswith("因为您购买过「") and e["sentence"].endswith("。")


def test_unknown_language_is_422_naming_lang(client: Any, buyer: dict[str, Any]) -> None:
    r = client.get(f"/v1/users/{buyer['user']}/recommendations", params={"explain": "true", "lang": "fr"})
    assert r.status_code == 422
    assert "query.lang" in r.text and "en, zh" in r.text


def test_cold_user_is_explained_by_the_fallback(client: Any) -> None:
    body = _explained(client, "nobody-has-this-id")
    assert body["source"] == "popular"
    for e in body["items"]:
        assert [r["kind"] for r in e["reasons"]] == ["popular"] and e["reasons"][0]["item_ids"] == []
        assert e["sentence"] == "Popular with shoppers."


def test_storefront_shows_the_explanation(client: Any, buyer: dict[str, Any]) -> None:
    """The storefront's "recommended for you" row shows each item's sentence, in the page's language."""
    import re

    home = client.get("/", params={"lang": "en"})
    assert home.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert csrf, "no CSRF token on the storefront"
    r = client.post(
        "/shop/shopper", data={"user": buyer["user"], "csrf": csrf.group(1)}, follow_redirects=False
    )
    assert r.status_code in (302, 303), r.text
    page = client.get("/", params={"lang": "en"}).text
    assert page.count("Because you bought “") >= 5
    page_zh = client.get("/", params={"lang": "zh"}).text
    assert page_zh.count("因为您购买过「") >= 5


def test_bandit_lists_are_explained_with_their_strategy_and_flag_exploration(home: Any) -> None:
    """With the live bandit on, explain=true explains the strategy it drew (its own chain) and flags the
    lists it shows to explore with an ``exploration`` reason first."""
    from fastapi.testclient import TestClient

    from tests.service.conftest import ADMIN, make_options, make_settings
    from tuijian.data.datasets import load_dataset
    from tuijian.service.app import create_app

    settings = make_settings(home).model_copy(
        update={"bandit": True, "bandit_max_exploration": 0.5, "bandit_min_propensity": 0.05}
    )
    users = load_dataset("online-retail-demo").events["user"].astype(str).unique().tolist()[:30]
    with TestClient(create_app(settings, make_options())) as c:
        c.headers["X-API-Key"] = ADMIN
        strategies, explored = set(), 0
        for u in users:
            body = c.get(f"/v1/users/{u}/recommendations", params={"k": 5, "explain": "true"}).json()
            strategies.add(body["strategy"])
            for it in body["items"]:
                assert it["sentence"] and it["reasons"]
                assert (it["reasons"][0]["kind"] == "exploration") == body["exploration"]
                kinds = {r["kind"] for r in it["reasons"]}
                if body["strategy"] == "trending":
                    assert kinds & {"trending", "popular"}
                if body["strategy"] == "popular":
                    assert "popular" in kinds
            explored += body["exploration"]
        assert len(strategies) >= 3 and explored >= 1


def test_encoded_body_equals_the_dict_path(client: Any) -> None:
    """The route's bytes (pre-encoded catalogue parts, :func:`explanation_bytes`) parse to exactly what the
    dict path (:func:`explained_items` under the same head) gives: same items, scores, codes, reasons,
    weights, sentences; sampled users, with and without a filter, in both languages, and an unknown user."""
    import json

    import numpy as np

    from tuijian.explain.render import explained_items
    from tuijian.service.engine import Filters
    from tuijian.service.params import parse_query
    from tuijian.service.routes_recs import USER_PARAMS, explained_body

    st = client.app.state.tuijian
    snap = st.engine.snapshot
    ids = snap.model.interactions_.users.ids
    users = [str(ids[u]) for u in np.random.default_rng(0).choice(len(ids), 12, replace=False)]
    category = next(c for r in snap.catalog.records for c in (r.get("category") or []))
    for n, user in enumerate([*users, "nobody-has-this-id"]):
        for params in ({}, {"category": category}, {"price_max": "5"}):
            lang = "zh" if n % 2 else "en"
            q = parse_query({"k": "10", "explain": "true", "lang": lang, **params}, USER_PARAMS)
            got = json.loads(explained_body(st, f"r{n}", user, q))
            filters = Filters(q["category"], q["price_min"], q["price_max"])
            s, query = st.engine.user_query(user, 10, filters)
            ranked = s.pipeline.recommend(query, 10)
            want = {
                "request_id": f"r{n}",
                "model_version": s.version,
                "source": query.source,
                "user": user,
                "language": lang,
                "items": explained_items(s.pipeline, s.catalog.records, query, ranked, lang),
            }
            assert got == want


def test_the_served_model_was_warmed_for_explanations(client: Any) -> None:
    """The snapshot the service loaded ran the explanation path once before serving (``versions._warm``)."""
    snap = client.app.state.tuijian.engine.snapshot
    assert snap.info["explain_warm_seconds"] >= 0
