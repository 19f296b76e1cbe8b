"""Administration: retraining and model versions (role ``admin``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from tuijian.service.auth import requires
from tuijian.service.schemas import RetrainRequest

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/retrain", summary="Retrain on all stored events and hot-swap the new version")
async def retrain(
    request: Request, body: RetrainRequest | None = None, _role: str = Depends(requires("admin"))
) -> Any:
    st = request.app.state.tuijian
    body = body or RetrainRequest()
    if body.model is not None:
        from tuijian.models.registry import model_class

        model_class(body.model)  # unknown names -> 404 before any work
    from tuijian.privacy.audit import actor_from_request

    detail = {"model": body.model, "wait": body.wait}
    await run_in_threadpool(st.store.audit, actor_from_request(request), "retrain", None, detail)
    if body.wait:
        version = await run_in_threadpool(st.retrainer.run, body.model)
        return {"status": "done", "model_version": version, "served": st.engine.version}
    started = st.retrainer.start(body.model)
    return JSONResponse(
        {"status": "started" if started else "already_running", "served": st.engine.version}, status_code=202
    )


@router.get("/models", summary="Trained versions of the served dataset and the one this worker serves")
def models(request: Request, _role: str = Depends(requires("admin"))) -> dict[str, Any]:
    st = request.app.state.tuijian
    return {
        "dataset": st.dataset,
        "served": st.engine.version,
        "retraining": st.retrainer.running,
        "last_retrain_error": st.retrainer.last_error,
        "versions": st.store.list_model_versions(st.dataset),
    }
