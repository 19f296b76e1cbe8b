"""Typed, validated records: events, items and users.

These pydantic models validate single records (API payloads, JSONL import).
Bulk data travels as pandas frames with the columns listed in ``EVENT_COLUMNS``
and is validated column-wise by :func:`validate_events_frame`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tuijian.exceptions import SchemaError


class EventKind(StrEnum):
    VIEW = "view"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    RATING = "rating"
    REVIEW = "review"
    SEARCH = "search"


#: Default implicit-feedback weight of each event kind (purchase > cart > click > view).
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    EventKind.VIEW: 1.0,
    EventKind.CLICK: 2.0,
    EventKind.ADD_TO_CART: 4.0,
    EventKind.PURCHASE: 8.0,
    EventKind.RATING: 4.0,
    EventKind.REVIEW: 4.0,
    EventKind.SEARCH: 0.5,
}

#: Columns of an events frame. ``user``/``item`` are strings; ``ts`` is UTC datetime64.
EVENT_COLUMNS: tuple[str, ...] = ("user", "item", "kind", "value", "ts", "text", "session")


class Event(BaseModel):
    """One behaviour event. ``item`` may be empty only for ``search`` events."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: str | None = Field(default=None, max_length=128, description="client id for idempotency")
    user: str = Field(min_length=1, max_length=128)
    item: str | None = Field(default=None, max_length=128)
    kind: EventKind
    value: float = Field(default=1.0, description="quantity, rating (1-5) or other magnitude")
    ts: datetime = Field(default_factory=lambda: datetime.now(UTC))
    text: str | None = Field(default=None, max_length=20_000, description="review text or search query")
    session: str | None = Field(default=None, max_length=128)

    @field_validator("ts")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not np.isfinite(v):
            raise ValueError("value must be a finite number")
        return v

    def model_post_init(self, __context: Any) -> None:
        if self.kind != EventKind.SEARCH and not self.item:
            raise ValueError(f"item is required for {self.kind.value} events")
        if self.kind == EventKind.SEARCH and not self.text:
            raise ValueError("text (the query) is required for search events")
        if self.kind == EventKind.RATING and not (0 < self.value <= 10):
            raise ValueError(f"rating value must be in (0, 10], got {self.value}")


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    item_id: str = Field(min_length=1, max_length=128)
    title: str = ""
    description: str = ""
    brand: str = ""
    category: list[str] = Field(default_factory=list, description="category path, root first")
    price: float | None = Field(default=None, ge=0)
    attributes: dict[str, Any] = Field(default_factory=dict)


class User(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: str = Field(min_length=1, max_length=128)
    attributes: dict[str, Any] = Field(default_factory=dict)


def empty_events() -> pd.DataFrame:
    """An events frame with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "user": pd.Series([], dtype=object),
            "item": pd.Series([], dtype=object),
            "kind": pd.Series([], dtype=object),
            "value": pd.Series([], dtype="float64"),
            "ts": pd.Series([], dtype="datetime64[ns, UTC]"),
            "text": pd.Series([], dtype=object),
            "session": pd.Series([], dtype=object),
        }
    )


def validate_events_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Check an events frame column-wise and return it with canonical dtypes.

    Raises :class:`SchemaError` naming the missing column or the bad values.
    """
    missing = [c for c in ("user", "item", "kind", "ts") if c not in df.columns]
    if missing:
        raise SchemaError(f"events frame lacks required column(s) {missing}; got columns {list(df.columns)}")
    out = df.copy()
    for col, default in (("value", 1.0), ("text", None), ("session", None)):
        if col not in out.columns:
            out[col] = default
    bad_kinds = set(out["kind"].unique()) - {k.value for k in EventKind}
    if bad_kinds:
        raise SchemaError(
            f"unknown event kind(s) {sorted(map(str, bad_kinds))}; expected one of {[k.value for k in EventKind]}"
        )
    out["user"] = out["user"].astype(str)
    out["item"] = out["item"].astype(object)
    out["value"] = pd.to_numeric(out["value"], errors="raise").astype("float64")
    if not isinstance(out["ts"].dtype, pd.DatetimeTZDtype):
        ts = out["ts"]
        if np.issubdtype(ts.dtype, np.number):
            out["ts"] = pd.to_datetime(ts, unit="s", utc=True)
        else:
            out["ts"] = pd.to_datetime(ts, utc=True)
    return out[list(EVENT_COLUMNS)]
