from __future__ import annotations

import pytest

pytest.importorskip("fastapi")


@pytest.fixture(scope="module")
def client(tmp_path_factory, retail_shop):
    from fastapi.testclient import TestClient

    from tuijian.service.app import create_app
    from tuijian.service.options import ServiceOptions
    from tuijian.settings import load_settings

    home = tmp_path_factory.mktemp("svc")
    settings = load_settings(home=home, env="test", admin_key="test-admin-key", dataset="online-retail")
    app = create_app(settings, ServiceOptions(bootstrap=False, access_log=False))
    with TestClient(app) as c:
        items = retail_shop.items.reset_index(drop=True)
        keep = items[items["title"].str.contains("DINOSAUR|HEART|LUNCH", regex=True)]
        app.state.tuijian.store.add_items(
            keep[["item_id", "title", "description", "brand", "category", "price"]]
        )
        yield c


HEADERS = {"X-API-Key": "test-admin-key"}


def test_ask_needs_a_key(client):
    assert client.post("/v1/assistant/ask", json={"question": "lunch box"}).status_code == 401


def test_ask_cites_items(client):
    r = client.post(
        "/v1/assistant/ask", json={"question": "Do you sell a lunch box with dinosaurs?"}, headers=HEADERS
    )
    assert r.status_code == 200, r.text
    assert r.json()["citations"][0] == "21561"


def test_guide(client):
    r = client.post(
        "/v1/assistant/guide",
        json={"request": "A gift under £10 for a child who likes dinosaurs", "k": 3},
        headers=HEADERS,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["constraints"]["price_max"] == 10.0
    assert all(s["price"] <= 10 for s in body["suggestions"]) and body["suggestions"]


def test_item_copy_is_grounded_and_cached(client):
    r = client.get("/v1/items/21561/copy", params={"lang": "zh"}, headers=HEADERS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["grounded"] and "£" in body["text"]
    again = client.get("/v1/items/21561/copy", params={"lang": "zh"}, headers=HEADERS).json()
    assert again["cached"] and again["text"] == body["text"]


def test_item_copy_title_and_push_with_style_and_length(client):
    for task, style in (("title", "gift"), ("push", "price")):
        r = client.get(
            "/v1/items/21561/copy",
            params={"lang": "en", "task": task, "style": style, "length": "short"},
            headers=HEADERS,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["task"] == task and body["style"] == style and body["grounded"] and body["text"]
    bad = client.get("/v1/items/21561/copy", params={"task": "push", "style": "sonnet"}, headers=HEADERS)
    assert bad.status_code == 400 and "style" in bad.text
    assert client.get("/v1/items/21561/copy", params={"length": "epic"}, headers=HEADERS).status_code == 422


def test_unknown_item_is_404(client):
    assert client.get("/v1/items/NOPE/copy", headers=HEADERS).status_code == 404


def test_conversation_over_http(client):
    first = client.post("/v1/assistant/ask", json={"question": "dinosaur lunch box"}, headers=HEADERS)
    assert first.status_code == 200, first.text
    session = first.json()["session"]
    assert session and first.json()["citations"][0] == "21561"
    second = client.post(
        "/v1/assistant/ask", json={"question": "how much is it?", "session": session}, headers=HEADERS
    )
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["session"] == session and body["intent"] == "fact"
    assert body["fact"]["item"] == "21561" and body["fact"]["attribute"] == "price"
    third = client.post(
        "/v1/assistant/ask", json={"question": "它防水吗？", "session": session}, headers=HEADERS
    ).json()
    assert third["fact"]["value"] is None and "不知道" in third["text"]


def test_guide_continues_a_conversation(client):
    first = client.post("/v1/assistant/guide", json={"request": "lunch box", "k": 5}, headers=HEADERS).json()
    second = client.post(
        "/v1/assistant/guide",
        json={"request": "nothing with skulls", "session": first["session"], "k": 5},
        headers=HEADERS,
    )
    assert second.status_code == 200, second.text
    titles = [s["title"] for s in second.json()["suggestions"]]
    assert titles and not any("Skull" in t for t in titles)
    assert "skull" in second.json()["constraints"]["excluded"]


def test_unknown_session_is_404_with_a_reason(client):
    r = client.post(
        "/v1/assistant/ask", json={"question": "how much?", "session": "nope-123"}, headers=HEADERS
    )
    assert r.status_code == 404
    assert "omit 'session'" in r.text


@pytest.mark.parametrize(
    "body",
    [
        {"question": "   "},
        {"question": "lunch box", "session": "bad id!"},
        {"question": "lunch box", "k": 0},
        {"question": "lunch box", "language": "fr"},
        {"question": "x" * 2001},
    ],
)
def test_bad_input_is_422(client, body):
    assert client.post("/v1/assistant/ask", json=body, headers=HEADERS).status_code == 422
