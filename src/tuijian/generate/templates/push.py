"""Push notifications: one short line about one item, with its price.

What the line leads with depends on the item and the shopper, in this order: a theme or occasion the shopper's
recent purchases share with the item; the pack and its price (price style); the item's occasion; its theme;
else a plain nudge or tip. Only the shared theme is personal.
"""

from __future__ import annotations

import random

from tuijian.generate.facts import ItemFacts
from tuijian.generate.grammar import counted, indefinite
from tuijian.generate.templates.common import (
    LENGTHS,
    STYLES,
    cap,
    features_zh,
    motif_zh,
    occasion_zh,
    pack_zh,
    pick,
    shared_designs_en,
    shared_en,
    shared_themes,
    theme_en,
    this_zh,
    what_en,
    worth_saying,
    zh_name,
)
from tuijian.nlp.product import chinese_theme


def push(
    f: ItemFacts,
    lang: str,
    rng: random.Random,
    interests: list[str] | None = None,
    style: str | None = None,
    length: str | None = None,
) -> str:
    """A push notification: one short line, personal only through a shared theme or occasion."""
    style = style or rng.choice(STYLES["push"])
    length = length or rng.choice(LENGTHS)
    if style == "price" and not f.price_text():  # a price push needs a price
        style = "news"
    shared = shared_themes(f, interests or [])
    return (_push_zh if lang == "zh" else _push_en)(f, rng, shared, style, length)


_PLAIN_EN = {
    "nudge": ("Still thinking about the {t}?", "Remember the {t}?", "Back for the {t}?", "Still keen on the {t}?"),
    "news": ("For you: the {t}.", "Today's pick: the {t}.", "Have you seen the {t}?", "Worth a look: the {t}."),
    "price": ("Good value: the {t}.", "Budget pick: the {t}.", "Deal watch: the {t}."),
}  # fmt: skip


def _push_en(f: ItemFacts, rng: random.Random, shared: list[str], style: str, length: str) -> str:
    n = f.names
    title, noun, price = n.short_title, n.noun(), f.price_text()
    theme = theme_en(n)
    said_pack = described = False
    if shared:
        what, occasion = shared_en(n, shared[0])
        text = pick(rng, ("For your {w} shopping: the {t}.", "Getting ready for {w}? The {t}.") if occasion else
                    ("More {d}, like your recent orders: the {t}.", "For your {w} collection: the {t}."),
                    w=what, d=shared_designs_en(n, shared[0]), t=title)  # fmt: skip
    elif style == "price" and n.pack_count and n.noun_en:
        text, said_pack = f"{cap(counted(n.pack_count, noun))} for {price}: the {title}.", True
        price = None
    elif n.occasions and style != "price":
        text = pick(rng, ("Ready for {o}? The {t}.", "For {o}: the {t}."), o=n.occasion_en(), t=title)
    elif n.motifs and theme and n.noun_en and style == "news":
        text, described = f"{cap(indefinite(noun) if not n.plural else noun)} {theme}: the {title}.", True
    else:
        text = pick(rng, _PLAIN_EN[style], t=title)
    if length != "short" and not (said_pack or described) and n.noun_en and text.endswith(f"the {title}."):
        what = what_en(n, themed=not shared)  # what the item is, when the title does not say it
        if worth_saying(n, what):
            text, said_pack = f"{text[:-1]}, {what}.", bool(n.pack_count)
    if price:
        if text.endswith("?"):
            text += " " + pick(rng, ("Now {p}.", "Only {p}."), p=price)
        else:
            text = f"{text[:-1]}, {price}."
    if length == "long" and n.pack_count and n.noun_en and not said_pack and str(n.pack_count) not in title:
        text += f" Pack of {n.pack_count}."
    return text


_PLAIN_ZH = {
    "nudge": ("还在考虑{x}吗？", "再看一眼{this}{x}？", "{x}还在等你。", "还记得{x}吗？", "别忘了{x}。"),
    "news": ("推荐：{x}。", "今日推荐：{x}。", "瞧瞧{x}。", "新发现：{x}。", "好物分享：{x}。"),
    "price": ("好价：{x}。", "实惠之选：{x}。", "划算好物：{x}。"),
}


def _push_zh(f: ItemFacts, rng: random.Random, shared: list[str], style: str, length: str) -> str:
    n = f.names
    name, price = zh_name(n), f.price_text()
    zh_theme = chinese_theme(shared[0]) if shared else None
    occasion, motif = occasion_zh(n), motif_zh(n)
    said_pack = False
    if zh_theme:
        if shared[0] in n.occasions:
            text = pick(rng, ("为{t}再添一件：{x}。", "又在为{t}做准备？看看{this}{x}。"), t=occasion or zh_theme, x=name,
                        this=this_zh(n, rng))  # fmt: skip
        else:
            kind = "" if zh_theme.endswith("风") else ("图案" if shared[0] in n.motifs else "风格")
            text = pick(rng, ("又一件{t}{k}好物：{x}。", "你最近买过{t}{k}的商品，看看{x}。", "{t}{k}再添一件：{x}。"), t=zh_theme, k=kind,
                        x=name, this=this_zh(n, rng))  # fmt: skip
    elif style == "price" and n.pack_count:
        text, said_pack = f"{name}，{pack_zh(n.pack_count, name, rng)}。", True
    elif occasion and style != "price":
        text = pick(rng, ("{o}用得上：{x}。", "为{o}准备：{x}。"), o=occasion, x=name)
    elif motif and motif not in name and style == "news":
        text = f"{motif}图案的{n.type_zh or name}：{name}。" if n.motifs else f"{motif}的{name}。"
    else:
        text = pick(rng, _PLAIN_ZH[style], x=name, this=this_zh(n, rng))
    # the facts the name does not say (colour and material in long pushes), then the price, in one clause
    tail = [] if said_pack else features_zh(n, rng, motif=False, look=length == "long")
    if price:
        tail.append(price if tail or not text.endswith(("？", "！")) else f"现价{price}")
    if tail:
        clause = "，".join(tail)
        text = text + clause + "。" if text.endswith(("？", "！")) else text[:-1] + "，" + clause + "。"
    return text
