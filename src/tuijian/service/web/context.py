"""Per-app state of the web pages: templates, signer, catalogue view, generated-copy cache, review index.

Everything here reads the service's own store and engine (``app.state.tuijian``); nothing is duplicated
that the service already keeps, except small caches with explicit refresh rules:

* the catalogue dict is rebuilt when the served model version changes (a new version reloads the catalogue);
* the review index reads new ``review`` events incrementally (``id > last seen``) at most every 2 s;
* generated copy is cached per (item, user segment, language, task) by :class:`tuijian.generate.writer.CopyWriter`.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
import zlib
from collections import defaultdict
from operator import itemgetter
from typing import Any

from tuijian.data.schema import DEFAULT_EVENT_WEIGHTS

CURRENCY_SYMBOL = {"GBP": "£", "USD": "$", "EUR": "€", "CNY": "¥"}
REVIEW_REFRESH_S = 2.0
SHOPPER_LIST_SIZE = 24
COPY_CACHE_SIZE = 50_000
log = logging.getLogger("tuijian.service")


def currency_of(dataset: str) -> str:
    return "GBP" if dataset.startswith("online-retail") else "USD"


class WebContext:
    """Lazily built, thread-safe helpers shared by the storefront and dashboard routes."""

    def __init__(self, state: Any) -> None:
        import jinja2

        from tuijian.generate.cache import CopyCache
        from tuijian.generate.writer import CopyWriter
        from tuijian.service.web.security import Signer

        self.state = state
        self.signer = Signer(state.settings.secret_key)
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("tuijian.service.web", "templates"),
            autoescape=jinja2.select_autoescape(["html"]),
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.currency = currency_of(state.settings.dataset)
        self.env.filters["money"] = self.money
        self.env.filters["hash_hue"] = lambda text: zlib.crc32(str(text).encode()) % 360
        self.writer = CopyWriter(cache=CopyCache(max_size=COPY_CACHE_SIZE))
        self._copies: dict[tuple[str, str, str, str], str | None] = {}
        self._lock = threading.RLock()
        self._copy_lock = threading.Lock()
        self._catalog_key: Any = None
        self._catalog: dict[str, dict[str, Any]] = {}
        self._search_index: list[tuple[str, str]] = []
        self._shoppers: list[dict[str, Any]] | None = None
        self._reviews: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self._reviews_upto = 0
        self._reviews_checked = 0.0
        self._tags: dict[str, list[str]] = {}
        self._facts: dict[tuple[str, int], Any] = {}
        self.extras: dict[str, Any] = {}

    # ------------------------------------------------------------------ formatting
    def money(self, price: float | None) -> str:
        if price is None or not math.isfinite(price):
            return ""
        return f"{CURRENCY_SYMBOL.get(self.currency, self.currency + ' ')}{price:,.2f}"

    # ------------------------------------------------------------------ catalogue
    def catalog(self) -> dict[str, dict[str, Any]]:
        """``item_id -> {item_id, title, description, brand, category, price}`` of the stored catalogue."""
        engine = self.state.engine
        key = engine.version if engine is not None else None
        if key is not None and key == self._catalog_key:
            return self._catalog
        with self._lock:
            if key is not None and key == self._catalog_key:
                return self._catalog
            frame = self.state.store.items_frame()
            records: dict[str, dict[str, Any]] = {}
            for row in frame.itertuples(index=False):
                price = float(row.price) if row.price is not None and math.isfinite(row.price) else None
                records[str(row.item_id)] = {
                    "item_id": str(row.item_id),
                    "title": str(row.title or ""),
                    "description": str(row.description or ""),
                    "brand": str(row.brand or ""),
                    "category": list(row.category or []),
                    "price": price,
                }
            self._catalog = records
            self._search_index = [(iid, rec["title"].lower()) for iid, rec in records.items()]
            self._catalog_key = key
        return self._catalog

    def item(self, item_id: str) -> dict[str, Any] | None:
        return self.catalog().get(str(item_id))

    def title(self, item_id: str) -> str:
        rec = self.item(item_id)
        return (rec or {}).get("title") or str(item_id)

    def search(self, query: str, limit: int = 24) -> list[str]:
        """Items whose title contains every word of ``query`` (case-insensitive), most popular first."""
        words = [w for w in query.lower().split() if w]
        if not words:
            return []
        self.catalog()
        hits = [iid for iid, title in self._search_index if all(w in title for w in words)]
        snap = self.state.engine._snap if self.state.engine is not None else None
        if snap is not None:
            pop = snap.popularity

            def popularity(iid: str) -> float:
                i = snap.item_index(iid)
                return float(pop[i]) if i >= 0 else 0.0

            hits.sort(key=lambda iid: (-popularity(iid), iid))
        return hits[:limit]

    # ------------------------------------------------------------------ shoppers
    def shoppers(self) -> list[dict[str, Any]]:
        """The most active known customers (real user ids from the store), for the shopper picker."""
        if self._shoppers is None:
            from sqlalchemy import func, select

            from tuijian.store import tables as t

            e = t.events.c
            n = func.count().label("n")
            q = (
                select(e.user_id, n)
                .where(e.user_id.not_like("anon:%"), e.user_id.not_like("guest-%"))
                .group_by(e.user_id)
                .order_by(n.desc(), e.user_id)
                .limit(SHOPPER_LIST_SIZE)
            )
            with self.state.store.engine.connect() as conn:
                rows = conn.execute(q).all()
            self._shoppers = [{"user_id": str(r[0]), "n_events": int(r[1])} for r in rows]
        return self._shoppers

    # ------------------------------------------------------------------ reviews
    def reviews(self, item_id: str) -> list[tuple[str, float]]:
        """``(text, rating)`` of the stored ``review`` events of an item."""
        now = time.monotonic()
        if now - self._reviews_checked >= REVIEW_REFRESH_S:
            with self._lock:
                if now - self._reviews_checked >= REVIEW_REFRESH_S:
                    self._load_reviews()
                    self._reviews_checked = now
        return list(self._reviews.get(str(item_id), ()))

    def _load_reviews(self) -> None:
        from sqlalchemy import select

        from tuijian.store import tables as t

        e = t.events.c
        q = (
            select(e.id, e.item_id, e.text, e.value)
            .where(e.kind == "review", e.id > self._reviews_upto, e.text.is_not(None))
            .order_by(e.id)
        )
        with self.state.store.engine.connect() as conn:
            for rid, item, text, value in conn.execute(q):
                if item is not None and text and str(text).strip():
                    self._reviews[str(item)].append((str(text), float(value)))
                self._reviews_upto = max(self._reviews_upto, int(rid))

    # ------------------------------------------------------------------ generated copy
    def facts(self, item_id: str) -> Any:
        """:class:`~tuijian.generate.facts.ItemFacts` of an item (catalogue + its stored reviews)."""
        from tuijian.generate.facts import facts_from_row

        reviews = self.reviews(item_id)
        key = (str(item_id), len(reviews))
        hit = self._facts.get(key)
        if hit is not None:
            return hit
        rec = self.item(item_id) or {"item_id": str(item_id), "title": "", "price": None}
        row = {**rec, "category": " > ".join(rec.get("category") or [])}
        ratings = [r for _, r in reviews if 1.0 <= r <= 5.0]
        facts = facts_from_row(row, [t for t, _ in reviews], ratings, currency=self.currency)
        if len(self._facts) > 20_000:
            self._facts.clear()
        self._facts[key] = facts
        return facts

    @staticmethod
    def _copy_key(item_id: str, lang: str, interests: list[str], task: str) -> tuple[str, str, str, str]:
        from tuijian.generate.writer import segment_of

        return (str(item_id), segment_of(interests) if task == "ad" else "all", lang, task)

    def cached_copy(
        self, item_id: str, lang: str, interests: list[str], task: str = "ad"
    ) -> str | None | bool:
        """The copy already generated for this key (None: generation failed), or False when not generated yet."""
        return self._copies.get(self._copy_key(item_id, lang, interests, task), False)

    def copy(self, item_id: str, lang: str, interests: list[str], task: str = "ad") -> str | None:
        """Grounded generated copy, or None when generation fails or is not grounded (the page then shows no
        copy). Results, failures included, are remembered per (item, user segment, language, task)."""
        from tuijian.exceptions import TuijianError

        key = self._copy_key(item_id, lang, interests, task)
        if key in self._copies:
            return self._copies[key]
        text: str | None = None
        try:
            facts = self.facts(item_id)
            with self._copy_lock:
                out = self.writer.write(task, facts, "zh" if lang == "zh" else "en", interests=interests)  # type: ignore[arg-type]
            text = out.text if out.grounded else None
        except (TuijianError, ValueError, KeyError):
            log.exception("copy generation failed", extra={"item": item_id, "task": task, "lang": lang})
        if len(self._copies) > COPY_CACHE_SIZE:
            self._copies.clear()
        self._copies[key] = text
        return text

    # ------------------------------------------------------------------ interests
    def item_tags(self, item_id: str) -> list[str]:
        tags = self._tags.get(item_id)
        if tags is None:
            from tuijian.nlp.attributes import extract_attributes

            rec = self.item(item_id)
            title = (rec or {}).get("title") or ""
            tags = [t for t in extract_attributes(title).tags() if not t.startswith("pack_count")]
            self._tags[item_id] = tags
        return tags

    def interests(self, events: list[dict[str, Any]], k: int = 4) -> list[str]:
        """Interest tags (``kind:value``) from a shopper's recent events, weighted by event kind."""
        totals: defaultdict[str, float] = defaultdict(float)  # float weights: typing's Counter holds ints
        for ev in events:
            if ev.get("item"):
                w = float(DEFAULT_EVENT_WEIGHTS.get(ev.get("kind", ""), 1.0))
                for tag in self.item_tags(str(ev["item"])):
                    totals[tag] += w
        best = heapq.nlargest(k, totals.items(), key=itemgetter(1))  # what Counter.most_common(k) does
        return [t for t, _ in best]


def web_context(request_or_app: Any) -> WebContext:
    """The app's :class:`WebContext` (created on first use)."""
    app = getattr(request_or_app, "app", request_or_app)
    st = app.state.tuijian
    ctx = st.extras.get("web")
    if ctx is None:
        ctx = st.extras.setdefault("web", WebContext(st))
    return ctx
