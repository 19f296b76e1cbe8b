"""Explanations in words and JSON: a sentence in English or Chinese, and the API's ``reasons`` entries.

A sentence names the strongest reasons, at most two, in the shopper's language (``lang`` is ``"en"`` or
``"zh"``, as everywhere in the service: ``?lang=``). History items are named by title, in Chinese by the item's
Chinese name where its product record gives one (:func:`chinese_name`, what the generated copy calls it), and
shared words by their Chinese names (words without one are left out); the verb is "bought" for items the shopper
bought and "looked at" for items they only viewed or carted, so the sentence never claims a purchase that did
not happen.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tuijian.exceptions import ConfigError
from tuijian.explain.reasons import Explanation, Reason

if TYPE_CHECKING:
    from tuijian.models.pipeline import Pipeline, Ranked
    from tuijian.models.query import RecQuery

LANGUAGES = ("en", "zh")
#: attributions returned per item (largest absolute contributions first)
TOP_ATTRIBUTIONS = 8
_TITLE_CHARS = 60

_PHRASES: dict[str, tuple[str, str]] = {
    "history_bought": ("because you bought {items}", "因为您购买过{items}"),
    "history_viewed": ("because you looked at {items}", "因为您看过{items}"),
    "recent": ("goes with what you looked at recently: {items}", "与您最近浏览的{items}相关"),
    "recent_none": ("goes with what you looked at recently", "与您最近浏览的商品相关"),
    "content": ("shares {terms} with {items}", "与{items}有共同特点：{terms}"),
    "content_items": ("similar to {items}", "与{items}相似"),
    "content_none": ("matches what you like", "符合您的喜好"),
    "repeat": ("you bought this before", "您以前买过"),
    "repeat_item": ("often bought again", "常被回购"),
    "similar_shoppers": ("shoppers with tastes like yours chose it", "与您品味相似的顾客选择了它"),
    "price": ("at a price that suits you", "价格合适"),
    "new": ("new in the shop", "新品上架"),
    "trending": ("popular with shoppers lately", "近期热销"),
    "popular": ("popular with shoppers", "很多顾客都在买"),
    "exploration": ("something new we are trying out for you", "为您尝试的新推荐（探索）"),
}


def check_language(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else a :class:`ConfigError` saying what to send."""
    if lang not in LANGUAGES:
        raise ConfigError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    return lang


def _short(title: str) -> str:
    title = " ".join(str(title).split())
    return title if len(title) <= _TITLE_CHARS else title[: _TITLE_CHARS - 1].rstrip() + "…"


#: :func:`_short` cached per title (a sentence names the same few history items over and over)
_short_cached = lru_cache(maxsize=1 << 16)(_short)


@lru_cache(maxsize=1 << 16)
def chinese_name(title: str) -> str | None:
    """What Chinese copy calls an item with this title (:func:`tuijian.generate.naming.names_for` on its product
    record: PARTY BUNTING -> 派对彩旗), or ``None`` when the record names no product type; cached per title."""
    from tuijian.generate.naming import names_for
    from tuijian.nlp.product import understand

    text = " ".join(str(title).split())
    if not text:
        return None
    return names_for(understand(text), text).name_zh or None


@lru_cache(maxsize=4096)
def chinese_word(term: str) -> str | None:
    """A shared keyword in Chinese (a theme or motif, a colour, a material or a product type), or ``None`` when
    the product vocabulary has none: a Chinese sentence then leaves the word out rather than quote English."""
    from tuijian.nlp.product.vocab import chinese_product_type, chinese_term, chinese_theme

    t = term.lower().strip()
    if not t:
        return None
    for found in (chinese_theme(t), chinese_term("colour", t), chinese_term("material", t)):
        if found:
            return found
    return chinese_product_type(t)


def item_title(record: dict[str, Any], lang: str) -> str:
    """How a sentence in ``lang`` names a catalogue item: its title (its id when it has none); in Chinese, the
    item's Chinese name (:func:`chinese_name`) when its title gives one."""
    raw = str(record.get("title") or record["item_id"])
    return (chinese_name(raw) or raw) if lang == "zh" else raw


def phrase(reason: Reason, item: int, lang: str, title: Callable[[int], str], bought: set[int]) -> str:
    """One reason as a phrase (no capital, no full stop)."""
    return _phrase(reason, item, lang, _quoter(title, lang), bought)


def _quote(name: str, lang: str) -> str:
    """A (shortened) item name as a sentence in ``lang`` quotes it."""
    return f"「{name}」" if lang == "zh" else f"“{name}”"


