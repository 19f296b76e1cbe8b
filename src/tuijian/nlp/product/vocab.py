"""The bilingual product vocabulary (``nlp/resources/product_zh.json``): English product types, themes and motifs,
colours and materials of a :class:`~tuijian.nlp.product.ProductRecord` to natural Chinese.

>>> chinese_product_type("party bunting"), chinese_product_type("kitchen scale"), chinese_theme("london")
('派对彩旗', '厨房秤', '伦敦')

A name is never invented: a word the vocabulary lacks gives ``None`` and the caller leaves it out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from tuijian.exceptions import DataError
from tuijian.nlp.lexicon import attribute_lexicon
from tuijian.nlp.product.reader import _singular

#: How a product type got its Chinese name: listed as a whole, composed from a listed first word and a listed head,
#: or named from its head noun alone.
NAMED_BY = ("exact", "composed", "head")


@dataclass(frozen=True)
class _Vocabulary:
    types: dict[str, str]
    heads: dict[str, str]
    modifiers: dict[str, str]
    themes: dict[str, str]
    occasions: frozenset[str]


@cache
def _vocabulary() -> _Vocabulary:
    text = resources.files("tuijian.nlp.resources").joinpath("product_zh.json").read_text("utf-8")
    data = json.loads(text)
    themes = {}
    lex = attribute_lexicon()
    for kind in ("pattern", "style", "occasion"):
        themes.update({value: forms["zh"][0] for value, forms in lex[kind].items() if forms["zh"]})
    themes.update(data["themes"])
    return _Vocabulary(
        dict(data["types"]),
        dict(data["heads"]),
        dict(data["modifiers"]),
        themes,
        frozenset(data["occasions"]) | frozenset(lex["occasion"]),
    )


def _chinese_names() -> tuple[dict[str, str], dict[str, str]]:
    """``(types, heads)`` of the vocabulary (for the coverage bench)."""
    v = _vocabulary()
    return v.types, v.heads


def _key(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise DataError(f"{what} must be a str, got {type(value).__name__}")
    return " ".join(value.lower().split())


def name_product_type(product_type: str) -> tuple[str, str] | None:
    """``(Chinese name, how)`` for a product type from :func:`~tuijian.nlp.product.understand`, ``how`` one of
    :data:`NAMED_BY`; ``None`` when the vocabulary cannot name it."""
    v = _vocabulary()
    key = _key(product_type, "product_type")
    if key in v.types:
        return v.types[key], "exact"
    if " and " in key:
        parts = [name_product_type(part) for part in key.split(" and ")]
        if all(parts):
            how = "exact" if all(p[1] == "exact" for p in parts) else "composed"  # type: ignore[index]
            return "和".join(p[0] for p in parts), how  # type: ignore[index]
        return None
    words = key.split()
    if not words:
        return None
    head = words[-1]
    head_zh = v.heads.get(head) or v.heads.get(_singular(head)) or v.types.get(head)
    if head_zh is None:
        return None
    if len(words) == 1:
        return head_zh, "exact"
    modifier = " ".join(words[:-1])
    prefix = v.modifiers.get(modifier) or v.modifiers.get(words[-2])
    if prefix is not None and not head_zh.startswith(prefix):
        return prefix + head_zh, "composed"
    return head_zh, "head"


def chinese_product_type(product_type: str) -> str | None:
    """The Chinese name of a product type ("party bunting" -> 派对彩旗, "kitchen scale" -> 厨房秤).

    The exact type when listed, else "X and Y" as X和Y, else a listed first word before the head's name, else the
    name of its head noun ("bag charm" -> 包挂饰, "box candle" -> 盒装蜡烛, "ribbon reel" -> 丝带卷), else ``None``: a
    caller must not invent a name it does not have.
    """
    named = name_product_type(product_type)
    return None if named is None else named[0]


def chinese_theme(theme: str) -> str | None:
    """The Chinese name of a theme or motif of :attr:`ProductRecord.theme` ("dog" -> 小狗), or ``None``."""
    return _vocabulary().themes.get(_key(theme, "theme"))


def is_occasion(theme: str) -> bool:
    """Whether a theme is an occasion (Christmas, a party, a picnic) rather than a motif or a style."""
    return _key(theme, "theme") in _vocabulary().occasions


def theme_kind(theme: str) -> str:
    """``"occasion"``, ``"style"`` or ``"pattern"`` (motifs and everything else) for a theme value."""
    key = _key(theme, "theme")
    if key in _vocabulary().occasions:
        return "occasion"
    return "style" if key in attribute_lexicon()["style"] else "pattern"


def chinese_term(kind: str, value: str) -> str | None:
    """The Chinese name of a colour, material, size or audience value (``attributes.json``), or ``None``."""
    lex_kind = {"audience": "recipient"}.get(kind, kind)
    if lex_kind not in ("colour", "material", "size", "recipient"):
        raise DataError(f"kind must be colour, material, size or audience, got {kind!r}")
    forms = attribute_lexicon()[lex_kind].get(_key(value, kind))
    return forms["zh"][0] if forms and forms["zh"] else None
