"""Title lines for a listing: the name, pack, capacity, colour or theme and the price; no sentence, no claims
beyond the record and the price."""

from __future__ import annotations

import random

from tuijian.generate.facts import ItemFacts
from tuijian.generate.grammar import measure_word
from tuijian.generate.templates.common import LENGTHS, OCCASION_FOR_ZH, capacity_zh, styles_for, zh_name
from tuijian.nlp.product import chinese_theme


def title_line(
    f: ItemFacts, lang: str, rng: random.Random, style: str | None = None, length: str | None = None
) -> str:
    """A product title line for a listing (no sentence, no claims beyond the record and the price)."""
    style = style or rng.choice(styles_for(f, "title"))
    length = length or rng.choice(LENGTHS)
    n = f.names
    price = f.price_text()
    if lang == "zh":
        name = zh_name(n)
        parts = [name]
        if n.pack_count and length != "short":
            parts.append(f"{n.pack_count}{measure_word(name)}装")
        if n.capacity and length == "long":
            cap = capacity_zh(n.capacity[0])
            if cap:
                parts.append(f"容量{cap}")
        occasion = n.occasions[0] if n.occasions and n.occasions[0] in OCCASION_FOR_ZH else None
        if style == "gift":
            lead = (
                f"【{chinese_theme(occasion)}好物】"
                if occasion and chinese_theme(occasion)
                else "【送礼之选】"
            )
            return lead + " ".join(parts) + (f" {price}" if price else "")
        themes = [t for t in n.themes_zh() if t not in name]
        if style == "feature" and themes and length != "short":
            parts.append(f"{themes[0]}主题")
        return "｜".join(parts + ([price] if price else []))
    parts = [n.short_title]
    if n.pack_count and length != "short":
        parts.append(f"Pack of {n.pack_count}")
    if n.capacity and length == "long":
        parts.append(f"{n.capacity[0]} capacity")
    if style == "gift":
        occasion = n.occasion_en()
        lead = (
            f"{occasion.removeprefix('a ').removeprefix('the ').title()} Gift Idea"
            if occasion
            else "Gift Idea"
        )
        return f"{lead}: " + ", ".join(parts) + (f" – {price}" if price else "")
    if style == "feature" and n.colours and length != "short":
        parts.append(n.colours[0].title())
    return " | ".join(parts + ([price] if price else []))