def _quoter(title: Callable[[int], str], lang: str) -> Callable[[int], str]:
    """Per item, its :func:`_short` ``title`` quoted for ``lang`` (what :func:`_phrase` names items by)."""

    def quoted(i: int) -> str:
        return _quote(_short_cached(title(i)), lang)

    return quoted


def _phrase(reason: Reason, item: int, lang: str, quoted: Callable[[int], str], bought: set[int]) -> str:
    """:func:`phrase`, items named by ``quoted`` (:func:`_quoter`, or a cache of it)."""
    col = 1 if lang == "zh" else 0
    kind = reason.kind
    if not reason.items:  # nothing to name (most reasons): the phrase depends on the kind alone
        if kind == "content":
            return _PHRASES["content_none"][col]
        if kind == "history":
            return _PHRASES["similar_shoppers"][col]
        if kind == "recent":
            return _PHRASES["recent_none"][col]
        if kind == "repeat":
            return _PHRASES["repeat_item"][col]
        return _PHRASES[kind][col]
    names = [quoted(i) for i in reason.items if i != item]
    joined = ("、" if lang == "zh" else " and ").join(names)
    if kind == "history":
        if not names:
            return _PHRASES["similar_shoppers"][col]
        key = "history_bought" if any(i in bought for i in reason.items) else "history_viewed"
        return _PHRASES[key][col].format(items=joined)
    if kind == "recent":
        return _PHRASES["recent" if names else "recent_none"][col].format(items=joined)
    if kind == "content":
        terms = list(reason.terms)
        if lang == "zh":  # the shared words in Chinese; words without a Chinese name are left out
            terms = [w for w in dict.fromkeys(chinese_word(t) for t in terms) if w]
        if names and terms:
            sep = "、" if lang == "zh" else ", "
            return _PHRASES["content"][col].format(items=joined, terms=sep.join(terms))
        return _PHRASES["content_items" if names else "content_none"][col].format(items=joined)
    if kind == "repeat":
        return _PHRASES["repeat" if item in reason.items else "repeat_item"][col]
    return _PHRASES[kind][col]


def sentence(
    explanation: Explanation, lang: str, title: Callable[[int], str], bought: set[int], max_reasons: int = 2
) -> str:
    """The explanation as one sentence: its strongest reasons (distinct phrases), joined."""
    return _sentence(explanation, lang, _quoter(title, lang), bought, max_reasons)


def _sentence(
    explanation: Explanation, lang: str, quoted: Callable[[int], str], bought: set[int], max_reasons: int = 2
) -> str:
    """:func:`sentence`, items named by ``quoted`` (see :func:`_phrase`)."""
    parts: list[str] = []
    for r in explanation.reasons:
        p = _phrase(r, explanation.item, lang, quoted, bought)
        if p not in parts:
            parts.append(p)
        if len(parts) == max_reasons:
            break
    if not parts:
        parts = [_PHRASES["popular"][1 if lang == "zh" else 0]]
    if lang == "zh":
        return "，".join(parts) + "。"
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def reason_json(reason: Reason, item_id: Callable[[int], str]) -> dict[str, Any]:
    """``{"kind", "item_ids", "weight"[, "terms"]}``: a reason as the API returns it."""
    out: dict[str, Any] = {
        "kind": reason.kind,
        "item_ids": [item_id(i) for i in reason.items],
        "weight": round(float(reason.weight), 6),
    }
    if reason.terms:
        out["terms"] = list(reason.terms)
    return out


def explanation_json(
    explanation: Explanation,
    lang: str,
    title: Callable[[int], str],
    item_id: Callable[[int], str],
    bought: set[int],
    n_attributions: int = TOP_ATTRIBUTIONS,
) -> dict[str, Any]:
    """``reasons``, ``sentence`` and (for a ranked model) ``attributions`` of one item."""
    out: dict[str, Any] = {
        "reasons": [reason_json(r, item_id) for r in explanation.reasons],
        "sentence": sentence(explanation, lang, title, bought),
    }
    if explanation.attributions:
        out["attributions"] = [
            {
                "feature": a.feature,
                "value": None if a.value != a.value else round(a.value, 6),
                "contribution": round(a.contribution, 6),
                "kind": a.kind,
            }
            for a in explanation.attributions[:n_attributions]
        ]
        out["base_value"] = round(float(explanation.base_value or 0.0), 6)
    return out


