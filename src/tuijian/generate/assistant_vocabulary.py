"""How the assistant reads a shopper's words: :class:`Concept` objects and the :class:`Vocabulary` that finds them.

A query is read into concepts: a product type ("lunch box", 午餐盒), a colour, a material, a theme (恐龙 is
``dinosaur``), an audience (a 5 year old is a child), or a plain title word. Chinese words are mapped to English
title words through the product-type vocabulary (:func:`tuijian.nlp.product.chinese_product_type` read backwards),
the attribute lexicon, the assistant's own word list (``templates/assistant_zh.json``) and, for Chinese words none
of them knows, the CC-CEDICT dictionary (:mod:`tuijian.generate.cedict`). The search over the catalogue's items is
:class:`tuijian.generate.assistant_catalog.CatalogIndex`.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from tuijian.generate.assistant_titles import unhyphen
from tuijian.generate.cedict import ChineseGlossary
from tuijian.generate.retrieval import index_tokens
from tuijian.nlp.lexicon import attribute_lexicon
from tuijian.nlp.product import chinese_product_type, chinese_theme

STRONG_KINDS = frozenset({"type", "colour", "material", "theme", "audience", "size"})
_LEXICON_KINDS = {
    "colour": "colour",
    "material": "material",
    "pattern": "theme",
    "occasion": "theme",
    "style": "theme",
    "recipient": "audience",
    "size": "size",
    "product_type": "type",
}
#: Lexicon values that are families of motifs: a shopper who names one member ("owl", "rose") means that one.
_HYPERNYMS = frozenset(
    {"bird", "animal", "floral", "fruit", "christmas", "woodland", "circus", "fairy", "easter"}
)
#: Words that say how a question is asked, not what is asked for.
_NOISE_EN_WORDS = """
    sell sold have got stock any anything buy find looking look want need wondering item items product
    products shop store please hi hello tell know gift gifts present presents something like likes love loves
    who cheap budget pound pounds quid price priced cost costs much many pack packs set sets piece pieces one
    ones thing things show recommend suggest kind type sort nice lovely good great best pretty cute old year
    years also maybe really would could should just options option choice choices range selection available
    there here what which how does is are do did can could will my me you your our we us some someone somebody
    friend friends little big new get make ideas idea interested hey thanks thank ok okay else other another
    instead colour color colours colors design designed pattern motif print printed theme themed style styled
    made material size sizes large small mini big dimension dimensions similar same version versions
    pls plz thx ya ur ve ll nan nana nanna gran granny grandma grandad grandpa mum mom mummy mother dad daddy
    father sister brother wife husband girlfriend boyfriend aunt auntie uncle niece nephew teacher colleague boss
    son daughter kids kid bit bits couple among amongst all order ordered sort sorted rank ranked arrange
    list listed costing priced pricing
"""
#: English words a shopper uses for a catalogue word of the same meaning ("fake flowers" are ARTIFICIAL FLOWERs).
_SYNONYMS_EN = {"fake": "artificial", "faux": "artificial", "imitation": "artificial"}
_SYNONYMS_EN_RE = re.compile(r"\b(" + "|".join(_SYNONYMS_EN) + r")\b(?! (?:leather|fur)\b)")
_NOISE_EN = frozenset(_NOISE_EN_WORDS.split())
_NOISE_ZH_WORDS = """
    有没有 你们 我们 请问 什么 哪些 哪个 哪款 那个 这个 那款 这款 一个 一些 一下 一点 礼物 推荐
    东西 商品 图案 样式 款式 价格 多少钱 多少 可以 能不能 是不是 适合 还有 其他 别的 颜色 材质 做的
    喜欢 想要 想买 看看 帮我 给我 送给 用的 大概 左右 之间 以内 以上 以下 英镑 朋友 女儿 儿子 有
    没 卖 吗 呢 吧 啊 的 了 想 要 买 个 款 种 件 只 找 给 送 请 妈妈 爸爸 女士 男士 老婆
    老公 女朋友 男朋友 奶奶 爷爷 外婆 同事 老师 家人 是 还 再 更 便宜 最 贵 点 些 和 或 也 怎么 怎样 如何 来
    哪双 哪件 哪条 哪只 哪种 哪一个 哪一款 哪对 双 对
    都 能 帮 在 到 元 镑 块 钱 它 岁 印 带 上 面 其 那 这 装 套 包含 一 个 我 你 好 嗯 里
    用品 特色 系列 主题 元素 图样 谢谢 感谢 麻烦 您 造型 形状 所有 全部 当中 之中 其中 中 按 排序 排列 从低到高
