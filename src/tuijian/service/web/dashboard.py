"""Operator dashboard: ``/login`` (admin API key -> signed session cookie), ``/dashboard`` (data quality,
offline evaluation, online metrics, model versions with a retrain button) and ``/dashboard/keys``.

Without a valid admin session every dashboard page answers 303 to ``/login``. Every POST form carries a CSRF
token bound to the visitor cookie. The session names the key it was opened with; revoking that key (or unsetting
``TUIJIAN_ADMIN_KEY``) ends the session on the next request.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from tuijian.service.web import analytics
from tuijian.service.web.pages import Page, page
from tuijian.service.web.security import ADMIN_COOKIE, ADMIN_SESSION_SECONDS

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------------------- session
def admin_of(p: Page) -> str | None:
    """The key id (``"env"`` for TUIJIAN_ADMIN_KEY) of a valid admin session, else None."""
    data = p.ctx.signer.unsign(p.request.cookies.get(ADMIN_COOKIE))
    if not isinstance(data, dict) or data.get("sid") != p.sid or "exp" not in data:
        return None
    key = str(data.get("key") or "")
    st = p.ctx.state
    if key == "env":
        return key if st.auth.admin_key else None
    live = {k["key_id"]: k for k in st.store.list_api_keys() if not k["revoked"]}
    return key if key in live and live[key]["role"] == "admin" else None


def _to_login(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/dashboard") and "//" not in value else "/dashboard"


@router.get("/login")
def login_form(next: str | None = Query(None, max_length=200), p: Page = Depends(page)) -> Any:
    if admin_of(p):
        return p.redirect(_safe_next(next))
    return p.render("login.html", next=_safe_next(next), error=None, **_chrome(p))


@router.post("/login")
def login(
    key: str = Form("", max_length=512),
    csrf: str = Form(""),
    next: str = Form("/dashboard", max_length=200),
    p: Page = Depends(page),
) -> Any:
    p.check_csrf(csrf)
    st = p.ctx.state
    key = key.strip()
    role = st.auth.role_of(key) if key else None
    if role != "admin":
        return p.render(
            "login.html", status_code=401, next=_safe_next(next), error=p.t("login_failed"), **_chrome(p)
        )
    from tuijian.store.keys import split_key

    parts = split_key(key)
    key_id = "env" if st.auth.admin_key and key == st.auth.admin_key else (parts[0] if parts else "env")
    token = p.ctx.signer.sign({"key": key_id, "sid": p.sid, "exp": time.time() + ADMIN_SESSION_SECONDS})
    response = p.redirect(_safe_next(next))
    response.set_cookie(
        ADMIN_COOKIE,
        token,
        max_age=ADMIN_SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=p.request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(csrf: str = Form(""), p: Page = Depends(page)) -> Any:
    p.check_csrf(csrf)
    response = p.redirect("/login")
    response.delete_cookie(ADMIN_COOKIE)
    return response


def _chrome(p: Page) -> dict[str, Any]:
    return {"shoppers": [], "cart_count": 0, "model_version": p.ctx.state.engine.version}


def _job(p: Page) -> analytics.EvaluationJob:
    st = p.ctx.state
    job = p.ctx.extras.get("evaluation")
    if job is None:
        data_dir = str(st.settings.data_dir) if st.settings.data_dir else None
        job = p.ctx.extras.setdefault(
            "evaluation", analytics.EvaluationJob(st.settings.home, st.dataset, data_dir)
        )
    return job


def _quality(p: Page) -> dict[str, Any]:
    st = p.ctx.state
    cached = p.ctx.extras.get("quality")
    if cached is None:
        data_dir = str(st.settings.data_dir) if st.settings.data_dir else None
        cached = p.ctx.extras.setdefault(
            "quality", analytics.load_quality(st.settings.home, st.dataset, st.store, data_dir)
        )
    return cached


def _when(us: int | None) -> str:
    if not us:
        return ""
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------------------- pages
@router.get("/dashboard")
async def dashboard(msg: str | None = Query(None, max_length=32), p: Page = Depends(page)) -> Any:
    if not await run_in_threadpool(admin_of, p):
        return _to_login("/dashboard")
    st = p.ctx.state
    quality = await run_in_threadpool(_quality, p)
    evaluation = await run_in_threadpool(analytics.latest_evaluation, st.settings.home)
    feedback = await run_in_threadpool(st.store.feedback_frame)
    online = analytics.online_metrics(feedback)
    versions = await run_in_threadpool(st.store.list_model_versions, st.dataset)
    for v in versions:
        v["created"] = _when(v.get("created_at"))
    job = _job(p)
    eval_view = analytics.evaluation_view(evaluation) if evaluation else None
    charts = {
        "quality": analytics.quality_charts(quality),
        "evaluation": {"models": eval_view["models"], "metrics": eval_view["charts"]} if eval_view else None,
        "online": None if online["empty"] else online["series"],
    }
    checks = [
        {"dimension": dim, **c} for dim, items in (quality.get("dimensions") or {}).items() for c in items
    ]
    overview = quality.get("overview") or {}
    messages = {
        "retrain": p.t("retrain_started"),
        "retrain_busy": p.t("retrain_running"),
        "evaluating": p.t("evaluation_running"),
    }
    return p.render(
        "dashboard.html",
        section="overview",
        message=messages.get(msg or ""),
        quality=quality,
        checks=checks,
        overview=overview,
        evaluation=eval_view,
        evaluation_running=job.running,
        evaluation_error=job.last_error,
        online=online,
        versions=versions,
        served=st.engine.version,
        retraining=st.retrainer.running,
        last_error=st.retrainer.last_error,
        charts=charts,
        n_events=overview.get("events"),
        **_chrome(p),
    )


@router.post("/dashboard/retrain")
def retrain(csrf: str = Form(""), p: Page = Depends(page)) -> Any:
    if not admin_of(p):
        return _to_login("/dashboard")
    p.check_csrf(csrf)
    started = p.ctx.state.retrainer.start()
    if started:
        p.ctx.state.store.audit("dashboard", "retrain", None, {})
    return p.redirect(f"/dashboard?msg={'retrain' if started else 'retrain_busy'}#models")


@router.post("/dashboard/evaluate")
def evaluate(csrf: str = Form(""), p: Page = Depends(page)) -> Any:
    if not admin_of(p):
        return _to_login("/dashboard")
    p.check_csrf(csrf)
    _job(p).start()
    return p.redirect("/dashboard?msg=evaluating#evaluation")


@router.get("/dashboard/keys")
def keys_page(done: str | None = Query(None, max_length=64), p: Page = Depends(page)) -> Any:
    if not admin_of(p):
        return _to_login("/dashboard/keys")
    return _render_keys(p, new_key=None, message=p.t("key_revoked", id=done) if done else None)


def _render_keys(p: Page, new_key: str | None, message: str | None, status_code: int = 200) -> Any:
    from tuijian.store.keys import ROLES

    keys = p.ctx.state.store.list_api_keys()
    for k in keys:
        k["created"] = _when(k.get("created_at"))
    return p.render(
        "keys.html",
        section="keys",
        keys=keys[::-1],
        roles=ROLES,
        new_key=new_key,
        message=message,
        env_admin=bool(p.ctx.state.auth.admin_key),
        status_code=status_code,
        **_chrome(p),
    )


@router.post("/dashboard/keys")
def create_key(
    role: str = Form(...),
    name: str = Form("", max_length=200),
    csrf: str = Form(""),
    p: Page = Depends(page),
) -> Any:
    if not admin_of(p):
        return _to_login("/dashboard/keys")
    p.check_csrf(csrf)
    _, plaintext = p.ctx.state.store.create_api_key(
        role, name.strip(), actor="dashboard"
    )  # ConfigError (400) on a bad role
    return _render_keys(p, new_key=plaintext, message=None, status_code=201)


@router.post("/dashboard/keys/revoke")
def revoke_key(key_id: str = Form(..., max_length=128), csrf: str = Form(""), p: Page = Depends(page)) -> Any:
    if not admin_of(p):
        return _to_login("/dashboard/keys")
    p.check_csrf(csrf)
    p.ctx.state.store.revoke_api_key(key_id, actor="dashboard")
    return p.redirect(f"/dashboard/keys?done={quote(key_id)}")
