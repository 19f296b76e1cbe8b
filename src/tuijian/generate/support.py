"""Free-text checks for model-written copy: every descriptive word backed by the item's data, no text about the
text, and Chinese that reads as Chinese.

The claim guard (:func:`tuijian.generate.guard.check`) checks what a text says about fields it knows (type,
count, capacity, colour, material, audience, price, names). A language model also invents what no field covers:
"made from sustainable materials", "handmade", "the finest ingredients", "sold at a local shop". These checks
close that gap for free text (``check(..., free_text=True)``, which the writer uses for every LLM reply):

* :func:`unsupported_words`: each content word of the text must occur in the item's data (title, description,
  brand, category, the record's values with their lexicon synonyms and Chinese names, the vetted review
  clauses, a vetted reason) or be a generic shop word (:data:`GENERIC_EN`, :data:`GENERIC_ZH`: praise, giving,
  buying, words that say nothing about the item). English is compared by a light stem ("candles" = "candle"),
  Chinese nouns and adjectives (jieba's part-of-speech tags) by containment in a supported Chinese name
  (纸杯 in 蛋糕纸杯). Words inside a quotation are left to the guard's review-quote check.
* :func:`meta_text`: text about the writing itself ("A one-sentence advert for …", "Here is …", "I'm excited
  to …", 广告语, 商品名称) is no copy.
* :func:`chinese_fluency`: the mean log-probability per character of jieba's best segmentation under its own
  word-frequency dictionary; character soup ("猫猫献猫献猫献") falls far below real Chinese.
  :func:`repeated_sentence`: a sentence written twice.

The template backend writes only record facts by construction and is checked by the claim guard alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from tuijian.nlp.lexicon import attribute_lexicon
from tuijian.nlp.product import chinese_product_type
from tuijian.nlp.tokenize import _jieba, stopwords

if TYPE_CHECKING:
    from tuijian.generate.facts import ItemFacts
    from tuijian.generate.guard import Claim

#: Generic English shop words: they praise, invite, give or buy, and say nothing checkable about the item.
#: (Function words come from ``nlp/resources/stopwords_en.txt``.) A word not here and not in the item's data
#: is an unsupported claim.
GENERIC_EN: frozenset[str] = frozenset(
    (  # noqa: SIM905 - a word list with comments reads better as one string
        # praise and appeal
        "perfect ideal lovely beautiful beautifully pretty great nice good best better fine fun cute charming "
        "delightful sweet special favourite favorite wonderful fantastic lovely classic simple simply stylish "
        "smart neat happy joy cheerful must-have essential treat treats touch look looks looking style styled "
        "design designed detail details feature features featuring featured eye-catching love loved loves lover "
        "lovers like likes enjoy enjoyed "
        # giving, occasions in general, people
        "gift gifts gifting present presents idea ideas someone anyone everyone friend friends family yourself "
        "loved ones one ones person people occasion occasions day days everyday moment moments time "
        # buying
        "shop shops shopping shopper shoppers buy buying order ordered basket cart checkout price priced "
        "today now yours pick picks choice choose option collection range add adds added grab get "
        "available stock deal value bargain save "
        # the item in general
        "item items product products piece pieces thing things set sets pack packs size colour color "
        "home house "
        # common verbs and adverbs that carry no product fact
        "make makes making made bring brings bringing keep keeps keeping give gives giving take takes put use "
        "uses using used need needs want wants find finds see show shows come comes go goes let lets help helps "
        "say says know think feel try tried add comes ready sure easy easily little whole every always ever "
        "also really truly right well just still already again soon new perfectly practical handy useful "
        "meet meeting introducing introduce discover welcome remember forget miss misses wait spoil spotted seen "
        "found hope thought mind keen fond yes hello psst basically another back later whether something kind "
        "part addition mere recent within reach surprise taste secure tip work works working picture feed "
        "line short finished matching led decorated hand holds hold carries eye catcher "
        # selling, and the names of record fields (their values are checked by the claim guard)
        "sell sells sale costs cost pay worth per fair listing listed click brand capacity material pattern "
        "theme motif might may must shall chosen getting got gets "
        # what a review summary says about the reviews (the quotes themselves are checked as quotes)
        "pros cons review reviews reviewer reviewers rated rating ratings praise praised praises complain "
        "complaint complaints mention mentions mentioned"
    ).split()
)

#: Generic Chinese shop words (nouns and adjectives by jieba's tags that say nothing checkable).
GENERIC_ZH: frozenset[str] = frozenset(
    "礼物 礼品 好物 东西 商品 产品 宝贝 单品 款 款式 这款 一款 家 家里 家中 生活 日常 每天 今天 现在 时候 时光 "  # noqa: SIM905
    "心意 惊喜 喜欢 喜爱 最爱 好看 漂亮 美丽 可爱 经典 简单 简约 实用 方便 好 完美 理想 特别 "
    "朋友 家人 亲友 自己 大家 顾客 买家 你 您 人 选择 好选择 价格 到手价 购物车 购物 下单 好东西 一件 件 个 "
    "设计 风格 颜色 尺寸 数量 套 包 盒 支 只 样 心 份 位置 小物 装 收藏 爱好者 爱好 点缀 氛围 感觉 "
    "新 全新 值得 必备 首选 好帮手 帮手 时候 场合 节日 "
    # prices and the names of record fields (their values are checked by the claim guard)
    "售价 标价 一口价 现价 价 本品 主题 元素 图案 容量 容纳 材质 品牌 回家 带回家 心情 信息 详情 清单 本店 进店 "
    "店里 有售 心动 犹豫 愉快 合适 正合适 不错 能带 看吧 回家吧 一键 有点 有空 物件 基本 商品名称 品名 时用 "
    "好物".split()
)

_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_SPAN = re.compile(r"[\u4e00-\u9fff]+")
_QUOTE = re.compile(r'"[^"]{3,}"|“[^”]{3,}”')
#: jieba part-of-speech tags of content words: nouns (n, nr, ns, nt, nz, ng, vn) and adjectives (a, an, ag).
_ZH_CONTENT_TAGS = ("n", "a", "vn")
_ZH_NOT_CONTENT_TAGS = frozenset({"ad", "nrfg"})
_PLURAL = re.compile(r"(?:(?<=[sxz])|(?<=ch)|(?<=sh))es$|(?<!s)s$")
_SUFFIXES = ("ing", "edly", "ed", "ly", "er", "est", "ful", "ness", "ment", "ive", "ion", "al")

#: Text about the writing, not about the item (a model explaining or announcing its answer).
META_EN: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:one|two|three|single|short|\d)[- ]sentences?\b",
        r"\b(?:this|the|my|an?|following|above|previous|your) (?:advert|advertisement|ad|description|slogan|"
        r"tagline|sentence|paragraph|prompt|caption|copy|answer|response)\b",
        r"\bproduct description\b",
        r"\bhere(?: is|'s| are)(?: (?:an?|the|my|your|some)(?: \w+){0,2} (?:advert|advertisement|ad|"
        r"description|slogan|tagline|sentences?|paragraph|copy|text|options?|version))?\s*:|"
        r"\bhere(?: is|'s| are) (?:an?|the|my|your|some)(?: \w+){0,2} (?:advert|advertisement|ad|description|"
        r"slogan|tagline|sentences?|paragraph|copy|text|options?|version)\b",
        r"(?<![\w'])i(?:'m|'ll|'ve| am| will| have| would| hope| think)?(?![\w'])",
        r"\byou(?:'re| are) (?:absolutely |quite )?right\b",
        r"\bas an ai\b",
        r"\bfacts? (?:given|provided|mentioned|above)\b",
        r"\b(?:word|character) (?:count|limit)\b",
    )
)
META_ZH: tuple[str, ...] = (
    "广告语", "广告词", "商品描述", "产品描述", "文案", "以下是", "这是一段", "这是一句", "句子", "说明：",
    "说明:", "事实", "英文", "中文", "英文名", "中文名", "翻译", "提示", "描述：",
)  # fmt: skip

#: Chinese fluency floor: mean log-probability per character under jieba's dictionary (see
#: :func:`chinese_fluency`). Calibrated in bench/RESULTS.md: real template copy ≥ -7.9, held-out real shopping
#: reviews ≥ -9.0 (1st percentile -7.1); character soup from small models -8.7 and -9.7.
ZH_FLUENCY_FLOOR = -8.5
_ZH_MIN_CHARS = 8


def _stem(word: str) -> str:
    """A light English stem: the plural, then one suffix, then a final e ("erasers", "eraser" -> "eras";
    "decorative", "decoration" -> "decorat"; "boxes" -> "box")."""
    w = re.sub(r"'s?$", "", word)
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3:
        w = _PLURAL.sub("", w)
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: len(w) - len(suffix)]
            break
    return w[:-1] if len(w) > 3 and w.endswith("e") else w


@cache
def _generic_stems() -> frozenset[str]:
    return frozenset(_stem(w) for w in GENERIC_EN | stopwords("en")) | GENERIC_EN | stopwords("en")


@dataclass(frozen=True)
class _Support:
    stems: frozenset[str]
    zh: tuple[str, ...]  # Chinese strings a Chinese word may be part of


def _support(facts: ItemFacts, extra_sources: tuple[str, ...]) -> _Support:
    key = (facts.title, facts.description, id(facts.record), len(facts.evidence), extra_sources)
    memo = facts.__dict__.get("_support_memo")
    if memo is not None and memo[0] == key:
        return memo[1]
    texts = [facts.title, facts.description, facts.brand, facts.category, *extra_sources]
    texts += [f"{e.aspect} {e.text}" for e in facts.evidence]  # a summary names the aspects it sums up
    zh: list[str] = [t for t in texts if _CJK.search(t)]
    lex = attribute_lexicon()
    record = facts.record
    kinds = {"theme": ("pattern", "occasion", "style"), "colour": ("colour",), "material": ("material",),
             "size": ("size",), "audience": ("recipient",)}  # fmt: skip
    for field_name, lex_kinds in kinds.items():
        for value in record.values(field_name):
            texts.append(str(value))
            for kind in lex_kinds:
                forms = lex.get(kind, {}).get(str(value))
                if forms:
                    texts += list(forms["en"])
                    zh += list(forms["zh"])
    texts += [str(v) for v in record.values("capacity")]
    if record.product_type is not None:
        texts.append(str(record.product_type.value))
        zh_type = chinese_product_type(str(record.product_type.value))
        if zh_type:
            zh.append(zh_type)
    names = facts.names
    texts += [names.noun_en or "", names.short_title]
    zh += [n for n in (names.name_zh, names.type_zh) if n]
    stems = frozenset(_stem(w) for t in texts for w in _EN_WORD.findall(t.lower().replace("-", " ")))
    out = _Support(stems, tuple(zh))
    facts.__dict__["_support_memo"] = (key, out)
    return out


def _prepare(text: str, facts: ItemFacts) -> str:
    """The text without the shop's own words (title, spec line) and quotations (checked as quotes)."""
    from tuijian.generate.meaning import _blank, _shop_words

    text = _blank(text, _shop_words(text, facts))
    return _blank(text, [m.span() for m in _QUOTE.finditer(text)])


