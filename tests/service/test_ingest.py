"""Ingestion API: validation naming rows and fields, batch limits, idempotency, durability, items, users, feedback."""

from __future__ import annotations

from typing import Any

from tuijian.store import open_store


def _ev(i: int, **kw: Any) -> dict[str, Any]:
    return {"event_id": f"ing-{i}", "user": "ing-user", "item": "85123A", "kind": "view", **kw}


def test_single_and_batch_events_are_stored(client: Any, home: Any) -> None:
    r = client.post("/v1/events", json=_ev(0, kind="purchase", value=2))
    assert r.status_code == 200 and r.json() == {"received": 1, "inserted": 1, "duplicates": 0}
    r = client.post("/v1/events", json={"events": [_ev(i) for i in range(1, 501)]})
    assert r.json() == {"received": 500, "inserted": 500, "duplicates": 0}
    r = client.post("/v1/events", json=[_ev(501), _ev(502)])  # a bare list works too
    assert r.json()["inserted"] == 2
    # durable: a separate connection sees every acknowledged row
    store = open_store(f"sqlite:///{home / 'tuijian.sqlite'}")
    df = store.user_events("ing-user", limit=1000)
    assert len(df) == 503 and df["kind"].iloc[0] == "purchase" and df["value"].iloc[0] == 2.0
    store.close()


def test_idempotent_by_event_id(client: Any) -> None:
    batch = {"events": [_ev(i) for i in range(10)]}
    assert client.post("/v1/events", json=batch).json()["inserted"] == 10
    r = client.post("/v1/events", json={"events": [_ev(i) for i in range(5, 15)]})
    assert r.json() == {"received": 10, "inserted": 5, "duplicates": 5}


def test_bad_rows_are_named_and_nothing_is_written(client: Any) -> None:
    rows = [
        _ev(100),
        {"user": "u", "item": "i", "kind": "teleport"},
        {"user": "u", "item": "i", "kind": "view", "value": "x"},
        {"item": "i", "kind": "view"},
        {"user": "u", "kind": "view"},
        _ev(101, ts="not a date"),
        _ev(102, colour="red"),
    ]
    r = client.post("/v1/events", json={"events": rows})
    assert r.status_code == 422
    body = r.json()
    bad = {(e["row"], e["field"]) for e in body["errors"]}
    assert {(1, "kind"), (2, "value"), (3, "user"), (5, "ts"), (6, "colour")} <= bad
    assert any(e["row"] == 4 and "item is required" in e["error"] for e in body["errors"])
    assert 0 not in {e["row"] for e in body["errors"]}
    assert "6 bad event row(s)" in body["detail"] and body["request_id"]
    # nothing from the rejected batch was written: resending the good row inserts it
    assert client.post("/v1/events", json=_ev(100)).json()["inserted"] == 1


def test_batch_limits_and_malformed_bodies(client: Any) -> None:
    r = client.post("/v1/events", json={"events": [_ev(i) for i in range(10_001)]})
    assert r.status_code == 413 and "10001" in r.json()["detail"] and "10000" in r.json()["detail"]
    r = client.post("/v1/events", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]
    assert client.post("/v1/events", json={"events": []}).status_code == 422
    r = client.post("/v1/events", json={"events": [1, _ev(1)]})
    assert r.status_code == 422 and r.json()["errors"][0]["row"] == 0


def test_ten_thousand_events_in_one_request(client: Any) -> None:
    r = client.post(
        "/v1/events", json={"events": [_ev(20_000 + i, user=f"bulk{i % 97}") for i in range(10_000)]}
    )
    assert r.status_code == 200 and r.json()["inserted"] == 10_000


def test_items_and_users(client: Any, home: Any) -> None:
    r = client.post(
        "/v1/items",
        json={
            "items": [
                {"item_id": "NEW1", "title": "Tea pot", "price": 12.5, "category": ["Kitchen & dining"]}
            ]
        },
    )
    assert r.json() == {"received": 1, "written": 1}
    r = client.post("/v1/items", json={"items": [{"item_id": "NEW2", "price": -3}]})
    assert r.status_code == 422 and r.json()["errors"][0] == {
        "row": 0,
        "field": "price",
        "error": r.json()["errors"][0]["error"],
        "input": -3,
    }
    assert (
        client.post("/v1/users", json={"user_id": "new-user", "attributes": {"country": "UK"}}).json()[
            "written"
        ]
        == 1
    )
    store = open_store(f"sqlite:///{home / 'tuijian.sqlite'}")
    assert "NEW1" in set(store.items_frame()["item_id"])
    store.close()


def test_feedback_is_logged_against_request_id(client: Any, home: Any) -> None:
    rec = client.get("/v1/users/12347/recommendations?k=5").json()
    rid, item = rec["request_id"], rec["items"][1]["item_id"]
    r = client.post(
        "/v1/feedback",
        json={
            "feedback": [
                {"request_id": rid, "item": item, "event": "click", "position": 1},
                {"request_id": rid, "item": item, "event": "purchase"},
            ]
        },
    )
    assert r.json() == {"received": 2, "written": 2}
    bad = client.post("/v1/feedback", json={"request_id": rid, "item": item, "event": "like"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "event"
    client.app.state.tuijian.impressions.flush()
    store = open_store(f"sqlite:///{home / 'tuijian.sqlite'}")
    fb = store.feedback_frame(rid)
    store.close()
    # impressions are written in the background, so they may land after the click
    imp = fb[fb["event"] == "impression"].sort_values("position")
    assert imp["item"].tolist() == [e["item_id"] for e in rec["items"]] and imp["position"].tolist() == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert set(imp["model_version"]) == {rec["model_version"]}
    assert sorted(fb.loc[fb["event"] != "impression", "event"]) == ["click", "purchase"]
