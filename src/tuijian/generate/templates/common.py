"""What every copy task shares: styles and lengths, the item's names and facts as phrases, small helpers.

The phrases here carry the item's own words (product noun, colour, material, theme, pack count, occasion), so
the copy built from them is specific to the item rather than a stock frame with a name slotted in.
"""

from __future__ import annotations

import random
import re

from tuijian.generate.facts import Evidence, ItemFacts
from tuijian.generate.grammar import counted, indefinite, join_en, measure_word
from tuijian.generate.naming import Names, proper
from tuijian.nlp.product import chinese_term, chinese_theme

#: Styles per task (``summary`` has one).
STYLES: dict[str, tuple[str, ...]] = {
    "description": ("warm", "practical", "gift"),
    "ad": ("friendly", "direct", "playful"),
    "title": ("plain", "feature", "gift"),
    "push": ("nudge", "news", "price"),
    "summary": ("balanced",),
}
LENGTHS: tuple[str, ...] = ("short", "medium", "long")
TASKS: tuple[str, ...] = tuple(STYLES)

_CAPACITY_ZH = {
    "sheets": "张",
    "pages": "页",
    "oz": "盎司",
    "ml": "毫升",
    "l": "升",
    "cups": "杯",
    "gallons": "加仑",
}
AUDIENCE_EN = {"child": "children", "kids": "children", "baby": "babies"}
_AUDIENCE_ZH = {"child": "儿童", "kids": "儿童", "baby": "宝宝"}
#: Occasions one gives presents for (a gift pitch names them; not "garden" or "baking").
GIFT_OCCASIONS = ("christmas", "easter", "valentine", "birthday", "wedding", "halloween", "party")
#: How a Chinese sentence says an occasion ("for Christmas"): 为圣诞节, 野餐时.
OCCASION_FOR_ZH = {
    "christmas": "圣诞节",
    "easter": "复活节",
    "halloween": "万圣节",
    "valentine": "情人节",
    "birthday": "生日",
    "wedding": "婚礼",
    "party": "派对",
    "picnic": "野餐",
    "tea time": "下午茶",
    "tea party": "茶会",
    "baking": "烘焙",
    "garden": "花园",
    "summer fun": "夏日",
}


def title_case(title: str) -> str:
    """``WHITE HANGING HEART`` -> ``White Hanging Heart``; mixed-case titles are kept as they are."""
    if title.isupper():
        return " ".join(w.capitalize() if w.isalpha() else w.title() for w in title.split())
    return title


def pick(rng: random.Random, options: tuple[str, ...] | list[str], **values: object) -> str:
    """One of ``options``, filled with ``values``."""
    return rng.choice(options).format(**values)


def cap(text: str) -> str:
    """The first letter upper-cased, the rest kept."""
    return text[:1].upper() + text[1:]


def styles_for(f: ItemFacts, task: str) -> tuple[str, ...]:
    """The styles the seed picks from: no gift pitch for office supplies (nobody gifts a shredder)."""
    styles = STYLES[task]
    return tuple(s for s in styles if s != "gift") if f.names.domain == "office" else styles


def brand_news(f: ItemFacts) -> str | None:
    """The brand when the shop's title does not already say it."""
    return f.brand if f.brand and f.brand.lower() not in f.title.lower() else None


def quote(e: Evidence, lang: str) -> str:
    """A review clause in quotation marks."""
    text = e.text.strip().rstrip(".!?。！？")
    return f"“{text}”" if lang == "zh" else f'"{text}"'


def shared_themes(f: ItemFacts, interests: list[str]) -> list[str]:
    """Themes and occasions of the item that the shopper's recent purchases share (from ``kind:value`` tags)."""
    n = f.names
    themes = [*n.motifs, *n.styles, *n.occasions]
    out = []
    for tag in interests:
        kind, _, value = tag.rpartition(":")
        if kind in ("pattern", "style", "occasion", "theme", "") and value in themes and value not in out:
            out.append(value)
    return out[:2]


# --------------------------------------------------------------------------------------------------- English
def colours_en(n: Names) -> str | None:
    """ "red", "pink and blue", "multicoloured"."""
    return join_en([c.replace("multicolour", "multicoloured") for c in n.colours[:2]]) or None


def theme_en(n: Names) -> str | None:
    """ "with a dog design", "in a vintage style" (None without a motif or style)."""
    if n.motifs:
        return proper(f"with {indefinite(join_en(n.motifs[:2]) + ' design')}")
    if n.styles and proper(n.styles[0]) == n.styles[0]:  # "English style" would read as a brand
        return f"in {indefinite(n.styles[0] + ' style')}"
    return None


def what_en(n: Names, *, described: bool = True, themed: bool = True) -> str:
    """The item as one noun phrase with its facts: "72 cake cases with a skull design", "a red ceramic drawer
    knob with a stripe design", "bunting in a vintage style"; without colour and material (``described``) or
    theme (``themed``) on request."""
    core = n.described_en() if described else proper(n.noun())
    core = counted(n.pack_count, core) if n.pack_count else indefinite(core)
    theme = theme_en(n) if themed else None
    return f"{core} {theme}" if theme else core


_FRAME_WORDS = frozenset(("a", "an", "with", "design", "in", "style", "and", "of", "set", "pack"))


def adds_to_title(n: Names, phrase: str) -> bool:
    """Whether ``phrase`` says anything the shop's title does not ("a red mug" after "Red Mug" does not)."""
    said = {w.rstrip("s") for w in re.findall(r"[a-z0-9]+", n.short_title.lower())}
    words = {w.rstrip("s") for w in re.findall(r"[a-z0-9]+", phrase.lower())} - _FRAME_WORDS
    return not words <= said