def unsupported_words(text: str, facts: ItemFacts, extra_sources: tuple[str, ...] = ()) -> list[str]:
    """The content words of ``text`` that neither the item's data nor the generic shop words back, in order."""
    support = _support(facts, extra_sources)
    body = _prepare(text, facts)
    generic = _generic_stems()
    out: list[str] = []
    latin = _CJK_SPAN.sub(" ", body).lower().replace("’", "'").replace("-", " ")
    for word in _EN_WORD.findall(latin):
        if len(word) < 3 or word in generic:
            continue
        stem = _stem(word)
        if stem in generic or stem in support.stems:
            continue
        out.append(word)
    if _CJK.search(body):
        for word in _chinese_content_words(body):
            word = _strip_generic(word)  # 风好物 (jieba's cut of 摄政风好物) -> 风
            if len(word) < 2 or word in GENERIC_ZH or word in stopwords("zh"):
                continue
            if any(word in s for s in support.zh):
                continue
            out.append(word)
    return list(dict.fromkeys(out))


@cache
def _generic_zh_affixes() -> tuple[str, ...]:
    return tuple(sorted((w for w in GENERIC_ZH if len(w) >= 2), key=len, reverse=True))


def _strip_generic(word: str) -> str:
    """The word without a generic shop word at its start or end (好物, 礼物, 设计 …)."""
    for g in _generic_zh_affixes():
        if word != g and word.endswith(g):
            word = word[: -len(g)]
            break
    for g in _generic_zh_affixes():
        if word != g and word.startswith(g):
            return word[len(g) :]
    return word


