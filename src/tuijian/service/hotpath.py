"""The hot path: the two busiest GET endpoints answered without the framework's routing layer.

``GET /v1/users/{user_id}/recommendations`` and ``GET /v1/items/{item_id}/similar`` are what a shop calls on
every page view. FastAPI's routing, dependency solving and generic response rendering cost more CPU than
the recommendation itself, so this pure-ASGI layer, in front of the FastAPI application and behind
:class:`~tuijian.service.observability.RequestContext` (so request ids, metrics and access logs are unchanged),
matches those two paths directly and runs the very same
handler functions as the FastAPI routes (:func:`~tuijian.service.routes_recs.user_recommendations_body`,
:func:`~tuijian.service.routes_recs.similar_items_body`): same auth, same parameter validation, same bytes.

Only successful answers are sent from here. When a handler raises (no or bad key, invalid parameter, unknown
item, no model yet, a database error, …) nothing has been sent or logged yet, so the request simply continues
into the FastAPI app, whose route runs the handler again and renders the error in the one documented way
(:mod:`tuijian.service.errors`). Set ``TUIJIAN_HOT_PATH=0`` to serve everything through FastAPI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from tuijian.service.routes_recs import similar_items_body, user_recommendations_body


@dataclass(frozen=True)
class _Route:
    """What the metrics middleware reads from ``scope["route"]``."""

    path: str


USER_ROUTE = _Route("/v1/users/{user_id}/recommendations")
SIMILAR_ROUTE = _Route("/v1/items/{item_id}/similar")
_HEADERS = [(b"content-type", b"application/json")]


def _parse_query_string(raw: bytes) -> dict[str, str]:
    """``a=1&b=x`` as a dict, last value winning, exactly as Starlette's ``QueryParams.get`` reads it."""
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    out = {}
    for pair in text.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            out[name] = value
    return out


class HotPath:
    """Pure ASGI middleware answering the two hot GET routes directly (see the module docstring)."""

    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith("/v1/"):
            body = self._try(scope)
            if body is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [*_HEADERS, (b"content-length", str(len(body)).encode())],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _try(self, scope: dict[str, Any]) -> bytes | None:
        parts = scope["path"].split("/")  # ['', 'v1', kind, id, action]
        if len(parts) != 5 or not parts[3]:
            return None
        if parts[2] == "users" and parts[4] == "recommendations":
            handler, route = user_recommendations_body, USER_ROUTE
        elif parts[2] == "items" and parts[4] == "similar":
            handler, route = similar_items_body, SIMILAR_ROUTE
        else:
            return None
        key = None
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                key = value.decode("latin-1")
                break
        query = _parse_query_string(scope["query_string"])
        try:
            body = handler(self.state, scope["state"]["request_id"], parts[3], query, key)
        except Exception:  # noqa: BLE001 - the FastAPI route runs it again and renders the error
            return None
        scope["route"] = route
        return body
