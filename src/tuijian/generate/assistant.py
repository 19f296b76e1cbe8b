"""The shop assistant.

* :class:`ShopAssistant` — customer-service Q&A over the catalogue, the review texts and the shop policies:
  BM25 retrieval feeds an answer that cites item ids (``[85123A]``) or policy ids; below ``min_score`` it says
  it does not know.
* :meth:`ShopAssistant.guide` — a conversational shopping guide: parses constraints (price bounds, product type,
  colour/material/pattern/occasion, recipient, free keywords) from a request such as "A gift under £10 for a
  child who likes dinosaurs", then ranks matching catalogue items by keyword relevance and popularity (and a
  personalisation scorer when given), each with its reasons.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from tuijian.exceptions import ConfigError
from tuijian.generate.retrieval import BM25, index_tokens
from tuijian.generate.shop import ShopData
from tuijian.generate.templates import title_case
from tuijian.nlp.attributes import extract_attributes
from tuijian.nlp.lexicon import chinese_name
from tuijian.nlp.tokenize import detect_language

_PRICE_MAX = re.compile(
    r"(?:under|below|less than|cheaper than|up to|at most|max(?:imum)?|within|<=?|不超过|低于|少于|以内|预算)\s*"
    r"[£$€¥]?\s*(\d+(?:\.\d+)?)|[£$€¥]?(\d+(?:\.\d+)?)\s*(?:英镑|元|镑|块)?\s*(?:以内|以下|之内|or less)"
)
_PRICE_MIN = re.compile(
    r"(?:over|above|more than|at least|min(?:imum)?|from|>=?|高于|超过|不低于)\s*[£$€¥]?\s*(\d+(?:\.\d+)?)"
    r"|[£$€¥]?(\d+(?:\.\d+)?)\s*(?:英镑|元|镑|块)?\s*(?:以上|or more)"
)
#: Question words that say nothing about what is asked for.
_QUESTION_NOISE = frozenset(
    [
        "sell",
        "sold",
        "have",
        "got",
        "stock",
        "any",
        "anything",
        "buy",
        "find",
        "looking",
        "want",
        "need",
        "wondering",
        "item",
        "items",
        "product",
        "products",
        "shop",
        "store",
        "please",
        "hi",
        "hello",
        "tell",
        "know",
        "有没有",
        "有",
        "卖",
        "请问",
        "吗",
        "呢",
        "想",
        "买",
        "商品",
        "东西",
        "你们",
        "一下",
    ]
)
_GUIDE_NOISE = frozenset(
    [
        "gift",
        "gifts",
        "present",
        "want",
        "need",
        "looking",
        "look",
        "find",
        "something",
        "like",
        "likes",
        "love",
        "loves",
        "who",
        "buy",
        "cheap",
        "budget",
        "pound",
        "pounds",
        "礼物",
        "想要",
        "需要",
        "喜欢",
        "一个",
        "送给",
        "找",
        "推荐",
        "预算",
        "英镑",
        "左右",
    ]
)


@dataclass
class Hit:
    doc_id: str
    kind: str  # item | policy | review
    score: float
    text: str


@dataclass
class Answer:
    """An assistant reply: the text, the cited ids and the retrieval hits behind it."""

    text: str
    found: bool
    citations: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Constraints:
    price_max: float | None = None
    price_min: float | None = None
    product_type: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    recipient: str | None = None
    keywords: list[str] = field(default_factory=list)


@dataclass
class Suggestion:
    item_id: str
    title: str
    price: float | None
    score: float
    reasons: list[str]


@dataclass
class GuideReply:
    text: str
    constraints: Constraints
    suggestions: list[Suggestion]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_policies() -> list[dict[str, str]]:
    """The shop policies shipped in ``generate/templates/policies.json``."""
    text = resources.files("tuijian.generate").joinpath("templates/policies.json").read_text("utf-8")
    return json.loads(text)["policies"]


def parse_constraints(request: str) -> Constraints:
    """Constraints from a free-text shopping request (English or Chinese)."""
    low = request.lower()
    c = Constraints()
    m = _PRICE_MAX.search(low)
    if m:
        c.price_max = float(m.group(1) or m.group(2))
    m = _PRICE_MIN.search(low)
    if m:
        c.price_min = float(m.group(1) or m.group(2))
    attrs = extract_attributes(request)
    c.product_type = attrs.product_type
    c.attributes = {
        k: list(getattr(attrs, k))
        for k in ("colour", "material", "pattern", "style", "occasion")
        if getattr(attrs, k)
    }
    c.recipient = attrs.recipient[0] if attrs.recipient else None
    stripped = _PRICE_MAX.sub(" ", _PRICE_MIN.sub(" ", low))
    c.keywords = [
        t
        for t in dict.fromkeys(index_tokens(stripped))
        if t not in _GUIDE_NOISE and not re.fullmatch(r"[\d.]+", t)
    ]
    return c


class ShopAssistant:
    """Q&A and shopping guide over one shop.

    Parameters
    ----------
    shop: the :class:`ShopData`.
    min_score: BM25 score below which the assistant says it does not know.
    min_coverage: share of the question's content words an item must contain to be cited.
    personalize: optional ``(user_id, item_ids) -> scores`` (e.g. a recommender), used by :meth:`guide`.
    """

    def __init__(
        self,
        shop: ShopData,
        min_score: float = 4.0,
        min_coverage: float = 0.6,
        personalize: Callable[[str, list[str]], Any] | None = None,
    ):
        self.shop = shop
        self.min_score = min_score
        self.min_coverage = min_coverage
        self.personalize = personalize

    # ------------------------------------------------------------------ index
    def _item_document(self, row: dict[str, Any]) -> str:
        attrs = extract_attributes(row.get("title", ""), brand=row.get("brand") or None)
        zh = [
            chinese_name(k, v)
            for k in ("colour", "material", "pattern", "style", "occasion", "recipient")
            for v in getattr(attrs, k)
        ]
        if attrs.product_type:
            zh.append(chinese_name("product_type", attrs.product_type))
        extra = " ".join([*attrs.values(), *zh])
        return (
            " ".join(str(row.get(c) or "") for c in ("title", "brand", "category", "description"))
            + " "
            + extra
        )

    def fit(self) -> ShopAssistant:
        items = self.shop.items
        self.item_ids_ = items["item_id"].astype(str).tolist()
        self.policies_ = load_policies()
        # One index over items and policies, so that rare words ("refund", "退货") weigh the same in both.
        docs = [self._item_document(r) for r in items.to_dict("records")]
        docs += [p["en"] + " " + p["zh"] + " " + p["topic"] for p in self.policies_]
        self.bm25_ = BM25().fit(docs)
        self.doc_tokens_ = [set(index_tokens(d)) for d in docs]
        pop = self.shop.popularity().reindex(self.item_ids_).fillna(0).to_numpy()
        self.popularity_ = np.log1p(pop) / max(np.log1p(pop).max(), 1.0)
        return self

    def _check(self) -> None:
        if not hasattr(self, "bm25_"):
            self.fit()

    def _item_scores(self, query: str) -> np.ndarray:
        return self.bm25_.scores(query)[: len(self.item_ids_)]

    def search_items(self, query: str, k: int = 5) -> list[Hit]:
        """Best catalogue items for ``query`` (BM25, ties broken by popularity)."""
        self._check()
        scores = self._item_scores(query)
        combined = scores + 0.01 * self.popularity_ * (scores > 0)
        top = np.argsort(-combined, kind="stable")[:k]
        return [
            Hit(self.item_ids_[i], "item", float(scores[i]), str(self.shop.items.iloc[i]["title"]))
            for i in top
            if scores[i] > 0
        ]

    def _coverage(self, query_tokens: list[str], doc: int) -> float:
        if not query_tokens:
            return 0.0
        return sum(t in self.doc_tokens_[doc] for t in query_tokens) / len(query_tokens)

    # ------------------------------------------------------------------ Q&A
    def ask(self, question: str, language: str | None = None, k: int = 3) -> Answer:
        """Answer a customer question, citing item or policy ids; "I don't know" when nothing is relevant."""
        if not question or not question.strip():
            raise ConfigError("question must be a non-empty string")
        self._check()
        lang = language or detect_language(question)
        if lang not in ("en", "zh"):
            raise ConfigError(f"language must be 'en' or 'zh', got {language!r}")
        tokens = [t for t in dict.fromkeys(index_tokens(question)) if t not in _QUESTION_NOISE]
        scores = self.bm25_.scores(" ".join(tokens))
        n_items = len(self.item_ids_)
        best_p = int(np.argmax(scores[n_items:])) + n_items
        item_hits = self.search_items(" ".join(tokens), k)
        index = {d: i for i, d in enumerate(self.item_ids_)}
        relevant = [
            h
            for h in item_hits
            if h.score >= self.min_score and self._coverage(tokens, index[h.doc_id]) >= self.min_coverage
        ]
        best_item = relevant[0].score if relevant else 0.0
        if scores[best_p] >= self.min_score / 2 and scores[best_p] >= best_item:
            p = self.policies_[best_p - n_items]
            return Answer(
                f"{p[lang]} [{p['id']}]",
                True,
                [p["id"]],
                [Hit(p["id"], "policy", float(scores[best_p]), p[lang])],
            )
        if not relevant:
            text = (
                "抱歉，我不知道。我们的商品和政策中没有找到相关信息，请联系客服。"
                if lang == "zh"
                else "Sorry, I don't know. I found nothing relevant in our catalogue or policies; "
                "please contact customer service."
            )
            return Answer(text, False, [], item_hits)
        lines = []
        for h in relevant:
            facts = self.shop.facts(h.doc_id, max_reviews=20)
            price = facts.price_text()
            name = title_case(facts.display_name)
            if lang == "zh":
                lines.append(f"{name} [{h.doc_id}]" + (f"，售价{price}" if price else ""))
            else:
                lines.append(f"{name} [{h.doc_id}]" + (f", {price}" if price else ""))
        lead = "我们有以下相关商品：" if lang == "zh" else "Here is what we have: "
        sep = "；" if lang == "zh" else "; "
        return Answer(
            lead + sep.join(lines) + ("。" if lang == "zh" else "."),
            True,
            [h.doc_id for h in relevant],
            relevant,
        )

    # ------------------------------------------------------------------ shopping guide
    def guide(
        self, request: str, user_id: str | None = None, k: int = 5, language: str | None = None
    ) -> GuideReply:
        """Parse ``request`` into constraints and recommend up to ``k`` catalogue items with reasons."""
        if not request or not request.strip():
            raise ConfigError("request must be a non-empty string")
        self._check()
        lang = language or detect_language(request)
        c = parse_constraints(request)
        terms = " ".join(
            [
                *c.keywords,
                *(v for vs in c.attributes.values() for v in vs),
                c.product_type or "",
                c.recipient or "",
            ]
        )
        relevance = self._item_scores(terms) if terms.strip() else np.zeros(len(self.item_ids_))
        prices = self.shop.items["price"].astype(float).to_numpy()
        ok = np.ones(len(prices), dtype=bool)
        if c.price_max is not None:
            ok &= np.nan_to_num(prices, nan=math.inf) <= c.price_max
        if c.price_min is not None:
            ok &= np.nan_to_num(prices, nan=-math.inf) >= c.price_min
        ok &= np.nan_to_num(prices, nan=1.0) > 0
        if terms.strip():
            ok &= relevance > 0
        rel = relevance / relevance.max() if relevance.max() > 0 else relevance
        score = rel + 0.3 * self.popularity_
        if self.personalize is not None and user_id is not None and ok.any():
            cand = [self.item_ids_[i] for i in np.flatnonzero(ok)]
            extra = np.asarray(self.personalize(user_id, cand), dtype=float)
            if extra.size == len(cand) and np.ptp(extra) > 0:
                score[np.flatnonzero(ok)] += 0.5 * (extra - extra.min()) / np.ptp(extra)
        score = np.where(ok, score, -np.inf)
        top = [i for i in np.argsort(-score, kind="stable")[:k] if np.isfinite(score[i])]
        suggestions = [self._suggest(i, c, float(score[i]), lang) for i in top]
        if not suggestions:
            text = (
                "抱歉，没有找到符合条件的商品。"
                if lang == "zh"
                else "Sorry, nothing in the catalogue matches that."
            )
        elif lang == "zh":
            text = (
                "为你推荐："
                + "；".join(f"{s.title} [{s.item_id}]（{'，'.join(s.reasons)}）" for s in suggestions)
                + "。"
            )
        else:
            text = (
                "You might like: "
                + "; ".join(f"{s.title} [{s.item_id}] ({', '.join(s.reasons)})" for s in suggestions)
                + "."
            )
        return GuideReply(text, c, suggestions)

    def _suggest(self, i: int, c: Constraints, score: float, lang: str) -> Suggestion:
        row = self.shop.items.iloc[i]
        title = title_case(str(row["title"]))
        doc = set(index_tokens(self._item_document(row.to_dict())))
        matched = [
            w
            for w in [*c.keywords, *(v for vs in c.attributes.values() for v in vs)]
            if set(index_tokens(w)) <= doc
        ]
        price = float(row["price"]) if not math.isnan(float(row["price"])) else None
        reasons = []
        if matched:
            reasons.append(("符合：" if lang == "zh" else "matches ") + ", ".join(dict.fromkeys(matched)))
        if price is not None and c.price_max is not None:
            reasons.append(
                f"£{price:.2f}，在预算£{c.price_max:g}以内"
                if lang == "zh"
                else f"£{price:.2f}, within your £{c.price_max:g} budget"
            )
        pop = int(self.shop.popularity().get(row["item_id"], 0))
        if pop:
            reasons.append(f"已售出{pop}次" if lang == "zh" else f"bought {pop} times")
        return Suggestion(str(row["item_id"]), title, price, score, reasons)
