"""Assistant and copy endpoints: ``POST /v1/assistant/ask``, ``POST /v1/assistant/guide``,
``GET /v1/items/{item_id}/copy``. Thin: validate, call :mod:`tuijian.generate`, shape the response.

Multi-turn: a reply carries ``session``; sending it back with the next message continues the conversation
("any cheaper?", "is it waterproof?"). Conversations live in memory, bounded in number and idle time
(:class:`~tuijian.generate.assistant_session.ConversationStore`); an unknown or expired id is a 404 that says
to omit ``session`` to start over."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from tuijian.service.auth import requires

router = APIRouter(tags=["assistant"])


_SESSION = Field(
    default=None,
    pattern=r"^[A-Za-z0-9_-]{1,64}$",
    description="conversation id from a previous reply; omit to start a new conversation",
)


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    language: Literal["en", "zh"] | None = None
    k: int = Field(default=3, ge=1, le=20)
    session: str | None = _SESSION


class GuideRequest(BaseModel):
    request: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    user: str | None = Field(default=None, max_length=128)
    k: int = Field(default=5, ge=1, le=50)
    language: Literal["en", "zh"] | None = None
    session: str | None = _SESSION


def _conversation(request: Request, session: str | None) -> tuple[str, Any]:
    """The conversation ``session`` (404 when unknown or expired), or a new one."""
    from tuijian.generate.assistant_session import ConversationStore

    extras = request.app.state.tuijian.extras
    store = extras.setdefault("assistant_sessions", ConversationStore(max_sessions=10_000, ttl_s=1800))
    if session is None:
        return store.new()
    return session, store.get(session)


def _engine_personalizer(engine: Any) -> Any:
    """``(user, items) -> scores`` from the serving engine's ranked list (rank-based), or None."""
    if engine is None or not hasattr(engine, "recommend_user"):
        return None

    def personalize(user: str, items: list[str]) -> list[float]:
        from tuijian.exceptions import TuijianError

        try:
            ranked = engine.recommend_user(user, k=200).get("items", [])
        except TuijianError:
            return [0.0] * len(items)
        ids = [str(r.get("item") or r.get("item_id")) if isinstance(r, dict) else str(r) for r in ranked]
        rank = {i: 1.0 - n / max(len(ids), 1) for n, i in enumerate(ids)}
        return [rank.get(i, 0.0) for i in items]

    return personalize


def _assistant(request: Request) -> Any:
    """One :class:`ShopAssistant` per app, built from the store's catalogue and events on first use."""
    st = request.app.state.tuijian
    if "assistant" not in st.extras:
        from tuijian.generate.assistant import ShopAssistant
        from tuijian.generate.shop import ShopData
        from tuijian.generate.writer import CopyWriter

        events = st.store.events_frame()
        reviews = None
        if events is not None and len(events) and "text" in events:
            rv = events[(events["kind"] == "review") & events["text"].notna()]
            reviews = rv.rename(columns={"value": "rating"})[["item", "text", "rating"]] if len(rv) else None
        dataset = getattr(st.settings, "dataset", "")
        currency = "GBP" if str(dataset).startswith("online-retail") else "USD"
        shop = ShopData.from_frames(
            st.store.items_frame(), events, reviews, currency=currency, name=str(dataset)
        )
        st.extras["assistant"] = ShopAssistant(shop, personalize=_engine_personalizer(st.engine)).fit()
        st.extras["copy_writer"] = CopyWriter()
    return st.extras["assistant"]


@router.post("/v1/assistant/ask")
async def ask(request: Request, body: AskRequest, _role: str = Depends(requires("read"))) -> dict[str, Any]:
    assistant = await run_in_threadpool(_assistant, request)
    session, conversation = _conversation(request, body.session)
    answer = await run_in_threadpool(assistant.ask, body.question, body.language, body.k, conversation)
    answer.session = session
    return answer.to_dict()


@router.post("/v1/assistant/guide")
async def guide(
    request: Request, body: GuideRequest, _role: str = Depends(requires("read"))
) -> dict[str, Any]:
    assistant = await run_in_threadpool(_assistant, request)
    session, conversation = _conversation(request, body.session)
    reply = await run_in_threadpool(
        assistant.guide, body.request, body.user, body.k, body.language, conversation
    )
    reply.session = session
    return reply.to_dict()


@router.get("/v1/items/{item_id}/copy")
async def item_copy(
    request: Request,
    item_id: str,
    user: str | None = Query(default=None, max_length=128),
    lang: Literal["en", "zh"] = "en",
    task: Literal["description", "ad", "title", "push", "summary"] = "description",
    style: str | None = Query(
        default=None,
        max_length=32,
        description="a style of the task (see docs/generation.md); default: varied",
    ),
    length: Literal["short", "medium", "long"] | None = None,
    _role: str = Depends(requires("read")),
) -> dict[str, Any]:
    assistant = await run_in_threadpool(_assistant, request)
    from tuijian.generate.writer import CopyWriter

    # a hot swap may drop the cached writer between the two lookups; a fresh one is stateless
    writer = request.app.state.tuijian.extras.get("copy_writer") or CopyWriter()
    shop = assistant.shop

    def write() -> Any:
        from tuijian.exceptions import UnknownIdError

        facts = shop.facts(item_id)
        try:
            # stored ids are pseudonyms when pseudonymisation is on: look the shopper up as ingestion stored them
            stored = request.app.state.tuijian.store.user_key(user) if user else None
            interests = shop.interests(stored) if stored else []
        except UnknownIdError:
            interests = []
        return writer.write(task, facts, lang, interests=interests, style=style, length=length)

    copy = await run_in_threadpool(write)
    return {
        "item": item_id,
        "language": lang,
        "task": task,
        "style": style,
        "length": length,
        "text": copy.text,
        "backend": copy.backend,
        "grounded": copy.grounded,
        "cached": copy.cached,
    }
