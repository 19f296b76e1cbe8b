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


def test_unknown_item_is_404(client):
    assert client.get("/v1/items/NOPE/copy", headers=HEADERS).status_code == 404
