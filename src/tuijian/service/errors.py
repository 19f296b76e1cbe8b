"""The ONE place where errors become HTTP responses.

=========================  ======  ==========================================
exception                  status  meaning
=========================  ======  ==========================================
PermissionDeniedError      403     valid key, role too weak
AuthError                  401     no key / unknown or revoked key
PayloadTooLargeError       413     batch or body over the per-request limit
RateLimitedError           429     the key's rate limit is spent (Retry-After)
DatasetNotFoundError       404     unknown dataset
DataError / SchemaError    422     bad rows or fields (each one named)
UnknownIdError             404     unknown user/item id
ModelNotFoundError         404     unknown model name or artifact
ConfigError                400     bad parameter (named, expected vs received)
NotFittedError             503     no model loaded yet (service starting)
StorageError               503     database unavailable
RequestValidationError     422     FastAPI/pydantic validation, per field
HTTPException              as is   framework errors (404 unknown path, 405)
=========================  ======  ==========================================

Client errors are never 500: anything derived from ``TuijianError`` has a status here. Echoed inputs are made
JSON-safe first (a NaN, an infinity or a lone surrogate in a bad field is shown, not re-raised while answering).
"""

from __future__ import annotations

import logging
import math
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


class RateLimitedError(TuijianError):
    """An API key sent more requests than its rate limit allows; ``retry_after`` seconds until the next one."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


#: most specific first
STATUS: tuple[tuple[type[TuijianError], int], ...] = (
    (PermissionDeniedError, 403),
    (AuthError, 401),
    (PayloadTooLargeError, 413),
    (RateLimitedError, 429),
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
    body: dict[str, Any] = {
        "error": _snake(type(exc).__name__),
        "detail": json_safe(str(exc), 2000),
        "request_id": request_id,
    }
    errors = getattr(exc, "errors", None)
    if errors:
        body["errors"] = _safe_entries(list(errors)[:100])
    return body


def json_safe(value: Any, max_chars: int = 200) -> Any:
    """An echoed input as something every JSON encoder accepts: non-finite floats and strings with lone
    surrogates are shown as text, long strings are cut, containers are summarised."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else f"{str(value)[:20]}… ({len(str(value))} digits)"
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        text = value if len(value) <= max_chars else value[:max_chars] + "…"
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, bytes):
        return json_safe(value[:max_chars].decode("utf-8", "backslashreplace"), max_chars)
    return f"({type(value).__name__})"


def validation_errors(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI's error list as ``{"field", "error", "input"[, "row"]}`` entries (inputs made JSON-safe)."""
    out = []
    for err in raw:
        loc = [str(p) for p in err.get("loc", ())]
        entry: dict[str, Any] = {
            "field": json_safe(".".join(loc) or "(request)"),
            "error": json_safe(str(err.get("msg", "invalid")), 500),
        }
        ints = [p for p in loc[1:] if p.isdigit()]
        if ints:
            entry["row"] = int(ints[0])
        if "input" in err and isinstance(err["input"], str | int | float | bool | type(None)):
            entry["input"] = json_safe(err["input"])
        out.append(entry)
    return out


def _safe_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: json_safe(v) if k != "row" else v for k, v in e.items()} for e in entries]


def install(app: Any) -> None:
    """Register the exception handlers on a FastAPI app."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    def rid(request: Any) -> str | None:
        return request.scope.get("state", {}).get("request_id")

    async def tuijian_error(request: Any, exc: TuijianError) -> JSONResponse:
        status = status_for(exc)
        headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
        if isinstance(exc, RateLimitedError):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
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

    async def http_error(request: Any, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 400 and "parsing the body" in detail:
            detail = "the request body could not be parsed: send UTF-8 JSON (or the form the route expects)"
        body = {
            "error": _snake(_HTTP_NAMES.get(exc.status_code, "HttpError")),
            "detail": json_safe(detail, 2000),
        }
        return JSONResponse(
            {**body, "request_id": rid(request)}, status_code=exc.status_code, headers=exc.headers
        )

    app.add_exception_handler(TuijianError, tuijian_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)


_HTTP_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
}