def _chinese_content_words(text: str) -> list[str]:
    import jieba.posseg as pseg

    _jieba()
    words = []
    for span in _CJK_SPAN.findall(text):
        for token in pseg.lcut(span):
            flag = token.flag
            if flag in _ZH_NOT_CONTENT_TAGS or not flag.startswith(_ZH_CONTENT_TAGS):
                continue
            words.append(token.word)
    return words


def meta_text(text: str, facts: ItemFacts | None = None) -> str | None:
    """The words of ``text`` that talk about the writing or the writer instead of the item, or ``None``
    (quotations and, given ``facts``, the shop's own title are left out: "Lunch Box I Love London")."""
    body = _QUOTE.sub(" ", text) if facts is None else _prepare(text, facts)
    for pattern in META_EN:
        m = pattern.search(body)
        if m:
            return m.group(0)
    for marker in META_ZH:
        if marker in body:
            return marker
    return None


def chinese_fluency(text: str) -> float | None:
    """Mean log-probability per Chinese character of jieba's best segmentation (no HMM), under jieba's own
    word frequencies; ``None`` for text with fewer than 8 Chinese characters. Real Chinese sits around -5 to
    -7; a string of characters that do not form words falls far lower."""
    jieba = _jieba()
    freq, total = jieba.dt.FREQ, jieba.dt.total
    n, logp = 0, 0.0
    for span in _CJK_SPAN.findall(text):
        for word in jieba.lcut(span, HMM=False):
            n += len(word)
            logp += math.log((freq.get(word) or 0.5) / total)
    return logp / n if n >= _ZH_MIN_CHARS else None