"""
#: Chinese measure words: "which one" (哪支, 哪一把) and "one" (一盏) name no thing (最便宜的笔是哪支 asks for a pen).
_MEASURE_ZH = "个款件条只种对双支本张把套盒包瓶根块枚台盏顶幅面片样罐袋卷串副"
_NOISE_ZH = _NOISE_ZH_WORDS.split() + [f"哪{m}" for m in _MEASURE_ZH] + [f"哪一{m}" for m in _MEASURE_ZH]
_SEGMENTS = re.compile(r"\b(?:of|with|for|from|in|on|about|featuring|that|which|who|under|over|between)\b")
_ZH_NOISE_HEAD = re.compile("(?:" + "|".join(sorted(map(re.escape, _NOISE_ZH), key=len, reverse=True)) + ")+")
_ZH_NOISE_TAIL = re.compile(
    "(?:" + "|".join(sorted(map(re.escape, _NOISE_ZH), key=len, reverse=True)) + ")+$"
)
#: the title words for a child as such, not a boy or a girl: "kids", "children's" and "child's" are one word
_CHILD_WORDS = (("child",), ("children",), ("kid",), ("kiddie",))
#: an adverb the catalogue does not write ("actually", "definitely", "honestly") says how a question is asked
_ADVERB = re.compile(
    r"[a-z]{3,}(?:al|ful|ous|ive|ent|ant|ate|ite|est|ct|ete|ure|ear|ed|ing|less|ible|able)ly|[a-z]{4,}ily"
)
#: the longest unknown Chinese run read through the dictionary (longer ones are sentences, not names)
_LEARN_MAX = 6
_ZH_NOISE_RE = re.compile("|".join(sorted(map(re.escape, _NOISE_ZH), key=len, reverse=True)))


@dataclass(frozen=True)
class Concept:
    """Something the shopper asks for: a ``kind``, a canonical English ``value`` and the title-word alternatives."""

    kind: str  # type | colour | material | theme | audience | word
    value: str
    alternatives: tuple[tuple[str, ...], ...]
    surface: str = ""
    #: title-word sets that rule an item out although an alternative matches (衣架 is not a door hanger)
    excluded: tuple[tuple[str, ...], ...] = ()

    @property
    def strong(self) -> bool:
        return self.kind in STRONG_KINDS


@dataclass
class Reading:
    """The concepts of one query text, and the words the catalogue does not know (``unknown``)."""

    concepts: list[Concept] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    head_unknown: bool = False
    modifier_unknown: bool = False  # "running shoes": the catalogue has shoes, not that kind
    head_word: str | None = None  # the request's last content word when it is a plain title word ("bicycles")
    #: a title word in -ing right before the request's product type ("sleeping" of "sleeping bags")
    compound_modifier: Concept | None = None
    #: the concepts read from one unknown Chinese run through the dictionary (飞鸭墙饰: fly, duck, wall,
    #: decoration): a search that drops all of one group's concepts found nothing the shopper named
    groups: list[list[Concept]] = field(default_factory=list)
    #: per group, what follows it: "" when it ends the phrase (the thing asked for), "type" before a product
    #: type (遮光 of 遮光窗帘 names the kind), "other" before another word (英伦 of 英伦玫瑰杯垫)
    modifier_groups: list[str] = field(default_factory=list)


def _alternatives(words: list[str]) -> tuple[tuple[str, ...], ...]:
    out = []
    for w in words:
        # "=lights": that exact title word (see CatalogIndex: "=" tokens are the unfolded title words)
        toks = (w,) if w.startswith("=") else tuple(index_tokens(unhyphen(w)))
        if toks and toks not in out:
            out.append(toks)
    return tuple(out)


@cache
def _extra_terms() -> dict[str, dict[str, str]]:
    text = resources.files("tuijian.generate").joinpath("templates/assistant_zh.json").read_text("utf-8")
    return json.loads(text)["terms"]


@cache
def _lexicon_concepts() -> dict[tuple[str, str], Concept]:
    """A concept per attribute-lexicon value, with every English surface form as an alternative."""
    out = {}
    for lex_kind, values in attribute_lexicon().items():
        kind = _LEXICON_KINDS.get(lex_kind)
        if kind is None:
            continue
        for value, forms in values.items():
            surfaces = [value, *forms["en"]]
            if kind == "theme" and value == "polka dot":
                surfaces += ["spot", "dot"]
            out[(kind, value)] = Concept(kind, value, _alternatives(surfaces), value)
    return out


class Vocabulary:
    """English phrases and Chinese words that name concepts, built from the catalogue's own product types."""

    def __init__(self, types: set[str], themes: set[str] | frozenset[str] = frozenset()):
        self.english: dict[tuple[str, ...], Concept] = {}
        lexicon = _lexicon_concepts()
        # a colour, material or motif word is that, not a product type ("glass", "dog", "heart")
        for (kind, _), concept in lexicon.items():
            if kind in ("colour", "material", "theme"):
                for alt in concept.alternatives:
                    # a motif's own word only: "bunting" (a party word) is still a product type
                    if kind != "theme" or alt == tuple(index_tokens(concept.value)):
                        self.english.setdefault(alt, concept)
        for t in sorted(types):  # then the catalogue's own product types: "lunch box" is not "lunch bag"
            toks = tuple(index_tokens(unhyphen(t)))
            if toks:
                self.english.setdefault(toks, Concept("type", t, (toks,), t))
        for (kind, value), concept in lexicon.items():
            if kind == "audience" and value != "child":
                continue  # "for her", "for dad": everyone may buy anything; not a title constraint
            for alt in concept.alternatives:
                self.english.setdefault(alt, concept)
        # English phrases whose lexicon family is wider than they are: "string lights" are not lamps
        for phrase, spec in _extra_terms().get("en", {}).items():
            kind, _, en = spec.partition(":")
            words = [w for w in en.split("|") if not w.startswith("-")]
            not_words = _alternatives([w[1:] for w in en.split("|") if w.startswith("-")])
            key = tuple(index_tokens(phrase))
            self.english[key] = Concept(kind, words[0], _alternatives(words), phrase, not_words)
        self.max_len = max(len(k) for k in self.english)
        #: the catalogue's closed compounds by their two parts ("waste", "paper") -> "wastepaper": see
        #: :meth:`CatalogIndex._closed_compounds`; set by the index that owns this vocabulary
        self.closed: dict[tuple[str, str], str] = {}
        #: consecutive title words (see :attr:`CatalogIndex.bigrams`); set by the index
        self.bigrams: set[tuple[str, str]] = set()
        #: the catalogue's head words (see :attr:`CatalogIndex.head_words`); set by the index too
        self.head_words: set[str] = set()
        #: whether some item is what title words name, not only a thing they modify (see
        #: :meth:`CatalogIndex.names_thing`); set by the index
        self.names_thing: Callable[[tuple[str, ...]], bool] = lambda words: True
        self.chinese: dict[str, Concept] = {}
        extra = _extra_terms()
        by_value = {(k, v): c for (k, v), c in _lexicon_concepts().items()}
        # kind "word": a plain title word, kept only while some item still matches (套装, a set)
        for kind in ("type", "colour", "material", "audience", "theme", "word"):
            for zh, en in extra.get(kind, {}).items():
                # "ring|-key|-napkin": a ring, but not a key ring or a napkin ring
                words = [w for w in en.split("|") if not w.startswith("-")]
                not_words = _alternatives([w[1:] for w in en.split("|") if w.startswith("-")])
                known = by_value.get((kind, words[0]))
                if kind == "audience":
                    concept = by_value[("audience", en)]
                elif (
                    known is not None and kind != "type"
                ):  # the lexicon's English forms too ("polkadot", "spotty")
                    alts = tuple(dict.fromkeys([*known.alternatives, *_alternatives(words)]))
                    concept = Concept(kind, known.value, alts, zh, not_words)
                else:
                    concept = Concept(kind, words[0], _alternatives(words), zh, not_words)
                self.chinese.setdefault(zh, concept)
        for (kind, value), concept in _lexicon_concepts().items():
            if kind == "audience" and value != "child":
                continue
            for zh in attribute_lexicon()[_lexicon_kind(kind, value)][value]["zh"]:
                self.chinese.setdefault(zh, concept)
                if zh.endswith("风") and len(zh) >= 3:  # 巴洛克风 is also said 巴洛克
                    self.chinese.setdefault(zh[:-1], concept)
        for t in sorted(types):
            name = chinese_product_type(t)
            if (
                name
            ):  # one character too (桶 bucket, 灯 lamp): glued to an unknown word it is not read (see below)
                old = self.chinese.get(name)
                if old is None:
                    self.chinese[name] = Concept("type", t, _alternatives([t]), name)
                elif old.kind == "type" and not any(a[0].startswith("=") for a in old.alternatives):
                    # (not into a word listed with exact title words: 灯串 is not every type named 灯串)
                    alts = tuple(dict.fromkeys([*old.alternatives, *_alternatives([t])]))
                    self.chinese[name] = Concept("type", old.value, alts, name, old.excluded)
        # the Chinese names of the records' head nouns and themes ("tea towel" has the head towel, 毛巾; the motif
        # owl is 猫头鹰): a shopper names the thing, not always the catalogue's compound type
        # (only names not made of words already known: 复古厨房 is read as retro + kitchen, not as one motif)
        known_zh = [w for w in self.chinese if len(w) >= 2]
        named = [
            (chinese_product_type(t.split()[-1]), "type", t.split()[-1]) for t in sorted(types) if " " in t
        ]
        named += [(chinese_theme(theme), "theme", theme) for theme in sorted(themes)]
        for name, kind, value in named:
            if name and len(name) >= 2 and not any(w in name for w in known_zh):
                self.chinese.setdefault(name, Concept(kind, value, _alternatives([value]), name))
        self._widen_chinese_heads()
        self._glossary: ChineseGlossary | None = None
        self._learned: dict[str, dict[str, Concept] | None] = {}
        self.chinese_re = re.compile("|".join(sorted(map(re.escape, self.chinese), key=len, reverse=True)))

    def _widen_chinese_heads(self) -> None:
        """A Chinese type word also names the types whose Chinese name ends with it (the head of a Chinese noun
        comes last): 伞 is 雨伞 and 遮阳伞, so "umbrella" and "parasol"; 钟 is 闹钟 and 挂钟. A word listed with
        exact title words ("=lights") already says all it covers (灯串 is string lights, not every 桌面灯串)."""
        types = {zh: c for zh, c in self.chinese.items() if c.kind == "type"}
        for zh, concept in types.items():
            if any(a[0].startswith("=") for a in concept.alternatives):
                continue
            if len(concept.value.split()) > 1 and len(zh) > 2:
                # a compound kind (收纳盒, storage box) is not every longer name ending in it (首饰收纳盒 is a
                # jewellery box): only a bare head noun (伞, 钟, 灯) covers its compounds
                continue
            alts = list(concept.alternatives)
            for other, c in types.items():
                if (
                    len(other) > len(zh)
                    and other.endswith(zh)
                    and not _ZH_NOISE_HEAD.fullmatch(other[: -len(zh)])
                ):
                    alts += [a for a in c.alternatives if a not in alts]
            if len(alts) > len(concept.alternatives):
                self.chinese[zh] = Concept("type", concept.value, tuple(alts), zh, concept.excluded)

    def read(self, text: str, lang: str, known: set[str]) -> Reading:
        """Concepts named in ``text``; words outside the catalogue's vocabulary ``known`` go to ``unknown``."""
        reading = Reading()
        # a size the catalogue's titles name ("the 45x45 pads", 60厘米的): that size, a plain word
        for token, (a, b) in reversed(dimensions(text)):
            if "#" + token in known:
                reading.concepts.append(Concept("word", token, (("#" + token,),), text[a:b]))
                text = text[:a] + " " + text[b:]
        reading.concepts.reverse()
        # English (also inside Chinese messages: "red retrospot" may be typed as is). The head of the request is
        # the last content word before the first "of/with/for…": "capital of France" is about a capital.
        english = re.sub(r"[’']\s*(?:s|ve|ll|re|d|m)\b|[^a-z0-9\- ]", " ", text.lower())
        # a hyphenated word made of words that alone name nothing ("make-up") is one word of its own: "make-up
        # brushes" are not any brush
        english = re.sub(
            r"\b([a-z]{2,})-([a-z]{2,})\b",
            lambda m: m.group(1) + m.group(2) if all(_names_nothing(w) for w in m.groups()) else m.group(0),
            english,
        )
        english = unhyphen(english)
        english = _SYNONYMS_EN_RE.sub(lambda m: _SYNONYMS_EN[m.group(1)], english)
        # "t light" typed apart is the catalogue's T-LIGHT ("tlight") when the glued word is a title word
        english = re.sub(
            r"\b([a-z]) ([a-z]+)",
            lambda m: (
                m.group(1) + m.group(2)
                if (g := index_tokens(m.group(1) + m.group(2))) and g[0] in known
                else m.group(0)
            ),
            english,
        )
        if self.closed:  # "waste paper bin" is the catalogue's WASTEPAPER BIN
            english = re.sub(
                r"\b([a-z]{3,}) ([a-z]{3,})\b",
                lambda m: self.closed.get(
                    (
                        (index_tokens(m.group(1)) or [m.group(1)])[0],
                        (index_tokens(m.group(2)) or [m.group(2)])[0],
                    ),
                    m.group(0),
                ),
                english,
            )
        heads = []
        for n_segment, segment in enumerate(_SEGMENTS.split(english)):
            before = len(reading.concepts)
            order = self._read_english(segment, known, reading)
            if order:
                if n_segment == 0 and order[-1] and len(reading.concepts) > before:
                    last = reading.concepts[-1]
                    reading.head_word = last.value if last.kind == "word" else None
                    if (
                        len(order) >= 2
                        and order[-2]
                        and len(reading.concepts) - before >= 2
                        and last.kind == "type"
                        and reading.concepts[-2].kind == "word"
                        and reading.concepts[-2].value.endswith("ing")
                    ):
                        # "sleeping bags": a verb's -ing form right before the asked kind names what the thing
                        # is for and makes another thing of it (a sleeping bag is no bag; door curtains are
                        # curtains, plant markers markers)
                        reading.compound_modifier = reading.concepts[-2]
                heads.append(order)
        if heads and not heads[0][-1]:
            reading.head_unknown = True
        elif heads and len(heads[0]) >= 2 and not heads[0][-2]:
            reading.modifier_unknown = True
        if lang == "zh" or re.search(r"[\u4e00-\u9fff]", text):
            pos = 0
            zh_text = re.sub(r"[a-z0-9'\-]+", " ", text.lower())
            groups = self._learn(zh_text, known)
            learned = {seg: c for group, _ in groups for seg, c in group.items()}
            words = {**self.chinese, **learned} if learned else self.chinese
            for group, followed in groups:
                reading.groups.append(list(dict.fromkeys(group.values())))
                reading.modifier_groups.append(followed)
            featured = False  # an unknown "X的" modifier seen, waiting for a type after it
            for m in self._chinese_words(zh_text, words):
                span = zh_text[pos : m.start()]
                kind = words[m.group(0)].kind
                if self._unknown_zh(span, reading) and re.sub("的$", "", span).endswith(reading.unknown[-1]):
                    if kind == "type":
                        reading.modifier_unknown = True  # 遮光窗帘: the catalogue has curtains, not that kind
                    elif span.endswith("的") or zh_text[m.end() :].startswith("的"):
                        # 带轮子的大垃圾桶: a feature we have no word for, then a size; 多肉植物的种植套装: an
                        # unknown word glued to a known one before 的 makes another feature (succulents)
                        featured = True
                if featured and kind == "type":
                    reading.modifier_unknown = True
                reading.concepts.append(words[m.group(0)])
                pos = m.end()
            if self._unknown_zh(zh_text[pos:], reading):  # the head of a Chinese noun phrase comes last
                reading.head_unknown = True
            elif (
                pos
                and re.match(r"[\u4e00-\u9fff]", zh_text[pos:])
                and not _ZH_NOISE_HEAD.match(zh_text[pos:])
                and not self._repeats_head(zh_text[pos:], reading)
            ):
                reading.head_unknown = True  # 咖啡机 is a machine, not coffee
                reading.unknown.append(zh_text[pos - 2 : pos + 1])
        reading.concepts = list(dict.fromkeys(reading.concepts))
        return reading

    @staticmethod
    def _repeats_head(rest: str, reading: Reading) -> bool:
        """Whether the Chinese characters after the last word read are the head of the kind just read, as its
        own Chinese name ends (门牌号码砖: 门牌号码 is a number tile, 数字瓷砖, and 砖 is its head)."""
        last = reading.concepts[-1] if reading.concepts else None
        run = re.match(r"[\u4e00-\u9fff]+", rest)
        if last is None or last.kind != "type" or run is None:
            return False
        tail = _ZH_NOISE_TAIL.sub("", run.group(0)) or run.group(0)
        name = chinese_product_type(last.value) or ""
        return len(tail) < len(name) and name.endswith(tail)

    def _read_english(self, text: str, known: set[str], reading: Reading) -> list[bool]:
        """Concepts of one English segment; returns, per content word or phrase, whether it was known."""
        toks = [t for t in index_tokens(text) if not t.isdigit()]
        i, order = 0, []
        while i < len(toks):
            for n in range(min(self.max_len, len(toks) - i), 0, -1):
                typed = tuple(toks[i : i + n])
                concept = self.english.get(typed)
                if concept is not None and concept.value in _HYPERNYMS and all(t in known for t in typed):
                    phrase = " ".join(typed)
                    if phrase not in concept.value:  # "owl" asks for owls, not every bird
                        concept = Concept(concept.kind, phrase, (typed,), phrase)
                if concept is not None and concept.kind == "type" and len(typed) > 1:
                    # "door mat" asks for doormats, not for every mat the type's looser forms cover
                    alts = tuple(
                        a for a in concept.alternatives if not (len(a) < n and typed[-len(a) :] == a)
                    )
                    concept = Concept(concept.kind, concept.value, alts, concept.surface, concept.excluded)
                if concept is not None:
                    reading.concepts.append(concept)
                    if concept.kind == "audience" and all(t in known for t in typed):
                        # "boys" is a child, and the titles that say BOYS (not GIRLS) are the ones asked about;
                        # a word of the audience itself (kids, children's, child's) is any of those words
                        alts = (typed,)
                        if typed in _CHILD_WORDS:
                            alts = tuple(w for w in _CHILD_WORDS if all(t in known for t in w))
                        reading.concepts.append(Concept("word", " ".join(typed), alts, " ".join(typed)))
                    order.append(True)
                    i += n
                    break
            else:
                t = toks[i]
                if t.endswith("ie") and t[:-2] + "y" in known:  # "daisies" (folded to daisie) is DAISY too
                    reading.concepts.append(Concept("word", t[:-2] + "y", ((t,), (t[:-2] + "y",)), t))
                    order.append(True)
                    i += 1
                    continue
                stems = [tuple(index_tokens(t[:-k])) for k in (2, 1)] if t.endswith("y") else []
                stem = next((st for st in stems if st in self.english), None)
                if stem is not None and t not in known:  # "christmassy" is Christmas, "flowery" flowers
                    reading.concepts.append(self.english[stem])
                    order.append(True)
                    i += 1
                    continue
                apart = self._apart(t, known) if t not in known and t not in _NOISE_EN else None
                if apart is not None:  # "bookmark" is the catalogue's BOOK MARK
                    concept = self.english.get(apart) or Concept("word", " ".join(apart), (apart,), t)
                    reading.concepts.append(concept)
                    order.append(True)
                    i += 1
                    continue
                if t not in _NOISE_EN and len(t) > 1 and not (t not in known and _ADVERB.fullmatch(t)):
                    if t in known:
                        # a first part of a closed compound is also that compound ("waste bin": WASTEPAPER BIN)
                        forms = [(t,), *((w,) for (a, _), w in self.closed.items() if a == t)]
                        reading.concepts.append(Concept("word", t, tuple(forms), t))
                        order.append(True)
                    else:
                        reading.unknown.append(t)
                        order.append(False)
                i += 1
        return order

    def _apart(self, word: str, known: set[str]) -> tuple[str, str] | None:
        """A word the catalogue writes as two consecutive title words ("bookmark": BOOK MARK), if it does."""
        for n in range(3, len(word) - 2):
            a, b = index_tokens(word[:n]), index_tokens(word[n:])
            if a and b and a[0] in known and b[0] in known and (a[0], b[0]) in self.bigrams:
                return (a[0], b[0])
        return None

    def _learn(self, text: str, known: set[str]) -> list[tuple[dict[str, Concept], str]]:
        """Dictionary words for the Chinese runs of ``text`` that the vocabulary leaves unread (飞鸭墙饰 -> 飞 fly,
        鸭 duck, 墙 wall, 饰 decoration), as plain-word concepts over the catalogue's title words.

        A run is read only when every dictionary word of it names a title word (a sentence such as 下单后几天能收
        is not a product name) and it is short. Within a run, a word before another is a modifier: its gloss's
        head noun alone may match (鹅毛, goose feather, before 树 is a feather); the run's last word is the
        thing asked for and needs its whole gloss (睡袋 is a sleeping bag, not a bag)."""
        out: list[tuple[dict[str, Concept], str]] = []
        pos = 0
        # one-character words are read again with their unknown neighbours (算盘 is an abacus, not a 盘 plate)
        found = [m for m in self._chinese_words(text, self.chinese) if len(m.group(0)) >= 2]
        for n, (stop, nxt) in enumerate([*((m.start(), m.end()) for m in found), (len(text), len(text))]):
            span = text[pos:stop]
            for run in re.findall(r"[\u4e00-\u9fff]+", span):
                # the last "X的" of a span is its modifier (六镑以上的飞鸭: 飞鸭); one character alone is too
                # ambiguous to read (几 of 一套几只, 放)
                run = _trim_noise(run.rsplit("的", 1)[-1])
                # one character is read only as the head right after a word read (鹅毛|树, a feather tree)
                if len(run) < 2 and not (run and n > 0 and span.startswith(run)):
                    continue
                rest = span[span.rfind(run) + len(run) :]
                before = ""
                if n < len(found) and not re.search(r"[\u4e00-\u9fff]", _ZH_NOISE_RE.sub("", rest)):
                    before = "type" if self.chinese[found[n].group(0)].kind == "type" else "other"
                segments = self._segment_run(run, known)
                tail = self.chinese.get(segments[-1]) if segments else None
                if tail is not None:  # 泡澡球: the run ends in a word the vocabulary has (球, a ball)
                    before = "type" if tail.kind == "type" else "other"
                if group := self._learn_run(run, known, bool(before)):
                    out.append((group, before))
            pos = nxt
        return out

    def _glossary_for(self, known: set[str]) -> ChineseGlossary:
        if self._glossary is None:
            self._glossary = ChineseGlossary(known)
        return self._glossary

    def _segment_run(self, run: str, known: set[str]) -> list[str]:
        return self._glossary_for(known).segment(run) if len(run) <= _LEARN_MAX else []

    def _learn_run(self, run: str, known: set[str], followed: bool) -> dict[str, Concept]:
        key = run + ("+" if followed else "")
        if key in self._learned:
            return self._learned[key] or {}
        if len(self._learned) >= 4096:  # a bounded cache: a long-running service reads on after it fills
            self._learned.clear()
        self._learned[key] = None
        if len(run) > _LEARN_MAX:
            return {}
        glossary = self._glossary_for(known)
        segments = self._segment_run(run, known)
        out: dict[str, Concept] = {}
        for n, seg in enumerate(segments):
            last = n == len(segments) - 1 and not followed
            if seg in self.chinese or _ZH_NOISE_RE.fullmatch(seg):
                continue  # a word the vocabulary has keeps its own reading; a question word (那) names nothing
            alts: list[tuple[str, ...]] = []
            senses = glossary.senses(seg)
            if last and not (senses and glossary.first_sense_complete(seg)):
                return {}  # 炒锅 is first a wok: a frying pan is not what is asked for
            for sense in senses:
                if sense.complete:
                    alts += [tuple(w) for w in itertools.product(*(ws for ws in sense.words if ws))]
                if not last and sense.head is not None:
                    alts += [(w,) for w in sense.head]
            if last:  # the thing asked for: some item must be it, not name it as a modifier (FUNNEL CAKE MIX)
                alts = [a for a in alts if self.names_thing(a)]
            alts = list(dict.fromkeys(a for a in alts if a and len(a) <= 3))[:12]
            if not alts:
                return {}
            # the exclusions of the vocabulary's own kind of that head (a diamond ring is no napkin ring)
            excluded = tuple(
                dict.fromkeys(
                    x
                    for c in self.chinese.values()
                    if c.kind == "type" and any(c.value == a[-1] for a in alts)
                    for x in c.excluded
                )
            )
            out[seg] = Concept("word", " ".join(alts[0]), tuple(alts), seg, excluded)
        self._learned[key] = out
        return out

    def _chinese_words(self, text: str, words: dict[str, Concept] | None = None) -> list[re.Match[str]]:
        """Vocabulary words in ``text``, less one-character words glued to an unknown word: one that starts an
        unknown word of two or more characters (鸡 in 鸡尾酒, cocktail, is not a chicken; 小 in 小伞 still means
        small), a one-character type or material word that ends one (电动剃须刀 is a razor, not a knife; 墙纸 is
        wallpaper, not paper), and 小 or 大 right before a motif (小猫 is a cat, not a small item)."""
        words = self.chinese if words is None else words
        found = self._segment(text, words)
        keep: list[re.Match[str]] = []
        for n, m in enumerate(found):
            if len(m.group(0)) == 1:
                stop = found[n + 1].start() if n + 1 < len(found) else len(text)
                start = keep[-1].end() if keep else 0
                after = re.match(r"[\u4e00-\u9fff]*", text[m.end() : stop])
                before = re.search(r"[\u4e00-\u9fff]*$", text[start : m.start()])
                head = after.group(0) if after else ""
                tail = before.group(0) if before else ""
                if len(head) >= 2 and not _ZH_NOISE_HEAD.match(head):
                    continue
                concept = words[m.group(0)]
                if (
                    concept.kind == "size"
                    and n + 1 < len(found)
                    and found[n + 1].start() == m.end()
                    and words[found[n + 1].group(0)].kind == "theme"
                ):
                    continue  # 小猫, 小狗: a diminutive of the motif, not a small item
                if (
                    concept.kind in ("type", "material")
                    and (not head or _ZH_NOISE_HEAD.fullmatch(head))  # 卖烧烤架吗: 吗 is no word
                    and len(tail) >= 2
                    and not _ZH_NOISE_TAIL.search(tail)
                ):
                    continue
            keep.append(m)
        return keep

    def _segment(self, text: str, words: dict[str, Concept] | None = None) -> list[re.Match[str]]:
        """Vocabulary words of ``text`` that cover the most characters (then the fewest words, then the longest
        word first): 陶瓷小鸟屋 is 陶瓷|小|鸟屋 (a birdhouse), not 陶瓷|小鸟 and an unknown 屋."""
        extra = {} if words is None or words is self.chinese else words
        longest = max(map(len, self.chinese), default=1)
        n = len(text)
        # best[i]: (characters covered, -words, matches) for text[i:]
        best: list[tuple[int, int, list[re.Match[str]]]] = [(0, 0, [])] * (n + 1)
        for i in range(n - 1, -1, -1):
            choice = best[i + 1]
            for size in range(min(longest, n - i), 0, -1):
                m = self.chinese_re.fullmatch(text, i, i + size)
                if m is None and text[i : i + size] in extra:
                    m = re.compile(re.escape(text[i : i + size])).fullmatch(text, i, i + size)
                if m is None:
                    continue
                cov, n_words, rest = best[i + size]
                if (cov + size, n_words - 1) > choice[:2]:
                    choice = (cov + size, n_words - 1, [m, *rest])
            best[i] = choice
        return best[0][2]

    @staticmethod
    def _unknown_zh(span: str, reading: Reading) -> bool:
        """Chinese words in ``span`` that are neither vocabulary nor question words (trimmed of those)."""
        found = False
        for found_run in re.findall(r"[\u4e00-\u9fff]+", span):
            run = _trim_noise(found_run)
            if len(_ZH_NOISE_RE.sub("", run)) >= 2:
                reading.unknown.append(run)
                found = True
        return found


