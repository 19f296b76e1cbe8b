"""Hostile inputs (issue 11): every payload that once broke the service, with variants, on every route it reaches.

Each must be answered with a 4xx whose body says what was wrong (``detail``), never a 5xx, and the service must
answer normally afterwards: the bad-timestamp attempts are followed by a retrain, the assistant, generated copy
and trending, which a single stored event from year 9999 used to break for everyone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

#: ``(route, body builder)``: where a hostile JSON value can be put, one place per route with a JSON body
JSON_ROUTES: tuple[tuple[str, Any], ...] = (
    ("/v1/events", lambda v: {"user": v, "item": "85123A", "kind": "view"}),
    ("/v1/items", lambda v: {"item_id": "hostile-1", "title": v}),
    ("/v1/users", lambda v: {"user_id": v}),
    ("/v1/feedback", lambda v: {"request_id": "r1", "item": v, "event": "click"}),
    ("/v1/sessions/recommendations", lambda v: {"items": [v]}),
    ("/v1/assistant/ask", lambda v: {"question": v}),
    ("/v1/assistant/guide", lambda v: {"request": v}),
    ("/v1/admin/retrain", lambda v: {"model": v}),
)


def _refused(r: Any, what: str, statuses: Iterable[int] = range(400, 500)) -> str | None:
    """None when ``r`` is a 4xx in ``statuses`` with a reason, else what is wrong with it."""
    if r.status_code not in statuses:
        return f"{what}: {r.status_code} {r.text[:200]}"
    try:
        detail = r.json().get("detail")
    except ValueError:
        return f"{what}: {r.status_code} without a JSON body: {r.text[:200]}"
    if not isinstance(detail, str) or not detail:
        return f"{what}: {r.status_code} without a reason: {r.text[:200]}"
    return None


def _post_raw(client: Any, path: str, body: bytes, content_type: str = "application/json") -> Any:
    return client.post(path, content=body, headers={"content-type": content_type})


def _events_count(client: Any) -> int:
    return int(client.app.state.tuijian.store.max_event_id() or 0)


def _service_still_answers(client: Any) -> None:
    """Retrain, assistant, copy, trending, recommendations: the everyday routes all answer 200."""
    r = client.post("/v1/admin/retrain", json={"wait": True})
    assert r.status_code == 200 and r.json()["status"] == "done", r.text[:300]
    checks = {
        "ask": client.post("/v1/assistant/ask", json={"question": "a white mug"}),
        "copy": client.get("/v1/items/85123A/copy"),
        "trending": client.get("/v1/trending"),
        "recs": client.get("/v1/users/12347/recommendations"),
        "session": client.post("/v1/sessions/recommendations", json={"items": ["85123A"]}),
        "ready": client.get("/ready"),
    }
    for name, r in checks.items():
        assert r.status_code == 200, f"{name}: {r.status_code} {r.text[:300]}"


# ---------------------------------------------------------------------------- 2. timestamps
BAD_TIMESTAMPS: tuple[Any, ...] = (
    "9999-12-31T23:59:59Z",
    "2300-01-01T00:00:00Z",
    "1600-01-01T00:00:00Z",
    "1677-09-21T00:12:43Z",  # pandas' first nanosecond day
    "2262-04-12T00:00:00Z",  # past pandas' last one
    "1969-12-31T23:59:59Z",
    "0001-01-01T00:00:00",
    "10000-01-01T00:00:00Z",
    19_000_000_000,  # epoch seconds in 2572 (above 2e10 pydantic reads milliseconds)
    253_402_300_799_000,  # 9999-12-31 as epoch milliseconds
    10**16,
    -(10**10),
    "2100-01-01",
)


def test_out_of_range_timestamps_are_refused_and_break_nothing(client: Any) -> None:
    before = _events_count(client)
    problems = []
    for ts in BAD_TIMESTAMPS:
        single = client.post("/v1/events", json={"user": "tt", "item": "85123A", "kind": "view", "ts": ts})
        problems.append(_refused(single, f"single ts={ts!r}", (422,)))
        if single.status_code == 422:
            errors = single.json().get("errors", [])
            if not any(e.get("field") == "ts" and e.get("row") == 0 for e in errors):
                problems.append(f"ts={ts!r}: the 422 does not name row 0, field ts: {errors}")
        good = {"user": "tt", "item": "85123A", "kind": "view"}
        batch = client.post("/v1/events", json={"events": [good, {**good, "ts": ts}, good]})
        problems.append(_refused(batch, f"batch ts={ts!r}", (422,)))
    assert not [p for p in problems if p], [p for p in problems if p]
    assert _events_count(client) == before, "a refused batch wrote nothing"
    # in range is fine, including a little clock skew
    from datetime import UTC, datetime, timedelta

    for ts in ("1970-01-01T00:00:00Z", (datetime.now(UTC) + timedelta(hours=2)).isoformat(), 1_300_000_000):
        r = client.post("/v1/events", json={"user": "tt", "item": "85123A", "kind": "view", "ts": ts})
        assert r.status_code == 200, (ts, r.text)
    _service_still_answers(client)
    trending = client.get("/v1/trending", params={"k": 5}).json()
    assert len(trending["items"]) == 5  # not one item stranded alone in a window centuries away


# ---------------------------------------------------------------------------- 4. non-JSON numbers, surrogates
HOSTILE_LITERALS = (
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e999",
    b"-1e999",
    b'"\\ud800"',
    b'"\\udfff tail"',
    b'"a\\ud83d"',  # a high surrogate without its pair
    b"9" * 5000,  # an integer too long to convert
)


def test_non_finite_numbers_and_lone_surrogates_anywhere(client: Any) -> None:
    problems = []
    for path, build in JSON_ROUTES:
        template = json.dumps(build("@@"))
        for literal in HOSTILE_LITERALS:
            body = template.replace('"@@"', literal.decode())
            problems.append(_refused(_post_raw(client, path, body.encode()), f"{path} {literal[:20]!r}"))
    # and in number fields the schemas define
    numeric = (
        ("/v1/events", '{"user": "u", "item": "85123A", "kind": "view", "value": @@}'),
        ("/v1/items", '{"item_id": "hostile-2", "price": @@}'),
        ("/v1/sessions/recommendations", '{"items": ["85123A"], "price_min": @@}'),
        ("/v1/sessions/recommendations", '{"items": ["85123A"], "k": @@}'),
        ("/v1/assistant/guide", '{"request": "mug", "k": @@}'),
        ("/v1/feedback", '{"request_id": "r", "item": "85123A", "event": "click", "position": @@}'),
    )
    for path, template in numeric:
        for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e999", b"9" * 5000):
            body = template.replace("@@", literal.decode())
            problems.append(
                _refused(_post_raw(client, path, body.encode()), f"{path} {template} {literal[:10]!r}")
            )
    assert not [p for p in problems if p], [p for p in problems if p]
    # a valid surrogate pair (an emoji) is fine
    r = client.post(
        "/v1/events", content=b'{"user": "emoji-\\ud83d\\ude00", "item": "85123A", "kind": "view"}'
    )
    assert r.status_code == 200, r.text
    _service_still_answers(client)


def test_validation_errors_echo_hostile_inputs_safely(client: Any) -> None:
    """FastAPI-validated bodies echo the bad input; a NaN or surrogate there once crashed the error handler."""
    from tuijian.service.errors import json_safe, validation_errors

    raw = [
        {"loc": ("body", "price_min"), "msg": "bad", "input": float("nan")},
        {"loc": ("body", "items", 0), "msg": "bad", "input": "\ud800"},
        {"loc": ("body", "k"), "msg": "bad", "input": 10**40},
    ]
    out = validation_errors(raw)
    json.dumps(out, allow_nan=False).encode("utf-8")  # encodable: no NaN, no lone surrogate
    assert out[0]["input"] == "nan" and out[1]["input"] == "\\ud800" and out[1]["row"] == 0
    assert json_safe(float("inf")) == "inf" and json_safe("x" * 500).endswith("…")


# ---------------------------------------------------------------------------- 4. wrongly typed category
@pytest.mark.parametrize(
    "category",
    [
        5,
        1.5,
        True,
        {"a": 1},
        [1, 2],
        [["nested"]],
        [{"a": "b"}],
        ["x" * 201],
        [f"level{i}" for i in range(17)],
    ],
    ids=["int", "float", "bool", "dict", "ints", "nested", "objects", "long-level", "17-levels"],
)
def test_wrongly_typed_category_is_422(client: Any, category: Any) -> None:
    r = client.post("/v1/items", json={"item_id": "cat-1", "title": "t", "category": category})
    assert _refused(r, f"category={category!r}", (422,)) is None
    assert any(e["field"].startswith("category") for e in r.json()["errors"]), r.json()


def test_category_forms_that_are_fine(client: Any) -> None:
    for category in (["Home", "Kitchen"], "Home > Kitchen", "a|b", None, []):
        r = client.post("/v1/items", json={"item_id": "cat-ok", "title": "t", "category": category})
        assert r.status_code == 200, (category, r.text)
    item = client.app.state.tuijian.store.items_frame().set_index("item_id").loc["cat-ok"]
    assert list(item["category"]) == []


# ---------------------------------------------------------------------------- 4. nesting and encodings
def test_deeply_nested_json_is_refused(client: Any) -> None:
    problems = []
    for depth in (40, 1_000, 100_000):
        for opener, closer in ((b"[", b"]"), (b'{"a":', b"}")):
            body = opener * depth + b"1" + closer * depth
            for path, _ in JSON_ROUTES:
                problems.append(_refused(_post_raw(client, path, body), f"{path} depth {depth} {opener!r}"))
    # deep inside an otherwise valid row
    deep_attrs = {"item_id": "deep-1", "attributes": json.loads('{"a":' * 50 + "1" + "}" * 50)}
    problems.append(_refused(client.post("/v1/items", json=deep_attrs), "attributes 50 deep"))
    assert not [p for p in problems if p], [p for p in problems if p]
    ok = {"item_id": "deep-ok", "attributes": {"size": {"cm": [1, 2]}}}
    assert client.post("/v1/items", json=ok).status_code == 200


NOT_UTF8 = (
    b"\xff\xfe\x00",
    b'{"user": "\xff", "item": "85123A", "kind": "view"}',
    '{"question": "café"}'.encode("latin-1"),
    '{"items": ["85123A"]}'.encode("utf-16"),  # json.loads would accept this; JSON on the wire is UTF-8
    b'{"user": "\xed\xa0\x80", "item": "a", "kind": "view"}',  # a surrogate encoded as UTF-8 bytes
    b"\xef\xbb\xbf{}",  # a byte-order mark
)


def test_bodies_that_are_not_utf8_are_refused(client: Any) -> None:
    problems = []
    for body in NOT_UTF8:
        for path, _ in JSON_ROUTES:
            for ctype in ("application/json", "text/plain", ""):
                r = client.post(path, content=body, headers={"content-type": ctype} if ctype else {})
                problems.append(_refused(r, f"{path} {ctype or 'no type'} {body[:12]!r}"))
    assert not [p for p in problems if p], [p for p in problems if p]


def test_storefront_forms_with_hostile_bodies(client: Any) -> None:
    page = client.get("/items/85123A")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    problems = []
    for body in (
        b"item=85123A&rating=5&text=\xff\xfe&csrf=" + csrf.encode(),
        b"item=85123A&rating=NaN&text=good+mug&csrf=" + csrf.encode(),
        b"item=85123A&rating=99999999999999999999999&text=good+mug&csrf=" + csrf.encode(),
        b"item=%ED%A0%80&rating=5&text=good+mug&csrf=" + csrf.encode(),
    ):
        r = client.post(
            "/shop/review", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
        )
        if r.status_code >= 500:
            problems.append(f"review {body[:40]!r}: {r.status_code} {r.text[:200]}")
    assert not problems, problems
    assert client.get("/items/85123A").status_code == 200


# ---------------------------------------------------------------------------- 4. integers too big for the database
@pytest.mark.parametrize(
    "position", [2**63, 2**64, 10**30, -1, 1_000_001], ids=["2^63", "2^64", "1e30", "neg", "1e6+1"]
)
def test_feedback_position_out_of_range_is_422(client: Any, position: int) -> None:
    r = client.post(
        "/v1/feedback", json={"request_id": "r1", "item": "85123A", "event": "click", "position": position}
    )
    assert _refused(r, f"position={position}", (422,)) is None
    assert r.json()["errors"][0]["field"] == "position"


def test_big_numbers_elsewhere(client: Any) -> None:
    problems = []
    cases = (
        ("/v1/events", {"user": "u", "item": "85123A", "kind": "view", "value": 10**400}),
        ("/v1/items", {"item_id": "big-1", "price": 10**400}),
        ("/v1/sessions/recommendations", {"items": ["85123A"], "k": 2**70}),
        ("/v1/assistant/guide", {"request": "mug", "k": 2**70}),
    )
    for path, body in cases:
        problems.append(_refused(client.post(path, json=body), f"{path} {list(body)[-1]}"))
    r = client.get("/v1/users/12347/recommendations", params={"k": str(2**70)})
    problems.append(_refused(r, "query k 2^70", (422,)))
    r = client.get("/v1/trending", params={"window_days": "1e999"})
    problems.append(_refused(r, "window_days 1e999", (422,)))
    assert not [p for p in problems if p], [p for p in problems if p]
    # the largest accepted position is stored
    ok = {"request_id": "r1", "item": "85123A", "event": "click", "position": 1_000_000}
    assert client.post("/v1/feedback", json=ok).status_code == 200


# ---------------------------------------------------------------------------- 6. length caps on items
def test_item_text_length_caps(client: Any) -> None:
    from tuijian.service.schemas import MAX_BRAND_CHARS, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS

    for field, cap in (
        ("title", MAX_TITLE_CHARS),
        ("description", MAX_DESCRIPTION_CHARS),
        ("brand", MAX_BRAND_CHARS),
    ):
        r = client.post("/v1/items", json={"item_id": f"cap-{field}", field: "x" * (cap + 1)})
        assert _refused(r, field, (422,)) is None
        assert r.json()["errors"][0]["field"] == field and str(cap) in r.json()["errors"][0]["error"]
        assert client.post("/v1/items", json={"item_id": f"cap-{field}", field: "y" * cap}).status_code == 200
    r = client.post("/v1/items", json={"item_id": "cap-attrs", "attributes": {"blob": "z" * 30_000}})
    assert _refused(r, "attributes", (422,)) is None
    # numeric ids and null text fields, which files carry, are still accepted
    r = client.post("/v1/items", json={"item_id": 12345, "title": None, "category": None})
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------------------- query strings and paths
def test_hostile_query_strings_and_paths(client: Any) -> None:
    problems = []
    urls = (
        "/v1/users/%ED%A0%80/recommendations",
        "/v1/users/%FF%FE/recommendations?category=%FF",
        "/v1/items/%00/similar?k=NaN",
        "/v1/items/85123A/similar?price_min=-Infinity",
        "/v1/trending?k=1e3",
        "/v1/items/85123A/copy?user=%ED%A0%80",
        "/v1/items/%ED%A0%80/copy",
        "/search?q=%ED%A0%80",
        "/items/%ED%A0%80",
        "/v1/users/" + "x" * 5000 + "/recommendations",
    )
    for url in urls:
        r = client.get(url)
        if r.status_code >= 500:
            problems.append(f"{url[:60]}: {r.status_code} {r.text[:200]}")
    assert not problems, problems
    _service_still_answers(client)
