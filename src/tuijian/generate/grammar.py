"""Small grammar for generated copy: English articles and number agreement, Chinese measure words, and the
checkers the tests and ``bench/generation.py`` run over generated texts.

>>> indefinite("apron"), indefinite("unicorn mug"), indefinite("hour"), indefinite("LED lamp")
('an apron', 'a unicorn mug', 'an hour', 'an LED lamp')
>>> plural("box"), plural("party bunting"), plural("lights"), counted(1, "lights"), counted(6, "cake case")
('boxes', 'party bunting', 'lights', '1 set of lights', '6 cake cases')
>>> english_errors("It is a red lights. Meet a apron, 2 mug and an unicorn. Perfect for party.")
['a red lights', 'a apron', '2 mug', 'an unicorn', 'for party']
"""

from __future__ import annotations

import re
from functools import cache

#: Nouns with no singular/plural difference in shop copy (mass nouns and zero plurals).
_UNCOUNTABLE = frozenset(
    [
        "bunting",
        "cutlery",
        "confetti",
        "tinsel",
        "twine",
        "tissue",
        "paper",
        "incense",
        "glue",
        "tape",
        "string",
        "wrap",
        "chalk",
        "clay",
        "ribbon",
        "adhesive",
        "foil",
        "wax",
        "jewellery",
        "jewelry",
        "furniture",
        "equipment",
        "stationery",
        "toner",
        "ink",
        "oil",
        "lace",
        "felt",
        "cotton",
        "linen",
        "wool",
        "silk",
        "denim",
        "velvet",
        "glitter",
        "bedding",
        "crockery",
        "glassware",
        "pottery",
        "luggage",
        "sellotape",
    ]
)
#: Nouns that are plural in form and take plural agreement ("these scissors are").
_PLURAL_ONLY = frozenset(
    [
        "scissors",
        "tongs",
        "sunglasses",
        "glasses",
        "trousers",
        "jeans",
        "pants",
        "shorts",
        "pyjamas",
        "lights",
        "slippers",
        "socks",
        "earrings",
        "skittles",
        "headphones",
        "binoculars",
        "pliers",
        "tweezers",
        "secateurs",
        "clippers",
    ]
)
_IRREGULAR = {"knife": "knives", "shelf": "shelves", "leaf": "leaves", "loaf": "loaves", "half": "halves",
              "wolf": "wolves", "mouse": "mice", "goose": "geese", "child": "children", "man": "men",
              "woman": "women", "foot": "feet", "tooth": "teeth", "person": "people", "cactus": "cacti",
              "scarf": "scarves", "calf": "calves", "thief": "thieves", "wife": "wives", "life": "lives"}  # fmt: skip
#: Words whose first letter is a vowel but whose sound is not (a unicorn), and the reverse (an hour).
_A_VOWEL_LETTER = ("uni", "use", "usb", "ut", "euro", "eu", "one", "once", "ur", "ukulele", "u-")
_AN_CONSONANT_LETTER = ("hour", "honest", "honour", "honor", "heir", "herb")
_LETTER_NAMES_AN = frozenset("aefhilmnorsx")
_A_INITIALISMS = frozenset({"usb", "uk", "us", "eu"})  # an LED, an MP3, an X-ray, an A4 pad
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+(?:[.,]\d+)?")


def article(word: str) -> str:
    """``"a"`` or ``"an"`` for the word that follows, by its sound."""
    w = word.strip(" \"'“(").split(" ")[0]
    if not w:
        return "a"
    low = w.lower()
    if w[0].isdigit():
        return "an" if re.match(r"(8|11|18)(?!\d)|8\d", low) else "a"
    letters = re.sub(r"[^A-Za-z]", "", w)
    if letters.isupper() and 1 < len(letters) <= 4:  # initialisms: an LED, an HP, a USB
        if letters.lower() in _A_INITIALISMS:
            return "a"
        return "an" if letters[0].lower() in _LETTER_NAMES_AN else "a"
    if len(letters) == 1:
        return "an" if letters.lower() in _LETTER_NAMES_AN else "a"
    if low.startswith(_AN_CONSONANT_LETTER):
        return "an"
    if low.startswith(_A_VOWEL_LETTER):
        return "a"
    return "an" if low[0] in "aeiou" else "a"


def indefinite(phrase: str) -> str:
    """``"a bottle opener"``, ``"an apron"``; a plural or uncountable phrase gets no article ("red lights")."""
    if not phrase:
        return phrase
    if is_plural(phrase) or head(phrase) in _UNCOUNTABLE:
        return phrase
    return f"{article(phrase)} {phrase}"


