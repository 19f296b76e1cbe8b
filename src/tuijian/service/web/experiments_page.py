"""Dashboard page of the A/B tests: ``/dashboard/experiments`` (list, one experiment's report with plots) and
``POST /dashboard/experiments/stop``. Admin session required, like every dashboard page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query
from fastapi.concurrency import run_in_threadpool

from tuijian.service.web.dashboard import _chrome, _to_login, _when, admin_of
from tuijian.service.web.pages import Page, page

router = APIRouter(include_in_schema=False)

_METRICS = ("click_rate", "ctr", "conversion", "revenue_per_user")


def charts(report: dict[str, Any]) -> dict[str, Any]:
    """What ``experiments.js`` plots: exposed users over time, metric per variant, and relative differences
    against the control with their intervals."""
    from datetime import UTC, datetime

    tl = report["timeline"]
    labels = [datetime.fromtimestamp(ts / 1e6, UTC).strftime("%m-%d %H:%M:%S") for ts in tl["ts"]]
    variants = [v["variant"] for v in report["variants"]]
    metrics = {m: [v[m] for v in report["variants"]] for m in _METRICS}
    diffs: dict[str, list[dict[str, Any]]] = {}
    for c in report["comparisons"]:
        if "note" in c or not c.get("control"):
            continue
        base = c["control"]
        diffs.setdefault(c["metric"], []).append(
            {
                "variant": c["variant"],
                "lift": c["difference"] / base,
                "low": c["ci_low"] / base,
                "high": c["ci_high"] / base,
            }
        )
    return {
        "timeline": {"labels": labels, "series": tl["series"]},
        "variants": variants,
        "metrics": metrics,
        "diffs": diffs,
    }


@router.get("/dashboard/experiments")
async def experiments(
    id: str | None = Query(None, max_length=64),
    done: str | None = Query(None, max_length=64),
    p: Page = Depends(page),
) -> Any:
    if not await run_in_threadpool(admin_of, p):
        return _to_login("/dashboard/experiments")
    from tuijian.service.routes_experiments import experiment_report

    st = p.ctx.state
    records = await run_in_threadpool(st.store.list_experiments, st.dataset)
    for r in records:
        r["created"] = _when(r.get("created_at"))
        r["stopped"] = _when(r.get("stopped_at"))
    chosen = id or (records[0]["id"] if records else None)
    report = None
    if chosen is not None:
        report = await run_in_threadpool(experiment_report, st.store, chosen, 500)
    return p.render(
        "experiments.html",
        section="experiments",
        message=p.t("experiment_stopped") if done else None,
        experiments=records,
        report=report,
        charts=charts(report) if report else None,
        **_chrome(p),
    )


@router.post("/dashboard/experiments/stop")
def stop_experiment(
    experiment_id: str = Form("", max_length=64), csrf: str = Form(""), p: Page = Depends(page)
) -> Any:
    if not admin_of(p):
        return _to_login("/dashboard/experiments")
    p.check_csrf(csrf)
    st = p.ctx.state
    record = st.store.stop_experiment(experiment_id)  # UnknownIdError: 404
    st.store.audit("dashboard", "experiment_stop", record["id"], {})
    router_ = st.extras.get("experiments")
    if router_ is not None:
        router_.refresh()
    return p.redirect(f"/dashboard/experiments?id={quote(record['id'])}&done=1")
