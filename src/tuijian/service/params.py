"""Lean query-string parsing for the hot GET endpoints.

FastAPI's per-parameter dependency machinery costs more than the recommendation itself,
so the hot routes read ``request.query_params`` through :func:`parse_query`, which
validates exactly like FastAPI would (422 naming ``query.<name>`` and the received value)
and documents the parameters in OpenAPI via :func:`openapi_parameters`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuijian.exceptions import DataError


@dataclass(frozen=True)
class Param:
    name: str
    type: type
    default: Any
    description: str
    ge: float | None = None
    le: float | None = None
    max_length: int | None = None


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _convert(p: Param, raw: str) -> Any:
    if p.type is bool:
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError("Input should be a valid boolean")
    if p.type is int:
        try:
            value: Any = int(raw)
        except ValueError:
            raise ValueError("Input should be a valid integer") from None
    elif p.type is float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("Input should be a valid number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("Input should be a finite number")
    else:
        value = raw
        if p.max_length is not None and len(raw) > p.max_length:
            raise ValueError(f"String should have at most {p.max_length} characters")
        return value
    if p.ge is not None and value < p.ge:
        raise ValueError(f"Input should be greater than or equal to {p.ge:g}")
    if p.le is not None and value > p.le:
        raise ValueError(f"Input should be less than or equal to {p.le:g}")
    return value


def parse_query(query: Any, spec: tuple[Param, ...]) -> dict[str, Any]:
    """Values for ``spec`` from a query mapping; raises a 422 :class:`DataError` naming every bad parameter."""
    out: dict[str, Any] = {}
    errors = []
    for p in spec:
        raw = query.get(p.name)
        if raw is None:
            out[p.name] = p.default
            continue
        try:
            out[p.name] = _convert(p, raw)
        except ValueError as exc:
            errors.append({"field": f"query.{p.name}", "error": str(exc), "input": raw})
    if errors:
        raise DataError(
            f"{len(errors)} invalid field(s): " + "; ".join(f"{e['field']}: {e['error']}" for e in errors),
            errors=errors,
        )
    return out


def openapi_parameters(spec: tuple[Param, ...], path: tuple[str, ...] = ()) -> dict[str, Any]:
    """``openapi_extra`` documenting path and query parameters."""
    names = {int: "integer", float: "number", bool: "boolean", str: "string"}
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in path
    ]
    for p in spec:
        schema: dict[str, Any] = {"type": names[p.type]}
        if p.default is not None:
            schema["default"] = p.default
        if p.ge is not None:
            schema["minimum"] = p.ge
        if p.le is not None:
            schema["maximum"] = p.le
        params.append(
            {"name": p.name, "in": "query", "required": False, "description": p.description, "schema": schema}
        )
    return {"parameters": params}