_UNITS = {
    "cm": "cm", "厘米": "cm", "公分": "cm", "mm": "mm", "毫米": "mm", "m": "m",
    "kg": "kg", "千克": "kg", "公斤": "kg", "g": "g", "gr": "g", "gram": "g", "grams": "g", "克": "g",
    "ml": "ml", "毫升": "ml", "l": "l", "litre": "l", "litres": "l", "liter": "l", "升": "l",
    "in": "in", "inch": "in", "inches": "in", "英寸": "in",
}  # fmt: skip
_UNIT_RE = "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
_NUMBER = r"(\d+(?:\.\d+)?)"
#: a size written as two lengths ("45x45cm", "65CMx65CM", 45×45) or as one measure ("60CM", 500g, 60厘米)
_DIMENSION = re.compile(
    rf"(?<![a-z0-9.]){_NUMBER}\s*(?:cm|厘米|公分)?\s*[x×*]\s*{_NUMBER}\s*(?:cm|厘米|公分)?(?![a-z])"
    rf"|(?<![a-z0-9.]){_NUMBER}\s*({_UNIT_RE})(?![a-z])",
    re.IGNORECASE,
)


def dimensions(text: str) -> list[tuple[str, tuple[int, int]]]:
    """The sizes written in ``text`` as canonical tokens (``45x45``, ``60cm``, ``500g``) with their spans:
    a title's "45x45cm" and a shopper's "45x45", 60厘米 and "60CM", 500克 and "500g" agree."""
    out = []
    for m in _DIMENSION.finditer(text):
        if m.group(1):
            token = f"{float(m.group(1)):g}x{float(m.group(2)):g}"
        else:
            unit = _UNITS[m.group(4).lower()]
            token = f"{float(m.group(3)):g}{unit}"
        out.append((token, m.span()))
    return out


def _trim_noise(run: str) -> str:
    """``run`` less the question words at either end (请问…吗)."""
    while True:
        head = _ZH_NOISE_HEAD.match(run)
        tail = _ZH_NOISE_TAIL.search(run)
        if head and head.end() > 0:
            run = run[head.end() :]
        elif tail and tail.start() < len(run):
            run = run[: tail.start()]
        else:
            return run


def _names_nothing(word: str) -> bool:
    """Whether an English word alone names nothing a shopper asks for: a stop word or a question word."""
    toks = index_tokens(word)
    return not toks or toks[0] in _NOISE_EN or word in _NOISE_EN


def _lexicon_kind(kind: str, value: str) -> str:
    for lex_kind, ours in _LEXICON_KINDS.items():
        if ours == kind and value in attribute_lexicon()[lex_kind]:
            return lex_kind
    raise KeyError(value)
