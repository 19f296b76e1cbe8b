"""The catalogue as the assistant searches it: structured records, title words and prices, and the search.

A query is read into concepts by :mod:`tuijian.generate.assistant_vocabulary`. An item matches a concept when its
title has every word of one of the concept's alternatives; :meth:`CatalogIndex.search` keeps the items that match
every strong concept (type, colour, material, theme, audience), keeps plain words only while some item still
matches, drops excluded concepts ("nothing with skulls"), applies the price range and ranks by BM25 over the
titles, a bonus when the item's product type is the asked type, and popularity. An asked product type means the
items whose title names it (its head: DOLL DOORSTOP is a doorstop, POT PLANT CANDLE a candle, see
:meth:`CatalogIndex.modifier_only` and :mod:`tuijian.generate.assistant_titles`) whenever the catalogue has some;
otherwise every match.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from tuijian.generate.assistant_titles import TitleHeads, _descriptor_words, unhyphen
from tuijian.generate.assistant_vocabulary import _CHILD_WORDS, Concept, Vocabulary, dimensions
from tuijian.generate.retrieval import BM25, index_tokens
from tuijian.nlp.lexicon import attribute_lexicon
from tuijian.nlp.product import ProductRecord, chinese_product_type, understand

#: Things that hold, carry or go with another thing: "candle holder", "cake stand", "lamp shade", "cutlery box" are
#: not candles, cakes, lamps or cutlery. A kind's word directly before one of these only modifies it.
_ACCESSORY_WORDS = """
    holder stand stick base plate bowl spike pot shade hook charm cover case box tin rack tray dish sleeve
    pouch bag ring clip peg mat coaster magnet lamp knob sign cutter sticker keyring hold hldr
"""
_ACCESSORIES = frozenset(_ACCESSORY_WORDS.split())
#: Title words after which a kind's word says what the item is for, not what it is ("stones on wire for candle").
_FOR_WORDS = frozenset({"for"})
#: Occasions that are places an item is used in ("garden gnomes", "office"): an item for the garden need not say
#: so in its title, so these give way like an audience when nothing of the asked kind names them.
_PLACE_THEMES = frozenset({"garden", "office"})
#: Strong kinds that give way when nothing matches with them ("a gift for a child who likes dinosaurs").
_YIELDING = frozenset({"audience", "size"})
#: a compound type ("tea towel") is a kind of its own, not the bare head asked ("towels"), when it is at least this
#: share of the items whose title has the head, and this many items
_COMPOUND_SHARE = 0.25
_COMPOUND_MIN_ITEMS = 3
_CHILD_VALUES = frozenset(" ".join(w) for w in _CHILD_WORDS)
#: a kind named by at most this many titles is a class word over a product line when an audience asked for
#: matches none of them ("kids kitchen tools")
_CLASS_WORD_MAX = 3


def _head_zh(name: str) -> str:
    """A Chinese type name less a noun suffix (盒子 -> 盒): what a compound's name ends in when it is that kind."""
    return name[:-1] if len(name) >= 2 and name[-1] in "子儿头" else name


@cache
def _alias_kinds() -> frozenset[tuple[str, ...]]:
    """Compound kinds the product lexicon gives other words for ("grow your own" is a growing kit), as title
    words: a title may say the other words and never the kind."""
    text = resources.files("tuijian.nlp.resources").joinpath("product_lexicon.json").read_text("utf-8")
    aliases = json.loads(text)["aliases"]
    return frozenset(
        toks for target in aliases.values() if len(toks := tuple(index_tokens(unhyphen(target)))) >= 2
    )


@cache
def _size_words() -> frozenset[str]:
    """Folded one-word size names of the attribute lexicon ("jumbo", "large", "mini")."""
    return frozenset(
        toks[0]
        for value, forms in attribute_lexicon()["size"].items()
        for surface in [value, *forms["en"]]
        if len(toks := index_tokens(unhyphen(surface))) == 1
    )


@cache
def _other_thing(compound: str, head: str, asked_zh: str | None = None) -> bool:
    """Whether the product vocabulary names the compound type as a thing other than its English head: its
    Chinese name does not end in the head's (tea towel 茶巾, towel 毛巾; key ring 钥匙圈, ring 戒指), nor in the
    Chinese word the shopper asked with (``asked_zh``: 贺卡 asks for greeting cards)."""
    whole, bare = chinese_product_type(compound), asked_zh or chinese_product_type(head)
    if not whole or not bare or whole == bare:
        return False
    return not whole.endswith(_head_zh(bare))


