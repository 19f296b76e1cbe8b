"""What generated copy calls an item, in English and Chinese, read from its structured product record.

>>> from tuijian.nlp.product import understand
>>> n = names_for(understand("BULL DOG BOTTLE OPENER"), "BULL DOG BOTTLE OPENER")
>>> n.noun_en, n.with_theme_en(), n.name_zh
('bottle opener', 'bottle opener with a dog design', '小狗开瓶器')
>>> names_for(understand("PARTY BUNTING"), "PARTY BUNTING").name_zh
'派对彩旗'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from tuijian.generate.grammar import indefinite, is_plural, join_en
from tuijian.nlp.product import ProductRecord, chinese_product_type, chinese_term, chinese_theme, theme_kind

Domain = Literal["home", "office", "wear"]

#: English phrases for occasions ("for Christmas", "for a party").
_OCCASION_EN = {
    "christmas": "Christmas",
    "easter": "Easter",
    "halloween": "Halloween",
    "valentine": "Valentine's Day",
    "birthday": "a birthday",
    "wedding": "a wedding",
    "party": "a party",
    "picnic": "a picnic",
    "tea time": "tea time",
    "tea party": "a tea party",
    "baking": "baking",
    "garden": "the garden",
    "summer fun": "summer days",
}
_OCCASION_ZH = {"garden": "花园", "baking": "烘焙", "tea time": "下午茶", "picnic": "野餐"}
_WEAR = ("dress", "skirt", "top", "blouse", "jacket", "sweater", "pants", "jeans", "coat", "knit", "shirt")


#: Words English writes with a capital: festivals, places and the styles named after them.
_PROPER = {w: w.title() for w in ("christmas", "easter", "halloween", "london", "paris", "french", "english",
                                  "scandinavian", "victorian", "edwardian", "regency")}  # fmt: skip


def proper(text: str) -> str:
    """ "christmas cracker" -> "Christmas cracker", "french style" -> "French style"."""
    return " ".join(_PROPER.get(w, w) for w in text.split(" "))


@dataclass
class Names:
    """The words copy uses for one item."""

    noun_en: str | None  # "bottle opener" (None: the record has no product type)
    name_zh: str | None  # 小狗开瓶器: colour, theme, material and the product type in Chinese
    type_zh: str | None  # 开瓶器
    short_title: str  # the shop's own name, cased for English copy ("Bull Dog Bottle Opener")
    domain: Domain = "home"
    colours: list[str] = field(default_factory=list)
    materials: list[str] = field(default_factory=list)
    motifs: list[str] = field(default_factory=list)  # themes that are patterns or motifs
    styles: list[str] = field(default_factory=list)
    occasions: list[str] = field(default_factory=list)
    audience: list[str] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)
    capacity: list[str] = field(default_factory=list)
    pack_count: int | None = None

    @property
    def plural(self) -> bool:
        return self.noun_en is not None and is_plural(self.noun_en)

    def noun(self) -> str:
        """The English product noun, "piece" when unknown."""
        return self.noun_en or "piece"

    def described_en(self) -> str:
        """Colour and material before the noun: "white metal t-light holder"."""
        parts = [c.replace("multicolour", "multicoloured") for c in self.colours[:2]] + self.materials[:1]
        adjectives = " and ".join(parts[:2]) if len(parts) == 2 and not self.materials else " ".join(parts)
        return proper(f"{adjectives} {self.noun()}".strip())

    def with_theme_en(self) -> str:
        """ "bottle opener with a dog design", "mug in a vintage style"."""
        out = self.noun()
        if self.motifs:
            out += f" with {indefinite(join_en(self.motifs[:2]) + ' design')}"
        elif self.styles:
            out += f" in {indefinite(self.styles[0] + ' style')}"
        return proper(out)

    def occasion_en(self) -> str | None:
        return _OCCASION_EN.get(self.occasions[0]) if self.occasions else None

    def occasion_zh(self) -> str | None:
        if not self.occasions:
            return None
        return _OCCASION_ZH.get(self.occasions[0]) or chinese_theme(self.occasions[0])

    def themes_zh(self) -> list[str]:
        """Chinese names of the motifs and styles (occasions are said separately)."""
        out = []
        for theme in [*self.motifs, *self.styles]:
            zh = chinese_theme(theme)
            if zh and zh not in out:
                out.append(zh)
        return out


def _short_title(title: str) -> str:
    """The shop's name for the item, without model codes and specs: "Swingline ... Shredder" of a long title."""
    head = re.split(r",|\(|\s-\s|\|", title, maxsplit=1)[0].strip(" .;:") or title.strip()
    if head.isupper():
        head = " ".join(w.capitalize() if w.isalpha() else w.title() for w in head.split())
    return head


def domain_of(category: str, noun: str | None) -> Domain:
    """Where the item is used: the office (Amazon Office), on a person (clothing), else the home."""
    low = category.lower()
    if "office" in low:
        return "office"
    if any(w in low for w in ("dress", "clothing", "tops", "bottoms", "intimate", "jackets")) or (
        noun is not None and noun.split()[-1] in _WEAR
    ):
        return "wear"
    return "home"


def names_for(record: ProductRecord, title: str, category: str = "") -> Names:
    """The copy's names for an item from its record (the title only as the shop's own name)."""
    noun = None if record.product_type is None else str(record.product_type.value).lower()
    type_zh = None if noun is None else chinese_product_type(noun)
    n = Names(noun, None, type_zh, _short_title(title), domain_of(category, noun))
    for fact in record.theme:
        value = str(fact.value)
        kind = theme_kind(value)
        {"occasion": n.occasions, "style": n.styles}.get(kind, n.motifs).append(value)
    n.colours = [str(v) for v in record.values("colour")]
    n.materials = [str(v) for v in record.values("material")]
    n.audience = [str(v) for v in record.values("audience")]
    n.sizes = [str(v) for v in record.values("size")]
    n.capacity = [str(v) for v in record.values("capacity")]
    n.pack_count = int(record.pack_count.value) if record.pack_count is not None else None
    if n.pack_count is not None and n.pack_count < 2:
        n.pack_count = None
    if noun is not None and n.noun_en is not None and noun in n.motifs:  # "HEART" hanging on its own
        n.motifs.remove(noun)
    if type_zh is not None:
        n.name_zh = _name_zh(n, type_zh)
    return n


def _name_zh(n: Names, type_zh: str) -> str:
    """颜色 + 主题 + 材质 + 品类, leaving out any word the type's name already holds (派对彩旗 has 派对)."""
    parts: list[str] = []
    colours = [c for c in (chinese_term("colour", v) for v in n.colours[:2]) if c]
    if len(colours) == 2:
        parts.append(colours[0].rstrip("色") + colours[1].rstrip("色") + "双色")  # 红白双色
    elif colours:
        parts.append(colours[0])
    occasion = n.occasion_zh()
    for word in [*([occasion] if occasion else []), *n.themes_zh()[:1]]:
        parts.append(word)
    material = next((m for m in (chinese_term("material", v) for v in n.materials[:1]) if m), None)
    if material:
        parts.append(material)
    parts = [p for p in parts if p not in type_zh]
    return "".join(dict.fromkeys(parts)) + type_zh


def english_noun_phrase(n: Names) -> str:
    """ "a white t-light holder", "red lights"."""
    return indefinite(n.described_en())
