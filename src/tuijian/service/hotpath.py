"""The hot path: the two busiest GET endpoints answered without the framework's routing layer.

``GET /v1/users/{user_id}/recommendations`` and ``GET /v1/items/{item_id}/similar`` are what a shop calls on
every page view. FastAPI's routing, dependency solving and generic response rendering cost more CPU than
the recommendation itself, so the outermost ASGI layer, :class:`~tuijian.service.observability.RequestContext`
(request ids, metrics, access log), asks :meth:`HotPath.answer` first; it matches those two paths directly and
runs the very same handler functions as the FastAPI routes (:func:`~tuijian.service.routes_recs.user_recommendations_body`,
:func:`~tuijian.service.routes_recs.similar_items_body`): same auth, same parameter validation, same bytes.

Only successful answers are sent from here. When a handler raises (no or bad key, invalid parameter, unknown
item, no model yet, a database error, …) nothing has been sent or logged yet, so the request simply continues
into the FastAPI app, whose route runs the handler again and renders the error in the one documented way
(:mod:`tuijian.service.errors`). Set ``TUIJIAN_HOT_PATH=0`` to serve everything through FastAPI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from tuijian.service.routes_recs import similar_items_body, user_recommendations_body

#: route templates, the ``route`` label of the request metrics (as FastAPI would report them)
USER_ROUTE = "/v1/users/{user_id}/recommendations"
SIMILAR_ROUTE = "/v1/items/{item_id}/similar"


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
    """Answers the two hot GET routes for :class:`~tuijian.service.observability.RequestContext`."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def answer(self, scope: dict[str, Any]) -> tuple[bytes, str] | None:
        """``(JSON body, route template)`` of a successful hot request; None: let the FastAPI app answer."""
        if scope["method"] != "GET":
            return None
        parts = scope["path"].split("/")  # ['', 'v1', kind, id, action]
        if len(parts) != 5 or parts[1] != "v1" or not parts[3]:
            return None
        handler: Callable[[Any, str, str, Any, str | None], bytes]
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
        return body, route