_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
#: per reason kind / feature name / feature kind, its pre-encoded JSON pieces (a few dozen strings)
_KIND_BYTES: dict[str, bytes] = {}
_FEATURE_BYTES: dict[tuple[str, str | None], tuple[bytes, bytes]] = {}


def _number(x: float) -> bytes:
    """``x`` as JSON with six decimals: parses to exactly ``round(x, 6)`` (both round the binary value
    correctly to six decimals), which is what :func:`explanation_json` gives."""
    if x - x != 0:  # nan or ±inf: JSON has no such number
        raise ValueError(f"non-finite number {x!r} in an explanation")
    return b"%.6f" % x


def _check_finite(numbers: list[float]) -> None:
    """:func:`_number`'s check on each of ``numbers``, in order: the first non-finite one is refused."""
    for x in numbers:
        if x - x != 0:
            raise ValueError(f"non-finite number {x!r} in an explanation")


#: per (feature, kind, value missing), an attribution's JSON as a ``%`` template of its value (unless missing)
#: and contribution: the attributions of an item are written by one formatting operation
_ATTRIBUTION_FORMATS: dict[tuple[str, str | None, bool], bytes] = {}


def _attribution_format(feature: str, kind: str | None, missing: bool) -> bytes:
    key = (feature, kind, missing)
    out = _ATTRIBUTION_FORMATS.get(key)
    if out is None:
        pre = _FEATURE_BYTES.get((feature, kind))
        if pre is None:
            pre = _FEATURE_BYTES[(feature, kind)] = (
                b'{"feature":' + _dumps(feature).encode() + b',"value":',
                b',"kind":' + _dumps(kind).encode() + b"}",
            )
        out = _ATTRIBUTION_FORMATS[key] = (
            pre[0].replace(b"%", b"%%")
            + (b"null" if missing else b"%.6f")
            + b',"contribution":%.6f'
            + pre[1].replace(b"%", b"%%")
        )
    return out


def explanation_bytes(
    explanation: Explanation,
    lang: str,
    title: Callable[[int], str],
    item_id: Callable[[int], bytes],
    bought: set[int],
    n_attributions: int = TOP_ATTRIBUTIONS,
    *,
    quoted: Callable[[int], str] | None = None,
) -> bytes:
    """:func:`explanation_json` written straight to UTF-8 JSON, without its opening brace (``"reasons":...}``;
    the service appends it to an item's entry, :func:`tuijian.service.encode.encode_explained`).

    Parses to exactly :func:`explanation_json`'s dict (``tests/explain/test_render.py`` checks it); only the
    spelling of numbers differs (``0.500000``, not ``0.5``). ``item_id``: an item's id as a JSON string.
    Numbers are written as :func:`_number` writes them (``%.6f``, non-finite ones refused in the same order).
    ``quoted``: how the sentence names item ``i``, the :func:`_short` ``title(i)`` in ``lang``'s quotes (a
    cache of it, :func:`_quoted_names`); by default made from ``title``.
    """
    flat = [b'"reasons":[']
    for n, r in enumerate(explanation.reasons):
        kind = _KIND_BYTES.get(r.kind)
        if kind is None:
            kind = _KIND_BYTES[r.kind] = b'{"kind":' + _dumps(r.kind).encode() + b',"item_ids":['
        ids = b",".join([item_id(i) for i in r.items])
        terms = _terms_bytes(r.terms) if r.terms else b""
        weight = float(r.weight)
        if weight - weight != 0:
            _check_finite([weight])
        flat.append((b"," if n else b"") + kind + ids + b'],"weight":' + b"%.6f" % weight + terms + b"}")
    text = _sentence(explanation, lang, _quoter(title, lang) if quoted is None else quoted, bought)
    flat.append(b'],"sentence":' + _dumps(text).encode())
    if explanation.attributions:
        formats = []
        numbers: list[float] = []
        known = _ATTRIBUTION_FORMATS
        for a in explanation.attributions[:n_attributions]:
            value = a.value
            if value != value:  # missing: null
                fmt = known.get((a.feature, a.kind, True)) or _attribution_format(a.feature, a.kind, True)
                numbers.append(a.contribution)
            else:
                fmt = known.get((a.feature, a.kind, False)) or _attribution_format(a.feature, a.kind, False)
                numbers += (value, a.contribution)
            formats.append(fmt)
        numbers.append(float(explanation.base_value or 0.0))
        total = sum(
            numbers
        )  # finite numbers sum to a finite total unless it overflows: then check one by one
        if total - total != 0:
            _check_finite(numbers)
        flat.append(b',"attributions":[' + (b",".join(formats) + b'],"base_value":%.6f') % tuple(numbers))
    flat.append(b"}")
    return b"".join(flat)


