"""The shop assistant: answers, not keyword hits.

* :meth:`ShopAssistant.ask` — reads the message (:mod:`~tuijian.generate.assistant_query`), decides what is asked
  and answers it: a **policy** (by intent: "can I send it back?" is returns), a **fact** about one item (price, pack
  count, colour, material, size, design, audience, yes/no properties; "I don't know" when the data does not say),
  a **comparison** of named items, a **search** with constraints (price ranges, negation, sorting: "the cheapest
  Christmas decoration" answers with one item), or **unknown** ("we don't sell that" / 不知道). Every answer
  cites item or policy ids.
* :meth:`ShopAssistant.guide` — the shopping guide: the same search with a personalisation scorer and reasons.
* Both take an optional :class:`~tuijian.generate.assistant_session.Conversation`: follow-ups ("any cheaper?",
  "in red?", "is it waterproof?", 那个多少钱？) resolve against the previous turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from tuijian.exceptions import ConfigError
from tuijian.generate.assistant_catalog import CatalogIndex, SearchResult
from tuijian.generate.assistant_facts import answer_fact, item_name, money
from tuijian.generate.assistant_query import Message, read_message, refused_pack
from tuijian.generate.assistant_session import Conversation
from tuijian.generate.assistant_titles import unhyphen
from tuijian.generate.assistant_vocabulary import Concept, Reading, dimensions
from tuijian.generate.retrieval import index_tokens
from tuijian.generate.shop import ShopData
from tuijian.nlp.attributes import request_attributes
from tuijian.nlp.tokenize import detect_language

_ATTRIBUTE_KINDS = frozenset({"colour", "material", "theme", "audience", "size"})


@dataclass
class Hit:
    doc_id: str
    kind: str  # item | policy
    score: float
    text: str


@dataclass
class Answer:
    """An assistant reply: the text, what was asked (``intent``), the cited ids, and the fact when one was asked.

    ``intent`` is one of ``policy``, ``fact``, ``compare``, ``search``, ``sort``, ``unknown``. ``fact`` is
    ``{"item", "attribute", "value"}`` with ``value`` ``None`` when the data does not say. ``found`` is false
    for "I don't know" and for searches that match nothing.
    """

    text: str
    found: bool
    citations: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    intent: str = "unknown"
    fact: dict[str, Any] | None = None
    constraints: dict[str, Any] = field(default_factory=dict)
    session: str | None = None

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
    excluded: list[str] = field(default_factory=list)
    sort: str | None = None


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
    session: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_policies() -> list[dict[str, str]]:
    """The shop policies shipped in ``generate/templates/policies.json``."""
    text = resources.files("tuijian.generate").joinpath("templates/policies.json").read_text("utf-8")
    return json.loads(text)["policies"]


def _language(text: str, language: str | None) -> str:
    if language is None:
        return "zh" if re.search(r"[\u4e00-\u9fff]", text) else detect_language(text)
    if language not in ("en", "zh"):
        raise ConfigError(f"language must be 'en' or 'zh', got {language!r}")
    return language


def parse_constraints(request: str) -> Constraints:
    """Constraints from a free-text shopping request (English or Chinese): prices, negation, sort, attributes."""
    lang = _language(request, None)
    msg = read_message(request, lang)
    attrs = request_attributes(msg.positive)
    c = Constraints(price_max=msg.price_max, price_min=msg.price_min, sort=msg.sort)
    c.product_type = attrs.product_type
    c.attributes = {
        k: list(getattr(attrs, k))
        for k in ("colour", "material", "pattern", "style", "occasion")
        if getattr(attrs, k)
    }
    c.recipient = attrs.recipient[0] if attrs.recipient else ("child" if msg.child_age is not None else None)
    c.keywords = [t for t in dict.fromkeys(index_tokens(msg.positive)) if not re.fullmatch(r"[\d.]+", t)]
    c.excluded = [t for seg in msg.negative for t in index_tokens(seg)]
    return c


def _concept_dict(c: Concept) -> dict[str, Any]:
    return {
        "kind": c.kind,
        "value": c.value,
        "alternatives": [list(a) for a in c.alternatives],
        "surface": c.surface,
        "excluded": [list(a) for a in c.excluded],
    }


def _concept_from(d: dict[str, Any]) -> Concept:
    return Concept(
        d["kind"],
        d["value"],
        tuple(tuple(a) for a in d["alternatives"]),
        d.get("surface", ""),
        tuple(tuple(a) for a in d.get("excluded", ())),
    )


@dataclass
class _Search:
    concepts: list[Concept]
    excluded: list[Concept]
    price_min: float | None
    price_max: float | None
    sort: str | None
    pack: int | None = None
    #: concepts carried over from the previous turn (a refinement widens them when nothing matches)
    earlier: list[Concept] = field(default_factory=list)
    #: the plain title word that heads a fresh request ("bath bombs"): the search may not drop it
    head: str | None = None
    #: groups of concepts read from one unknown Chinese run: dropping all of one finds nothing
    groups: list[list[Concept]] = field(default_factory=list)
    #: the title word that makes a compound of a fresh request's kind ("sleeping bags"): dropping it finds nothing
    modifier: Concept | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "include": [c.value for c in self.concepts],
            "exclude": [c.value for c in self.excluded],
            "price_min": self.price_min,
            "price_max": self.price_max,
            "sort": self.sort,
        }


class ShopAssistant:
    """Q&A and shopping guide over one shop.

    Parameters
    ----------
    shop: the :class:`ShopData`.
    personalize: optional ``(user_id, item_ids) -> scores`` (e.g. a recommender), used by :meth:`guide`.
    """

    def __init__(self, shop: ShopData, personalize: Callable[[str, list[str]], Any] | None = None):
        self.shop = shop
        self.personalize = personalize

    def fit(self) -> ShopAssistant:
        pop = self.shop.popularity().reindex(self.shop.items["item_id"]).fillna(0).to_numpy()
        self.popularity_ = np.log1p(pop) / max(np.log1p(pop).max(), 1.0)
        self.catalog_ = CatalogIndex(self.shop.items, self.popularity_)
        self.item_ids_ = self.catalog_.item_ids
        self.policies_ = {p["id"]: p for p in load_policies()}
        return self

    def _check(self) -> None:
        if not hasattr(self, "catalog_"):
            self.fit()

    # ------------------------------------------------------------------ reading a message
    def _read(self, text: str, lang: str) -> tuple[Message, Reading, list[Concept]]:
        cat = self.catalog_
        msg = read_message(text, lang, cat.vocabulary.chinese_re)
        reading = cat.vocabulary.read(msg.positive, lang, cat.known)
        asked = re.search(r"made (?:of|from|out of) (\w+)\W*$", msg.text.lower())
        if (
            msg.attribute == "material"
            and asked
            and reading.unknown
            and reading.unknown[-1] == asked.group(1)
        ):
            # "is it made of latex?": the asked material, not a word of the item's name
            reading.unknown, reading.head_unknown = reading.unknown[:-1], False
        if msg.child_age is not None and msg.child_age < 14:
            reading.concepts.append(cat.vocabulary.english[("child",)])
        excluded = []
        for seg in msg.negative:
            pack = refused_pack(seg)
            if pack is not None and "%pack" + str(pack) in cat.postings:
                # "not the sets of three", 不要三件套的: the items of that pack size
                excluded.append(Concept("word", f"pack of {pack}", (("%pack" + str(pack),),), seg))
                continue
            said = cat.vocabulary.read(seg, lang, cat.known).concepts
            excluded += said or self._title_words_in(seg)
        # "trays, no tv dinner trays" excludes a kind of the asked thing, not the thing: its other words
        kinds = [c for c in excluded if c.kind == "type" and c in reading.concepts]
        if kinds and len(kinds) < len(excluded):
            excluded = [c for c in excluded if c not in kinds]
        return msg, reading, list(dict.fromkeys(excluded))

    def _title_words_in(self, text: str) -> list[Concept]:
        """The catalogue title words of a refused span that names no concept ("anything but LOVE", "not the
        assorted ones"): a word that says how a request is asked elsewhere ("love", "assorted") still names
        the items to leave out when it is all that is refused; words that only point ("ones") are skipped."""
        out = []
        for word in re.findall(r"[a-z0-9]+", unhyphen(text.lower())):
            if word in _POINTING or word.isdigit():
                continue
            toks = index_tokens(word)
            if toks and toks[0] in self.catalog_.known and toks[0] not in _POINTING:
                out.append(Concept("word", toks[0], ((toks[0],),), word))
            elif not toks and "=" + word in self.catalog_.postings:
                out.append(Concept("word", word, (("=" + word,),), word))
        return out

    def _search_spec(
        self, msg: Message, reading: Reading, excluded: list[Concept], conv: Conversation | None
    ) -> _Search:
        """The search this message asks for, merged with the previous turn's when it is a follow-up."""
        has_type = any(c.kind == "type" for c in reading.concepts)
        previous = [_concept_from(d) for d in conv.concepts] if conv else []
        # "do you sell laptops?" after a search is a new search; "in red?" / "do you have it in red?" refines
        new_subject = has_type or (msg.search and any(c.kind == "word" for c in reading.concepts))
        if new_subject and (
            _MOTIF_FOLLOW_UP.search(msg.positive) or (not has_type and _ANY_FOLLOW_UP.search(msg.positive))
        ):
            new_subject = False  # "anything with owls?" after fairy lights: owl fairy lights, not any owl
        refine = bool(conv and (conv.concepts or conv.shown)) and (
            not new_subject or (msg.follow_up and not reading.concepts)
        )
        if refine and conv is not None:
            kinds = {c.kind for c in reading.concepts if c.kind in ("colour", "material")}
            concepts = [c for c in previous if c.kind not in kinds]
            concepts += [c for c in reading.concepts if c not in concepts]
            old_ex = [_concept_from(d) for d in conv.excluded]
            excluded = list(dict.fromkeys([*old_ex, *excluded]))
            concepts = [c for c in concepts if c.value not in {e.value for e in excluded}]
            spec = _Search(concepts, excluded, conv.price_min, conv.price_max, msg.sort or conv.sort)
            spec.earlier = [c for c in previous if c in concepts]
        else:
            spec = _Search(list(reading.concepts), excluded, None, None, msg.sort)
            if not has_type:  # "bath bombs"; in "waste bins … lola" the bin is what is asked
                spec.head = reading.head_word
            elif (
                reading.head_word is not None
                and len(reading.concepts) >= 2
                and reading.concepts[-1].value == reading.head_word
                and reading.concepts[-2].kind == "type"
                and _follows(msg.positive, reading.concepts[-2], reading.concepts[-1])
            ):
                # "a marble run": the kind read first (marble) only modifies the word after it, the thing asked
                spec.head = reading.head_word
            spec.modifier = reading.compound_modifier
            # a dictionary-read modifier before a word that is not a product type may be missing from titles
            spec.groups = [
                g
                for g, before in zip(reading.groups, reading.modifier_groups, strict=True)
                if before != "other"
            ]
            if conv is not None and msg.follow_up and has_type:  # "what about mugs?" keeps the budget
                spec.price_min, spec.price_max = conv.price_min, conv.price_max
                spec.excluded = list(dict.fromkeys([*map(_concept_from, conv.excluded), *excluded]))
        if msg.price_min is not None or msg.price_max is not None:
            spec.price_min, spec.price_max = msg.price_min, msg.price_max
        spec.pack = msg.pack
        focus = self.catalog_.position.get(conv.focus) if conv and conv.focus else None
        if msg.relative and focus is not None and self.catalog_.price(focus) is not None:
            price = float(self.catalog_.prices[focus])
            if msg.relative == "cheaper":
                spec.price_max, spec.sort = round(price - 0.005, 3), spec.sort
            else:
                spec.price_min = round(price + 0.005, 3)
        elif msg.relative == "cheaper":
            spec.sort = "price_asc"
        elif msg.relative == "dearer":
            spec.sort = "price_desc"
        return spec

    # ------------------------------------------------------------------ Q&A
    def ask(
        self,
        question: str,
        language: str | None = None,
        k: int = 3,
        conversation: Conversation | None = None,
    ) -> Answer:
        """Answer a customer message; ``conversation`` (updated in place) carries the previous turns."""
        if not isinstance(question, str) or not question.strip():
            raise ConfigError("question must be a non-empty string")
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        self._check()
        lang = _language(question, language)
        msg, reading, excluded = self._read(question, lang)
        answer = self._answer(msg, reading, excluded, lang, k, conversation)
        if conversation is not None:
            conversation.lang = lang
            conversation.turns += 1
        return answer

    def _answer(
        self,
        msg: Message,
        reading: Reading,
        excluded: list[Concept],
        lang: str,
        k: int,
        conv: Conversation | None,
    ) -> Answer:
        cat = self.catalog_
        zh = lang == "zh"
        if msg.policy and (msg.sort or msg.price_min is not None or msg.price_max is not None):
            # "the most expensive ring you sell?": a product question whose policy phrase ("ring you") holds a
            # product word the message asks for is about that product, not about calling us
            phrase = set(index_tokens(unhyphen(msg.policy_text)))
            if any(
                set(alt) <= phrase for c in reading.concepts if c.kind == "type" for alt in c.alternatives
            ):
                msg.policy = None
        if msg.policy:
            p = self.policies_[msg.policy]
            return Answer(
                f"{p[lang]} [{p['id']}]", True, [p["id"]], [Hit(p["id"], "policy", 1.0, p[lang])], "policy"
            )
        if msg.off_topic and not msg.item_ids:
            return self._dont_know(reading, lang)
        ids = [i for i in msg.item_ids if i in cat.position]
        missing = [i for i in msg.item_ids if i not in cat.position]
        if missing and not ids:
            text = (
                f"不知道：商品目录里没有 {missing[0]}。"
                if zh
                else f"I don't know item {missing[0]}: it is not in our catalogue."
            )
            return Answer(text, False, intent="unknown")
        if len(ids) >= 2 and (msg.relative or msg.sort or msg.attribute == "price"):
            return self._compare(ids, msg, lang, conv)
        has_type = any(c.kind == "type" for c in reading.concepts)
        if (
            (msg.attribute is None or (msg.attribute == "audience" and reading.head_unknown))
            and msg.yes_no
            and not msg.search
            and reading.unknown
            and (has_type or ids)
        ):
            # "are the party bunting reusable?": a property the catalogue has no word for; "is it suitable for
            # outdoors?": a use the catalogue has no word for
            msg.attribute, msg.prop = "property", reading.unknown[-1]
            reading.unknown, reading.head_unknown = reading.unknown[:-1], False
        by_size = _BY_SIZE.search(msg.text.lower())
        if by_size and not ids and not msg.policy:
            sized = self._by_size(msg, reading, excluded, conv, largest=by_size.group(1) is not None)
            if sized is not None:
                return self._sized_answer(sized, msg, lang, conv)
        target = self._target(msg, reading, ids, conv)
        attribute_kinds = [c for c in reading.concepts if c.kind in _ATTRIBUTE_KINDS]
        if target is not None and conv is not None and not ids and not msg.ordinal and not msg.pronoun:
            # "粉色的多少钱？" after clocks asks the price of the pink clock, not of the clock in focus
            other = [c for c in attribute_kinds if _KIND_ATTRIBUTE[c.kind] != msg.attribute]
            if other and not all(cat.mask(c)[target] for c in other):
                previous = [_concept_from(d) for d in conv.concepts]
                found = cat.search([*previous, *reading.concepts], excluded, k=1)
                target = found.positions[0] if found.positions else target
        if (
            msg.attribute == "price"
            and (msg.price_min is not None or msg.price_max is not None)
            and not ids
            and not msg.pronoun
            and not msg.sort
        ):
            # "mugs that cost less than £2", 价格在1镑和2镑之间的马克杯: the price is the bound asked, not a fact
            msg.attribute = None
        named = has_type and not msg.search
        # "is it green?" asks a fact; "do you have it in green?" / 有绿色的吗 asks for a green one (a search)
        asks_fact = msg.attribute is not None or (
            msg.yes_no
            and bool(attribute_kinds)
            and (bool(ids) or ((msg.pronoun or bool(msg.ordinal) or named) and not msg.search))
        )
        if asks_fact and not (msg.search and target is None) and not (msg.relative or msg.sort):
            asked = attribute_kinds[-1:] if attribute_kinds else []
            if lang == "zh" and "是" in msg.positive:  # 玻璃爱心蜡烛台是玻璃的吗: what follows 是 is asked
                said = cat.vocabulary.read(msg.positive.rsplit("是", 1)[1], lang, cat.known).concepts
                asked = [c for c in said if c.kind in _ATTRIBUTE_KINDS][-1:] or asked
            attribute = msg.attribute or _KIND_ATTRIBUTE[asked[-1].kind]
            fresh = target is None
            if target is None and reading.concepts and not reading.head_unknown:
                target = self._named_item(reading, excluded, attribute, msg)
            if target is None:
                text = (
                    "不知道您问的是哪件商品，请告诉我商品名称或编号。"
                    if zh
                    else "I don't know which item you mean; please give its name or item number."
                )
                return Answer(text, False, intent="fact")
            mentioned = reading.concepts
            if msg.yes_no and attribute == "audience" and not any(c.kind == "audience" for c in mentioned):
                # "是给小孩用的吗" / "is it meant for kids?": the fact phrase itself names who is asked about
                said = cat.vocabulary.read(msg.text, lang, cat.known).concepts
                mentioned = [*mentioned, *(c for c in said if c.kind == "audience")]
            fact = answer_fact(
                cat, target, attribute, lang, self.shop.currency, msg.prop, mentioned, msg.yes_no
            )
            item = cat.item_ids[target]
            if conv is not None:
                if fresh or not conv.concepts:
                    kind = cat.type_concept(target)
                    conv.concepts = [_concept_dict(kind)] if kind else []
                    conv.excluded, conv.price_min, conv.price_max, conv.sort = [], None, None, None
                    conv.shown = [item]
                conv.focus = item
            hits = [Hit(item, "item", 1.0, cat.titles[target])]
            return Answer(fact.text, fact.value is not None, [item], hits, "fact", fact.to_dict())
        if ids and not reading.concepts:
            pos = cat.position[ids[0]]
            fact = answer_fact(cat, pos, "price", lang, self.shop.currency)
            if conv is not None:
                conv.focus, conv.shown = ids[0], [ids[0]]
            return Answer(fact.text, True, [ids[0]], [Hit(ids[0], "item", 1.0, cat.titles[pos])], "search")
        more = bool(
            conv is not None
            and (conv.concepts or conv.shown)
            and not reading.concepts
            and not reading.unknown
            and _MORE.search(msg.text.lower())
        )
        has_request = bool(
            reading.concepts
            or more  # "show me more", "any others?", 还有别的吗: the same search again
            or excluded
            or msg.price_min is not None
            or msg.price_max is not None
            or msg.sort
            or msg.relative
        )
        vague = reading.unknown and not reading.concepts
        if (
            reading.head_word is not None
            and reading.head_word.split()[-1] not in cat.head_words
            and not (" " in reading.head_word and cat.names_thing(tuple(reading.head_word.split())))
            and not any(c.kind == "type" for c in reading.concepts)
            and not (conv and (conv.concepts or conv.shown))
        ):
            reading.unknown.append(reading.head_word)  # "do you sell bicycles?": we sell bicycle bells only
            return self._dont_know(reading, lang)
        if reading.head_unknown or reading.modifier_unknown or vague or not has_request:
            return self._dont_know(reading, lang)
        no_price = msg.price_max is None and msg.price_min is None
        if (
            not reading.concepts
            and not (conv and (conv.concepts or conv.shown))
            and not msg.sort
            and no_price
        ):
            return self._dont_know(reading, lang)
        spec = self._search_spec(msg, reading, excluded, conv)
        answer = self._run_search(spec, lang, k, conv)
        if answer.found and spec.sort and msg.attribute == "price":
            # "how much is the cheapest one?" asks a price: the sorted answer, with the first item's price as the fact
            answer.intent = "fact"
            answer.fact = {"item": answer.citations[0], "attribute": "price",
                           "value": cat.price(cat.position[answer.citations[0]])}  # fmt: skip
        return answer

    def _by_size(
        self,
        msg: Message,
        reading: Reading,
        excluded: list[Concept],
        conv: Conversation | None,
        largest: bool,
    ) -> int | None:
        """The largest (or smallest) item by the size its title names ("the biggest bag" after "marbles": the
        500g bag; 最小的靠垫芯) among the items asked for, or those of the previous turn; ``None`` when fewer than
        two of them name a size."""
        cat = self.catalog_
        previous = [_concept_from(d) for d in conv.concepts] if conv else []
        old_ex = [_concept_from(d) for d in conv.excluded] if conv else []
        own = [c for c in reading.concepts if c.kind not in ("size",)]
        tries = [own] if own and not previous else [[*previous, *own], previous] if previous else []
        for concepts in tries:
            found = cat.search(concepts, [*old_ex, *excluded], msg.price_min, msg.price_max, k=200)
            if not found.positions or _lost(reading.groups, found):
                continue
            sizes = {p: _size_of(cat.titles[p]) for p in found.positions}
            sized = {p: v for p, v in sizes.items() if v is not None}
            if len(sized) >= 2:
                pick = max if largest else min
                return pick(sized, key=lambda p: (sized[p], -found.positions.index(p)))
        return None

    def _sized_answer(self, pos: int, msg: Message, lang: str, conv: Conversation | None) -> Answer:
        cat = self.catalog_
        item = cat.item_ids[pos]
        attribute = msg.attribute or "price"
        fact = answer_fact(cat, pos, attribute, lang, self.shop.currency, msg.prop)
        if conv is not None:
            conv.focus = item
            conv.shown = [item, *[i for i in conv.shown if i != item]]
        hits = [Hit(item, "item", 1.0, cat.titles[pos])]
        return Answer(fact.text, fact.value is not None, [item], hits, "fact", fact.to_dict())

    def _named_item(
        self, reading: Reading, excluded: list[Concept], attribute: str, msg: Message
    ) -> int | None:
        """The item a question names ("is the skull lunch box dishwasher safe?"): the best search match.

        When nothing matches every word, the words of the asked attribute are dropped ("is the scottie dog hot
        water bottle red?" asks whether it is red; it is not part of the name)."""
        cat = self.catalog_
        concepts = list(reading.concepts)
        # a dictionary-read modifier of a named kind may be a word the title lacks (英伦 of 英伦玫瑰杯垫)
        groups = [g for g, before in zip(reading.groups, reading.modifier_groups, strict=True) if not before]
        for attempt in range(2):
            found = cat.search(concepts, excluded, msg.price_min, msg.price_max, k=1, pack=msg.pack)
            if reading.groups and (not found.positions or _lost(reading.groups, found)):
                found = self._without_class(
                    reading.groups,
                    concepts,
                    found,
                    lambda cs: cat.search(cs, excluded, msg.price_min, msg.price_max, k=1, pack=msg.pack),
                )
            if found.positions and not _lost(groups, found):
                return found.positions[0]
            if attempt == 0:
                concepts = [c for c in concepts if _KIND_ATTRIBUTE.get(c.kind) != attribute]
        return None

    @staticmethod
    def _without_class(
        groups: list[list[Concept]],
        concepts: list[Concept],
        result: SearchResult,
        search: Callable[[list[Concept]], SearchResult],
    ) -> SearchResult:
        """The search again without the Chinese-named product types after the dictionary-read groups when that
        finds items matching every concept of the groups, two words at least; otherwise ``result``."""
        last = max((concepts.index(c) for group in groups for c in group if c in concepts), default=-1)
        kept = [
            c
            for n, c in enumerate(concepts)
            if not (n > last and c.kind == "type" and re.search(r"[\u4e00-\u9fff]", c.surface))
        ]
        if len(kept) == len(concepts) or last < 0 or sum(map(len, groups)) < 2:
            return result  # one dictionary word (泡澡, bath, of 泡澡球) is too little to set the kind aside
        again = search(kept)
        if again.positions and all(c in again.used for group in groups for c in group):
            return again
        return result

    def _target(
        self, msg: Message, reading: Reading, ids: list[str], conv: Conversation | None
    ) -> int | None:
        cat = self.catalog_
        if ids:
            return cat.position[ids[0]]
        if conv is None:
            return None
        if msg.ordinal and conv.shown:
            if msg.ordinal <= len(conv.shown):
                return cat.position.get(conv.shown[msg.ordinal - 1])
            return None
        has_type = any(c.kind == "type" for c in reading.concepts)
        asks = msg.attribute or msg.yes_no
        if conv.focus and (msg.pronoun or not has_type) and asks and (not msg.search or msg.pronoun):
            return cat.position.get(conv.focus)
        return None

    def _dont_know(self, reading: Reading, lang: str) -> Answer:
        words = "、".join(reading.unknown[:3]) if lang == "zh" else ", ".join(reading.unknown[:3])
        if lang == "zh":
            text = (
                f"不知道：我们的商品和政策里没有“{words}”的信息。"
                if words
                else "不知道：我们的商品和政策里没有找到相关信息。"
            )
            text += "请换个说法或联系客服。"
        else:
            text = (
                f"Sorry, I don't know: nothing in our catalogue or policies is about {words}."
                if words
                else "Sorry, I don't know: I found nothing relevant in our catalogue or policies."
            ) + " Please rephrase or contact customer service."
        return Answer(text, False, intent="unknown")

    def _compare(self, ids: list[str], msg: Message, lang: str, conv: Conversation | None) -> Answer:
        cat = self.catalog_
        pos = [cat.position[i] for i in ids]
        priced = [p for p in pos if cat.price(p) is not None]
        if not priced:
            return Answer(
                "不知道这些商品的价格。" if lang == "zh" else "I don't know their prices.",
                False,
                intent="compare",
            )
        dearer = msg.relative == "dearer" or msg.sort == "price_desc"
        best = (
            max(priced, key=lambda p: cat.prices[p]) if dearer else min(priced, key=lambda p: cat.prices[p])
        )
        cur = self.shop.currency
        listing = ("；" if lang == "zh" else "; ").join(
            f"{item_name(cat, p, lang)} [{cat.item_ids[p]}] {money(cat.price(p), cur)}" for p in priced
        )
        if lang == "zh":
            text = f"{'更贵' if dearer else '更便宜'}的是 {item_name(cat, best, lang)} [{cat.item_ids[best]}]（{listing}）。"
        else:
            text = f"The {'more expensive' if dearer else 'cheaper'} one is {item_name(cat, best, lang)} [{cat.item_ids[best]}] ({listing})."
        if conv is not None:
            conv.focus, conv.shown = cat.item_ids[best], [cat.item_ids[p] for p in priced]
        item = cat.item_ids[best]
        return Answer(
            text,
            True,
            [item, *[cat.item_ids[p] for p in priced if p != best]],
            [Hit(item, "item", 1.0, cat.titles[best])],
            "compare",
            {"item": item, "attribute": "price", "value": cat.price(best)},
        )

    def _run_search(self, spec: _Search, lang: str, k: int, conv: Conversation | None) -> Answer:
        cat = self.catalog_
        zh = lang == "zh"
        result = cat.search(
            spec.concepts, spec.excluded, spec.price_min, spec.price_max, spec.sort, k=k, pack=spec.pack
        )
        wider = [_widened(c) if c in spec.earlier else c for c in spec.concepts]
        if not result.positions and wider != spec.concepts:
            # "any with cats?" after "fridge magnets": cat magnets, though no cat magnet says "fridge"
            spec.concepts = wider
            result = cat.search(
                wider, spec.excluded, spec.price_min, spec.price_max, spec.sort, k=k, pack=spec.pack
            )
        headed = [_head_only(c) if c in spec.earlier else c for c in spec.concepts]
        new = [c for c in spec.concepts if c not in spec.earlier]
        if not result.positions and headed != spec.concepts and new:
            # "pink ones?" after 羽毛圣诞树 (feather christmas trees): the pink feather tree is a tree, though its
            # title does not say christmas; the earlier compound kind widens to its head (not for "any cheaper?",
            # which says nothing new about the thing)
            again = cat.search(
                headed, spec.excluded, spec.price_min, spec.price_max, spec.sort, k=k, pack=spec.pack
            )
            if again.positions and len(again.used) == len(headed):
                spec.concepts, result = headed, again
        if not result.positions and spec.earlier:
            # "any with hearts?" after "christmas card holders": the new motif in place of the old one
            said = {c.kind for c in spec.concepts if c not in spec.earlier and c.kind in _REPLACED_KINDS}
            kept = [c for c in spec.concepts if not (c in spec.earlier and c.kind in said)]
            if kept != spec.concepts:
                spec.concepts = kept
                result = cat.search(
                    kept, spec.excluded, spec.price_min, spec.price_max, spec.sort, k=k, pack=spec.pack
                )
        if spec.groups and (not result.positions or _lost(spec.groups, result)):
            # 飞鸭墙饰: the flying ducks are sold, though no title calls them wall art (墙饰): the class word a
            # dictionary-read name ends in gives way when the name's every word then matches
            result = self._without_class(
                spec.groups,
                spec.concepts,
                result,
                lambda cs: cat.search(
                    cs, spec.excluded, spec.price_min, spec.price_max, spec.sort, k=k, pack=spec.pack
                ),
            )
        if (
            spec.modifier is not None
            and spec.modifier in result.dropped
            and spec.modifier in cat.search(spec.concepts, spec.excluded, k=1).dropped
        ):
            # "sleeping bags" when we sell sleeping-cat doorstops and lunch bags: no bag is a sleeping bag (at
            # any price: "door curtains under £2" are the curtains that cheap when the door ones are dearer)
            result = SearchResult([], result.used, result.dropped, 0)
        if (spec.head and any(c.kind == "word" and c.value == spec.head for c in result.dropped)) or _lost(
            spec.groups, result
        ):
            # "bath bombs" when we sell bath sponges and water bombs: the thing asked for is not sold
            result = SearchResult([], result.used, result.dropped, 0)
        intent = "sort" if spec.sort else "search"
        described = spec.describe()
        if conv is not None:
            conv.concepts = [_concept_dict(c) for c in result.used or spec.concepts]
            conv.excluded = [_concept_dict(c) for c in spec.excluded]
            conv.price_min, conv.price_max, conv.sort = spec.price_min, spec.price_max, spec.sort
        by_price = spec.sort or spec.price_min is not None or spec.price_max is not None
        if not result.positions and by_price and np.isnan(cat.prices).all():
            text = (
                "不知道：这个商品目录没有价格信息。" if zh else "I don't know: this catalogue has no prices."
            )
            return Answer(text, False, intent=intent, constraints=described)
        if not result.positions:
            text = (
                "抱歉，没有符合这些条件的商品。"
                if zh
                else "Sorry, nothing in our catalogue matches all of that."
            )
            return Answer(text, False, intent=intent, constraints=described)
        cur = self.shop.currency
        ids = [cat.item_ids[p] for p in result.positions]
        if conv is not None:
            conv.shown, conv.focus = ids, ids[0]
        lines = [
            f"{item_name(cat, p, lang)} [{cat.item_ids[p]}]"
            + (
                (f"，售价{money(cat.price(p), cur)}" if zh else f", {money(cat.price(p), cur)}")
                if cat.price(p)
                else ""
            )
            for p in result.positions
        ]
        sep = "；" if zh else "; "
        if spec.sort:
            first = lines[0]
            word = (
                ("最便宜" if spec.sort == "price_asc" else "最贵")
                if zh
                else ("cheapest" if spec.sort == "price_asc" else "most expensive")
            )
            if zh:
                text = f"{word}的是{first}。" + (f"其次：{sep.join(lines[1:])}。" if len(lines) > 1 else "")
            else:
                text = f"The {word} is {first}." + (
                    f" Next: {sep.join(lines[1:])}." if len(lines) > 1 else ""
                )
        else:
            lead = (
                f"共有{result.n_matches}件符合，推荐："
                if zh
                else f"{result.n_matches} items match; here are the best: "
            )
            text = lead + sep.join(lines) + ("。" if zh else ".")
        hits = [Hit(cat.item_ids[p], "item", 1.0, cat.titles[p]) for p in result.positions]
        return Answer(text, True, ids, hits, intent, constraints=described)

    # ------------------------------------------------------------------ shopping guide
    def guide(
        self,
        request: str,
        user_id: str | None = None,
        k: int = 5,
        language: str | None = None,
        conversation: Conversation | None = None,
    ) -> GuideReply:
        """Parse ``request`` into constraints and recommend up to ``k`` catalogue items with reasons."""
        if not isinstance(request, str) or not request.strip():
            raise ConfigError("request must be a non-empty string")
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        self._check()
        cat = self.catalog_
        lang = _language(request, language)
        msg, reading, excluded = self._read(request, lang)
        c = parse_constraints(request)
        spec = self._search_spec(msg, reading, excluded, conversation)
        c.price_min, c.price_max, c.sort = spec.price_min, spec.price_max, spec.sort
        c.excluded = [e.value for e in spec.excluded]
        pool = cat.search(
            spec.concepts, spec.excluded, spec.price_min, spec.price_max, spec.sort, k=max(k, 200)
        )
        positions = pool.positions
        if not reading.concepts and not (conversation and conversation.concepts) and reading.unknown:
            positions = []
        score = {p: float(len(positions) - n) / max(len(positions), 1) for n, p in enumerate(positions)}
        if self.personalize is not None and user_id is not None and positions and not spec.sort:
            cand = [cat.item_ids[p] for p in positions]
            extra = np.asarray(self.personalize(user_id, cand), dtype=float)
            if extra.size == len(cand) and np.ptp(extra) > 0:
                for p, e in zip(positions, (extra - extra.min()) / np.ptp(extra), strict=True):
                    score[p] += 1.5 * float(e)
            positions = sorted(positions, key=lambda p: -score[p])
        top = positions[:k]
        suggestions = [self._suggest(p, pool.used, c, score.get(p, 0.0), lang) for p in top]
        if conversation is not None:
            conversation.concepts = [_concept_dict(x) for x in pool.used or spec.concepts]
            conversation.excluded = [_concept_dict(x) for x in spec.excluded]
            conversation.price_min, conversation.price_max, conversation.sort = (
                spec.price_min,
                spec.price_max,
                spec.sort,
            )
            conversation.shown = [s.item_id for s in suggestions]
            conversation.focus = suggestions[0].item_id if suggestions else conversation.focus
            conversation.lang, conversation.turns = lang, conversation.turns + 1
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

    def _suggest(self, pos: int, used: list[Concept], c: Constraints, score: float, lang: str) -> Suggestion:
        cat = self.catalog_
        zh = lang == "zh"
        matched = [x.surface if zh and x.surface else x.value for x in used if cat.mask(x)[pos]]
        price = cat.price(pos)
        reasons = []
        if matched:
            reasons.append(("符合：" if zh else "matches ") + ", ".join(dict.fromkeys(matched)))
        if c.excluded:
            reasons.append(("不含" if zh else "no ") + ", ".join(c.excluded))
        cur = self.shop.currency
        if price is not None and c.price_max is not None:
            reasons.append(
                f"{money(price, cur)}，在预算{money(c.price_max, cur)}以内"
                if zh
                else f"{money(price, cur)}, within your {money(c.price_max, cur)} budget"
            )
        elif price is not None and c.price_min is not None:
            reasons.append(
                f"{money(price, cur)}" + ("，不低于" if zh else ", at least ") + money(c.price_min, cur)
            )
        pop = int(self.shop.popularity().get(cat.item_ids[pos], 0))
        if pop:
            reasons.append(f"已售出{pop}次" if zh else f"bought {pop} times")
        return Suggestion(cat.item_ids[pos], item_name(cat, pos, lang), price, score, reasons)


#: A follow-up that names only a motif ("anything with owls?", "ones with stars", 有猫头鹰图案的吗, 有星星的吗):
#: the words are what the earlier kind should show, even where a word is also a product type (owl, star).
#: "any monkeys?" after "dolls": a motif word alone (no product type) narrows the earlier search.
_ANY_FOLLOW_UP = re.compile(
    r"^\s*(?:any|got any|have you got any|do you have any|are there any)\s+\w+[\s?？!.]*$"
)
#: Kinds a follow-up's own concept replaces in the previous turn's when both together match nothing.
_REPLACED_KINDS = frozenset({"theme", "colour", "material"})
#: Words of a refused span that point at items rather than name them ("not the assorted ones").
_POINTING_WORDS = """
    one ones thing things anything something any kind kinds sort sorts type types version versions please
    those these them that it
"""
_POINTING = frozenset(_POINTING_WORDS.split())
_MOTIF_FOLLOW_UP = re.compile(
    r"^\s*(?:(?:any|anything|something|ones?|some|got any|do you have any|have you got any|what about|how about)"
    r"\s+)?(?:with|featuring|that (?:have|has))\b|(?:图案|花纹|印花|造型)|^\s*有[^的]{1,8}的(?:吗|呢|没有)?[\s?？]*$"
    # "the chick ones", "just the gold one", 复古圆点那款: a kind of the items just shown, pointed at
    r"|^\s*(?:(?:just|only|what about|how about|and) )?(?:the|those) (?:[a-z0-9]+ ){1,3}ones?\b"
    r"|^\s*[\u4e00-\u9fff]{1,8}(?:那款|那种|那个|那些|那几款|那只|那件)[\s?？]*$"
)


#: "the biggest", "largest", 最大 (group 1) or "the smallest", 最小 (group 2): an item picked by its size.
_BY_SIZE = re.compile(r"(\b(?:biggest|largest)\b|最大)|(\b(?:smallest|tiniest)\b|最小)")
_SIZE_SCALE = {"mm": 0.1, "cm": 1.0, "m": 100.0, "in": 2.54, "g": 1.0, "kg": 1000.0, "ml": 1.0, "l": 1000.0}


#: a follow-up that asks for more of what was shown ("show me more", "any others?", 还有别的吗)
_MORE = re.compile(
    r"\b(?:show me |got |have you got |are there |any |anything )?(?:some |any )?(?:more|others|other ones|else)\b"
    r"(?:\s+(?:ones|options|like that|like those|please))?\W*$|还有(?:别的|其他|其它|更多)?(?:的|款)?(?:吗|么|呢)|(?:更多|其他|其它|别的)(?:的|款)?(?:吗|呢)?\W*$"
)


def _size_of(title: str) -> float | None:
    """The size a title names as one number to compare (an area for "45x45cm", grams for "500g", cm for
    "60CM"), or ``None``."""
    found = dimensions(title)
    if not found:
        return None
    token = found[0][0]
    if "x" in token:
        a, b = token.split("x")
        return float(a) * float(b)
    m = re.fullmatch(r"([\d.]+)([a-z]+)", token)
    return float(m.group(1)) * _SIZE_SCALE.get(m.group(2), 1.0) if m else None


def _follows(text: str, first: Concept, second: Concept) -> bool:
    """Whether ``text`` names ``second`` right after ``first``, one word after the other ("marble run"; not
    "waste bins … and lola", where a refused span was cut out between them)."""
    words = re.findall(r"[a-z0-9]+|\s{2,}", unhyphen(text.lower()))
    for a, b in zip(words, words[1:], strict=False):
        ta, tb = index_tokens(a), index_tokens(b)
        if ta and tb and any(alt[-1] == ta[0] for alt in first.alternatives) and tb[0] == second.value:
            return True
    return False


def _lost(groups: list[list[Concept]], result: SearchResult) -> bool:
    """Whether the search dropped a concept of a dictionary-read group (睡袋: nothing is a sleeping bag, so the
    bags found without it are not what was asked; 球赛, a match, is no box of matches)."""
    return any(c not in result.used for group in groups for c in group)


def _head_only(concept: Concept) -> Concept:
    """A compound type concept ("christmas tree") with its head word alone as an alternative too ("tree")."""
    if concept.kind != "type":
        return concept
    heads = [(alt[-1],) for alt in concept.alternatives if len(alt) >= 2 and not alt[-1].startswith("=")]
    alts = tuple(dict.fromkeys([*concept.alternatives, *heads]))
    if alts == concept.alternatives:
        return concept
    return Concept(concept.kind, concept.value, alts, concept.surface, concept.excluded)


def _widened(concept: Concept) -> Concept:
    """A type concept with its own name as an alternative again ("fridge magnet" read narrowly is a magnet)."""
    own = tuple(index_tokens(unhyphen(concept.value)))
    if concept.kind != "type" or not own or own in concept.alternatives:
        return concept
    return Concept(
        concept.kind, concept.value, (*concept.alternatives, own), concept.surface, concept.excluded
    )


_KIND_ATTRIBUTE = {
    "colour": "colour",
    "material": "material",
    "theme": "theme",
    "audience": "audience",
    "size": "size",
}
