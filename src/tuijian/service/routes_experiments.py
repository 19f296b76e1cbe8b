"""A/B experiments over HTTP: create, list, read, assign, report, stop, and the sample-size calculator.

Handlers validate, call :mod:`tuijian.policy` and the store, and shape the answer; the design is checked by
:func:`tuijian.policy.abtest.experiment_from_spec` (a 400 naming the field), the statistics are in
:mod:`tuijian.policy.abtest_analysis`. Creating and stopping take effect in this worker at once and in
every other worker within ``poll_seconds`` (:class:`~tuijian.service.experiment_router.ExperimentRouter`).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from tuijian.service.auth import requires
from tuijian.service.limits import loads_strict
from tuijian.service.params import Param, openapi_parameters, parse_query
from tuijian.service.routes_ingest import _body_doc

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])


class VariantSpec(BaseModel):
    """One arm (documentation of the body; :func:`tuijian.policy.abtest.experiment_from_spec` validates it)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="1-64 letters, digits, '_', '-' or '.'; the first variant is the control")
    weight: float = Field(1.0, gt=0, description="share of users, any positive scale")
    model_version: str | None = Field(None, description="a stored version label; null: the active version")
    strategy: Literal["model", "fallback", "trending"] = "model"
    config: dict[str, bool | float] = Field(
        default_factory=dict, description="request overrides: exclude_purchased (bool), window_days (number)"
    )