#: per tuple of shared words, its JSON (``,"terms":[...]``); cleared when it grows past a bound
_TERMS_BYTES: dict[tuple[str, ...], bytes] = {}


def _terms_bytes(terms: tuple[str, ...]) -> bytes:
    """``,"terms":`` and ``terms`` as a JSON list, cached per tuple."""
    out = _TERMS_BYTES.get(terms)
    if out is None:
        if len(_TERMS_BYTES) >= 1 << 16:
            _TERMS_BYTES.clear()
        out = _TERMS_BYTES[terms] = b',"terms":' + _dumps(list(terms)).encode()
    return out


#: per (catalogue records, language), the items' quoted names made so far (:func:`_quoted_names`)
_QUOTED: dict[tuple[int, str], tuple[Sequence[dict[str, Any]], dict[int, str]]] = {}


def _quoted_names(records: Sequence[dict[str, Any]], lang: str) -> Callable[[int], str]:
    """How a sentence in ``lang`` names item ``i`` of ``records`` (:func:`_quoter` of :func:`item_title`), each
    name made once per catalogue: the catalogue's records never change (a new catalogue is a new list)."""
    key = (id(records), lang)
    found = _QUOTED.get(key)
    if found is None or found[0] is not records:
        if len(_QUOTED) >= 8:  # a few catalogues at most are served; drop retired ones
            _QUOTED.clear()
        found = _QUOTED[key] = (records, {})
    names = found[1]

    def quoted(i: int) -> str:
        out = names.get(i)
        if out is None:
            out = names[i] = _quote(_short_cached(item_title(records[i], lang)), lang)
        return out

    return quoted


def bought_items(codes_source: str, exclude: Sequence[int], repeats: Sequence[int]) -> set[int]:
    """Items a user query says were bought: its exclusions (bought items) and repeats; none for a session."""
    if codes_source != "history":
        return set()
    return {int(i) for i in exclude} | {int(i) for i in repeats}


def explained_items(
    pipeline: Pipeline,
    records: Sequence[dict[str, Any]],
    query: RecQuery,
    ranked: Ranked,
    lang: str,
    **how: Any,
) -> list[dict[str, Any]]:
    """The response entries of ``ranked`` with explanations: each item's catalogue record, ``score``,
    ``reason_codes`` (the plain codes), ``reasons`` (structured), ``sentence`` and, for the hybrid's ranker,
    ``attributions``. ``how``: :func:`~tuijian.explain.pipeline.explain_ranked`'s ``fallback`` and ``sequence``
    for a list another chain ranked."""
    explanations, bought = _explained(pipeline, query, ranked, lang, **how)

    def title(i: int) -> str:
        return item_title(records[i], lang)

    def item_id(i: int) -> str:
        return str(records[i]["item_id"])

    return [
        {
            **records[i],
            "score": round(float(score), 6),
            "reason_codes": codes,
            **explanation_json(e, lang, title, item_id, bought),
        }
        for (i, score, codes), e in zip(ranked, explanations, strict=True)
    ]


def explained_item_bytes(
    pipeline: Pipeline,
    records: Sequence[dict[str, Any]],
    query: RecQuery,
    ranked: Ranked,
    lang: str,
    **how: Any,
) -> list[bytes]:
    """Per entry of ``ranked``, the end of its :func:`explained_items` entry as UTF-8 JSON, from
    ``"reasons"`` on (:func:`explanation_bytes`): what the service writes after the item's pre-encoded
    catalogue part, score and reason codes (:func:`tuijian.service.encode.encode_explained`)."""
    explanations, bought = _explained(pipeline, query, ranked, lang, **how)

    def title(i: int) -> str:
        return item_title(records[i], lang)

    ids: dict[int, bytes] = {}

    def item_id(i: int) -> bytes:
        out = ids.get(i)
        if out is None:
            out = ids[i] = _dumps(str(records[i]["item_id"])).encode()
        return out

    quoted = _quoted_names(records, lang)
    return [explanation_bytes(e, lang, title, item_id, bought, quoted=quoted) for e in explanations]


def _explained(
    pipeline: Pipeline, query: RecQuery, ranked: Ranked, lang: str, **how: Any
) -> tuple[list[Explanation], set[int]]:
    from tuijian.explain.pipeline import explain_ranked

    check_language(lang)
    explanations = explain_ranked(pipeline, query, ranked, **how)
    return explanations, bought_items(query.source, query.exclude.tolist(), query.repeats.tolist())
