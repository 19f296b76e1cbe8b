"""Request and response bodies (they document the API in /docs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tuijian.data.schema import Event, Item, User

MAX_BATCH = 10_000
#: events older than this are refused (no shop has behaviour data from before the Unix epoch)
EARLIEST_EVENT = datetime(1970, 1, 1, tzinfo=UTC)
#: how far ahead of the server's clock an event may be stamped (clock skew between systems)
MAX_CLOCK_SKEW = timedelta(days=1)
MAX_TITLE_CHARS = 500
MAX_DESCRIPTION_CHARS = 20_000
MAX_BRAND_CHARS = 200
MAX_CATEGORY_LEVELS = 16
MAX_CATEGORY_CHARS = 200
MAX_ATTRIBUTES_BYTES = 20_000
#: the largest integer the databases store (SQLite and PostgreSQL BIGINT are signed 64-bit)
MAX_POSITION = 1_000_000


class EventIn(Event):
    """An event as the API accepts it: :class:`~tuijian.data.schema.Event` with ``ts`` bounded.

    A timestamp before 1970 or more than a day ahead of the server's clock is refused with 422: such an event
    cannot be real behaviour, and one of them would move every "recent" window (trending) and every
    time-ordered split to a date no other event is near.
    """

    @field_validator("ts")
    @classmethod
    def _plausible(cls, v: datetime) -> datetime:
        ts = v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        latest = datetime.now(UTC) + MAX_CLOCK_SKEW
        if ts < EARLIEST_EVENT or ts > latest:
            raise ValueError(
                f"ts {ts.isoformat()} is outside the accepted range {EARLIEST_EVENT.date().isoformat()} .. "
                f"{latest.isoformat(timespec='seconds')} (now + {MAX_CLOCK_SKEW.days} day); send the time the "
                "event happened, in UTC"
            )
        return ts


def _category_path(value: Any) -> Any:
    """``"A > B"`` (a path) or ``"a|b"`` (a set) as a list, the way the store reads strings."""
    if isinstance(value, str):
        sep = ">" if ">" in value else "|"
        return [p.strip() for p in value.split(sep) if p.strip()]
    return value


def _capped_attributes(v: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(v, ensure_ascii=False, default=str).encode()) > MAX_ATTRIBUTES_BYTES:
        raise ValueError(f"attributes must be at most {MAX_ATTRIBUTES_BYTES} bytes as JSON")
    return v


class ItemIn(Item):
    """A catalogue item as the API accepts it: :class:`~tuijian.data.schema.Item` with length caps and a
    category that is a list of strings (or one ``"A > B"`` path string)."""

    title: str = Field(default="", max_length=MAX_TITLE_CHARS)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    brand: str = Field(default="", max_length=MAX_BRAND_CHARS)
    category: list[str] = Field(
        default_factory=list,
        max_length=MAX_CATEGORY_LEVELS,
        description='category path, root first (a list of strings, or one "A > B" string)',
    )
    price: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _lenient(cls, data: Any) -> Any:
        """What the store accepts from files too: a numeric id, null text fields and a null category."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        if isinstance(out.get("item_id"), int) and not isinstance(out["item_id"], bool):
            out["item_id"] = str(out["item_id"])
        for key in ("title", "description", "brand"):
            if key in out and out[key] is None:
                out[key] = ""
        for key, empty in (("category", []), ("attributes", {})):
            if key in out and out[key] is None:
                out[key] = empty
        return out

    @field_validator("category", mode="before")
    @classmethod
    def _path(cls, v: Any) -> Any:
        return _category_path(v)

    @field_validator("category")
    @classmethod
    def _levels(cls, v: list[str]) -> list[str]:
        long = [c for c in v if len(c) > MAX_CATEGORY_CHARS]
        if long:
            raise ValueError(f"category levels must be at most {MAX_CATEGORY_CHARS} characters each")
        return v

    @field_validator("attributes")
    @classmethod
    def _attributes_size(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _capped_attributes(v)


class UserIn(User):
    """A user as the API accepts it (attributes capped like an item's)."""

    @field_validator("attributes")
    @classmethod
    def _attributes_size(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _capped_attributes(v)


class EventBatch(BaseModel):
    """``{"events": [...]}``; a single event object (or a bare list) is accepted too."""

    events: list[EventIn] = Field(description=f"at most {MAX_BATCH} events per request")


class ItemBatch(BaseModel):
    """``{"items": [...]}``; a single item object (or a bare list) is accepted too."""

    items: list[ItemIn] = Field(description=f"at most {MAX_BATCH} items per request")


class UserBatch(BaseModel):
    """``{"users": [...]}``; a single user object (or a bare list) is accepted too."""

    users: list[UserIn] = Field(description=f"at most {MAX_BATCH} users per request")


class ErrorBody(BaseModel):
    """Every error answer (see :mod:`tuijian.service.errors`)."""

    error: str = Field(description="what kind of error, e.g. auth_error, validation_error, payload_too_large")
    detail: str = Field(description="what was wrong and how to fix it")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description='per bad field: {"field", "error", "input"[, "row"]}'
    )
    request_id: str | None = None


class IngestResult(BaseModel):
    received: int
    inserted: int
    duplicates: int = Field(description="rows skipped because their event_id was already stored")


class ReasonOut(BaseModel):
    """One reason for one item (``explain=true``; see docs/explain.md)."""

    kind: Literal[
        "history", "recent", "content", "repeat", "similar_shoppers", "price", "new", "trending", "popular",
        "exploration",
    ]  # fmt: skip
    item_ids: list[str] = Field(
        description="the evidence: history items (bought/viewed) that contributed most"
    )
    weight: float = Field(description="the reason's share of the score, in the model's own units")
    terms: list[str] | None = Field(default=None, description="content: the words the items share")


class AttributionOut(BaseModel):
    """One ranker feature's contribution to the item's score (the hybrid, ``explain=true``)."""

    feature: str
    value: float | None
    contribution: float
    kind: str | None = Field(
        description="the reason kind the feature maps to; null: a feature of the user only"
    )


class RecItem(BaseModel):
    item_id: str
    score: float
    reasons: list[str] | list[ReasonOut] = Field(
        description="reason codes: similar_to:<item>, personalized, repeat, popular, trending, new_item; "
        'with explain=true, structured reasons [{"kind", "item_ids", "weight"}], strongest first'
    )
    title: str | None = None
    price: float | None = None
    category: list[str] = Field(default_factory=list)
    reason_codes: list[str] | None = Field(default=None, description="explain=true: the plain reason codes")
    sentence: str | None = Field(default=None, description="explain=true: the reasons as a sentence in lang")
    attributions: list[AttributionOut] | None = Field(
        default=None, description="explain=true, hybrid ranker: the largest feature contributions"
    )
    base_value: float | None = Field(
        default=None, description="the ranker's expected score (attributions sum to score - base)"
    )


class RecResponse(BaseModel):
    request_id: str
    model_version: str
    source: str = Field(description="history, session, similar, trending or popular (cold start)")
    user: str | None = None
    item: str | None = None
    items: list[RecItem]
    unknown_items: list[str] | None = None
    # issue 13: set when the live strategy bandit chose the list (tuijian.service.bandit)
    strategy: str | None = Field(default=None, description="strategy the bandit chose (TUIJIAN_BANDIT=1)")
    exploration: bool | None = Field(default=None, description="true: not the bandit's greedy strategy")
    propensity: float | None = Field(default=None, description="probability the chosen strategy had")
    language: Literal["en", "zh"] | None = Field(
        default=None, description="explain=true: the sentence language"
    )


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Annotated[str, Field(max_length=128)]] = Field(
        min_length=1, max_length=200, description="the session's recent item ids, oldest first"
    )
    k: int = Field(default=10, ge=1, le=100)
    category: str | None = Field(default=None, max_length=200)
    price_min: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    price_max: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    allow_repeats: bool = False


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(
        min_length=1, max_length=64, description="request_id of the recommendation response"
    )
    item: str = Field(min_length=1, max_length=128)
    event: Literal["impression", "click", "add_to_cart", "purchase"]
    user: str | None = Field(default=None, max_length=128)
    position: int | None = Field(default=None, ge=0, le=MAX_POSITION)
    model_version: str | None = Field(default=None, max_length=128)


class FeedbackBatch(BaseModel):
    feedback: list[FeedbackIn] = Field(max_length=MAX_BATCH)


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        default=None, max_length=64, description="registry name; default: the serving model"
    )
    wait: bool = Field(
        default=False, description="train before answering (else 202 and train in the background)"
    )
