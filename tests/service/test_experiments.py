"""A/B experiments through a real HTTP server: create, route traffic, split and stickiness, feedback, report, stop."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.service.conftest import ADMIN, LiveServer
from tuijian.store import open_store


def _users(live: LiveServer, n: int) -> list[str]:
    from tests.service.conftest import make_settings

    store = open_store(make_settings(live.home).resolved_database_url)
    try:
        users = store.events_frame()["user"].drop_duplicates().tolist()
    finally:
        store.close()
    return [str(u) for u in users[:n]]


@pytest.fixture
def server(home: Any) -> Any:
    from tests.service.conftest import make_options, make_settings
    from tuijian.service.app import create_app

    with LiveServer(create_app(make_settings(home), make_options())) as live:
        live.home = home
        yield live


SPEC = {
    "name": "fallback vs model",
    "variants": [
        {"name": "control", "weight": 1},
        {"name": "popular", "weight": 1, "strategy": "fallback"},
    ],
    "primary_metric": "click_rate",
    "planned_users": 60,
    "looks": 2,
}


def test_experiment_routes_traffic_and_reports(server: Any) -> None:
    c = httpx.Client(base_url=server.url, headers={"X-API-Key": ADMIN}, timeout=30)
    r = c.post("/v1/experiments", json=SPEC)
    assert r.status_code == 201, r.text
    exp = r.json()
    assert exp["status"] == "running" and "salt" not in exp
    eid = exp["id"]
    # a second running experiment is refused with the reason
    r2 = c.post("/v1/experiments", json={**SPEC, "name": "other"})
    assert r2.status_code == 400 and eid in r2.json()["detail"]

    users = _users(server, 300)
    assert len(users) == 300
    served: dict[str, str] = {}
    feedback = []
    for i, u in enumerate(users):
        body = c.get(f"/v1/users/{u}/recommendations", params={"k": 5}).json()
        assert body["experiment"]["id"] == eid
        variant = body["experiment"]["variant"]
        served[u] = variant
        if variant == "popular":
            assert body["source"] == "fallback"
            assert all(it["reasons"] != ["trending"] for it in body["items"])
        else:
            assert body["source"] != "fallback"
        # feedback as it happens: every "popular" user clicks, one in five control users does; a few buy
        rid, item = body["request_id"], body["items"][0]["item_id"]
        rows = []
        if variant == "popular" or i % 5 == 0:
            rows.append({"request_id": rid, "item": item, "event": "click", "user": u, "position": 0})
        if i % 7 == 0:
            rows.append({"request_id": rid, "item": item, "event": "purchase", "user": u, "position": 0})
        if rows:
            assert c.post("/v1/feedback", json={"feedback": rows}).status_code == 200
            feedback += rows
    # split: each variant gets 150 +- 4 sd (sd = sqrt(300 * 0.25) = 8.7)
    n_popular = sum(v == "popular" for v in served.values())
    assert 115 <= n_popular <= 185
    # sticky: a second request and the assign endpoint give the same variant
    for u in users[:40]:
        again = c.get(f"/v1/users/{u}/recommendations", params={"k": 5}).json()
        assert again["experiment"]["variant"] == served[u]
        assert c.get(f"/v1/experiments/{eid}/assign", params={"user": u}).json()["variant"] == served[u]

    time.sleep(1.0)  # exposures and served lists are written in the background (0.25 s batches)

    rep = c.get(f"/v1/experiments/{eid}/report", params={"bootstrap": 300}).json()
    by = {v["variant"]: v for v in rep["variants"]}
    assert by["popular"]["users"] == n_popular and by["control"]["users"] == 300 - n_popular
    assert by["popular"]["click_rate"] == 1.0
    assert 0.1 < by["control"]["click_rate"] < 0.3
    assert rep["srm"]["mismatch"] is False
    click = next(x for x in rep["comparisons"] if x["metric"] == "click_rate")
    assert click["primary"] and click["significant"] and click["p_value"] < 1e-6
    assert click["ci_low"] > 0.5 and click["bootstrap_ci"][0] > 0.5
    ctr = next(x for x in rep["comparisons"] if x["metric"] == "ctr")
    assert ctr["treatment"] > ctr["control"]
    revenue = next(x for x in rep["comparisons"] if x["metric"] == "revenue_per_user")
    assert revenue["test"] == "welch_t"
    assert by["control"]["purchases"] + by["popular"]["purchases"] == sum(
        f["event"] == "purchase" for f in feedback
    )
    seq = rep["sequential"]
    assert seq["looks"][0]["reached"] and seq["decision"] == "stop"
    assert seq["winner"]["variant"] == "popular" and seq["winner"]["direction"] == "better"
    assert rep["exposures"] == 340

    # stop: the users go back to the default serving, with no experiment field
    assert c.post(f"/v1/experiments/{eid}/stop").json()["status"] == "stopped"
    after = c.get(f"/v1/users/{users[0]}/recommendations").json()
    assert "experiment" not in after
    listed = c.get("/v1/experiments").json()["experiments"]
    assert [e["id"] for e in listed] == [eid] and listed[0]["stopped_at"]


def test_experiment_bad_input_is_a_clear_4xx(server: Any) -> None:
    c = httpx.Client(base_url=server.url, headers={"X-API-Key": ADMIN}, timeout=30)
    cases = [
        ({"name": "x", "variants": [{"name": "a"}]}, "variants must be a list of 2 to 10"),
        ({"name": "x", "variants": [{"name": "a"}, {"name": "a"}]}, "unique"),
        (
            {"name": "x", "variants": [{"name": "a"}, {"name": "b", "weight": -1}]},
            "weight must be a positive",
        ),
        (
            {"name": "x", "variants": [{"name": "a"}, {"name": "b", "strategy": "magic"}]},
            "strategy must be one of",
        ),
        (
            {"name": "x", "variants": [{"name": "a"}, {"name": "b", "model_version": "nope:1"}]},
            "not a stored version",
        ),
        (
            {"name": "x", "variants": [{"name": "a"}, {"name": "b", "config": {"k": 3}}]},
            "unknown setting 'k'",
        ),
        ({"name": "x", "variants": [{"name": "a"}, {"name": "b"}], "traffic": 2}, "traffic must be a share"),
        ({"name": "x", "variants": [{"name": "a"}, {"name": "b"}], "colour": 1}, "unknown experiment field"),
    ]
    for spec, message in cases:
        r = c.post("/v1/experiments", json=spec)
        assert r.status_code == 400, (spec, r.text)
        assert message in r.json()["detail"]
    assert c.post("/v1/experiments", content=b"{not json").status_code == 422
    assert c.get("/v1/experiments/exp-nope").status_code == 404
    assert c.get("/v1/experiments/exp-nope/report").status_code == 404
    assert c.get("/v1/experiments/sample-size", params={"baseline": 2}).status_code == 422
    size = c.get("/v1/experiments/sample-size", params={"baseline": 0.05, "relative_lift": 0.1}).json()
    assert size["users_per_variant"] == 31234 and size["sequential_users_per_variant"] > 31234
    # a model-version variant: the served version, named explicitly, serves its arm
    version = c.get("/ready").json()["model"]
    spec = {
        "name": "v",
        "variants": [
            {"name": "a"},
            {"name": "b", "model_version": version, "config": {"exclude_purchased": False}},
        ],
    }
    r = c.post("/v1/experiments", json=spec)
    assert r.status_code == 201, r.text
    body = c.get("/v1/users/x-new-user/recommendations").json()
    assert body["experiment"]["variant"] in ("a", "b") and body["model_version"] == version


def test_strategy_variant_serves_the_bandits_strategy(server: Any) -> None:
    """A ``sequential`` variant answers with the live bandit's strategy code on the user's own query."""
    from tuijian.service.bandit_strategies import Strategies
    from tuijian.service.engine import Filters

    c = httpx.Client(base_url=server.url, headers={"X-API-Key": ADMIN}, timeout=30)
    spec = {
        "name": "seq",
        "variants": [{"name": "a", "weight": 1e-9}, {"name": "b", "weight": 1, "strategy": "sequential"}],
    }
    assert c.post("/v1/experiments", json=spec).status_code == 201
    engine = server.server.config.app.state.tuijian.engine
    checked = 0
    for user in _users(server, 12):
        body = c.get(f"/v1/users/{user}/recommendations", params={"k": 5}).json()
        if body["experiment"]["variant"] != "b":
            continue
        assert body["source"] == "sequential"
        snap, query = engine.user_query(user, 5, Filters())
        want = [str(snap.item_ids[i]) for i, _, _ in Strategies().rank(snap, "sequential", query, 5)]
        assert [it["item_id"] for it in body["items"]] == want
        if checked == 0:  # explain=true: the same list, each item explained by the strategy's own chain
            ex = c.get(f"/v1/users/{user}/recommendations", params={"k": 5, "explain": "true"}).json()
            assert [it["item_id"] for it in ex["items"]] == want
            assert all(it["reasons"] and it["sentence"] for it in ex["items"]), ex
        checked += 1
    assert checked >= 10
