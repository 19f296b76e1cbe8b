"""Ingestion: events (single or batch), items, users, feedback. Every write is durable before 2xx."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from tuijian.data.schema import Item, User
from tuijian.exceptions import DataError
from tuijian.service.auth import requires
from tuijian.service.errors import PayloadTooLargeError
from tuijian.service.schemas import MAX_BATCH, EventBatch, FeedbackBatch, FeedbackIn, IngestResult
from tuijian.store.records import format_validation_error

router = APIRouter(prefix="/v1", tags=["ingestion"])
MAX_BODY_BYTES = 64 * 1024 * 1024


async def _rows(request: Request, key: str) -> list[Any]:
    """The JSON body as a list of rows: ``{key: [...]}``, a bare list, or one object."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(
            f"request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}: split the batch"
        )
    try:
        payload = json.loads(body or b"null")
    except json.JSONDecodeError as exc:
        raise DataError(f"request body is not valid JSON: {exc}") from None
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


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


@router.post(
    "/events",
    response_model=IngestResult,
    summary='Ingest one event or {"events": [...]} (≤ 10,000)',
    openapi_extra=_body_doc(EventBatch),
)
async def post_events(request: Request, _role: str = Depends(requires("ingest"))) -> IngestResult:
    rows = await _rows(request, "events")
    st = request.app.state.tuijian
    result = await run_in_threadpool(st.store.add_events, rows)
    st.metrics.events.labels(result="inserted").inc(result.inserted)
    st.metrics.events.labels(result="duplicate").inc(result.duplicates)
    return IngestResult(received=len(rows), inserted=result.inserted, duplicates=result.duplicates)


@router.post(
    "/items", summary='Insert or update catalog items ({"items": [...]})', openapi_extra=_body_doc(Item)
)
async def post_items(request: Request, _role: str = Depends(requires("ingest"))) -> dict[str, int]:
    rows = await _rows(request, "items")
    n = await run_in_threadpool(request.app.state.tuijian.store.add_items, rows)
    return {"received": len(rows), "written": n}


@router.post("/users", summary='Insert or update users ({"users": [...]})', openapi_extra=_body_doc(User))
async def post_users(request: Request, _role: str = Depends(requires("ingest"))) -> dict[str, int]:
    rows = await _rows(request, "users")
    n = await run_in_threadpool(request.app.state.tuijian.store.add_users, rows)
    return {"received": len(rows), "written": n}


@router.post(
    "/feedback",
    summary="Impressions / clicks / purchases against a request_id",
    openapi_extra=_body_doc(FeedbackBatch),
)
async def post_feedback(request: Request, _role: str = Depends(requires("ingest"))) -> dict[str, int]:
    rows = await _rows(request, "feedback")
    parsed, errors = [], []
    for i, r in enumerate(rows):
        try:
            parsed.append(FeedbackIn.model_validate(r))
        except ValidationError as exc:
            errors.extend(format_validation_error(exc, i))
    if errors:
        raise DataError(
            f"{len({e['row'] for e in errors})} bad feedback row(s): "
            + "; ".join(f"row {e['row']}: {e['field']}: {e['error']}" for e in errors[:10]),
            errors=errors,
        )
    records = [f.model_dump() for f in parsed]
    n = await run_in_threadpool(request.app.state.tuijian.store.log_feedback, records)
    return {"received": len(rows), "written": n}