def _yields(concept: Concept) -> bool:
    """Whether a strong concept gives way when nothing matches with it: an audience, a size, a place of use."""
    return concept.kind in _YIELDING or (concept.kind == "theme" and concept.value in _PLACE_THEMES)


@dataclass
class SearchResult:
    """Ranked matches of a search: item positions, the concepts used, and those dropped for having no match."""

    positions: list[int]
    used: list[Concept]
    dropped: list[Concept]
    n_matches: int


class CatalogIndex:
    """Records, title words and prices of every catalogue item, and the search over them."""

    def __init__(self, items: pd.DataFrame, popularity: np.ndarray):
        self.item_ids = items["item_id"].astype(str).tolist()
        self.position = {item: i for i, item in enumerate(self.item_ids)}
        self.titles = items["title"].astype(str).tolist()
        self.prices = items["price"].astype(float).to_numpy()
        descriptions = (
            items["description"].astype(str).tolist() if "description" in items else [""] * len(items)
        )
        categories = items["category"].astype(str).tolist() if "category" in items else [""] * len(items)
        self.records: list[ProductRecord] = [
            understand(t, d or None, c or None)
            for t, d, c in zip(self.titles, descriptions, categories, strict=True)
        ]
        self.packs = np.array([r.pack_count.value if r.pack_count is not None else 0 for r in self.records])
        self.tokens = [frozenset(index_tokens(unhyphen(t))) for t in self.titles]
        postings: dict[str, list[int]] = {}
        for i, toks in enumerate(self.tokens):
            for t in toks:
                postings.setdefault(t, []).append(i)
        # "=word": a title word as written (LIGHTS, not T-LIGHTS or LIGHT PINK), for alternatives that need it
        raw: dict[str, list[int]] = {}
        for i, t in enumerate(self.titles):
            for w in set(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", t.lower())):
                raw.setdefault("=" + w, []).append(i)
        for i, n in enumerate(self.packs):  # "%pack3": the pack size of the record (a set of 3)
            if n > 1:
                postings.setdefault(f"%pack{int(n)}", []).append(i)
        for i, t in enumerate(self.titles):  # "#45x45", "#60cm": the sizes a title names
            for token, _ in dimensions(t):
                postings.setdefault("#" + token, []).append(i)
        self.known = set(postings)
        self.postings = {t: np.asarray(v) for t, v in (postings | raw).items()}
        # words that name a thing somewhere in the catalogue: a title's last word or a word of a record's type;
        # a word seen only before another ("bicycle" in BICYCLE BELL) is a modifier, not a product we sell
        self.head_words = {ws[-1] for t in self.titles if (ws := index_tokens(unhyphen(t)))}
        types = {str(r.product_type.value) for r in self.records if r.product_type is not None}
        self.types = [str(r.product_type.value) if r.product_type is not None else "" for r in self.records]
        self.type_tokens = [tuple(index_tokens(unhyphen(t))) if t else () for t in self.types]
        themes = {str(v) for r in self.records for v in r.values("theme")}
        self.head_words |= {w for t in types for w in index_tokens(unhyphen(t))}
        self.vocabulary = Vocabulary(types, themes)
        self.bm25 = BM25().fit([unhyphen(t) for t in self.titles])
        # each title as folded words in order, stop words kept ("for"): where a kind's word stands in the title
        self.sequences = [
            [(index_tokens(w) or [w])[0] for w in re.findall(r"[a-z0-9]+", unhyphen(t.lower()))]
            for t in self.titles
        ]
        #: title words written as two title words in one ("retrospot": retro + spot), by each part
        self.parts: dict[str, set[str]] = {}
        for word in self.known:
            if len(word) >= 7 and word.isalpha():
                for n in range(3, len(word) - 2):
                    a, b = word[:n], word[n:]
                    if a in self.known and b in self.known and max(len(a), len(b)) >= 4:
                        self.parts.setdefault(a, set()).add(word)
                        self.parts.setdefault(b, set()).add(word)
        #: consecutive title words ("filler", "pad"): compounds the titles write
        self.bigrams = {(a, b) for seq in self.sequences for a, b in zip(seq, seq[1:], strict=False)}
        # what each item is by the structure of its title (see :meth:`modifier_only`)
        self.heads = TitleHeads(self.titles, self.types)
        self.popularity = popularity
        self.vocabulary.closed = self.heads.closed_compounds(self.known, self.sequences)
        # a closed compound names a thing when its last part does (TOOTHBRUSH is a brush)
        self.head_words |= {w for (_, b), w in self.vocabulary.closed.items() if b in self.head_words}
        self.vocabulary.head_words = self.head_words
        self.vocabulary.bigrams = self.bigrams
        self.vocabulary.names_thing = self.names_thing

    def names_thing(self, words: tuple[str, ...]) -> bool:
        """Whether some item is what ``words`` name: its title has them, and not only as a modifier of another
        product (FUNNEL CAKE MIX is no funnel, see :meth:`modifier_only`)."""
        concept = Concept("type", " ".join(words), (words,))
        among = self.mask(concept) & ~self.modifier_only(concept, self.mask(concept))
        for i in np.flatnonzero(among):
            # the record's own compound type after the words: FUNNEL CAKE TIN is a cake tin
            kind = index_tokens(unhyphen(self.types[i]))
            seq = self.sequences[i]
            if (
                len(kind) >= 2
                and words[-1] not in kind
                and kind[0] in seq
                and words[-1] in seq
                and seq.index(words[-1]) < seq.index(kind[0])
            ):
                among[i] = False
        return bool(among.any())

    def mask(self, concept: Concept, asked: frozenset[tuple[str, ...]] = frozenset()) -> np.ndarray:
        """Items that match ``concept`` (any alternative, all of its words), less its exclusions; an exclusion that
        ``asked`` names is not applied (桶 leaves out bunnies sold in a bucket, 兔子桶 asks for them)."""
        out = np.zeros(len(self.item_ids), dtype=bool)
        for alt in concept.alternatives:
            hit = np.ones(len(self.item_ids), dtype=bool)
            for t in alt:
                got = np.zeros(len(self.item_ids), dtype=bool)
                if t in self.postings:
                    got[self.postings[t]] = True
                if (
                    concept.kind == "theme"
                ):  # a motif inside a design word written as one (RETROSPOT: retro, spot)
                    for word in self.parts.get(t, ()):
                        got[self.postings[word]] = True
                hit &= got
            out |= hit
        for alt in concept.excluded:
            if alt not in asked:
                out[np.logical_and.reduce([self._has(t) for t in alt])] = False
        if concept.kind == "audience":
            out |= np.array([concept.value in r.values("audience") for r in self.records])
        # a compound kind the records name but no title writes (种植套装 is the growing kit: GROW YOUR OWN …
        # titles say no KIT): the items of that record type
        compounds = {
            alt
            for alt in concept.alternatives
            if alt in _alias_kinds() and not np.logical_and.reduce([self._has(t) for t in alt]).any()
        }
        if concept.kind == "type" and compounds:
            out |= np.array([toks in compounds for toks in self.type_tokens], dtype=bool)
        return out

    def accessory(
        self, concept: Concept, among: np.ndarray, named: frozenset[str] = frozenset()
    ) -> np.ndarray:
        """Items of ``among`` that carry a kind's word only as what they are for: every place of the word is
        directly before an accessory's name ("CANDLE HOLDER", "LAMP SHADE") or after "for" ("BASE FOR CANDLES").
        An accessory the shopper names too (``named``: "coat rack" read as coat + rack) or one that is the asked
        kind itself ("candle holder") does not count."""
        out = np.zeros(len(self.item_ids), dtype=bool)
        lasts = {alt[-1] for alt in concept.alternatives if alt}
        if not lasts:
            return out
        accessories = _ACCESSORIES - named - lasts
        for i in np.flatnonzero(among):
            seq = self.sequences[i]
            places = [n for n, w in enumerate(seq) if w in lasts]
            if places and all(
                (n + 1 < len(seq) and seq[n + 1] in accessories) or any(w in _FOR_WORDS for w in seq[:n])
                for n in places
            ):
                out[i] = True
        return out

    def modifier_only(
        self, concept: Concept, among: np.ndarray, named: frozenset[str] = frozenset()
    ) -> np.ndarray:
        """Items of ``among`` whose title names the kind only as a modifier of another product: the item is what
        its title's name part ends in, not a word before it ("DOLL DOORSTOP" is a doorstop, "POT PLANT CANDLE" a
        candle, "TOADSTOOL MONEY BOX" a box) nor after "for/with/in/on…" ("JAM MAKING SET WITH JARS").

        The name part is the title up to its first "for/with/in/on/of…" or comma. A later product noun of the
        lexicon or of the catalogue's records makes the kind a modifier when only nouns lead to it (a compound:
        "CHICK EGG WARMER"), not when a colour, material, style, number or a word outside the compound comes
        first (descriptors and design names trail the head in retail titles: "FAN BLACK FRAME", "KEY RING
        BASEBALL BOOT"), and not when it follows "and" ("CUP & SAUCER"), names a motif ("… CANDLE DESIGN"), is
        a motif noun (heart, bird), a pack noun (set), a wide class (puzzle, decoration) or a word the shopper
        named too. This reads the title alone: the records call STONES ON WIRE FOR CANDLE a candle."""
        lasts: set[str] = set()
        for alt in concept.alternatives:
            if alt:
                last = alt[-1]
                lasts.add((index_tokens(last[1:]) or [last[1:]])[0] if last.startswith("=") else last)
        return self.heads.modifier_only(lasts, among, named)

    def written_together(self, concept: Concept, among: np.ndarray) -> np.ndarray:
        """Items of ``among`` whose title writes one of a compound kind's alternatives as consecutive words ("BISCUIT
        TIN", not "MONEY BOX BISCUITS DESIGN" for a biscuit box), or matches a one-word alternative; every item
        of ``among`` when the kind has no compound alternative."""
        compounds = [
            a
            for a in concept.alternatives
            if len(a) >= 2 and not any(t.startswith(("=", "#", "%")) for t in a)
        ]
        if not compounds or len(compounds) < len(concept.alternatives):
            return among.copy()
        out = np.zeros(len(self.item_ids), dtype=bool)
        joined = [tuple(w for w in a if w != "and") for a in compounds]
        for i in np.flatnonzero(among):
            if (
                self.type_tokens[i] in compounds
            ):  # the records' own compound (GROW YOUR OWN … is a growing kit)
                out[i] = True
                continue
            seq = [w for w in self.sequences[i] if w != "and"]  # "CUP & SAUCER", "cup and saucer"
            out[i] = any(
                tuple(seq[n : n + len(a)]) == a for a in joined for n in range(len(seq) - len(a) + 1)
            )
        return out

    def record_kind(self, concept: Concept) -> np.ndarray:
        """Items whose record's type ends in one of ``concept``'s alternatives (a growing kit is a kit)."""
        alts = [alt for alt in concept.alternatives if alt and not alt[0].startswith("=")]
        out = np.zeros(len(self.item_ids), dtype=bool)
        for i, toks in enumerate(self.type_tokens):
            if any(len(toks) >= len(a) and toks[-len(a) :] == a for a in alts):
                out[i] = True
        return out

    def other_kind(
        self, concept: Concept, among: np.ndarray, named: frozenset[str] = frozenset()
    ) -> np.ndarray:
        """Items of ``among`` that are a compound kind of their own, not the bare kind asked: a shopper who asks for
        towels means towels, not tea towels, when the catalogue sells plain towels. An item is another kind when its
        record's type is "<modifier> <head>" for the asked one-word head, the modifier is a noun (not a colour,
        size, material or style: a jumbo bag is a bag) that the shopper did not name, and the compound's Chinese
        name does not end in the head's (茶巾 is no 毛巾; 午餐包 is a 包, 挂钟 a 钟): the product vocabulary
        names it as another thing. Only when some item of ``among`` has the bare head as its type."""
        out = np.zeros(len(self.item_ids), dtype=bool)
        heads = {alt[0] for alt in concept.alternatives if len(alt) == 1}
        if not heads or len(concept.value.split()) != 1:
            return out
        plain = np.array([t in heads for t in self.types], dtype=bool)
        if not (among & plain).any():
            return out
        adjectives, _ = _descriptor_words()
        every = self.mask(Concept("type", concept.value, tuple((h,) for h in heads)))
        types = np.array(self.types, dtype=object)
        zh = concept.surface if re.search(r"[\u4e00-\u9fff]", concept.surface) else None
        for kind_name in {self.types[i] for i in np.flatnonzero(among & ~plain)}:
            kind = index_tokens(unhyphen(kind_name))
            if len(kind) < 2 or kind[-1] not in heads or any(w in named for w in kind[:-1]):
                continue
            if any(w in adjectives or w in _size_words() for w in kind[:-1]):
                continue
            of_kind = every & (types == kind_name)
            # a compound the catalogue uses for a good part of the head's titles is a kind of its own there
            if of_kind.sum() < _COMPOUND_MIN_ITEMS or of_kind.sum() < _COMPOUND_SHARE * every.sum():
                continue
            if _other_thing(kind_name, kind[-1], zh):
                out |= among & of_kind
        return out

    def _has(self, token: str) -> np.ndarray:
        got = np.zeros(len(self.item_ids), dtype=bool)
        if token in self.postings:
            got[self.postings[token]] = True
        return got

    def search(
        self,
        concepts: list[Concept],
        excluded: list[Concept],
        price_min: float | None = None,
        price_max: float | None = None,
        sort: str | None = None,
        k: int = 5,
        allowed: np.ndarray | None = None,
        pack: int | None = None,
    ) -> SearchResult:
        """Items matching every strong concept and as many plain words as possible, ranked (or sorted by price);
        with ``pack`` ("box of 24", 24个装), the items of that pack size when some match.

        A plain word the shopper named that no item of the asked kind has by its title words is tried once more
        with the kind read from the records' types too ("grow your own kits": GROW YOUR OWN … SET is a growing
        kit, though its title has no KIT): the kind of a product line may be what its records say it is."""
        args = (concepts, excluded, price_min, price_max, sort, k, allowed, pack)
        result = self._search(*args)
        if any(c.kind == "word" for c in result.dropped) and any(c.kind == "type" for c in result.used):
            again = self._search(*args, by_record=True)
            if again.positions and len(again.dropped) < len(result.dropped):
                return again
        kinds = [c for c in result.used if c.kind == "type"]
        if any(c.kind == "audience" for c in result.dropped) and len(kinds) == 1:
            # "kids garden tools" when the only garden tools are a grown-up's: a compound's last word, or a kind
            # the titles hardly name (tools), is a class word over the items its modifiers and the audience name
            # (CHILDS GARDEN SPADE, … RAKE, … FORK)
            kind = kinds[0]
            compound = all(len(a) >= 2 for a in kind.alternatives)
            if compound or self.mask(kind).sum() <= _CLASS_WORD_MAX:
                line = np.logical_or.reduce(
                    [np.logical_and.reduce([self._has(t) for t in a[:-1]]) for a in kind.alternatives if a]
                )
                rest = [c for c in concepts if c != kind]
                narrowed = line if compound else np.ones(len(self.item_ids), dtype=bool)
                narrowed = narrowed if allowed is None else narrowed & allowed
                again = self._search(rest, excluded, price_min, price_max, sort, k, narrowed, pack)
                anchored = compound or any(
                    c.kind == "word" and c.value not in _CHILD_VALUES for c in again.used
                )
                if again.positions and anchored and not any(c.kind == "audience" for c in again.dropped):
                    return SearchResult(again.positions, [*again.used, kind], again.dropped, again.n_matches)
        return result

    def _search(
        self,
        concepts: list[Concept],
        excluded: list[Concept],
        price_min: float | None = None,
        price_max: float | None = None,
        sort: str | None = None,
        k: int = 5,
        allowed: np.ndarray | None = None,
        pack: int | None = None,
        by_record: bool = False,
    ) -> SearchResult:
        # items without a price (the Office catalogue has none) can be found, but not by price
        priced = ~np.isnan(self.prices)
        prices = np.nan_to_num(self.prices, nan=0.0)
        ok = ~priced | (prices > 0)
        if price_max is not None or price_min is not None or sort is not None:
            ok &= priced
        if allowed is not None:
            ok &= allowed
        for c in excluded:
            ok &= ~self.mask(c)
        wide = ok.copy()  # the same, whatever the price: what counts as the asked kind does not depend on it
        if price_max is not None:
            ok &= prices <= price_max + 1e-9
        if price_min is not None:
            ok &= prices >= price_min - 1e-9
        concepts = self._one_head(concepts, wide)
        used: list[Concept] = []
        dropped: list[Concept] = []
        headed = False
        for c in sorted(concepts, key=lambda c: (not c.strong, _yields(c))):
            if not c.strong and not headed:
                ok, headed = self._prefer_heads(used, concepts, ok, wide), True
            named = frozenset(a for other in concepts if other != c for a in other.alternatives)
            m = self.mask(c, named)
            if by_record and c.kind == "type":
                m = m | self.record_kind(c)
            if (c.strong and not _yields(c)) or (ok & m).any():  # "for a child" yields to "dinosaur"
                ok &= m
                wide &= m
                used.append(c)
                if (
                    c.kind == "type"
                ):  # the cheapest candle is a candle, not a candle holder, when candles match
                    extra = self.accessory(c, ok, frozenset(t for alt in named for t in alt))
                    if (ok & ~extra).any():
                        ok &= ~extra
                    together = self.written_together(c, wide)
                    if (wide & together).any():  # a biscuit tin, not a money box of biscuits design
                        ok &= together
                        wide &= together
                    other = self.other_kind(c, wide, frozenset(t for alt in named for t in alt))
                    if (wide & ~other).any():  # towels are not tea towels when plain towels are sold
                        ok &= ~other
                        wide &= ~other
            else:
                dropped.append(c)
        if not headed:
            ok = self._prefer_heads(used, concepts, ok, wide)
        if pack is not None and (ok & (self.packs == pack)).any():
            ok &= self.packs == pack
        n = int(ok.sum())
        if not n:
            return SearchResult([], used, dropped, 0)
        words = " ".join(" ".join(alt) for c in used for alt in c.alternatives[:1])
        score = self.bm25.scores(words) if words else np.zeros(len(self.item_ids))
        score = score + 0.5 * self.popularity
        asked = [c for c in used if c.kind == "type"]
        if asked:
            bonus = np.array(
                [any(t == c.value or t.endswith(" " + c.value) for c in asked) for t in self.types],
                dtype=float,
            )
            score += 2.0 * bonus
        idx = np.flatnonzero(ok)
        if sort == "price_asc":
            order = idx[np.lexsort((-score[idx], self.prices[idx]))]
        elif sort == "price_desc":
            order = idx[np.lexsort((-score[idx], -self.prices[idx]))]
        else:
            order = idx[np.argsort(-score[idx], kind="stable")]
        return SearchResult([int(i) for i in order[:k]], used, dropped, n)

    def _one_head(self, concepts: list[Concept], wide: np.ndarray) -> list[Concept]:
        """``concepts`` with every product type but the last read as a plain word when the last is a compound
        kind of the catalogue ("number tile") and no item (at any price) is all of them: "house number tiles"
        are the catalogue's number tiles, "house" a modifier of the compound the titles leave out."""
        types = [c for c in concepts if c.kind == "type"]
        if len(types) < 2:
            return concepts
        last = types[-1]
        n = concepts.index(last)
        before = concepts[n - 1] if n > 0 else None
        # "cushion filler pads": a title word right before the head that titles write with it (FILLER PAD)
        titled = (
            before is not None
            and before.kind == "word"
            and any((a[-1], b[0]) in self.bigrams for a in before.alternatives for b in last.alternatives)
        )
        if not titled and not all(len(alt) >= 2 for alt in last.alternatives):
            return concepts  # "bin bags": a one-word head keeps the modifier we lack (no bin bag is sold)
        both = wide.copy()
        for c in types:
            named = frozenset(a for other in concepts if other != c for a in other.alternatives)
            both &= self.mask(c, named)
        if both.any():
            return concepts
        return [
            Concept("word", c.value, c.alternatives, c.surface, c.excluded)
            if c.kind == "type" and c != last
            else c
            for c in concepts
        ]

    def _prefer_heads(
        self, used: list[Concept], concepts: list[Concept], ok: np.ndarray, wide: np.ndarray
    ) -> np.ndarray:
        """``ok`` less the items that name an asked product type only as a modifier (:meth:`modifier_only`), when
        the items of every strong concept asked (``wide``: at any price) include some that are that type: the
        cheapest doll is a doll, not a doll doorstop, and "plant pots under £5" are no pot-plant candles even when
        only the candles are that cheap. Kinds the shopper names together are read together ("doll doorstop")."""
        for c in used:
            if c.kind != "type":
                continue
            named = frozenset(
                t for other in concepts if other != c for alt in other.alternatives for t in alt
            )
            extra = self.modifier_only(c, wide, named)
            if (wide & ~extra).any():
                ok = ok & ~extra
                wide = wide & ~extra
        return ok

    def type_concept(self, position: int) -> Concept | None:
        """The product type of an item as a search concept ("any cheaper?" after a question about it)."""
        t = self.types[position]
        toks = tuple(index_tokens(unhyphen(t)))
        return Concept("type", t, (toks,), t) if toks else None

    def price(self, position: int) -> float | None:
        p = float(self.prices[position])
        return None if math.isnan(p) else p
