"""What a catalogue item is, read from the structure of its title (for the shop assistant's search).

Retail titles name the product first and describe it after ("DOORMAT UNION FLAG", "FAN BLACK FRAME"), put a
modifier noun before the head ("DOLL DOORSTOP" is a doorstop, "POT PLANT CANDLE" a candle), and say what an
item holds or comes with after "for/with/in/on…" ("JAM MAKING SET WITH JARS"). :class:`TitleHeads` reads each
title's name part and tells, for an asked kind, the items that name it only as a modifier; it also finds the
title words written as one that a shopper may type apart ("wastepaper": "waste paper bin").
:class:`~tuijian.generate.assistant_catalog.CatalogIndex` uses both.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

import numpy as np

from tuijian.generate.retrieval import index_tokens
from tuijian.nlp.lexicon import attribute_lexicon

#: Title words after which the rest of a title says what the item holds, comes with or is for, not what it is
#: ("CANDLE IN JEWELLED BOX", "JAM MAKING SET WITH JARS", "STONES ON WIRE FOR CANDLE", "CLIP W SUCTION CUP"),
#: and a comma ("KEY FOB , SHED").
_HEAD_CUT = frozenset(
    {"for", "with", "w", "in", "on", "inc", "incl", "including", "from", "featuring", "of", ","}
)
#: Nouns that say how things are sold, not what they are: a "candle set" is candles.
_CONTAINER_HEADS = frozenset({"set", "pack", "pair", "assortment", "selection"})
#: Nouns of a wide class that leave the kind before them what it is: a jigsaw puzzle is a jigsaw, an angel
#: decoration an angel, a cat soft toy a cat.
_GENERIC_HEADS = frozenset({"toy", "puzzle", "decoration", "ornament", "figure", "figurine"})
#: A word right after a noun that makes the noun a motif ("FLORAL PRINT", "ALPHABET DESIGN").
_MOTIF_MARKERS = frozenset({"design", "print", "shape", "shaped", "style", "motif", "pattern"})
_LETTER_PREFIX = re.compile(r"\b([a-z])-(?=[a-z])", re.IGNORECASE)


def unhyphen(text: str) -> str:
    """Hyphens as spaces, but a one-letter prefix stays on its word: T-LIGHT is "tlight", X-MAS "xmas" (a lone
    letter is no index token, so "t light" would be any LIGHT: a light-pink candle holder)."""
    return _LETTER_PREFIX.sub(r"\1", text).replace("-", " ")


@cache
def _product_nouns() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(strong, weak, nouns): the folded last words of the product lexicon's heads, compounds and aliases
    ("doorstop", "candle", "pot"), its motif nouns that name an item only when nothing else does ("heart", "bird"),
    and every word of its heads, compounds and compound-making modifiers ("kitchen", "water")."""
    text = resources.files("tuijian.nlp.resources").joinpath("product_lexicon.json").read_text("utf-8")
    data = json.loads(text)
    phrases = [*data["heads"], *data["compounds"], *data["aliases"].values()]
    strong = {toks[-1] for p in phrases if (toks := index_tokens(unhyphen(p)))}
    weak = {toks[-1] for p in data["weak_heads"] if (toks := index_tokens(unhyphen(p)))}
    modifiers = {t for p in [*data["modifiers"], *phrases] for t in index_tokens(unhyphen(p))}
    return frozenset(strong - weak), frozenset(weak), frozenset(modifiers | strong | weak)


@cache
def _descriptor_words() -> tuple[frozenset[str], frozenset[tuple[str, ...]]]:
    """Folded one-word colour, material and style names, and every multi-word attribute phrase ("union flag",
    "bone china"): after a noun they start a title's descriptive tail ("FAN BLACK FRAME", "DOORMAT UNION FLAG",
    "WRAP VINTAGE CHRISTMAS"); an adjective does not stand between a modifier noun and its head."""
    words, phrases = set(), set()
    for kind, values in attribute_lexicon().items():
        if kind not in ("colour", "material", "style", "pattern", "occasion"):
            continue
        for value, forms in values.items():
            for surface in [value, *forms["en"]]:
                toks = tuple(index_tokens(unhyphen(surface)))
                if len(toks) > 1:
                    phrases.add(toks)
                elif toks and kind in ("colour", "material", "style"):
                    words.add(toks[0])
    return frozenset(words), frozenset(phrases)


@cache
def _material_words() -> frozenset[str]:
    """Folded one-word material names ("paper", "glass", "zinc")."""
    return frozenset(
        toks[0]
        for value, forms in attribute_lexicon()["material"].items()
        for surface in [value, *forms["en"]]
        if len(toks := index_tokens(unhyphen(surface))) == 1
    )


def title_words(title: str) -> list[str]:
    """A title as folded words in order, stop words kept and "&", "+" and a slash between words read as "and"
    ("CUP & SAUCER", "INCENSE/CANDLE SET"). A title that starts "<noun> OF" names what the noun holds ("BOX OF 9
    PEBBLE CANDLES", "BOX OF VINTAGE JIGSAW BLOCKS"); a later pack phrase "<noun> OF <number>" ends the name
    ("MAGNETS PACK OF 4 RETRO PHOTO")."""
    raw = re.findall(r"[a-z0-9]+|[&+/,]", unhyphen(title.lower()))
    words: list[str] = []
    for n, w in enumerate(raw):
        if w in ("&", "+") or (
            w == "/"
            and 0 < n < len(raw) - 1
            and raw[n - 1].isalpha()
            and raw[n + 1].isalpha()
            and len(raw[n - 1]) > 1
            and raw[n - 1] not in _CONTAINER_HEADS
        ):
            words.append("and")
        elif w != "/":
            words.append((index_tokens(w) or [w])[0])
    if len(words) > 2 and words[1] == "of":  # "BOX OF 9 PEBBLE CANDLES", "TIN OF VINTAGE BUTTONS"
        words = words[3:] if words[2].isdigit() else words[2:]
    out: list[str] = []
    n = 0
    while n < len(words):
        if n + 2 < len(words) and words[n + 1] == "of" and words[n + 2].isdigit():
            if out:
                out.append("of")  # the name ends here
                break
            n += 3
            continue
        out.append(words[n])
        n += 1
    return out


