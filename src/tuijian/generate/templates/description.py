"""Product descriptions: what the item is, its facts and its price, in a few short sentences.

The first sentence names the item and says what it is with its own facts ("Pack Of 72 Skull Cake Cases: 72 cake
cases with a skull design."); further sentences (medium and long) add the facts the name does not hold: capacity,
occasion, audience, size, brand, a buyer's words. Chinese lists the features in one clause (骷髅图案，72只装)
and shows the shop's title only in the spec line.
"""

from __future__ import annotations

import random

from tuijian.generate.facts import ItemFacts
from tuijian.generate.grammar import join_en
from tuijian.generate.naming import Names, proper
from tuijian.generate.templates.common import (
    AUDIENCE_EN,
    GIFT_OCCASIONS,
    LENGTHS,
    adds_to_title,
    brand_news,
    cap,
    capacity_en,
    colours_en,
    features_zh,
    material_colour_en,
    occasion_zh,
    pick,
    quote,
    shared_en,
    spec_line,
    styles_for,
    this_zh,
    what_en,
    worth_saying,
    zh_name,
)
from tuijian.nlp.aspects import aspect_name


def description(
    f: ItemFacts, lang: str, rng: random.Random, style: str | None = None, length: str | None = None
) -> str:
    """A product description from the record."""
    style = style or rng.choice(styles_for(f, "description"))
    length = length or rng.choice(LENGTHS)
    return (_description_zh if lang == "zh" else _description_en)(f, rng, style, length)


def _lead_en(f: ItemFacts, rng: random.Random, style: str, length: str) -> str:
    n = f.names
    title = n.short_title
    if n.noun_en is None:
        return f"The {title}."
    # short: colour and material only; long: the theme, with colour and material a sentence of their own
    what = what_en(n, described=length != "long", themed=length != "short")
    said = worth_saying(n, what)  # "Red Mug: a red mug." says nothing
    x = f", {what}" if said else ""
    occasion = n.occasions[0] if n.occasions and n.occasions[0] in GIFT_OCCASIONS else None
    if style == "gift":
        if occasion:
            idea = shared_en(n, occasion)[0]
            return f"{cap(idea)} gift idea: the {title}{x}."
        return pick(rng, ("Gift idea: the {t}{x}.", "For someone special: the {t}{x}."), t=title, x=x)
    if style == "practical":
        return f"{title}: {what}." if x else f"{title}."
    return pick(
        rng, ("Meet the {t}{x}.", "Introducing the {t}{x}.", "Say hello to the {t}{x}."), t=title, x=x
    )


def _description_en(f: ItemFacts, rng: random.Random, style: str, length: str) -> str:
    n = f.names
    out = [_lead_en(f, rng, style, length)]
    facts: list[str] = []
    look = material_colour_en(n)
    if style == "practical" and length == "long":
        details = _details_en(n)
        if details:
            out.append(details)
    elif look and length == "long" and adds_to_title(n, look):
        facts.append(look)
    if length != "short":
        if n.capacity:
            facts.append(f"Capacity: {capacity_en(n.capacity[0])}.")
        if n.occasions and style != "gift":
            o = n.occasion_en()
            facts.append(pick(rng, ("Ready for {o}.", "Made for {o}.", "Just right for {o}."), o=o))
        audience = next((AUDIENCE_EN[a] for a in n.audience if a in AUDIENCE_EN), None)
        if audience:
            facts.append(f"Made for {audience}.")
        brand = brand_news(f)
        if brand:
            facts.append(f"By {brand}.")
    if length == "long" and n.sizes and style != "practical":
        facts.append(f"Size: {n.sizes[0]}.")
    rng.shuffle(facts)
    out += facts
    price = f.price_text()
    if price:
        out.append(pick(rng, ("Price: {p}.", "{p}.", "Now {p}."), p=price))
    good = f.positive_evidence()
    if good and length == "long":
        out.append(f"A buyer says: {quote(rng.choice(good[:5]), 'en')}.")
    return " ".join(out)


def _details_en(n: Names) -> str | None:
    """The record's look as a spec sentence: "Colour: white; design: heart; size: small." (None when empty)."""
    parts = []
    if colours_en(n):
        parts.append(f"colour: {colours_en(n)}")
    if n.materials:
        parts.append(f"material: {n.materials[0]}")
    if n.motifs:
        parts.append(f"design: {proper(join_en(n.motifs[:2]))}")
    elif n.styles:
        parts.append(f"style: {proper(n.styles[0])}")
    if n.sizes:
        parts.append(f"size: {n.sizes[0]}")
    return cap("; ".join(parts)) + "." if parts else None


_LEAD_ZH = {
    "gift": ("送礼可以考虑{this}{x}。", "挑礼物？看看{this}{x}。"),
    "practical": ("{x}。", "品名：{x}。"),
    "warm": ("{this}{x}，值得一看。", "来看看{this}{x}。", "为你介绍{this}{x}。"),
}


def _description_zh(f: ItemFacts, rng: random.Random, style: str, length: str) -> str:
    n = f.names
    name = zh_name(n)
    occasion = occasion_zh(n)
    if style == "gift" and occasion and n.occasions[0] in GIFT_OCCASIONS:
        out = [f"{occasion}礼物之选：{this_zh(n, rng)}{name}。"]
    else:
        out = [pick(rng, _LEAD_ZH[style], x=name, this=this_zh(n, rng))]
    features = features_zh(n, rng, look=length != "short", audience=length != "short")
    if features:
        out.append("，".join(features) + "。")
    if occasion and length != "short" and style != "gift":
        out.append(pick(rng, ("{o}用正合适。", "为{o}准备。"), o=occasion))
    price = f.price_text()
    if price:
        out.append(pick(rng, ("售价{p}。", "{p}。", "现价{p}。"), p=price))
    good = f.positive_evidence()
    if good and length == "long":
        aspects = list(dict.fromkeys(aspect_name(e.aspect, "zh") for e in good))[:2]
        out.append(f"有买家称赞它的{'和'.join(aspects)}。")
    if length == "long" or style == "practical":
        out.append("\n" + spec_line(f))
    return "".join(out)