class ExperimentSpec(BaseModel):
    """The body of ``POST /v1/experiments``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=128)
    description: str = Field("", max_length=2000)
    variants: list[VariantSpec] = Field(min_length=2, max_length=10)
    traffic: float = Field(1.0, gt=0, le=1, description="share of users in the experiment")
    primary_metric: Literal["click_rate", "ctr", "conversion", "revenue_per_user"] = "click_rate"
    alpha: float = Field(0.05, gt=0, lt=0.5)
    looks: int = Field(5, ge=1, le=20, description="looks of the sequential stop rule")
    planned_users: int | None = Field(None, ge=10, description="users per variant; null: fixed horizon")


SAMPLE_SIZE_PARAMS = (
    Param("baseline", float, 0.05, "control rate of the metric (e.g. click rate)", ge=1e-6, le=0.999999),
    Param(
        "relative_lift", float, 0.10, "smallest relative lift worth detecting (0.1 = +10%)", ge=-0.99, le=100
    ),
    Param("alpha", float, 0.05, "two-sided significance level", ge=1e-6, le=0.5),
    Param("power", float, 0.8, "probability of detecting the lift", ge=0.05, le=0.9999),
    Param("looks", int, 5, "planned looks of the sequential stop rule", ge=1, le=20),
)
REPORT_PARAMS = (Param("bootstrap", int, 1000, "bootstrap resamples (0: none)", ge=0, le=20_000),)
ASSIGN_PARAMS = (Param("user", str, None, "the user id as the shop sends it", max_length=128),)


def _state(request: Request) -> Any:
    return request.app.state.tuijian


@router.post(
    "",
    status_code=201,
    summary="Create and start an experiment (role admin)",
    openapi_extra=_body_doc(ExperimentSpec),
)
async def create_experiment(request: Request, _role: str = Depends(requires("admin"))) -> JSONResponse:
    from tuijian.policy.abtest import experiment_from_spec
    from tuijian.store.records import now_us

    st = _state(request)
    spec = loads_strict(await request.body() or b"null")

    def create() -> dict[str, Any]:
        versions = {r["metrics"].get("label") for r in st.store.list_model_versions(st.dataset)}
        exp = experiment_from_spec(
            spec,
            experiment_id=st.store.new_experiment_id(),
            created_at=now_us(),
            known_versions={v for v in versions if v},
        )
        record = st.store.create_experiment(st.dataset, exp)
        st.store.audit("api", "experiment_create", exp.id, {"name": exp.name})
        st.extras["experiments"].refresh()  # routes here at once (loads the variants' model versions)
        return _public(record)

    return JSONResponse(await run_in_threadpool(create), status_code=201)


@router.get("", summary="Experiments of the served dataset, newest first (role admin)")
async def list_experiments(request: Request, _role: str = Depends(requires("admin"))) -> dict[str, Any]:
    st = _state(request)
    records = await run_in_threadpool(st.store.list_experiments, st.dataset)
    return {"experiments": [_public(r) for r in records]}


@router.get(
    "/sample-size",
    summary="Users per variant to detect a relative lift of a rate (role read)",
    openapi_extra=openapi_parameters(SAMPLE_SIZE_PARAMS),
)
async def sample_size(request: Request, _role: str = Depends(requires("read"))) -> dict[str, Any]:
    from tuijian.policy.abtest_sim import plan

    q = parse_query(request.query_params, SAMPLE_SIZE_PARAMS)
    return await run_in_threadpool(
        plan, q["baseline"], q["relative_lift"], q["alpha"], q["power"], q["looks"]
    )


@router.get("/{experiment_id}", summary="One experiment's design and status (role admin)")
async def get_experiment(
    request: Request, experiment_id: str, _role: str = Depends(requires("admin"))
) -> dict[str, Any]:
    return _public(await run_in_threadpool(_state(request).store.experiment_record, experiment_id))


@router.get(
    "/{experiment_id}/assign",
    summary="The variant a user gets (role read)",
    openapi_extra=openapi_parameters(ASSIGN_PARAMS, ("experiment_id",)),
)
async def assign(
    request: Request, experiment_id: str, _role: str = Depends(requires("read"))
) -> dict[str, Any]:
    from tuijian.exceptions import ConfigError
    from tuijian.policy.abtest import experiment_from_dict

    q = parse_query(request.query_params, ASSIGN_PARAMS)
    if not q["user"]:
        raise ConfigError("query parameter user is required, e.g. ?user=12345")
    exp = experiment_from_dict(
        await run_in_threadpool(_state(request).store.experiment_record, experiment_id)
    )
    v = exp.assign(q["user"])
    return {
        "experiment": exp.id,
        "status": exp.status,
        "user": q["user"],
        "in_experiment": v is not None,
        "variant": None if v is None else v.name,
    }


@router.get(
    "/{experiment_id}/report",
    summary="Metrics, significance, SRM and the stop rule from the logs (role admin)",
    openapi_extra=openapi_parameters(REPORT_PARAMS, ("experiment_id",)),
)
async def report(
    request: Request, experiment_id: str, _role: str = Depends(requires("admin"))
) -> dict[str, Any]:
    q = parse_query(request.query_params, REPORT_PARAMS)
    return await run_in_threadpool(experiment_report, _state(request).store, experiment_id, q["bootstrap"])


@router.post(
    "/{experiment_id}/stop", summary="Stop an experiment; its users return to default serving (role admin)"
)
async def stop(
    request: Request, experiment_id: str, _role: str = Depends(requires("admin"))
) -> dict[str, Any]:
    st = _state(request)

    def run() -> dict[str, Any]:
        record = st.store.stop_experiment(experiment_id)
        st.store.audit("api", "experiment_stop", record["id"], {})
        st.extras["experiments"].refresh()
        return _public(record)

    return await run_in_threadpool(run)


def experiment_report(store: Any, experiment_id: str, bootstrap: int = 1000) -> dict[str, Any]:
    """The report of a stored experiment from the store's logs (shared by the API, the CLI and the dashboard)."""
    from tuijian.policy.abtest import experiment_from_dict
    from tuijian.policy.abtest_analysis import analyse

    record = store.experiment_record(experiment_id)
    exposures, outcomes = store.experiment_logs(experiment_id)
    out = analyse(experiment_from_dict(record), exposures, outcomes, n_bootstrap=bootstrap)
    out["experiment"] = _public(record)
    out["exposures"] = len(exposures)
    return out


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """An experiment record without its hashing salt."""
    return {k: v for k, v in record.items() if k != "salt"}
