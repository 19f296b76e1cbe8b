"""Recommendation endpoints. Handlers are thin; the logic is in :mod:`tuijian.service.engine`.

They are ``async`` and compute inline (sub-millisecond numpy work plus one indexed read),
which avoids a thread-pool hop per request; query strings go through the lean parser in
:mod:`tuijian.service.params` (same validation and 422 shape as FastAPI, documented in /docs).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from tuijian.exceptions import DataError
from tuijian.service.auth import HEADER, requires
from tuijian.service.encode import encode, encode_explained
from tuijian.service.engine import Filters
from tuijian.service.experiment_router import experiment_arm
from tuijian.service.params import Param, openapi_parameters, parse_query
from tuijian.service.schemas import RecResponse, SessionRequest

router = APIRouter(prefix="/v1", tags=["recommendations"])

K = Param("k", int, 10, "number of items", ge=1, le=100)
CATEGORY = Param("category", str, None, "only items in this category (any level of the path)", max_length=200)
PRICE_MIN = Param("price_min", float, None, "minimum price (items without a price are excluded)", ge=0)
PRICE_MAX = Param("price_max", float, None, "maximum price (items without a price are excluded)", ge=0)
USER_PARAMS = (
    K,
    CATEGORY,
    PRICE_MIN,
    PRICE_MAX,
    Param("exclude_purchased", bool, True, "false allows repeat purchases (reason 'repeat')"),
    Param("session", str, None, "session id used when the user has no history", max_length=128),
    Param(
        "explain", bool, False, "true: per item reasons, a sentence and ranker attributions (docs/explain.md)"
    ),
    Param("lang", str, "en", "language of the explanation sentence: en or zh", max_length=8),
)
SIMILAR_PARAMS = (K, CATEGORY, PRICE_MIN, PRICE_MAX)
TRENDING_PARAMS = (
    K,
    CATEGORY,
    Param("window_days", float, 7.0, "window before the newest stored event", ge=0.001, le=365),
)
_SECURITY: list[dict[str, list[str]]] = [{"APIKeyHeader": []}]


def _auth(request: Request, role: str) -> None:
    request.app.state.tuijian.auth.require(request.headers.get(HEADER), role)


def _extra(spec: tuple[Param, ...], path: tuple[str, ...] = ()) -> dict[str, Any]:
    return {**openapi_parameters(spec, path), "security": _SECURITY}


def _answer(request: Request, out: dict[str, Any], user: str | None) -> JSONResponse:
    st = request.app.state.tuijian
    rid = request.scope["state"]["request_id"]
    st.impressions.log(rid, user, [e["item_id"] for e in out["items"]], out["model_version"])
    return JSONResponse({"request_id": rid, **out})


@router.get(
    "/users/{user_id}/recommendations",
    response_model=RecResponse,
    summary="Personalised top-k (role read)",
    openapi_extra=_extra(USER_PARAMS, ("user_id",)),
)
async def user_recommendations(request: Request) -> Response:
    return _bytes_route(request, user_recommendations_body, "user_id")


@router.get(
    "/items/{item_id}/similar",
    response_model=RecResponse,
    summary="Items similar to an item (role read)",
    openapi_extra=_extra(SIMILAR_PARAMS, ("item_id",)),
)
async def similar_items(request: Request) -> Response:
    return _bytes_route(request, similar_items_body, "item_id")


def _bytes_route(request: Request, handler: Any, id_param: str) -> Response:
    """Run a ``*_body`` handler (shared with the hot path) for a FastAPI request."""
    body = handler(
        request.app.state.tuijian,
        request.scope["state"]["request_id"],
        request.path_params[id_param],
        request.query_params,
        request.headers.get(HEADER),
    )
    return Response(body, media_type="application/json")


def user_recommendations_body(st: Any, rid: str, user_id: str, query: Any, key: str | None) -> bytes:
    """The whole personalised-recommendation request (auth, parameters, ranking, impressions) as JSON bytes.

    Shared by the FastAPI route above and the hot path (:mod:`tuijian.service.hotpath`); raises the
    :mod:`tuijian.exceptions` errors that :mod:`tuijian.service.errors` maps to 4xx responses.
    """
    st.auth.require(key, "read")
    q = parse_query(query, USER_PARAMS)
    # the user's A/B variant, or None (tuijian.service.experiment_router)
    arm = experiment_arm(st, user_id, q)
    if q["explain"]:  # issue 14: the same ranking with reasons, sentence and attributions
        return explained_body(st, rid, user_id, q, arm)
    filters = Filters(q["category"], q["price_min"], q["price_max"])
    bandit = st.extras.get("bandit") if arm is None else None
    chosen: dict[str, Any] = {}
    if bandit is not None:  # issue 13: the live bandit picks the strategy (tuijian.service.bandit)
        snap, ranked, source, chosen = bandit.rank_user(
            rid, user_id, q["k"], filters, exclude_purchased=q["exclude_purchased"], session=q["session"]
        )
    else:
        snap, ranked, source = (st.engine if arm is None else arm.ranker).rank_user(
            user_id, q["k"], filters, exclude_purchased=q["exclude_purchased"], session=q["session"]
        )
    head = {"request_id": rid, "model_version": snap.version, "source": source, "user": user_id, **chosen}
    if arm is not None:
        head["experiment"] = arm.expose(rid, user_id)
    body = encode(snap, ranked, head)
    st.impressions.log_ranked(rid, user_id, snap, ranked, chosen.get("propensity"))
    return body


def similar_items_body(st: Any, rid: str, item_id: str, query: Any, key: str | None) -> bytes:
    """Similar items as JSON bytes (see :func:`user_recommendations_body`)."""
    st.auth.require(key, "read")
    q = parse_query(query, SIMILAR_PARAMS)
    snap, ranked = st.engine.rank_similar(
        item_id, q["k"], Filters(q["category"], q["price_min"], q["price_max"])
    )
    head = {"request_id": rid, "model_version": snap.version, "source": "similar", "item": str(item_id)}
    body = encode(snap, ranked, head)
    st.impressions.log_ranked(rid, None, snap, ranked)
    return body


@router.post(
    "/sessions/recommendations",
    response_model=RecResponse,
    summary="Recommendations for an anonymous session",
)
async def session_recommendations(
    request: Request, body: SessionRequest, _role: str = Depends(requires("read"))
) -> JSONResponse:
    out = request.app.state.tuijian.engine.recommend_session(
        body.items,
        body.k,
        Filters(body.category, body.price_min, body.price_max),
        allow_repeats=body.allow_repeats,
    )
    return _answer(request, out, None)


@router.get(
    "/trending",
    response_model=RecResponse,
    summary="Most active items over the recent window (role read)",
    openapi_extra=_extra(TRENDING_PARAMS),
)
async def trending(request: Request) -> JSONResponse:
    _auth(request, "read")
    q = parse_query(request.query_params, TRENDING_PARAMS)
    out = request.app.state.tuijian.engine.trending(q["k"], Filters(q["category"]), q["window_days"])
    return _answer(request, out, None)


def explained_body(st: Any, rid: str, user_id: str, q: dict[str, Any], arm: Any = None) -> bytes:
    """``explain=true``: the same ranking, each item with ``reasons`` ({kind, item_ids, weight}), a
    ``sentence`` in ``lang`` and, for the hybrid, the ranker's ``attributions`` (:mod:`tuijian.explain`).

    The query is the one the ranking answers (``user_query``), so the explanation reads the same evidence and,
    for the hybrid, the very feature rows that were scored. ``arm``: the user's A/B variant (its ranker when
    that is an engine; a strategy variant's list is explained from the served engine's query with that
    strategy's chain, :meth:`StrategyRanker.explain_inputs`).
    """
    from tuijian.explain.render import LANGUAGES, explained_item_bytes

    if q["lang"] not in LANGUAGES:
        raise DataError(
            f"1 invalid field(s): query.lang: Input should be one of {', '.join(LANGUAGES)}",
            errors=[
                {
                    "field": "query.lang",
                    "error": f"Input should be one of {', '.join(LANGUAGES)}",
                    "input": q["lang"],
                }
            ],
        )
    filters = Filters(q["category"], q["price_min"], q["price_max"])
    ranker = st.engine if arm is None else arm.ranker
    engine = ranker if hasattr(ranker, "user_query") else st.engine
    opts = {"exclude_purchased": q["exclude_purchased"], "session": q["session"]}
    snap, rec_query = engine.user_query(user_id, q["k"], filters, **opts)
    bandit = st.extras.get("bandit") if arm is None else None
    chosen: dict[str, Any] = {}
    how: dict[str, Any] = {}
    if bandit is not None:  # the live bandit's strategy, explained with that strategy's own chain
        snap, ranked, _, chosen = bandit.rank_user(rid, user_id, q["k"], filters, **opts)
        how = bandit.strategies.explain_inputs(snap, chosen["strategy"], rec_query)
    elif engine is ranker:
        ranked = snap.pipeline.recommend(rec_query, q["k"])
    else:  # an A/B strategy variant: explained with that strategy's own chain, as the bandit's are
        snap, ranked, _ = ranker.rank_user(user_id, q["k"], filters, **opts)
        how = ranker.explain_inputs(snap, rec_query)
    tails = explained_item_bytes(snap.pipeline, snap.catalog.records, rec_query, ranked, q["lang"], **how)
    head = {
        "request_id": rid,
        "model_version": snap.version,
        "source": rec_query.source,
        "user": user_id,
        "language": q["lang"],
        **chosen,
    }
    if arm is not None:
        head["experiment"] = arm.expose(rid, user_id)
    body = encode_explained(snap, ranked, tails, head)
    st.impressions.log_ranked(rid, user_id, snap, ranked)
    return body
