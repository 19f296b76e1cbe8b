"""The hot path answers exactly as the FastAPI routes do: same bodies, same errors, same metrics labels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import QueryParams

from tests.service.conftest import ADMIN, make_options, make_settings
from tuijian.service.hotpath import _parse_query_string


@pytest.fixture
def both(home: Path) -> Iterator[tuple[Any, Any]]:
    """Two apps on the same store: the hot path on, and off (everything through FastAPI)."""
    from fastapi.testclient import TestClient

    from tuijian.service.app import create_app

    settings = make_settings(home)
    with (
        TestClient(create_app(settings, make_options(hot_path=True))) as hot,
        TestClient(create_app(settings, make_options(hot_path=False))) as plain,
    ):
        yield hot, plain


def _pair(both: tuple[Any, Any], url: str, **params: Any) -> tuple[Any, Any]:
    hot, plain = both
    key = params.pop("key", ADMIN)
    headers = {"X-Request-ID": "fixed-request-id"} | ({"X-API-Key": key} if key else {})
    return hot.get(url, params=params, headers=headers), plain.get(url, params=params, headers=headers)


CASES: list[tuple[str, dict[str, Any]]] = [
    ("/v1/users/12347/recommendations", {"k": 10}),
    ("/v1/users/12347/recommendations", {"k": 25, "exclude_purchased": "false"}),
    ("/v1/users/12347/recommendations", {"k": 5, "price_max": 2.5}),
    ("/v1/users/never-seen/recommendations", {"k": 7}),
    ("/v1/items/22423/similar", {"k": 10}),
    ("/v1/items/22423/similar", {"k": 3, "price_min": 1}),
    # errors: the hot path hands these to FastAPI, which renders them
    ("/v1/users/12347/recommendations", {"k": 0}),
    ("/v1/users/12347/recommendations", {"k": "ten", "price_min": "x"}),
    ("/v1/users/12347/recommendations", {"category": "spaceships"}),
    ("/v1/users/12347/recommendations", {"key": None}),
    ("/v1/users/12347/recommendations", {"key": "not-a-key"}),
    ("/v1/items/no-such-item/similar", {}),
]


@pytest.mark.parametrize(("url", "params"), CASES)
def test_hot_path_answers_byte_for_byte_like_fastapi(
    both: tuple[Any, Any], url: str, params: dict[str, Any]
) -> None:
    fast, slow = _pair(both, url, **dict(params))
    assert fast.status_code == slow.status_code
    assert fast.headers["content-type"] == slow.headers["content-type"]
    assert fast.headers["x-request-id"] == "fixed-request-id"
    assert fast.content == slow.content
    if fast.status_code == 200:
        assert fast.json()["request_id"] == "fixed-request-id" and fast.json()["items"]


def test_hot_requests_are_counted_under_their_route(both: tuple[Any, Any]) -> None:
    hot, _ = both
    assert hot.get("/v1/items/22423/similar", headers={"X-API-Key": ADMIN}).status_code == 200
    text = hot.get("/metrics").text
    assert 'route="/v1/items/{item_id}/similar"' in text


def test_hot_path_logs_impressions(both: tuple[Any, Any]) -> None:
    hot, _ = both
    r = hot.get("/v1/users/12347/recommendations", params={"k": 4}, headers={"X-API-Key": ADMIN})
    st = hot.app.state.tuijian
    st.impressions.flush()
    fb = st.store.feedback_frame(r.json()["request_id"])
    assert fb["event"].tolist() == ["impression"] * 4
    assert fb["item"].tolist() == [e["item_id"] for e in r.json()["items"]]
    assert fb["position"].tolist() == [0, 1, 2, 3] and set(fb["user"]) == {"12347"}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"k=10",
        b"k=10&category=attr_17",
        b"k=1&k=2",
        b"a&b=&c=3",
        b"category=home%20decor&k=5",
        b"q=a+b",
        b"x=%E6%8E%A8",
    ],
)
def test_query_string_parsing_matches_starlette(raw: bytes) -> None:
    qp = QueryParams(raw)
    assert _parse_query_string(raw) == {k: qp.get(k) for k in qp}
