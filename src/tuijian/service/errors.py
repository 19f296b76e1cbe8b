"""The ONE place where errors become HTTP responses.

=========================  ======  ==========================================
exception                  status  meaning
=========================  ======  ==========================================
PermissionDeniedError      403     valid key, role too weak
AuthError                  401     no key / unknown or revoked key
PayloadTooLargeError       413     batch over the per-request limit
DatasetNotFoundError       404     unknown dataset
DataError / SchemaError    422     bad rows or fields (each one named)
UnknownIdError             404     unknown user/item id
ModelNotFoundError         404     unknown model name or artifact
ConfigError                400     bad parameter (named, expected vs received)
NotFittedError             503     no model loaded yet (service starting)
StorageError               503     database unavailable
RequestValidationError     422     FastAPI/pydantic validation, per field
=========================  ======  ==========================================

Client errors are never 500: anything derived from ``TuijianError`` has a status here.
"""

from __future__ import annotations

import logging
from typing import Any

from tuijian.exceptions import (
    AuthError,
    ConfigError,
    DataError,
    DatasetNotFoundError,
    ModelNotFoundError,
    NotFittedError,
    PermissionDeniedError,
    StorageError,
    TuijianError,
    UnknownIdError,
)

log = logging.getLogger("tuijian.service")


class PayloadTooLargeError(ConfigError):
    """A request carries more rows (or bytes) than one request may."""


#: most specific first
STATUS: tuple[tuple[type[TuijianError], int], ...] = (
    (PermissionDeniedError, 403),
    (AuthError, 401),
    (PayloadTooLargeError, 413),
    (DatasetNotFoundError, 404),
    (DataError, 422),
    (UnknownIdError, 404),
    (ModelNotFoundError, 404),
    (ConfigError, 400),
    (NotFittedError, 503),
    (StorageError, 503),
    (TuijianError, 400),
)


def status_for(exc: TuijianError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def error_body(exc: TuijianError, request_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": _snake(type(exc).__name__), "detail": str(exc), "request_id": request_id}
    errors = getattr(exc, "errors", None)
    if errors:
        body["errors"] = errors
    return body


def validation_errors(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI's error list as ``{"field", "error", "input"[, "row"]}`` entries."""
    out = []
    for err in raw:
        loc = [str(p) for p in err.get("loc", ())]
        entry: dict[str, Any] = {"field": ".".join(loc) or "(request)", "error": err.get("msg", "invalid")}
        ints = [p for p in loc[1:] if p.isdigit()]
        if ints:
            entry["row"] = int(ints[0])
        if "input" in err and isinstance(err["input"], str | int | float | bool | type(None)):
            entry["input"] = err["input"]
        out.append(entry)
    return out


def install(app: Any) -> None:
    """Register the exception handlers on a FastAPI app."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    def rid(request: Any) -> str | None:
        return request.scope.get("state", {}).get("request_id")

    async def tuijian_error(request: Any, exc: TuijianError) -> JSONResponse:
        status = status_for(exc)
        headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
        if status >= 500:
            log.warning("service unavailable", extra={"error": str(exc), "request_id": rid(request)})
        return JSONResponse(error_body(exc, rid(request)), status_code=status, headers=headers)

    async def request_validation(request: Any, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        detail = "; ".join(f"{e['field']}: {e['error']}" for e in errors[:10])
        return JSONResponse(
            {
                "error": "validation_error",
                "detail": f"{len(errors)} invalid field(s): {detail}",
                "errors": errors,
                "request_id": rid(request),
            },
            status_code=422,
        )

    app.add_exception_handler(TuijianError, tuijian_error)
    app.add_exception_handler(RequestValidationError, request_validation)
