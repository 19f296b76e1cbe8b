"""Storefront pages: home (``/``), product pages (``/items/{id}``), search, cart, and the shopper's actions.

Who the visitor is: a guest bound to their own signed session cookie (``guest-<sid>``). With the
``shopper_picker`` setting on (the default in development and test, off in production) the header also offers
the stored shoppers, and a visitor may act as any of them: a demo feature, since that visitor then sees, buys
and reviews in the shopper's name. With it off the picker is not shown, ``POST /shop/shopper`` accepts only
``guest`` (else 403), and a shopper cookie naming anyone but the visitor's own guest id is ignored.

Actions (add to cart, buy, review, search) write REAL events through the store, exactly like
``POST /v1/events``, so the engine sees them on the next request. Every recommendation row served on a page
is logged as impressions under its own request id (``<request id>-<row>``); opening a card logs a ``click``,
and carting or buying from that page logs ``add_to_cart`` / ``purchase`` feedback against the same id.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse

from tuijian.exceptions import ConfigError, PermissionDeniedError, TuijianError, UnknownIdError
from tuijian.service.web.pages import Page, page

router = APIRouter(include_in_schema=False)

ROW_K = 6
SIMILAR_K = 12
COPY_BUDGET_S = 0.03  # generate missing copy inline for at most this long per page; the rest loads via JS
HISTORY_EVENTS = 200


# ---------------------------------------------------------------------------- helpers
def picker_allowed(p: Page) -> bool:
    """The shopper picker is on when the settings allow it and user ids are not pseudonymised (stored ids
    are then pseudonyms: acting as one would hash it a second time and file the events under another id)."""
    return bool(p.ctx.state.settings.allows_shopper_picker) and not p.ctx.state.store.pseudonymizer.enabled


def shop_page(request: Request) -> Page:
    """:func:`~tuijian.service.web.pages.page`, with the shopper bound to the visitor's session unless the
    shopper picker is allowed."""
    p = page(request)
    own = f"guest-{p.sid[:12]}"
    if not picker_allowed(p) and p.shopper != own:
        p.set_shopper(own, True)
    return p


def _why(p: Page, reasons: list[str], row: str) -> str:
    t = p.t
    first = reasons[0] if reasons else "popular"
    if first == "repeat" and len(reasons) > 1:
        return t("why_repeat")
    if first.startswith("similar_to:"):
        title = p.ctx.title(first.split(":", 1)[1]).title()
        if row == "search":
            return t("why_search")
        return t("why_similar_item" if row in ("because", "similar") else "why_similar", title=title)
    return t(
        {
            "personalized": "why_personalized",
            "popular": "why_popular",
            "trending": "why_trending",
            "repeat": "why_repeat",
            "new_item": "why_new",
        }.get(first, "why_popular")
    )


def _cards(
    p: Page, out: dict[str, Any], row: str, interests: list[str], deadline: float, log: bool = True
) -> list[dict[str, Any]]:
    """Cards of one served row; logs the row's impressions under ``<request id>-<row>``."""
    ctx, st = p.ctx, p.ctx.state
    rid = f"{p.request_id}-{row}"
    items = out.get("items", [])
    if log and items:
        st.impressions.log(rid, p.shopper, [e["item_id"] for e in items], out.get("model_version"))
    cards = []
    for pos, e in enumerate(items):
        iid = str(e["item_id"])
        rec = ctx.item(iid) or {}
        copy = ctx.cached_copy(iid, p.lang, interests)
        if copy is False:  # not generated yet: inline while the page's budget lasts, else static/shop.js asks
            copy = ctx.copy(iid, p.lang, interests) if time.perf_counter() < deadline else None
            pending = copy is None and time.perf_counter() >= deadline
        else:
            pending = False
        cards.append(
            {
                "item_id": iid,
                "title": (rec.get("title") or e.get("title") or iid).title(),
                "price": rec.get("price", e.get("price")),
                "blurb": copy,
                "pending": pending,
                # the explanation's sentence (tuijian.explain) where the row was explained, else the code's words
                "why": e.get("sentence")
                or _why(p, list(e.get("reason_codes") or e.get("reasons") or []), row),
                "href": f"/items/{iid}?rid={rid}&pos={pos}",
            }
        )
    return cards


