"""Ingestion: events (single or batch), items, users, feedback. Every write is durable before 2xx.

Bodies are capped and the key is checked before they are read (:class:`tuijian.service.limits.Guard`); each
route parses its body strictly (:func:`tuijian.service.limits.loads_strict`) and validates every row with the
API's models (:mod:`tuijian.service.schemas`: bounded timestamps, length caps, typed categories) before the
store sees it, so a bad row is a 422 naming the row and field, never a 500 and never a stored event that
breaks training later.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from tuijian.exceptions import DataError
from tuijian.service.auth import requires
from tuijian.service.errors import PayloadTooLargeError
from tuijian.service.limits import loads_strict
from tuijian.service.schemas import (
    MAX_BATCH,
    EventBatch,
    EventIn,
    FeedbackBatch,
    FeedbackIn,
    IngestResult,
    ItemBatch,
    ItemIn,
    UserBatch,
    UserIn,
)
from tuijian.store.records import format_validation_error

router = APIRouter(prefix="/v1", tags=["ingestion"])

#: JSON schemas of the bodies documented below, added to the spec's components by ``create_app``
BODY_SCHEMAS: dict[str, Any] = {}


async def _rows(request: Request, key: str) -> list[Any]:
    """The JSON body as a list of rows: ``{key: [...]}``, a bare list, or one object."""
    payload = loads_strict(await request.body() or b"null")
    if isinstance(payload, dict) and key in payload:
        rows = payload[key]
        if not isinstance(rows, list):
            raise DataError(f"'{key}' must be a list, got {type(rows).__name__}")
    elif isinstance(payload, dict):
        rows = [payload]
    elif isinstance(payload, list):
        rows = payload
    else:
        raise DataError(f'expected a JSON object or {{"{key}": [...]}}, got {type(payload).__name__}')
    if not rows:
        raise DataError(f"no {key} in the request")
    if len(rows) > MAX_BATCH:
        raise PayloadTooLargeError(
            f"batch has {len(rows)} {key}; the limit is {MAX_BATCH} per request: split it"
        )
    bad = [i for i, r in enumerate(rows) if not isinstance(r, dict)]
    if bad:
        raise DataError(
            f"{len(bad)} {key} row(s) are not JSON objects: rows {bad[:10]}",
            errors=[{"row": i, "field": "(row)", "error": "must be a JSON object"} for i in bad[:100]],
        )
    return rows


def _validated(rows: list[Any], model: type[BaseModel], what: str) -> list[Any]:
    """Every row validated with ``model``; one 422 naming each bad row and field."""
    parsed, errors = [], []
    for i, r in enumerate(rows):
        try:
            parsed.append(model.model_validate(r))
        except ValidationError as exc:
            errors.extend(format_validation_error(exc, i))
    if errors:
        raise DataError(
            f"{len({e['row'] for e in errors})} bad {what} row(s): "
            + "; ".join(f"row {e['row']}: {e['field']}: {e['error']}" for e in errors[:10]),
            errors=errors[:1000],
        )
    return parsed


def _body_doc(*models: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body that is one of ``models`` (refs into the components)."""
    refs = []
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        BODY_SCHEMAS.update(schema.pop("$defs", {}))
        BODY_SCHEMAS[model.__name__] = schema
        refs.append({"$ref": f"#/components/schemas/{model.__name__}"})
    schema_doc = refs[0] if len(refs) == 1 else {"anyOf": refs}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema_doc}}}}


@router.post(
    "/events",
    response_model=IngestResult,
    summary='Ingest one event or {"events": [...]} (≤ 10,000)',
    openapi_extra=_body_doc(EventBatch, EventIn),
)
async def post_events(request: Request, _role: str = Depends(requires("ingest"))) -> IngestResult:
    rows = await _rows(request, "events")
    events = _validated(rows, EventIn, "event")
    st = request.app.state.tuijian
    result = await run_in_threadpool(st.store.add_events, events)
    st.metrics.events.labels(result="inserted").inc(result.inserted)
    st.metrics.events.labels(result="duplicate").inc(result.duplicates)
    return IngestResult(received=len(rows), inserted=result.inserted, duplicates=result.duplicates)


@router.post(
    "/items",
    summary='Insert or update catalog items ({"items": [...]})',
    openapi_extra=_body_doc(ItemBatch, ItemIn),
)
async def post_items(request: Request, _role: str = Depends(requires("ingest"))) -> dict[str, int]:
    rows = await _rows(request, "items")
    items = _validated(rows, ItemIn, "item")
    n = await run_in_threadpool(request.app.state.tuijian.store.add_items, items)
    return {"received": len(rows), "written": n}


@router.post(
    "/users",
    summary='Insert or update users ({"users": [...]})',
    openapi_extra=_body_doc(UserBatch, UserIn),
)
async def post_users(request: Request, _role: str = Depends(requires("ingest"))) -> dict[str, int]:
    rows = await _rows(request, "users")
    users = _validated(rows, UserIn, "user")
    n = await run_in_threadpool(request.app.state.tuijian.store.add_users, users)
    return {"received": len(rows), "written": n}


@router.post(
    "/feedback",
    summary="Impressions / clicks / purchases against a request_id",
    openapi_extra=_body_doc(FeedbackBatch, FeedbackIn),
)
async def post_feedback(request: Request, _role: str = Depends(requires("ingest"))) -> dict[str, int]:
    rows = await _rows(request, "feedback")
    parsed = _validated(rows, FeedbackIn, "feedback")
    records = [f.model_dump() for f in parsed]
    n = await run_in_threadpool(request.app.state.tuijian.store.log_feedback, records)
    return {"received": len(rows), "written": n}