def head(phrase: str) -> str:
    """The last word of a noun phrase, lower case."""
    words = phrase.lower().split()
    return words[-1] if words else ""


def is_plural(phrase: str) -> bool:
    """Whether a noun phrase is plural in form: its head is a plural-only noun or a regular plural."""
    h = head(phrase)
    if h in _PLURAL_ONLY or h in _IRREGULAR.values():
        return True
    if h in _UNCOUNTABLE or len(h) <= 3 or not h.isalpha():
        return False
    if h.endswith(("ss", "us", "is", "ics", "ous")) or h in {
        "canvas",
        "christmas",
        "atlas",
        "lens",
        "series",
    }:
        return False
    return h.endswith("s")


def plural(phrase: str) -> str:
    """The plural of a noun phrase (only its head changes): "cake case" -> "cake cases", "box" -> "boxes"."""
    words = phrase.split()
    if not words:
        return phrase
    h = words[-1]
    low = h.lower()
    if is_plural(phrase) or low in _UNCOUNTABLE:
        return phrase
    if low in _IRREGULAR:
        new = _IRREGULAR[low]
    elif re.search(r"[^aeiou]y$", low):
        new = h[:-1] + "ies"
    elif low.endswith(("s", "x", "z", "ch", "sh")):
        new = h + "es"
    else:
        new = h + "s"
    return " ".join([*words[:-1], new])


def counted(n: int, phrase: str) -> str:
    """``n`` of a noun phrase with agreement: "1 mug", "6 mugs", "12 pieces of bunting", "1 set of lights"."""
    if head(phrase) in _UNCOUNTABLE:
        return f"{n} {'piece' if n == 1 else 'pieces'} of {phrase}"
    if is_plural(phrase):
        return f"{n} {'set' if n == 1 else 'sets'} of {phrase}"
    return f"{n} {phrase if n == 1 else plural(phrase)}"


def be(phrase: str) -> str:
    """``"is"`` or ``"are"`` for a noun phrase subject."""
    return "are" if is_plural(phrase) else "is"


def it(phrase: str) -> str:
    """The pronoun for a product noun phrase: ``"it"`` or ``"they"``."""
    return "they" if is_plural(phrase) else "it"


def join_en(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# ----------------------------------------------------------------------------------------- Chinese measure words
_ZH_MEASURE = (
    (("笔", "蜡烛", "铅笔", "吸管", "筷子", "香", "花"), "支"),
    (("卡", "卡片", "纸", "贴纸", "贴", "明信片", "标签", "海报", "画", "餐垫", "桌布", "毯", "地毯"), "张"),
    (("本", "册", "簿", "书", "日历"), "本"),
    (("杯", "碗", "碟", "盘", "鸟", "鸭", "鸡", "猫", "狗", "兔", "熊", "手套", "袜子", "拖鞋"), "只"),
    (("伞", "扇", "剪刀", "尺子", "勺子", "叉子", "刀"), "把"),
    (("围巾", "毛巾", "丝带", "彩旗", "项链", "手链", "腰带", "绳", "链条", "裙"), "条"),
    (("椅", "凳", "桌", "柜", "灯", "钟", "秤", "机", "仪", "器", "架"), "台"),
    (("套装", "套件", "餐具"), "套"),
)
#: Heads counted with 台 only when they are machines, not racks or holders.
_NOT_TAI = ("支架", "衣架", "托架", "书架", "架子", "烛台", "收纳架", "挂钩架", "杯架", "开瓶器", "分配器", "夹子",
            "去核器", "切割器", "榨汁器", "保温器", "擦丝器", "分类架", "灯笼", "灯罩")  # fmt: skip


def measure_word(name_zh: str) -> str:
    """The measure word for a Chinese product name ("支" for 笔, "张" for 卡片, "个" by default)."""
    for word in _NOT_TAI:
        if name_zh.endswith(word):
            return "个"
    for endings, measure in _ZH_MEASURE:
        if name_zh.endswith(endings):
            return measure
    return "个"


# ----------------------------------------------------------------------------------------------------- checkers
_OCCASION_NOUNS = frozenset({"party", "wedding", "picnic", "birthday", "celebration", "gift", "present"})
_PHRASE_END = frozenset(
    [
        "of",
        "with",
        "for",
        "and",
        "in",
        "to",
        "has",
        "have",
        "is",
        "are",
        "holds",
        "comes",
        "gets",
        "was",
        "were",
        "at",
        "on",
    ]
)
_DETERMINERS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "my",
        "your",
        "our",
        "their",
        "his",
        "her",
        "its",
        "any",
        "every",
        "each",
        "some",
        "no",
        "one",
    ]
)


