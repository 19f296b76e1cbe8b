"""Operations: liveness, readiness, metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: a model is loaded and the database answers")
def ready(request: Request) -> Any:
    st = request.app.state.tuijian
    checks: dict[str, Any] = {"model": st.engine.version, "model_loaded": st.engine.ready}
    try:
        checks["max_event_id"] = st.store.max_event_id()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
        checks["database"] = f"error: {exc}"
    if st.watcher is not None and st.watcher.last_error:
        checks["last_reload_error"] = st.watcher.last_error
    ok = checks["model_loaded"] and checks["database"] == "ok"
    return JSONResponse({"status": "ready" if ok else "not_ready", **checks}, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=True)
def metrics(request: Request) -> Response:
    body, ctype = request.app.state.tuijian.metrics.render()
    return Response(body, media_type=ctype)
