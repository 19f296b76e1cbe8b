"""Request and response bodies (they document the API in /docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tuijian.data.schema import Event

MAX_BATCH = 10_000


class EventBatch(BaseModel):
    """``{"events": [...]}``; a single event object (or a bare list) is accepted too."""

    events: list[Event] = Field(description=f"at most {MAX_BATCH} events per request")


class IngestResult(BaseModel):
    received: int
    inserted: int
    duplicates: int = Field(description="rows skipped because their event_id was already stored")


class RecItem(BaseModel):
    item_id: str
    score: float
    reasons: list[str] = Field(
        description="similar_to:<item>, personalized, repeat, popular, trending, new_item"
    )
    title: str | None = None
    price: float | None = None
    category: list[str] = Field(default_factory=list)


class RecResponse(BaseModel):
    request_id: str
    model_version: str
    source: str = Field(description="history, session, similar, trending or popular (cold start)")
    user: str | None = None
    item: str | None = None
    items: list[RecItem]
    unknown_items: list[str] | None = None


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[str] = Field(
        min_length=1, max_length=200, description="the session's recent item ids, oldest first"
    )
    k: int = Field(default=10, ge=1, le=100)
    category: str | None = None
    price_min: float | None = Field(default=None, ge=0)
    price_max: float | None = Field(default=None, ge=0)
    allow_repeats: bool = False


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(
        min_length=1, max_length=64, description="request_id of the recommendation response"
    )
    item: str = Field(min_length=1, max_length=128)
    event: Literal["impression", "click", "add_to_cart", "purchase"]
    user: str | None = Field(default=None, max_length=128)
    position: int | None = Field(default=None, ge=0)
    model_version: str | None = None


class FeedbackBatch(BaseModel):
    feedback: list[FeedbackIn] = Field(max_length=MAX_BATCH)


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="registry name; default: the serving model")
    wait: bool = Field(
        default=False, description="train before answering (else 202 and train in the background)"
    )