@cache
def _count_nouns() -> tuple[frozenset[str], frozenset[str]]:
    """(singular, plural) head nouns of the product lexicon, for number-agreement checks."""
    from tuijian.nlp.product.reader import _lexicon

    lex = _lexicon()
    singular = {h for h in lex.heads if h.isalpha() and h not in _UNCOUNTABLE and not is_plural(h)}
    singular -= {
        "set",
        "pack",
        "kit",
        "pair",
        "box",
        "case",
    }  # "a set of", "a pack of" take a count after them
    return frozenset(singular), frozenset(plural(h) for h in singular) | _PLURAL_ONLY


def english_errors(text: str, shop_names: tuple[str, ...] = ()) -> list[str]:
    """Article and number-agreement errors in English ``text``: "a apron", "an unicorn", "a red lights",
    "2 mug", "1 mugs", and a bare singular occasion noun ("Perfect for party"). Quoted review text and the
    shop's own names of the item (``shop_names``: its title, "3 Hook Photo Shelf") are skipped."""
    text = re.sub(r'"[^"]*"|“[^”]*”', " ", text)
    for name in sorted((n for n in shop_names if n), key=len, reverse=True):
        text = text.replace(name, " ")
    singular, plurals = _count_nouns()
    errors: list[str] = []
    words = [(m.group(0), m.start()) for m in _WORD.finditer(text)]
    for i, (word, _) in enumerate(words):
        low = word.lower()
        nxt = words[i + 1][0] if i + 1 < len(words) else ""
        if low in ("a", "an") and nxt:
            if (nxt[0].isalpha() or nxt[0].isdigit()) and article(nxt) != low:
                errors.append(f"{word} {nxt}")
                continue
            # "a red lights": the noun phrase after the article ends on a plural product noun
            for k in range(i + 1, min(i + 5, len(words))):
                w = words[k][0].lower()
                if w in plurals:
                    if k + 1 < len(words) and words[k + 1][0].lower() in ("holder", "case", "stand", "box"):
                        break  # "a cards holder": a noun modifier, not the head
                    errors.append(" ".join(x for x, _ in words[i : k + 1]))
                    break
                if w in singular or w in _DETERMINERS or w in _PHRASE_END or w[0].isdigit():
                    break
        elif re.fullmatch(r"\d+", low) and nxt:
            n = int(low)
            noun = nxt.lower()
            before = words[i - 1][0].lower() if i else ""
            if before in ("x", "no", "number", "size", "model", "page", "item"):
                continue
            after = words[i + 2][0].lower() if i + 2 < len(words) else ""
            # "18 slide tabs": "slide" modifies the plural noun after it
            modifier = (
                after in plurals
                or after in singular
                or (after.isalpha() and len(after) > 3 and after.endswith("s"))
            )
            if (
                n == 1
                and noun in plurals
                or n > 1
                and noun in singular
                and not modifier
                and not _glued_unit(text, words, i)
            ):
                errors.append(f"{word} {nxt}")
        elif low == "for" and nxt.lower() in _OCCASION_NOUNS:
            errors.append(f"{word} {nxt}")
    return errors


def _glued_unit(text: str, words: list[tuple[str, int]], i: int) -> bool:
    """ "2-pack", "3-piece", "100-sheet": a number joined to a noun by a hyphen is an adjective."""
    start = words[i][1] + len(words[i][0])
    return text[start : start + 1] == "-"


_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
#: The spec line of Chinese copy (the shop's English title and the item code are shown there and only there).
SPEC_LINE = re.compile(r"(?:规格|货号)：[^\n]*")


def latin_share(text: str, item_id: str = "") -> float:
    """The share of Latin letters among the non-space characters of a Chinese text, leaving out the spec line
    and the item code."""
    body = SPEC_LINE.sub("", text)
    if item_id:
        body = body.replace(item_id, "")
    chars = [c for c in body if not c.isspace()]
    return len(_LATIN.findall(body)) / max(len(chars), 1)


def names_product_in_chinese(text: str, name_zh: str | None) -> bool:
    """Whether a Chinese text names the product by its Chinese name (outside the spec line)."""
    return bool(name_zh) and name_zh in SPEC_LINE.sub("", text)  # type: ignore[operator]


def distinct_2(texts: list[str]) -> float:
    """Unique token bigrams / all token bigrams over ``texts`` (jieba for Chinese): how varied the copy is."""
    from tuijian.nlp.tokenize import tokenize

    grams = [tuple(t[i : i + 2]) for t in (tokenize(x) for x in texts) for i in range(len(t) - 1)]
    return len(set(grams)) / max(len(grams), 1)