def repeated_sentence(text: str) -> str | None:
    """A sentence (six characters or more) that ``text`` writes twice, or ``None``."""
    seen: set[str] = set()
    for sentence in re.split(r"[.!?]+(?=\s|$)|[。！？\n]+", text):  # "1.88 inch" is no sentence end
        s = " ".join(sentence.lower().split())
        if len(s) < 6:
            continue
        if s in seen:
            return sentence.strip()
        seen.add(s)
    return None


def free_text_claims(
    text: str, facts: ItemFacts, extra_sources: tuple[str, ...] = ()
) -> Iterator[tuple[Claim, bool]]:
    """The free-text checks as guard claims: ``unsupported`` (the words), ``meta``, ``fluency``, ``repetition``."""
    from tuijian.generate.guard import Claim

    words = unsupported_words(text, facts, extra_sources)
    yield Claim("unsupported", ", ".join(words), " ".join(words)), not words
    meta = meta_text(text, facts)
    yield Claim("meta", meta or "", meta or ""), meta is None
    if _CJK.search(text):
        score = chinese_fluency(text)
        yield (
            Claim("fluency", "" if score is None else f"{score:.2f}", text[:40]),
            (score is None or score >= ZH_FLUENCY_FLOOR),
        )
    repeated = repeated_sentence(text)
    yield Claim("repetition", repeated or "", repeated or ""), repeated is None