def worth_saying(n: Names, phrase: str) -> bool:
    """Whether ``phrase`` (what the item is) helps after the shop's title: it says something the title does not,
    or the title does not read as a noun phrase ("Jumbo Bag Vintage Doily" does not end with its noun)."""
    if adds_to_title(n, phrase):
        return True
    if n.noun_en is None or len(re.findall(r"[a-z0-9]+", phrase)) <= len(n.noun_en.split()) + 1:
        return False  # "a doormat" after "Doormat Welcome To Our Home" adds nothing
    words = re.findall(r"[a-z0-9]+", n.short_title.lower())
    return bool(words) and words[-1].rstrip("s") != n.noun_en.split()[-1].rstrip("s")


def material_colour_en(n: Names) -> str | None:
    """ "In red.", "Made of ceramic, in red." (None without either)."""
    colour = colours_en(n)
    material = n.materials[0] if n.materials else None
    if material and colour:
        return f"Made of {material}, in {colour}."
    if material:
        return f"Made of {material}."
    return f"In {colour}." if colour else None


def occasion_en(n: Names) -> str | None:
    """ "Christmas", "a tea party" (None without an occasion)."""
    return n.occasion_en()


def shared_en(n: Names, value: str) -> tuple[str, bool]:
    """ "Christmas" (an occasion) or "polka dot" (a motif or style), and whether it is an occasion."""
    if value in n.occasions:
        named = {"valentine": "Valentine's Day", "tea time": "tea time"}.get(value)
        return named or (value.title() if value in ("christmas", "easter", "halloween") else value), True
    return proper(value), False


def shared_designs_en(n: Names, value: str) -> str:
    """ "polka dot designs" (a motif), "vintage-style pieces" (a style)."""
    return proper(f"{value} designs" if value in n.motifs else f"{value}-style pieces")


# --------------------------------------------------------------------------------------------------- Chinese
def zh_name(n: Names) -> str:
    """The product's Chinese name (这件商品 when the record has no type)."""
    return n.name_zh or "这件商品"


def this_zh(n: Names, rng: random.Random) -> str:
    """这款 or 这 + the measure word (这支, 这张, 这只)."""
    m = measure_word(zh_name(n))
    return rng.choice(("这款", f"这{m}")) if m != "台" else rng.choice(("这款", "这台"))


def occasion_zh(n: Names) -> str | None:
    """The first occasion in Chinese (圣诞节, 野餐), None without one."""
    return OCCASION_FOR_ZH.get(n.occasions[0]) if n.occasions else None


def motif_zh(n: Names) -> str | None:
    """The motif or style in Chinese (骷髅, 复古), None without one."""
    motifs = [z for z in (chinese_theme(m) for m in n.motifs) if z]
    if motifs:
        return "和".join(motifs[:2])
    themes = n.themes_zh()
    return themes[0] if themes else None


def capacity_en(value: str) -> str:
    """ "100 sheets"; "2-inch capacity" loses its last word (the sentence says "Capacity:")."""
    return value.removesuffix(" capacity")


def capacity_zh(value: str) -> str | None:
    """ "100 sheets" -> 100张 (None for a unit without a Chinese name)."""
    number, _, unit = value.partition(" ")
    zh = _CAPACITY_ZH.get(unit)
    return f"{number}{zh}" if zh else None


def colours_zh(n: Names) -> str | None:
    """The colours in Chinese when the Chinese name does not already say them."""
    colours = [c for c in (chinese_term("colour", v) for v in n.colours[:2]) if c]
    if not colours or any(c.rstrip("色") in zh_name(n) for c in colours):
        return None
    return "、".join(colours)


def material_zh(n: Names) -> str | None:
    """The material in Chinese when the Chinese name does not already say it."""
    material = next((m for m in (chinese_term("material", v) for v in n.materials[:1]) if m), None)
    return material if material and material not in zh_name(n) else None


def features_zh(
    n: Names, rng: random.Random, *, motif: bool = True, look: bool = True, audience: bool = True
) -> list[str]:
    """The facts the Chinese name does not hold, as short phrases: 骷髅图案, 红色配色, 陶瓷材质, 大号, 6只装,
    容量100张, 适合儿童."""
    name = zh_name(n)
    out: list[str] = []
    theme = motif_zh(n) if motif else None
    if theme and theme not in name:
        out.append(f"{theme}图案" if n.motifs else f"{theme.rstrip('风')}风格")
    if look:
        colour, material = colours_zh(n), material_zh(n)
        if colour:
            out.append(f"{colour}配色")
        if material:
            out.append(f"{material}材质")
    size = chinese_term("size", n.sizes[0]) if n.sizes else None
    if size and size not in name:
        out.append(size)
    if n.pack_count:
        out.append(pack_zh(n.pack_count, name, rng))
    if n.capacity:
        c = capacity_zh(n.capacity[0])
        if c:
            out.append(f"容量{c}")
    who = next((_AUDIENCE_ZH[a] for a in n.audience if a in _AUDIENCE_ZH), None) if audience else None
    if who and who not in name:
        out.append(f"适合{who}")
    return out


def pack_zh(count: int, name: str, rng: random.Random) -> str:
    """ "一套6支", "每包12张", "6支装"; a set of sets is "共44套"."""
    m = measure_word(name)
    if m == "套":
        return f"共{count}套"
    return pick(rng, ("一套{n}{m}", "每包{n}{m}", "{n}{m}装", "一包{n}{m}"), n=count, m=m)


def spec_line(f: ItemFacts) -> str:
    """规格：the shop's own title (and brand) and the item code, the only place Chinese copy shows them."""
    brand = f"{f.brand} · " if f.brand and f.brand.lower() not in f.title.lower() else ""
    return f"规格：{brand}{f.display_name}（货号 {f.item_id}）"
