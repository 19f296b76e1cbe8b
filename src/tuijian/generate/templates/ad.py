"""Personalised ad copy: what the item is, what it shares with the shopper's recent purchases, its price.

The personal line says something true and specific: the theme or occasion that the item shares with the
shopper's recent purchases ("For your Christmas shopping", 你最近买过波点图案的商品), else nothing personal.
A vetted ``reason`` is added as it is.
"""

from __future__ import annotations

import random

from tuijian.generate.facts import ItemFacts
from tuijian.generate.templates.common import (
    LENGTHS,
    STYLES,
    adds_to_title,
    brand_news,
    capacity_en,
    features_zh,
    material_colour_en,
    pick,
    shared_designs_en,
    shared_en,
    shared_themes,
    this_zh,
    what_en,
    worth_saying,
    zh_name,
)
from tuijian.nlp.product import chinese_theme


def ad_copy(
    f: ItemFacts,
    lang: str,
    rng: random.Random,
    interests: list[str],
    reason: str | None,
    style: str | None = None,
    length: str | None = None,
) -> str:
    """Personalised copy: it names a theme or occasion the shopper's purchases share with the item, else no
    personal claim at all; a vetted ``reason`` is added as it is."""
    style = style or rng.choice(STYLES["ad"])
    length = length or rng.choice(LENGTHS)
    shared = shared_themes(f, interests)
    return (_ad_zh if lang == "zh" else _ad_en)(f, rng, shared, reason, style, length)


_OPEN_EN = {
    "friendly": ("For you: the {t}{x}.", "You might like the {t}{x}.", "Chosen for you: the {t}{x}.",
                 "Take a look at the {t}{x}."),
    "direct": ("{T}{x}.", "In stock: the {t}{x}.", "Shop the {t}{x}.", "Get the {t}{x}."),
    "playful": ("Spotted: the {t}{x}.", "Nice find: the {t}{x}.", "Eye-catcher: the {t}{x}.", "Found it: the {t}{x}."),
}  # fmt: skip
#: The personal line: the theme or occasion the item shares with the shopper's recent orders.
_SHARED_EN = {
    "occasion": ("For your {w} shopping: the {t}{x}.", "Getting ready for {w} again? See the {t}{x}.",
                 "Another {w} idea after your recent orders: the {t}{x}."),
    "design": ("More {d}, like your recent orders: the {t}{x}.", "For your {w} collection: the {t}{x}.",
               "You bought {d} lately; here is the {t}{x}."),
}  # fmt: skip
_CTA_EN = ("Order {it} today.", "Add {it} to your basket.")


def _ad_en(
    f: ItemFacts, rng: random.Random, shared: list[str], reason: str | None, style: str, length: str
) -> str:
    n = f.names
    title = n.short_title
    what, occasion = shared_en(n, shared[0]) if shared else ("", False)
    # what the item is, when the title does not say it already; a shared design is said in the personal line
    x = what_en(n, themed=not shared or occasion, described=length != "short") if n.noun_en else ""
    x = f", {x}" if x and worth_saying(n, x) else ""
    if shared:
        out = [
            pick(
                rng,
                _SHARED_EN["occasion" if occasion else "design"],
                w=what,
                d=shared_designs_en(n, shared[0]),
                t=title,
                x=x,
            )
        ]
    else:
        out = [pick(rng, _OPEN_EN[style], t=title, T=title, x=x)]
    if length != "short":
        look = material_colour_en(n)
        if look and not x and adds_to_title(n, look):
            out.append(look)
        if n.capacity:
            out.append(f"Capacity: {capacity_en(n.capacity[0])}.")
        brand = brand_news(f)
        if brand:
            out.append(f"By {brand}.")
        if n.occasions and not (shared and occasion):
            out.append(f"Ready for {n.occasion_en()}.")
    if reason:
        out.append(f"Why we picked it: {reason.rstrip('.')}.")
    price = f.price_text()
    if price:
        out.append(f"{price}.")
    if length == "long" and style == "direct":
        out.append(pick(rng, _CTA_EN, it="them" if n.plural or n.pack_count else "it"))
    return " ".join(out)


_OPEN_ZH = {
    "friendly": ("为你挑选：{x}。", "猜你喜欢：{x}。", "推荐：{x}。", "看看{this}{x}。", "给你推荐{x}。"),
    "direct": ("现已上架：{x}。", "本店有售：{x}。", "欢迎选购：{x}。", "在售：{x}。", "选购{x}。"),
    "playful": ("发现好物：{x}。", "瞧，{this}{x}！", "眼前一亮的{x}。", "新发现：{x}。", "好物来了：{x}。"),
}  # fmt: skip
#: The personal line: the theme or occasion the item shares with the shopper's recent orders.
_SHARED_ZH = {
    "occasion": ("又在为{t}做准备？{x}正合适。", "为{t}再添一件：{x}。", "你最近在准备{t}，看看{x}。"),
    "design": ("你最近买过{t}{kind}的商品，看看{x}。", "喜欢{t}{kind}？看看{x}。", "{t}{kind}再添一件：{x}。"),
}  # fmt: skip
_CTA_ZH = {
    "friendly": ("喜欢就加入购物车吧。", "点开看看详情吧。"),
    "direct": ("立即下单。", "马上加入购物车。"),
    "playful": ("心动不如行动！", "快把它带回家！"),
}


def _ad_zh(
    f: ItemFacts, rng: random.Random, shared: list[str], reason: str | None, style: str, length: str
) -> str:
    n = f.names
    name = zh_name(n)
    zh_shared = [z for z in (chinese_theme(v) for v in shared) if z]
    if zh_shared:
        occasion = shared[0] in n.occasions
        t = zh_shared[0]
        kind = "" if occasion or t.endswith(("风", "节")) else ("图案" if shared[0] in n.motifs else "风格")
        out = [pick(rng, _SHARED_ZH["occasion" if occasion else "design"], t=t, kind=kind, x=name,
                    this=this_zh(n, rng))]  # fmt: skip
    # the facts the name does not say and the price: right after the name, or a sentence of their own
    tail = features_zh(n, rng, motif=not zh_shared)
    price = f.price_text()
    if zh_shared:
        if tail or price:
            out.append("，".join([*tail, f"售价{price}" if price else ""]).strip("，") + "。")
    else:
        x = "，".join([name, *tail, *([price] if price else [])])
        out = [pick(rng, _OPEN_ZH[style], x=x, this=this_zh(n, rng))]
    if reason:
        out.append(f"推荐理由：{reason.rstrip('。')}。")
    if length == "long" and style == "direct":
        out.append(rng.choice(_CTA_ZH[style]))
    return "".join(out)
