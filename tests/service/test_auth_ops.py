"""Auth (401/403, hashed keys, revocation, CLI), error mapping, health/ready/metrics/docs."""

from __future__ import annotations

from typing import Any

import pytest

from tuijian import exceptions as E
from tuijian.service.errors import PayloadTooLargeError, status_for


def test_no_key_401_wrong_role_403(client: Any) -> None:
    store = client.app.state.tuijian.store
    _, read = store.create_api_key("read")
    _, ingest = store.create_api_key("ingest")
    recs = "/v1/users/12347/recommendations"
    r = client.get(recs, headers={"X-API-Key": ""})
    assert (
        r.status_code == 401
        and "X-API-Key" in r.json()["detail"]
        and r.headers["www-authenticate"] == "ApiKey"
    )
    assert client.get(recs, headers={"X-API-Key": "tj_bogus_key"}).status_code == 401
    assert client.get(recs, headers={"X-API-Key": read}).status_code == 200
    r = client.post(
        "/v1/events", headers={"X-API-Key": read}, json={"user": "a", "item": "b", "kind": "view"}
    )
    assert r.status_code == 403 and "'ingest'" in r.json()["detail"] and "'read'" in r.json()["detail"]
    assert (
        client.post(
            "/v1/events", headers={"X-API-Key": ingest}, json={"user": "a", "item": "b", "kind": "view"}
        ).status_code
        == 200
    )
    assert client.get(recs, headers={"X-API-Key": ingest}).status_code == 200  # ingest includes read
    assert client.get("/v1/admin/models", headers={"X-API-Key": ingest}).status_code == 403
    assert client.get("/v1/admin/models").status_code == 200  # the TUIJIAN_ADMIN_KEY value


def test_revoked_key_is_refused(client: Any) -> None:
    store = client.app.state.tuijian.store
    key_id, key = store.create_api_key("read")
    assert client.get("/v1/trending", headers={"X-API-Key": key}).status_code == 200
    store.revoke_api_key(key_id)
    assert client.get("/v1/trending", headers={"X-API-Key": key}).status_code == 401


def test_cli_keys(home: Any) -> None:
    from typer.testing import CliRunner

    from tuijian.cli import app
    from tuijian.store import open_store

    url = f"sqlite:///{home / 'tuijian.sqlite'}"
    runner = CliRunner()
    res = runner.invoke(app, ["keys", "create", "--role", "ingest", "--name", "etl", "--database-url", url])
    assert res.exit_code == 0, res.output
    key = res.stdout.strip().splitlines()[0]
    store = open_store(url)
    assert store.verify_api_key(key) == "ingest"
    listing = runner.invoke(app, ["keys", "list", "--database-url", url]).stdout
    key_id = key.split("_")[1]
    assert f"{key_id}\tingest\tactive\tetl" in listing
    assert runner.invoke(app, ["keys", "revoke", key_id, "--database-url", url]).exit_code == 0
    assert store.verify_api_key(key) is None
    store.close()


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (E.AuthError("x"), 401),
        (E.PermissionDeniedError("x"), 403),
        (E.DataError("x"), 422),
        (E.SchemaError("x"), 422),
        (E.DatasetNotFoundError("x"), 404),
        (E.UnknownIdError("x"), 404),
        (E.ModelNotFoundError("x"), 404),
        (E.ConfigError("x"), 400),
        (PayloadTooLargeError("x"), 413),
        (E.NotFittedError("x"), 503),
        (E.StorageError("x"), 503),
    ],
)
def test_error_statuses(exc: E.TuijianError, status: int) -> None:
    assert status_for(exc) == status


def test_health_ready_metrics_docs(client: Any) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and ready["model"].startswith("item-knn:")
    client.get("/v1/items/22423/similar")
    text = client.get("/metrics").text
    assert (
        'tuijian_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/items/{item_id}/similar"}'
        in text
    )
    assert (
        'tuijian_http_requests_total{method="GET",route="/v1/items/{item_id}/similar",status="200"}' in text
    )
    assert f'tuijian_model_info{{version="{ready["model"]}"}} 1.0' in text
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for p in (
        "/v1/events",
        "/v1/users/{user_id}/recommendations",
        "/v1/items/{item_id}/similar",
        "/v1/sessions/recommendations",
        "/v1/trending",
        "/v1/feedback",
        "/v1/admin/retrain",
    ):
        assert p in paths
