"""Privacy endpoints (role ``admin``): erase a user, export a user's data, expire old behaviour, read the
audit log. Thin: the work is in :mod:`tuijian.privacy` and the store."""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from tuijian.privacy.audit import actor_from_request
from tuijian.service.auth import requires

router = APIRouter(tags=["privacy"])
log = logging.getLogger("tuijian.service")

USER_ID = Path(min_length=1, max_length=128, description="the user id as the shop sends it")
Refit = Literal["background", "wait", "skip"]
REFIT = Query(
    "background",
    description="remove their influence on the served model: retrain without them and hot-swap, in the "
    "background (202), before answering (wait), or not now (skip: the next retrain does it)",
)


def _trainer(st: Any) -> Any:
    """The service's retrainer (one retrain at a time; swaps the new version in this worker at once)."""
    return lambda model: st.retrainer.run(model)


_PENDING = threading.Lock()


def _refit(st: Any, actor: str, first_event_id: int | None, mode: str) -> dict[str, Any]:
    """Retrain without the deleted data now (``wait``) or in a background thread. Background refits are
    coalesced: while one has not started yet, later deletions join it (it reads the store when it starts)."""
    from tuijian.privacy.erasure import refit_without

    def run(first: int | None) -> dict[str, Any]:
        return refit_without(
            st.store,
            st.dataset,
            st.settings.artifacts_dir,
            actor=actor,
            first_event_id=first,
            train=_trainer(st),
        )

    if mode == "wait":
        return {"status": "done", **run(first_event_id)}
    with _PENDING:
        pending = st.extras.get("privacy_refit_pending")
        if pending is not None:  # not started yet: it will see this deletion too
            pending["first"] = _earliest(pending["first"], first_event_id)
            return {"status": "queued"}
        pending = st.extras["privacy_refit_pending"] = {"first": first_event_id}

    def background() -> None:
        with _PENDING:
            st.extras.pop("privacy_refit_pending", None)
        try:
            run(pending["first"])
        except Exception:  # noqa: BLE001 - logged; the audit log has no refit entry, the admin retries
            log.exception("refit after a deletion failed; POST /v1/admin/retrain to retry")

    threading.Thread(target=background, name="tuijian-privacy-refit", daemon=True).start()
    return {"status": "started"}


def _earliest(a: int | None, b: int | None) -> int | None:
    """The purge threshold covering both deletions (None: every older version)."""
    return None if a is None or b is None else min(a, b)


def _forget_caches(st: Any) -> None:
    """Drop this worker's in-memory state built from stored behaviour (the assistant and its copy cache)."""
    st.extras.pop("assistant", None)
    st.extras.pop("copy_writer", None)


@router.delete(
    "/v1/users/{user_id}",
    summary="Forget a user: delete their events, profile, feedback, served lists and cached copy, then "
    "retrain without them (role admin)",
)
async def forget_user(
    request: Request,
    user_id: str = USER_ID,
    refit: Refit = REFIT,
    _role: str = Depends(requires("admin")),
) -> Any:
    st = request.app.state.tuijian
    actor = actor_from_request(request)
    if st.impressions is not None:
        await run_in_threadpool(st.impressions.flush)  # their queued served lists are stored, then deleted
    deleted = await run_in_threadpool(
        lambda: st.store.forget_user(user_id, actor=actor)
    )  # 404: nothing stored
    _forget_caches(st)
    body: dict[str, Any] = {"user_id": user_id, "deleted": deleted, "refit": {"status": "skipped"}}
    if refit != "skip":
        body["refit"] = await run_in_threadpool(_refit, st, actor, deleted["first_event_id"], refit)
    return JSONResponse(body, status_code=202 if refit == "background" else 200)


@router.get("/v1/users/{user_id}/export", summary="Everything stored about a user, decrypted (role admin)")
async def export_user(
    request: Request, user_id: str = USER_ID, _role: str = Depends(requires("admin"))
) -> dict[str, Any]:
    st = request.app.state.tuijian
    data = await run_in_threadpool(st.store.user_data, user_id)
    counts = {k: len(data[k]) for k in ("events", "feedback", "served_lists", "experiment_exposures")}
    await run_in_threadpool(
        st.store.audit, actor_from_request(request), "user_export", data["stored_id"], counts
    )
    return data


@router.post(
    "/v1/admin/privacy/expire",
    summary="Delete events, feedback and served lists older than the retention period (role admin)",
)
async def expire(
    request: Request,
    days: float | None = Query(None, gt=0, le=36_500, description="default: TUIJIAN_RETENTION_DAYS"),
    refit: Refit = REFIT,
    _role: str = Depends(requires("admin")),
) -> Any:
    from tuijian.privacy.erasure import expire as expire_old

    st = request.app.state.tuijian
    actor = actor_from_request(request)
    report = await run_in_threadpool(lambda: expire_old(st.store, days, actor=actor))
    report["refit"] = {"status": "skipped"}
    if refit != "skip" and report["deleted"]["events"]:
        _forget_caches(st)
        report["refit"] = await run_in_threadpool(_refit, st, actor, None, refit)
    return JSONResponse(
        report, status_code=202 if report["refit"]["status"] in ("started", "queued") else 200
    )


@router.get("/v1/admin/audit", summary="The audit log, newest first (role admin)")
async def audit_log(
    request: Request,
    limit: int = Query(100, ge=1, le=10_000),
    action: str | None = Query(None, max_length=64, description="only this action, e.g. user_delete"),
    _role: str = Depends(requires("admin")),
) -> dict[str, Any]:
    st = request.app.state.tuijian
    entries = await run_in_threadpool(lambda: st.store.audit_entries(limit=limit, action=action))
    return {"entries": entries}
