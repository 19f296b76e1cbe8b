"""The privacy endpoints over HTTP: erasure with refit and hot swap, export, expiry, the audit log, roles;
and a pseudonymised service that still answers by the shop's own user ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import ADMIN, make_app


def _heavy_user(client: Any) -> str:
    st = client.app.state.tuijian
    counts = st.store.events_frame()["user"].value_counts()
    return str(counts.index[0])


def test_delete_user_erases_data_and_model_influence(client: Any) -> None:
    st = client.app.state.tuijian
    user = _heavy_user(client)
    served_before = st.engine.version
    assert st.engine.snapshot.user_index(user) >= 0
    rec = client.get(f"/v1/users/{user}/recommendations", params={"k": 5})
    assert rec.status_code == 200 and rec.json()["source"] != "popular"
    st.impressions.flush()

    exported = client.get(f"/v1/users/{user}/export")
    assert exported.status_code == 200 and len(exported.json()["events"]) > 100
    assert len(exported.json()["served_lists"]) == 1

    r = client.delete(f"/v1/users/{user}", params={"refit": "wait"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (
        body["deleted"]["events"] == len(exported.json()["events"])
        and body["deleted"]["impression_lists"] == 1
    )
    assert body["refit"]["status"] == "done" and body["refit"]["purged"]
    # hot-swapped in this worker: the new version never saw the user
    assert st.engine.version == body["refit"]["model_version"] != served_before
    assert st.engine.snapshot.user_index(user) == -1
    assert st.store.user_events(user).empty
    assert client.get(f"/v1/users/{user}/export").status_code == 404
    assert client.delete(f"/v1/users/{user}").status_code == 404
    versions = client.get("/v1/admin/models").json()["versions"]
    assert [v["metrics"]["label"] for v in versions] == [body["refit"]["model_version"]]

    audit = client.get("/v1/admin/audit", params={"limit": 5}).json()["entries"]
    actions = [(e["action"], e["actor"]) for e in audit]
    assert actions[:4] == [
        ("refit", "admin-key"),
        ("model_purge", "admin-key"),
        ("model_activate", "system"),
        ("user_delete", "admin-key"),
    ]
    export = client.get("/v1/admin/audit", params={"action": "user_export"}).json()["entries"]
    assert [(e["actor"], e["target"]) for e in export] == [("admin-key", user)]


def test_delete_in_background_answers_202_then_swaps(client: Any) -> None:
    import time

    st = client.app.state.tuijian
    user = _heavy_user(client)
    r = client.delete(f"/v1/users/{user}")
    assert r.status_code == 202 and r.json()["refit"] == {"status": "started"}
    deadline = time.monotonic() + 120
    while st.engine.snapshot.user_index(user) >= 0:
        assert time.monotonic() < deadline, "the refit did not swap in"
        time.sleep(0.2)
    deadline = time.monotonic() + 30
    while not client.get("/v1/admin/audit", params={"action": "refit"}).json()["entries"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_privacy_routes_need_the_admin_role(client: Any) -> None:
    st = client.app.state.tuijian
    _, read_key = st.store.create_api_key("read", "shop")
    _, ingest_key = st.store.create_api_key("ingest", "feed")
    calls = [
        ("DELETE", "/v1/users/12346"),
        ("GET", "/v1/users/12346/export"),
        ("GET", "/v1/admin/audit"),
        ("POST", "/v1/admin/privacy/expire?days=10"),
    ]
    for method, path in calls:
        assert client.request(method, path, headers={"X-API-Key": ""}).status_code == 401
        for key in (read_key, ingest_key):
            assert client.request(method, path, headers={"X-API-Key": key}).status_code == 403, (method, path)
    assert st.store.count_events() > 0 and not st.store.audit_entries(action="user_delete")
    assert client.get("/v1/admin/audit", params={"limit": 0}).status_code == 422
    assert client.delete("/v1/users/" + "x" * 129).status_code == 422
    assert client.delete("/v1/users/u1", params={"refit": "never"}).status_code == 422


def test_expire_route(client: Any) -> None:
    st = client.app.state.tuijian
    n = st.store.count_events()
    r = client.post("/v1/admin/privacy/expire")
    assert r.status_code == 400 and "TUIJIAN_RETENTION_DAYS" in r.json()["detail"]
    r = client.post("/v1/admin/privacy/expire", params={"days": 36_500, "refit": "skip"})
    assert r.status_code == 200 and r.json()["deleted"]["events"] == 0 and st.store.count_events() == n


def test_pseudonymised_service_answers_by_the_shops_ids(
    demo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With TUIJIAN_PSEUDONYM_KEY, ids are stored hashed, yet the API takes the shop's ids everywhere."""
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    monkeypatch.setenv("TUIJIAN_PSEUDONYM_KEY", "k" * 40)
    shopper = str(demo.events["user"].value_counts().index[5])
    fresh = tmp_path / "pseudo-home"
    fresh.mkdir()
    with TestClient(make_app(fresh)) as c:  # an empty database: bootstraps the demo data, pseudonymised
        c.headers["X-API-Key"] = ADMIN
        st = c.app.state.tuijian
        with st.store.engine.connect() as conn:
            stored = {r[0] for r in conn.execute(text("SELECT DISTINCT user_id FROM events"))}
        assert all(u.startswith("ps_") for u in stored) and shopper not in stored
        assert st.store.user_key(shopper) in stored

        known = c.get(f"/v1/users/{shopper}/recommendations", params={"k": 5}).json()
        assert known["user"] == shopper and known["source"] == "history"
        r = c.post(
            "/v1/events",
            json={"user": "new-shopper", "item": known["items"][0]["item_id"], "kind": "purchase"},
        )
        assert r.status_code == 200
        fresh_user = c.get("/v1/users/new-shopper/recommendations", params={"k": 5}).json()
        assert fresh_user["source"] == "history"  # their new event, found under the same pseudonym
        assert c.get(f"/v1/users/{shopper}/export").json()["stored_id"] == st.store.user_key(shopper)
        assert c.delete(f"/v1/users/{shopper}", params={"refit": "skip"}).status_code == 200
        with st.store.engine.connect() as conn:
            stored = {r[0] for r in conn.execute(text("SELECT DISTINCT user_id FROM events"))}
        assert st.store.user_key(shopper) not in stored and st.store.user_key("new-shopper") in stored