def _explained_recs(p: Page, engine: Any) -> dict[str, Any]:
    """The shopper's top list with an explanation per item in the page's language (issue 14): the same
    query and ranking as ``recommend_user``, explained by :mod:`tuijian.explain`."""
    from tuijian.explain.render import explained_items

    snap, query = engine.user_query(p.shopper, ROW_K, session=p.sid[:64])
    ranked = snap.pipeline.recommend(query, ROW_K)
    items = explained_items(
        snap.pipeline, snap.catalog.records, query, ranked, "zh" if p.lang == "zh" else "en"
    )
    return {"model_version": snap.version, "source": query.source, "items": items}


def _history(p: Page) -> list[dict[str, Any]]:
    """The shopper's most recent events, oldest first, as dicts (``item, kind, text, ts``)."""
    frame = p.ctx.state.store.user_events(p.shopper, limit=HISTORY_EVENTS)
    return [
        {"item": i, "kind": k, "text": x}
        for i, k, x in zip(frame["item"], frame["kind"], frame["text"], strict=True)
    ]


def _cart(history: list[dict[str, Any]]) -> list[str]:
    """Items added to the cart and not bought since, in the order they were added."""
    cart: dict[str, None] = {}
    for ev in history:
        if ev["item"] is None:
            continue
        if ev["kind"] == "add_to_cart":
            cart[str(ev["item"])] = None
        elif ev["kind"] == "purchase":
            cart.pop(str(ev["item"]), None)
    return list(cart)


def _post_event(p: Page, kind: str, item: str | None, value: float = 1.0, text: str | None = None) -> None:
    """Store one event for the shopper, the same way ``POST /v1/events`` does (validated, durable)."""
    st = p.ctx.state
    row = {
        "event_id": f"web-{uuid.uuid4().hex}",
        "user": p.shopper,
        "item": item,
        "kind": kind,
        "value": value,
        "text": text,
        "session": p.sid[:64],
    }
    result = st.store.add_events([row])
    st.metrics.events.labels(result="inserted").inc(result.inserted)


def _feedback(p: Page, event: str, item: str, rid: str | None, pos: int | None) -> None:
    if not rid:
        return
    st = p.ctx.state
    st.store.log_feedback(
        [
            {
                "request_id": rid[:64],
                "user": p.shopper,
                "item": item,
                "position": pos,
                "event": event,
                "model_version": st.engine.version,
            }
        ]
    )


def _after(item: str, done: str, rid: str, pos: str) -> str:
    """Back to the product page, keeping the recommendation's request id so later actions count for it."""
    from urllib.parse import urlencode

    query = {"done": done, **({"rid": rid, "pos": pos} if rid else {})}
    return f"/items/{quote(item, safe='')}?{urlencode(query)}"


def _known_item(p: Page, item_id: str) -> str:
    if p.ctx.item(item_id) is None:
        raise UnknownIdError(f"item {item_id!r} is not in the catalogue")
    return item_id