def _container_of(title: str) -> str | None:
    """The folded first word of a title that starts "<noun> OF …" ("BOX OF 9 PEBBLE CANDLES": box)."""
    raw = re.findall(r"[a-z0-9]+", unhyphen(title.lower()))
    if len(raw) > 2 and raw[1] == "of" and raw[0].isalpha():
        return (index_tokens(raw[0]) or [raw[0]])[0]
    return None


class TitleHeads:
    """The name part of every title and the nouns that can head one (see module docstring)."""

    def __init__(self, titles: list[str], types: list[str]) -> None:
        #: each title as folded words, its pack phrases read (:func:`title_words`)
        self.words = [title_words(t) for t in titles]
        #: the container noun a title starts with before "of" ("BASKET OF FLOWERS SEWING KIT": basket): what
        #: the item comes in, not what it is
        self.held_in = [_container_of(t) for t in titles]
        record_heads = {h[-1] for t in types if (h := index_tokens(unhyphen(t)))}
        strong, weak, nouns = _product_nouns()
        #: nouns that make a kind before them a modifier: the lexicon's heads and the records' types
        self.product_nouns = ((strong | record_heads) - weak) - _CONTAINER_HEADS - _GENERIC_HEADS
        #: nouns through which a compound runs on to its head ("POT PLANT CANDLE", "CHICK EGG WARMER")
        self.compound_nouns = (
            nouns | self.product_nouns | {w for t in types for w in index_tokens(unhyphen(t))}
        )

    def modifier_only(self, lasts: set[str], among: np.ndarray, named: frozenset[str]) -> np.ndarray:
        """Items of ``among`` whose title names a kind (its last words ``lasts``) only as a modifier of another
        product (see :meth:`tuijian.generate.assistant_catalog.CatalogIndex.modifier_only`); ``named``: words
        the shopper named too."""
        out = np.zeros(len(self.words), dtype=bool)
        if not lasts:
            return out
        descriptors = _descriptor_words()
        for i in np.flatnonzero(among):
            words = self.words[i]
            cut = next((n for n, w in enumerate(words) if n and w in _HEAD_CUT), len(words))
            places = [n for n in range(cut) if words[n] in lasts]
            if not places:
                # "BASKET OF FLOWERS SEWING KIT" is no basket, unless what it holds is asked too ("the box of 6
                # teaspoons")
                held = self.held_in[i] in lasts and not any(w in named for w in words)
                out[i] = any(w in lasts for w in words[cut:]) or held
                continue
            out[i] = all(self._head_after(words, n, cut, lasts | named, descriptors) for n in places)
        return out

    def _head_after(
        self,
        words: list[str],
        n: int,
        cut: int,
        own: set[str] | frozenset[str],
        descriptors: tuple[frozenset[str], frozenset[tuple[str, ...]]],
    ) -> bool:
        """Whether a product noun after ``words[n]`` in the name part ``words[:cut]`` is the item's head."""
        if n + 1 < cut and words[n + 1] in _MOTIF_MARKERS:
            return True  # "RECIPE BOX BLUE SKETCHBOOK DESIGN": the kind is the motif
        adjectives, phrases = descriptors
        materials = _material_words()
        for m in range(n + 1, cut):
            w = words[m]
            if (
                w in materials
                and m + 1 < cut
                and words[m + 1] in self.product_nouns
                and words[m + 1] not in own
            ):
                continue  # "GOLD PRINT PAPER BAG": a material right before a product noun is part of its name
            if w in adjectives or w.isdigit() or tuple(words[m : m + 2]) in phrases:
                return False  # a descriptive tail starts: "WATERING CAN BLUE ELEPHANT", "DOORMAT UNION FLAG"
            if (
                w in self.product_nouns
                and w not in own
                and words[m - 1] != "and"
                and not (m + 1 < cut and words[m + 1] in _MOTIF_MARKERS)
            ):
                return True
            if w not in self.compound_nouns and w not in own:
                return False  # "KEY RING BASEBALL BOOT": a word outside the compound starts a design name
        return False

    def closed_compounds(self, known: set[str], sequences: list[list[str]]) -> dict[tuple[str, str], str]:
        """Title words (``known``; ``sequences``: the titles' words in order) written as one that are a title
        word and a product or material noun of three letters or more ("wastepaper" is waste + paper), when no
        title has the two words apart: a shopper may type them apart ("waste paper bin")."""
        long = {w for w in known if len(w) >= 3}
        nouns = self.compound_nouns | _material_words()
        pairs = {(a, b) for seq in sequences for a, b in zip(seq, seq[1:], strict=False)}
        out: dict[tuple[str, str], str] = {}
        for word in sorted(known):
            for n in range(3, len(word) - 2):
                a, b = word[:n], word[n:]
                if a in long and len(b) >= 3 and b in nouns and (a, b) not in pairs:
                    out.setdefault((a, b), word)
        return out
