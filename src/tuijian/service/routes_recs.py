"""Recommendation endpoints. Handlers are thin; the logic is in :mod:`tuijian.service.engine`.

They are ``async`` and compute inline (sub-millisecond numpy work plus one indexed read),
which avoids a thread-pool hop per request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from tuijian.service.auth import requires
from tuijian.service.engine import Filters
from tuijian.service.schemas import RecResponse, SessionRequest

router = APIRouter(prefix="/v1", tags=["recommendations"])

K = Query(10, ge=1, le=100, description="number of items")
CATEGORY = Query(None, max_length=200, description="only items in this category (any level of the path)")
PRICE_MIN = Query(None, ge=0, description="minimum price (items without a price are excluded)")
PRICE_MAX = Query(None, ge=0, description="maximum price (items without a price are excluded)")


def _answer(request: Request, out: dict[str, Any], user: str | None) -> JSONResponse:
    st = request.app.state.tuijian
    rid = request.scope["state"]["request_id"]
    st.impressions.log(rid, user, [e["item_id"] for e in out["items"]], out["model_version"])
    return JSONResponse({"request_id": rid, **out})


@router.get("/users/{user_id}/recommendations", response_model=RecResponse, summary="Personalised top-k")
async def user_recommendations(
    request: Request,
    user_id: str,
    k: int = K,
    category: str | None = CATEGORY,
    price_min: float | None = PRICE_MIN,
    price_max: float | None = PRICE_MAX,
    exclude_purchased: bool = Query(True, description="false allows repeat purchases (reason 'repeat')"),
    session: str | None = Query(
        None, max_length=128, description="session id used when the user has no history"
    ),
    _role: str = Depends(requires("read")),
) -> JSONResponse:
    engine = request.app.state.tuijian.engine
    out = engine.recommend_user(
        user_id,
        k,
        Filters(category, price_min, price_max),
        exclude_purchased=exclude_purchased,
        session=session,
    )
    return _answer(request, out, user_id)


@router.get("/items/{item_id}/similar", response_model=RecResponse, summary="Items similar to an item")
async def similar_items(
    request: Request,
    item_id: str,
    k: int = K,
    category: str | None = CATEGORY,
    price_min: float | None = PRICE_MIN,
    price_max: float | None = PRICE_MAX,
    _role: str = Depends(requires("read")),
) -> JSONResponse:
    out = request.app.state.tuijian.engine.similar_items(item_id, k, Filters(category, price_min, price_max))
    return _answer(request, out, None)


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


@router.get("/trending", response_model=RecResponse, summary="Most active items over the recent window")
async def trending(
    request: Request,
    k: int = K,
    category: str | None = CATEGORY,
    window_days: float = Query(7.0, gt=0, le=365, description="window before the newest stored event"),
    _role: str = Depends(requires("read")),
) -> JSONResponse:
    out = request.app.state.tuijian.engine.trending(k, Filters(category), window_days)
    return _answer(request, out, None)