def _base(p: Page, history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    history = _history(p) if history is None else history
    picker = picker_allowed(p)
    return {
        "cart_count": len(_cart(history)),
        "shoppers": p.ctx.shoppers() if picker else [],
        "shopper_picker": picker,
        "model_version": p.ctx.state.engine.version,
    }


# ---------------------------------------------------------------------------- pages
@router.get("/")
def home(p: Page = Depends(shop_page)) -> Any:
    ctx, engine = p.ctx, p.ctx.state.engine
    deadline = time.perf_counter() + COPY_BUDGET_S
    history = _history(p)
    interests = ctx.interests(history[-50:])
    rows: list[dict[str, Any]] = []
    if not engine.ready:
        return p.render("home.html", rows=[], notice=p.t("no_model"), **_base(p, history))
    recs = _explained_recs(p, engine)
    rows.append(
        {
            "id": "recs",
            "title": p.t("recommended_for_you"),
            "cards": _cards(p, recs, "recs", interests, deadline),
        }
    )
    bought = [ev["item"] for ev in history if ev["kind"] == "purchase" and ev["item"]]
    if bought:
        last = str(bought[-1])
        try:
            sim = engine.similar_items(last, ROW_K)
        except UnknownIdError:  # bought an item newer than the model: no neighbours yet
            sim = None
        if sim is not None:
            rows.append(
                {
                    "id": "because",
                    "title": p.t("because_you_bought", title=ctx.title(last).title()),
                    "anchor": last,
                    "cards": _cards(p, sim, "because", interests, deadline),
                }
            )
    searches = [ev["text"] for ev in history if ev["kind"] == "search" and ev["text"]]
    if searches:
        query = str(searches[-1])
        matches = ctx.search(query, 10)
        if matches:
            sess = engine.recommend_session(matches[:5], ROW_K - 2)
            sess["items"] = [
                {**rec, "reasons": ["similar_to:" + m]}
                for m in matches[:2]
                if (rec := ctx.item(m)) is not None
            ] + sess["items"]
            rows.append(
                {
                    "id": "search",
                    "title": p.t("inspired_by_search", q=query),
                    "cards": _cards(p, sess, "search", interests, deadline),
                }
            )
    trend = engine.trending(ROW_K)
    rows.append(
        {
            "id": "trending",
            "title": p.t("trending"),
            "cards": _cards(p, trend, "trending", interests, deadline),
        }
    )
    return p.render("home.html", rows=rows, notice=None, **_base(p, history))


@router.get("/items/{item_id}")
def item_page(
    item_id: str,
    rid: str | None = Query(None, max_length=64),
    pos: int | None = Query(None, ge=0, le=1000),
    done: str | None = Query(None, max_length=16),
    p: Page = Depends(shop_page),
) -> Any:
    ctx, engine = p.ctx, p.ctx.state.engine
    rec = ctx.item(item_id)
    if rec is None:
        return p.render("message.html", status_code=404, message=p.t("unknown_item", id=item_id), **_base(p))
    if rid and done is None:  # opened from a served recommendation (not the redirect after an action)
        _feedback(p, "click", item_id, rid, pos)
    _post_event(p, "view", item_id)
    deadline = time.perf_counter() + COPY_BUDGET_S
    history = _history(p)
    interests = ctx.interests(history[-50:])
    similar: list[dict[str, Any]] = []
    if engine.ready:
        try:
            similar = _cards(p, engine.similar_items(item_id, SIMILAR_K), "similar", interests, deadline)
        except UnknownIdError:
            similar = []
    facts = ctx.facts(item_id)
    reviews = ctx.reviews(item_id)
    insights = None
    if reviews:
        from tuijian.nlp.aspects import aspect_name

        def group(evidence: list[Any]) -> list[dict[str, Any]]:
            seen: dict[str, list[str]] = {}
            for ev in evidence:
                seen.setdefault(aspect_name(ev.aspect, p.lang), []).append(ev.text)
            return [{"aspect": a, "quotes": q[:3]} for a, q in list(seen.items())[:6]]

        insights = {
            "n": len(reviews),
            "mean": facts.derived.get("mean_rating"),
            "pros": group(facts.positive_evidence()),
            "cons": group(facts.negative_evidence()),
            "summary": ctx.copy(item_id, p.lang, [], task="summary"),
            "latest": [{"text": t, "rating": r} for t, r in reviews[-5:][::-1]],
        }
    flash = None
    if done == "cart":
        flash = p.t("added_to_cart", title=rec["title"].title())
    elif done == "bought":
        flash = p.t("purchased", title=rec["title"].title())
    elif done == "review":
        flash = p.t("reviewed")
    return p.render(
        "item.html",
        item={**rec, "display_title": rec["title"].title() or item_id},
        description=ctx.copy(item_id, p.lang, [], task="description"),
        ad=ctx.copy(item_id, p.lang, interests, task="ad"),
        similar=similar,
        insights=insights,
        rid=rid or "",
        pos="" if pos is None else pos,
        flash=flash,
        **_base(p, history),
    )


@router.get("/search")
def search(q: str = Query("", max_length=200), p: Page = Depends(shop_page)) -> Any:
    ctx = p.ctx
    query = q.strip()
    if not query:
        return p.redirect("/")
    _post_event(p, "search", None, text=query)
    deadline = time.perf_counter() + COPY_BUDGET_S
    history = _history(p)
    interests = ctx.interests(history[-50:])
    hits = ctx.search(query, 24)
    out = {
        "items": [{**rec, "reasons": ["similar_to:" + h]} for h in hits if (rec := ctx.item(h)) is not None],
        "model_version": ctx.state.engine.version,
    }
    cards = _cards(p, out, "search", interests, deadline, log=False)
    return p.render("search.html", q=query, cards=cards, **_base(p, history))


@router.get("/cart")
def cart_page(
    done: str | None = Query(None, max_length=16), n: int = Query(0, ge=0), p: Page = Depends(shop_page)
) -> Any:
    history = _history(p)
    items = [p.ctx.item(i) for i in _cart(history)]
    lines = [{**rec, "display_title": rec["title"].title()} for rec in items if rec is not None]
    flash = p.t("purchased_n", n=n) if done == "bought" else None
    total = sum(r["price"] or 0.0 for r in lines)
    return p.render("cart.html", lines=lines, total=total, flash=flash, **_base(p, history))


# ---------------------------------------------------------------------------- actions (POST, CSRF-checked)
@router.post("/shop/shopper")
def choose_shopper(
    user: str = Form(..., max_length=128), csrf: str = Form(""), p: Page = Depends(shop_page)
) -> Any:
    p.check_csrf(csrf)
    if user == "guest":
        p.set_shopper(f"guest-{p.sid[:12]}", True)
    elif not picker_allowed(p):
        raise PermissionDeniedError(
            "choosing a shopper is turned off (TUIJIAN_SHOPPER_PICKER, off in production): a visitor shops "
            "as the guest of their own session"
        )
    else:
        known = {s["user_id"] for s in p.ctx.shoppers()}
        if user not in known and p.ctx.state.store.user_events(user, limit=1).empty:
            raise UnknownIdError(
                f"user {user!r} has no events in the store; pick one from the list or 'guest'"
            )
        p.set_shopper(user, False)
    return p.redirect("/")


@router.post("/shop/cart")
def add_to_cart(
    item: str = Form(..., max_length=128),
    csrf: str = Form(""),
    rid: str = Form("", max_length=64),
    pos: str = Form("", max_length=8),
    p: Page = Depends(shop_page),
) -> Any:
    p.check_csrf(csrf)
    _known_item(p, item)
    _post_event(p, "add_to_cart", item)
    _feedback(p, "add_to_cart", item, rid or None, int(pos) if pos.isdigit() else None)
    return p.redirect(_after(item, "cart", rid, pos))


@router.post("/shop/buy")
def buy(
    item: str = Form(..., max_length=128),
    csrf: str = Form(""),
    rid: str = Form("", max_length=64),
    pos: str = Form("", max_length=8),
    p: Page = Depends(shop_page),
) -> Any:
    p.check_csrf(csrf)
    _known_item(p, item)
    _post_event(p, "purchase", item)
    _feedback(p, "purchase", item, rid or None, int(pos) if pos.isdigit() else None)
    return p.redirect(_after(item, "bought", rid, pos))


@router.post("/shop/checkout")
def checkout(csrf: str = Form(""), p: Page = Depends(shop_page)) -> Any:
    p.check_csrf(csrf)
    cart = _cart(_history(p))
    for item in cart:
        _post_event(p, "purchase", item)
    return p.redirect(f"/cart?done=bought&n={len(cart)}")


@router.post("/shop/review")
def review(
    item: str = Form(..., max_length=128),
    rating: int = Form(..., ge=1, le=5),
    text: str = Form(..., min_length=3, max_length=5000),
    csrf: str = Form(""),
    p: Page = Depends(shop_page),
) -> Any:
    p.check_csrf(csrf)
    _known_item(p, item)
    _post_event(p, "review", item, value=float(rating), text=text.strip())
    p.ctx._reviews_checked = 0.0  # show it at once
    return p.redirect(f"/items/{item}?done=review")


@router.get("/shop/copy")
def copy_text(
    items: str = Query(..., max_length=4000, description="comma-separated item ids"),
    task: str = Query("ad", pattern="^(ad|description)$"),
    p: Page = Depends(shop_page),
) -> JSONResponse:
    """Generated copy for cards rendered without it (filled in by static/shop.js)."""
    ids = [i for i in items.split(",") if i][:50]
    if not ids:
        raise ConfigError("items must list at least one item id, e.g. items=85123A,22423")
    interests = p.ctx.interests(_history(p)[-50:]) if task == "ad" else []
    out: dict[str, str | None] = {}
    for iid in ids:
        try:
            out[iid] = p.ctx.copy(iid, p.lang, interests, task=task) if p.ctx.item(iid) else None
        except TuijianError:
            out[iid] = None
    return p.finish(JSONResponse(out))
