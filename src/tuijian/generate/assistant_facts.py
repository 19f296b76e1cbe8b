"""Answers to fact questions about one item, from its structured record: the value, or "I don't know".

Each answer is a :class:`FactAnswer` with the attribute, the value (``None`` when the data does not say) and the
sentence in English or Chinese. A yes/no question is answered yes or no only when the record says so ("Is it red?"
on a red item is yes; on an item whose colour is given as blue it is no; on an item with no colour it is "I
don't know"); properties the catalogue does not record ("waterproof", "dishwasher safe") are "I don't know" unless
the item's own words state them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from tuijian.generate.assistant_catalog import CatalogIndex
from tuijian.generate.assistant_query import PROPERTIES
from tuijian.generate.assistant_vocabulary import Concept
from tuijian.generate.templates import title_case
from tuijian.nlp.lexicon import attribute_lexicon, chinese_name
from tuijian.nlp.product import chinese_product_type

_SYMBOL = {"GBP": "£", "USD": "$", "EUR": "€", "CNY": "¥"}
_ATTR_ZH = {
    "pack_count": "一包有几个",
    "colour": "颜色",
    "material": "材质",
    "size": "尺寸或容量",
    "theme": "图案",
    "audience": "适用人群",
    "type": "商品类型",
}
_ATTR_EN = {
    "pack_count": "how many come in the pack",
    "colour": "its colour",
    "material": "what it is made of",
    "size": "its size or capacity",
    "theme": "its design",
    "audience": "who it is for",
    "type": "what kind of product it is",
}
_KIND_TO_ATTR = {
    "colour": "colour",
    "material": "material",
    "theme": "theme",
    "audience": "audience",
    "type": "type",
}


@dataclass
class FactAnswer:
    item: str
    attribute: str
    value: Any
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "attribute": self.attribute, "value": self.value}


@cache
def _theme_zh() -> dict[str, str]:
    """English theme word -> Chinese, from the attribute lexicon and the assistant's word list."""
    out: dict[str, str] = {}
    for kind in ("pattern", "occasion", "style"):
        for value, forms in attribute_lexicon()[kind].items():
            if forms["zh"]:
                out.setdefault(value, forms["zh"][0])
    text = resources.files("tuijian.generate").joinpath("templates/assistant_zh.json").read_text("utf-8")
    for zh, en in json.loads(text)["terms"]["theme"].items():
        out.setdefault(en.split("|")[0], zh)
    return out


def money(price: float | None, currency: str) -> str:
    return "" if price is None else f"{_SYMBOL.get(currency, currency + ' ')}{price:.2f}"


def item_name(catalog: CatalogIndex, pos: int, lang: str) -> str:
    """How an answer names an item: its title (en), or colour + theme + product type in Chinese (zh)."""
    if lang != "zh":
        return title_case(catalog.titles[pos])
    record = catalog.records[pos]
    parts = [chinese_name("colour", str(v)) for v in record.values("colour")[:1]]
    parts += [_theme_zh()[str(v)] for v in record.values("theme")[:1] if str(v) in _theme_zh()]
    kind = chinese_product_type(catalog.types[pos]) if catalog.types[pos] else None
    parts.append(kind or "商品")
    return "".join(parts)


def _unknown(item: str, name: str, attribute: str, lang: str, what_zh: str, what_en: str) -> FactAnswer:
    if lang == "zh":
        text = f"不知道：{name} [{item}] 的商品信息里没有写{what_zh}。"
    else:
        text = f"I don't know: the product data for {name} [{item}] does not say {what_en}."
    return FactAnswer(item, attribute, None, text)


def answer_fact(
    catalog: CatalogIndex,
    pos: int,
    attribute: str,
    lang: str,
    currency: str,
    prop: str | None = None,
    asked: list[Concept] | None = None,
    yes_no: bool = False,
) -> FactAnswer:
    """The answer to ``attribute`` (price, pack_count, colour, material, size, theme, audience, type, property)."""
    item, record, title = catalog.item_ids[pos], catalog.records[pos], catalog.titles[pos]
    name = item_name(catalog, pos, lang)
    zh = lang == "zh"
    if attribute == "price":
        price = catalog.price(pos)
        if price is None:
            return _unknown(item, name, attribute, lang, "价格", "its price")
        p = money(price, currency)
        text = f"{name} [{item}] 售价{p}。" if zh else f"{name} [{item}] costs {p}."
        return FactAnswer(item, attribute, price, text)
    if attribute == "pack_count":
        if record.pack_count is None:
            return _unknown(item, name, attribute, lang, _ATTR_ZH[attribute], _ATTR_EN[attribute])
        n = int(record.pack_count.value)
        text = f"{name} [{item}] 一套{n}个。" if zh else f"{name} [{item}] comes in a pack of {n}."
        return FactAnswer(item, attribute, n, text)
    if attribute == "property":
        prop = prop or "waterproof"
        _, words, prop_zh = PROPERTIES.get(prop, (None, (prop,), prop))
        low = title.lower()
        if words and any(w in low for w in words):
            text = (
                f"是的，{name} [{item}] {prop_zh}。"
                if zh
                else f"Yes: {name} [{item}] is described as {prop}."
            )
            return FactAnswer(item, prop, "yes", text)
        what_zh = f"是否{prop_zh}" if prop not in ("weight", "age", "warranty") else prop_zh
        what_en = {"weight": "its weight", "age": "an age range", "warranty": "a warranty"}.get(
            prop, f"whether it is {prop}"
        )
        return _unknown(item, name, prop, lang, what_zh, what_en)
    field_name = {"size": "size"}.get(attribute, attribute)
    if attribute == "type":
        values = [record.product_type.value] if record.product_type is not None else []
    elif attribute == "size":
        values = [*record.values("size"), *record.values("capacity")]
    else:
        values = record.values(field_name)
    asked_here = [c for c in (asked or []) if _KIND_TO_ATTR.get(c.kind) == attribute]
    if yes_no and asked_here:
        hit = [c for c in asked_here if catalog.mask(c)[pos]]
        if hit:
            v = hit[0].value
            text = (
                f"是的，{name} [{item}] 是{hit[0].surface or v}的。"
                if zh
                else f"Yes: {name} [{item}] is {v}."
            )
            return FactAnswer(item, attribute, "yes", text)
        if values:
            shown = ", ".join(str(v) for v in values)
            text = (
                f"不是：{name} [{item}] 的{_ATTR_ZH[attribute]}是{shown}。"
                if zh
                else f"No: {name} [{item}] is {shown}, not {asked_here[0].value}."
            )
            return FactAnswer(item, attribute, "no", text)
        return _unknown(item, name, attribute, lang, _ATTR_ZH[attribute], _ATTR_EN[attribute])
    if not values:
        return _unknown(item, name, attribute, lang, _ATTR_ZH[attribute], _ATTR_EN[attribute])
    shown = ", ".join(str(v) for v in values)
    if zh:
        text = f"{name} [{item}] 的{_ATTR_ZH[attribute]}：{shown}。"
    else:
        text = f"{name} [{item}]: {_ATTR_EN[attribute].replace('its ', 'its ')} is {shown}."
        if attribute == "material":
            text = f"{name} [{item}] is made of {shown}."
        elif attribute == "colour":
            text = f"{name} [{item}] is {shown}."
    return FactAnswer(item, attribute, values[0] if len(values) == 1 else values, text)
