"""The built-in offline generator: copy written from an item's structured product record, in English and Chinese.

Tasks: ``description``, ``ad`` (personalised), ``title`` (a title line), ``push`` (a push notification) and
``summary`` (of real reviews). Each task has several styles (:data:`STYLES`) and three lengths (:data:`LENGTHS`);
without a choice, the seed picks them, so the copy varies across items. Every sentence is filled only with facts
of the record (type, theme, colour, material, pack count, capacity, audience), the catalogue (brand, price) and
review opinions. The English names the product with the right article and number; the Chinese names it in Chinese
(:mod:`tuijian.generate.naming`), with measure words, and shows the shop's English title only in the spec line
(规格：…). Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections import Counter

from tuijian.generate.facts import Evidence, ItemFacts
from tuijian.generate.grammar import counted, indefinite, join_en, measure_word, plural
from tuijian.generate.naming import Names, proper
from tuijian.nlp.aspects import aspect_name
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
_OCCASION_USE_ZH = {
    "christmas": ("圣诞节装点家里正合适", "给圣诞节添一份喜庆"),
    "easter": ("复活节用正合适", "给复活节添一点春天的气息"),
    "halloween": ("万圣节用正合适", "给万圣节添点趣味"),
    "valentine": ("情人节送出正合适", "为情人节添一份心意"),
    "birthday": ("生日派对上用正合适", "给生日添一份惊喜"),
    "wedding": ("婚礼上用正合适", "为婚礼添一份浪漫"),
    "party": ("派对上用正合适", "让派对更热闹"),
    "picnic": ("带去野餐正合适", "让野餐更有情调"),
    "tea time": ("下午茶时用正合适", "让下午茶更有仪式感"),
    "tea party": ("茶会上用正合适", "让茶会更有仪式感"),
    "baking": ("烘焙时用得上", "给烘焙添点乐趣"),
    "garden": ("放在花园里正合适", "给花园添一抹亮色"),
    "summer fun": ("夏天用正合适", "让夏日更轻松"),
}


def title_case(title: str) -> str:
    """``WHITE HANGING HEART`` -> ``White Hanging Heart``; mixed-case titles are kept as they are."""
    if title.isupper():
        return " ".join(w.capitalize() if w.isalpha() else w.title() for w in title.split())
    return title


def _shuffle_tail(out: list[str], start: int, rng: random.Random) -> None:
    """Put the fact sentences after ``out[start]`` (each stands on its own) in a seeded order, for variety."""
    tail = out[start:]
    rng.shuffle(tail)
    out[start:] = tail


def _pick(rng: random.Random, options: tuple[str, ...] | list[str], **values: object) -> str:
    return rng.choice(options).format(**values)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _zh_occasion(n: Names) -> str | None:
    return n.occasions[0] if n.occasions and n.occasions[0] in _OCCASION_USE_ZH else None


def _zh_name(n: Names) -> str:
    return n.name_zh or "这件商品"


def _this_zh(n: Names, rng: random.Random) -> str:
    """这款 or 这 + the measure word (这支, 这张, 这只), for variety."""
    m = measure_word(_zh_name(n))
    return rng.choice(("这款", f"这{m}")) if m != "台" else rng.choice(("这款", "这台"))


def _capacity_en(value: str) -> str:
    return value  # "100 sheets", "16 oz"


def _capacity_zh(value: str) -> str | None:
    number, _, unit = value.partition(" ")
    zh = _CAPACITY_ZH.get(unit)
    return f"{number}{zh}" if zh else None


def _shared_themes(f: ItemFacts, interests: list[str]) -> list[str]:
    """Themes and occasions of the item that the shopper's recent purchases share (from ``kind:value`` tags)."""
    n = f.names
    themes = [*n.motifs, *n.styles, *n.occasions]
    out = []
    for tag in interests:
        kind, _, value = tag.rpartition(":")
        if kind in ("pattern", "style", "occasion", "theme", "") and value in themes and value not in out:
            out.append(value)
    return out[:2]


# ----------------------------------------------------------------------------------------------- description
def description(
    f: ItemFacts, lang: str, rng: random.Random, style: str | None = None, length: str | None = None
) -> str:
    """A product description from the record."""
    style = style or rng.choice(_styles(f, "description"))
    length = length or rng.choice(LENGTHS)
    return (_description_zh if lang == "zh" else _description_en)(f, rng, style, length)


def _styles(f: ItemFacts, task: str) -> tuple[str, ...]:
    """The styles the seed picks from: no gift pitch for office supplies (nobody gifts a shredder)."""
    styles = STYLES[task]
    return tuple(s for s in styles if s != "gift") if f.names.domain == "office" else styles


def _theme_sentence_en(n: Names, rng: random.Random, subject: str) -> str | None:
    if n.motifs:
        motif = proper(join_en(n.motifs[:2]))
        return _pick(
            rng,
            (
                "{S} {be} decorated with {a_design}.",
                "{A_design} gives {it} {its} character.",
                "{S} {carry} {a_design}.",
                "With {a_design}.",
                "The design: {motif}.",
                "{Motif} all over.",
                "Look for the {motif} design.",
            ),
            S=subject,
            be="are" if n.plural else "is",
            carry="carry" if n.plural else "carries",
            a_design=indefinite(f"{motif} design"),
            motif=motif,
            Motif=_cap(motif),
            A_design=_cap(indefinite(f"{motif} design")),
            it="them" if n.plural else "it",
            its="their" if n.plural else "its",
        )
    if n.styles:
        return _pick(
            rng,
            (
                "{S} {be} made in {a_style}.",
                "{A_style} look sets {it} apart.",
                "Styled the {style} way.",
                "{Style} in style.",
                "A touch of {style} style.",
            ),
            S=subject,
            be="are" if n.plural else "is",
            a_style=indefinite(proper(f"{n.styles[0]} style")),
            A_style=_cap(indefinite(proper(n.styles[0]))),
            style=proper(n.styles[0]),
            Style=_cap(proper(n.styles[0])),
            it="them" if n.plural else "it",
        )
    return None


_OPEN_EN = {
    "warm": ("Meet the {name}", "Introducing the {name}", "Say hello to the {name}", "Here is the {name}",
             "Presenting the {name}", "Take the {name}", "Discover the {name}", "Enjoy the {name}",
             "Welcome the {name}", "Picture the {name}"),
    "practical": ("The {name}", "About the {name}", "Product: the {name}", "In stock: the {name}",
                  "On offer: the {name}", "Listing: the {name}", "Item: the {name}", "Now stocked: the {name}"),
    "gift": ("Gift idea: the {name}", "For someone special: the {name}", "Present tip: the {name}",
             "A present in mind? The {name}", "Treat someone to the {name}", "Give the {name}", "Surprise someone with the {name}",
             "Spoil a friend with the {name}"),
}  # fmt: skip
_BODY_EN = ("{it} {be} {np}.", "This is {np}.", "{np_cap}, in short.", "Think {np}.", "Simply {np}.",
            "{it} {be} {np} for everyday use.", "What it is: {np}.", "In one line: {np}.",
            "Put simply, {it_l} {be} {np}.", "Basically, {it_l} {be} {np}.")  # fmt: skip
_PRICE_EN = ("Yours for {p}.", "Priced at {p}.", "Only {p}.", "The price: {p}.", "All for {p}.", "Just {p}.",
             "On sale at {p}.", "Pay {p}.", "{p} and it is yours.", "Ours to you at {p}.",
             "Available for {p}.", "Take it home for {p}.", "Listed at {p}.", "Sells for {p}.",
             "A fair {p}.", "Buy it for {p}.", "Yours today for {p}.")  # fmt: skip


def _description_en(f: ItemFacts, rng: random.Random, style: str, length: str) -> str:
    n = f.names
    name = n.short_title
    noun = n.noun()
    they = "They" if n.plural else "It"
    be = "are" if n.plural else "is"
    np = indefinite(n.described_en())
    out: list[str] = []
    opener = rng.choice(_OPEN_EN[style]).format(name=name)
    if n.noun_en is not None and np != n.described_en() and rng.random() < 0.7:
        out.append(f"{opener}, {np}.")  # "Meet the Bull Dog Bottle Opener, a bottle opener."
    else:
        out.append(opener + ("" if opener.endswith("?") else "."))
        if n.noun_en is not None:
            body = _pick(rng, _BODY_EN, it=they, it_l=they.lower(), be=be, np=np, np_cap=_cap(np))
            out.append(
                body.replace("This is", "These are").replace("What it is", "What they are")
                if n.plural
                else body
            )
    mid = len(out)
    theme = _theme_sentence_en(n, rng, they)
    if theme and length != "short":
        out.append(theme)
    if n.pack_count:
        out.append(
            _pick(
                rng,
                ("{They} come{s} as a set of {n}.", "Each pack holds {items}.", "You get {items} in each pack.",
                 "A pack has {items}.", "Sold as a set of {n}.", "{n} to a pack.", "Pack size: {n}.",
                 "{Items} per pack."),
                They=they, s="" if n.plural else "s", n=n.pack_count, items=counted(n.pack_count, noun),
                Items=_cap(counted(n.pack_count, noun)),
            )
        )  # fmt: skip
    detail = _detail_en(f, rng, sizes=False, brand=style != "practical")
    if detail and length != "short" and rng.random() < 0.8:
        out.append(detail)
    if n.capacity:
        out.append(_pick(rng, ("Capacity: {c}.", "{They} take{s} up to {c}.", "Up to {c} at a time."), c=n.capacity[0],
                         They=they, s="" if n.plural else "s"))  # fmt: skip
    if n.sizes and length == "long":
        out.append(f"Size: {n.sizes[0]}.")
    occasion = n.occasion_en()
    if occasion and length != "short":
        out.append(_pick(rng, ("Just right for {o}.", "Made for {o}.", "A good fit for {o}.", "Think {o}.",
                               "Ready for {o}.", "Perfect timing for {o}.", "Bring it out for {o}.",
                               "A natural choice for {o}.", "Plan ahead for {o}."), o=occasion))  # fmt: skip
    if f.brand and style == "practical":
        out.append(_pick(rng, ("Made by {b}.", "Brand: {b}.", "From {b}."), b=f.brand))
    _shuffle_tail(out, mid, rng)
    price = f.price_text()
    if price:
        out.append(_pick(rng, _PRICE_EN, p=price))
    good = f.positive_evidence()
    if good and length == "long":
        out.append(f"Shoppers say: {_quote(rng.choice(good[:5]), 'en')}.")
    if length == "long":
        out.append(rng.choice(_CLOSE_EN[n.domain]))
    return " ".join(out)


_CLOSE_EN = {
    "home": (
        "A charming addition to any home.",
        "Made to be enjoyed every day.",
        "Good to look at and easy to use.",
        "An easy pick, whether as a present or for yourself.",
        "Brightens up an everyday corner.",
        "Treat yourself or someone dear.",
        "One of those little things that make a home.",
        "Pretty and practical at once.",
        "A bright touch in any room.",
        "Easy to love and easy to gift.",
        "Adds a friendly touch wherever it goes.",
        "Nice to have around.",
        "A lovely little extra for the home.",
        "The kind of detail guests notice.",
    ),
    "office": (
        "Handy at work and at home.",
        "A practical pick for busy working days.",
        "Ready for everyday office work.",
        "Keeps the working day running smoothly.",
        "Useful at school, at work and at home.",
        "Worth keeping within reach.",
        "Made for everyday use.",
        "A dependable part of any desk.",
        "Helps keep work in order.",
        "A sensible choice for home offices.",
        "Good to have on hand for any task.",
        "Keeps things simple at work.",
    ),
    "wear": (
        "Easy to wear and easy to love.",
        "A welcome addition to your wardrobe.",
        "Ready for everyday wear.",
    ),
}
_CLOSE_ZH = {
    "home": (
        "为生活增添一份温馨。",
        "送礼自用两相宜。",
        "让日常多一点小确幸。",
        "摆在家里赏心悦目。",
        "值得收入囊中。",
        "给家里添一点好心情。",
        "实用又好看。",
        "自己用或送人都合适。",
        "小物件，大心意。",
        "放在哪里都好看。",
        "让家里多一分温暖。",
        "日常用着很顺手。",
    ),
    "office": (
        "办公桌上的得力帮手。",
        "办公、居家都用得上。",
        "让日常办公更顺手。",
        "工作学习都用得上。",
        "学习办公的好帮手。",
        "放在手边随时取用。",
        "日常办公少不了它。",
        "让桌面更整洁有序。",
        "家里办公室各备一份也不错。",
        "用起来省心又方便。",
    ),
    "wear": ("日常穿着很方便。", "为衣橱添一件好单品。", "轻松穿出好心情。"),
}


def _description_zh(f: ItemFacts, rng: random.Random, style: str, length: str) -> str:
    n = f.names
    name = _zh_name(n)
    out: list[str] = []
    if style == "gift":
        out.append(_pick(rng, ("想找一份礼物？不妨看看{this}{x}。", "送礼之选：{this}{x}。", "挑礼物时，可以考虑{this}{x}。",
                               "正在挑礼物？{this}{x}值得考虑。", "把{this}{x}送给朋友吧。", "{this}{x}拿来送人很合适。",
                               "礼物清单上可以加上{this}{x}。", "给亲友的心意：{this}{x}。"), x=name, this=_this_zh(n, rng)))  # fmt: skip
    elif style == "practical":
        out.append(
            _pick(
                rng,
                (
                    "商品：{x}。",
                    "这是一款{x}。",
                    "本品是一款{x}。",
                    "商品名称：{x}。",
                    "简单介绍一下{this}{x}。",
                    "品名：{x}。",
                    "在售商品：{x}。",
                    "{this}{x}的基本信息如下。",
                ),
                x=name,
                this=_this_zh(n, rng),
            )
        )
    else:
        out.append(_pick(rng, ("{this}{x}讨人喜欢。", "来看看{this}{x}。", "为你介绍{this}{x}。", "{this}{x}值得一看。",
                               "新发现：{this}{x}。", "今天想推荐{this}{x}。", "{this}{x}，你会喜欢的。", "给你看看{this}{x}。",
                               "一眼就喜欢上的{x}。", "{this}{x}，越看越喜欢。"), x=name, this=_this_zh(n, rng)))  # fmt: skip
    mid = len(out)
    themes = n.themes_zh()
    if themes and length != "short":
        motifs = [z for z in (chinese_theme(m) for m in n.motifs) if z]
        theme = "和".join((motifs or themes)[:2])
        if motifs:
            out.append(
                _pick(
                    rng,
                    (
                        "以{t}为主题。",
                        "{t}图案，一眼就能认出。",
                        "{t}元素很讨喜。",
                        "饰有{t}图案。",
                        "设计上用了{t}元素。",
                        "主题是{t}。",
                    ),
                    t=theme,
                )
            )
        else:
            out.append(
                _pick(
                    rng,
                    ("带有{t}格调。", "整体是{t}风格。", "走的是{t}路线。", "{t}风格的设计。"),
                    t=theme.rstrip("风"),
                )
            )
    detail = _detail_zh(f, rng)
    if detail and length != "short" and rng.random() < 0.8:
        out.append(detail)
    if n.pack_count:
        out.append(_pack_zh(n.pack_count, name, rng) + "。")
    if n.capacity:
        cap = _capacity_zh(n.capacity[0])
        if cap:
            out.append(_pick(rng, ("容量：{c}。", "最多可容纳{c}。"), c=cap))
    occasion = _zh_occasion(n)
    if occasion and length != "short":
        out.append(rng.choice(_OCCASION_USE_ZH[occasion]) + "。")
    _shuffle_tail(out, mid, rng)
    price = f.price_text()
    if price:
        out.append(
            _pick(
                rng,
                (
                    "售价{p}。",
                    "仅需{p}。",
                    "只要{p}。",
                    "价格{p}。",
                    "到手价{p}。",
                    "{p}就能带回家。",
                    "现价{p}。",
                    "标价{p}。",
                    "{p}即可入手。",
                    "一口价{p}。",
                ),
                p=price,
            )
        )
    good = f.positive_evidence()
    if good and length == "long":
        aspects = list(dict.fromkeys(aspect_name(e.aspect, "zh") for e in good))[:2]
        out.append(f"有买家称赞它的{'和'.join(aspects)}。")
    if length != "short":
        out.append(rng.choice(_CLOSE_ZH[n.domain]))
    if length == "long" or style == "practical":
        out.append("\n" + _spec_line(f))
    return "".join(out)


def _pack_zh(count: int, name: str, rng: random.Random) -> str:
    """ "一套6支", "每包12张", "6支装"; a set of sets is "共44套"."""
    m = measure_word(name)
    if m == "套":
        return f"共{count}套"
    return _pick(rng, ("一套{n}{m}", "每包{n}{m}", "{n}{m}装", "一包{n}{m}"), n=count, m=m)


def _spec_line(f: ItemFacts) -> str:
    brand = f"{f.brand} · " if f.brand and f.brand.lower() not in f.title.lower() else ""
    return f"规格：{brand}{f.display_name}（货号 {f.item_id}）"


# ------------------------------------------------------------------------------------------------------- ad
def ad_copy(
    f: ItemFacts,
    lang: str,
    rng: random.Random,
    interests: list[str],
    reason: str | None,
    style: str | None = None,
    length: str | None = None,
) -> str:
    """Personalised copy: it names a theme or occasion the shopper's purchases share with the item, else no
    personal claim at all; a vetted ``reason`` is added as it is."""
    style = style or rng.choice(STYLES["ad"])
    length = length or rng.choice(LENGTHS)
    shared = _shared_themes(f, interests)
    return (_ad_zh if lang == "zh" else _ad_en)(f, rng, shared, reason, style, length)


def _shared_en(n: Names, value: str) -> tuple[str, bool]:
    """ "Christmas" (occasion) or "dog designs" (motif/style), and whether it is an occasion."""
    if value in n.occasions:
        return {"valentine": "Valentine's Day"}.get(value, value.title() if value in (
            "christmas", "easter", "halloween") else value), True  # fmt: skip
    return proper(f"{value} designs"), False


_AD_OPEN_EN = {
    "friendly": ("Picked for you: the {name}", "Just for you: the {name}", "You might like the {name}",
                 "For you: the {name}", "Have a look at the {name}", "Something for you: the {name}",
                 "How about the {name}?", "Try the {name}"),
    "direct": ("The {name}", "Now in the shop: the {name}", "In stock: the {name}", "On our shelves: the {name}",
               "Available now: the {name}", "Shop the {name}", "Get the {name}", "Order the {name}"),
    "playful": ("Psst, have you seen the {name}?", "Eye-catcher: the {name}", "Spotted: the {name}",
                "Found it: the {name}", "Nice find: the {name}",
                "Say yes to the {name}", "Fancy the {name}?", "Look what we found: the {name}"),
}  # fmt: skip
_AD_SHARED_EN = {
    "occasion": ("Getting ready for {w} again? The {name} fits right in.",
                 "Your recent {w} picks would go well with the {name}.", "More for your {w} plans: the {name}.",
                 "Planning for {w}? Add the {name}.", "For {w}, like your last order: the {name}.",
                 "{W} on your list? The {name} belongs there too.", "Your {w} shopping continues: the {name}.",
                 "One more {w} idea: the {name}.", "Keep {w} going with the {name}."),
    "design": ("You have picked {w} before, and the {name} has one too.", "Since you like {w}, meet the {name}.",
               "Another one for your {w} collection: the {name}.", "Fond of {w}? Try the {name}.",
               "More {w}, as in your recent orders: the {name}.", "Your taste for {w} led us to the {name}.",
"If {w} are your thing, see the {name}.",
               "Matching your {w}: the {name}.", "A pick for {w} lovers: the {name}."),
}  # fmt: skip
_PRICE_AD_EN = ("Only {p}.", "Just {p}.", "{p}.", "Yours for {p}.", "All for {p}.", "At {p}.", "Price: {p}.",
                "A mere {p}.", "Now {p}.", "Priced at {p}.", "Take it home for {p}.", "Yours today for {p}.",
                "It costs {p}.", "Available for {p}.")  # fmt: skip


def _ad_en(
    f: ItemFacts, rng: random.Random, shared: list[str], reason: str | None, style: str, length: str
) -> str:
    n = f.names
    name, noun = n.short_title, n.noun()
    np = indefinite(n.with_theme_en()) if n.noun_en is not None else ""
    out: list[str] = []
    if shared:
        what, occasion = _shared_en(n, shared[0])
        out.append(
            _pick(rng, _AD_SHARED_EN["occasion" if occasion else "design"], w=what, W=_cap(what), name=name)
        )
    else:
        opener = rng.choice(_AD_OPEN_EN[style]).format(name=name)
        if np and np != n.with_theme_en() and not opener.endswith("?") and length != "short":
            out.append(f"{opener}, {np}.")
            np = ""
        else:
            out.append(opener if opener.endswith("?") else opener + ".")
    if length != "short" and n.noun_en is not None:
        if n.pack_count:
            out.append(_pick(rng, ("{c} in one pack.", "{c} per pack.", "A pack of {k}."), c=_cap(counted(n.pack_count, noun)),
                             k=n.pack_count))  # fmt: skip
        elif np and np != n.with_theme_en() and n.with_theme_en() != noun:
            out.append(f"{_cap(np)}.")
    detail = _detail_en(f, rng)
    if detail and length != "short":
        out.append(detail)
    _shuffle_tail(out, 1, rng)
    if reason:
        out.append(f"Why we picked it: {reason.rstrip('.')}.")
    price = f.price_text()
    if price:
        out.append(_pick(rng, _PRICE_AD_EN, p=price))
    if length == "long":
        out.append(rng.choice(_CTA_EN[style]))
    return " ".join(out)


def _detail_en(f: ItemFacts, rng: random.Random, sizes: bool = True, brand: bool = True) -> str | None:
    """One short fact of the record: colour, material, size or brand."""
    n = f.names
    options = []
    if n.colours:
        c = join_en([x.replace("multicolour", "multicoloured") for x in n.colours[:2]])
        options += [f"Colour: {c}.", f"In {c}.", f"Comes in {c}.", f"Finished in {c}.", f"The colour is {c}."]
    if n.materials:
        m = n.materials[0]
        options += [f"Made of {m}.", f"Material: {m}.", f"Crafted from {m}.", f"The material is {m}."]
    if n.sizes and sizes:
        options += [f"Size: {n.sizes[0]}."]
    if f.brand and brand:
        options += [f"By {f.brand}.", f"Brand: {f.brand}.", f"Made by {f.brand}."]
    return rng.choice(options) if options else None


def _detail_zh(f: ItemFacts, rng: random.Random) -> str | None:
    """One short fact of the record in Chinese: colour or material (the brand stays in the spec line)."""
    n = f.names
    options = []
    name = _zh_name(n)
    colours = [c for c in (chinese_term("colour", v) for v in n.colours[:2]) if c]
    if colours and not any(c.rstrip("色") in name for c in colours):  # 红色活页夹 says it already
        options += [
            f"颜色：{'、'.join(colours)}。",
            f"{'、'.join(colours)}款。",
            f"采用{'、'.join(colours)}配色。",
        ]
    material = next((m for m in (chinese_term("material", v) for v in n.materials[:1]) if m), None)
    if material and material not in name:
        options += [f"{material}材质。", f"材质：{material}。", f"选用{material}制成。"]
    return rng.choice(options) if options else None


_CTA_EN = {
    "friendly": ("Add it to your basket today.", "Why not make it yours?", "Take a closer look now.",
                 "Have a look while you are here.", "See it in the shop.", "It is waiting for you.",
                 "Take it home soon.", "We hope you love it.", "Pop it in your basket.",
                 "Come and see it for yourself.", "Happy shopping!", "Save it for later or order now."),
    "direct": ("Order now.", "Add it to your basket.", "Buy it today.", "Get yours now.", "Order today.",
               "Buy now.", "One click and it is yours.", "Order yours today.", "Order it now.",
               "Secure yours today."),
    "playful": ("Go on, treat yourself.", "Your basket is waiting.", "You know you want to.",
                "Tap, add, smile.", "Your future self says thanks.", "Treat time.", "No regrets.",
                "Why wait?", "Go on, add it.", "Your shelf will thank you.", "Make today a good day.",
                "A little treat never hurts."),
}  # fmt: skip
_CTA_ZH = {
    "friendly": ("立即加入购物车吧！", "快来看看吧！", "现在就带它回家吧！", "点开看看详情吧。", "欢迎进店看看。",
                 "希望你喜欢。", "有空来店里逛逛。", "喜欢的话就收下吧。", "先收藏，慢慢挑。", "祝你购物愉快！"),
    "direct": ("立即下单。", "马上加入购物车。", "现在购买。", "点击购买。", "即刻下单。", "一键加购。", "今天就下单吧。",
               "现在下单，早日到手。", "点击即可购买。"),
    "playful": ("犒劳一下自己吧！", "购物车正等着它呢！", "心动不如行动！", "别犹豫啦！", "喜欢就带走吧！",
                "宠自己一下吧！", "今天就拿下它！", "快把它带回家！", "购物车里给它留个位置吧！", "好东西不等人哦！"),
}  # fmt: skip
_AD_OPEN_ZH = {
    "friendly": ("为你精选：{x}。", "为你挑选了{this}{x}。", "留意一下：{x}。", "{x}，也许正合你意。",
                 "你或许会喜欢：{x}。", "给你推荐{this}{x}。", "你可能会喜欢：{x}。"),
    "direct": ("{x}，现已上架。", "推荐：{x}。", "本店有售：{x}。", "{x}，欢迎选购。", "在售：{x}。",
               "{x}，有货。", "上架好物：{x}。", "选购{x}。", "入手{x}。", "{x}在这里。"),
    "playful": ("发现好物：{x}。", "来看看{this}{x}。", "猜你会喜欢{this}{x}。", "眼前一亮的{x}。", "瞧，{this}{x}！",
                "{this}{x}有点可爱。", "好物：{x}。"),
}  # fmt: skip
_AD_SHARED_ZH = {
    "occasion": ("又在为{t}做准备？{this}{x}正合适。", "你最近选购的{t}好物，和{this}{x}很搭。", "{t}清单再添一件：{x}。",
                 "为{t}准备的你，也许需要{this}{x}。", "{t}清单上，还可以加上{this}{x}。", "备战{t}：{x}。",
                 "{t}的好帮手：{x}。"),
    "design": ("你喜欢{t}元素，{this}{x}也是{t}主题。", "喜欢{t}的你，可以看看{this}{x}。", "给你的{t}收藏再添一件：{x}。",
               "你常买{t}款式，{this}{x}也一样。", "同样是{t}元素：{x}。", "按你的{t}偏好，挑了{this}{x}。",
               "{t}爱好者的新选择：{x}。", "你买过{t}款式的东西，{this}{x}也许会喜欢。", "{t}控请看：{x}。"),
}  # fmt: skip


def _ad_zh(
    f: ItemFacts, rng: random.Random, shared: list[str], reason: str | None, style: str, length: str
) -> str:
    n = f.names
    name = _zh_name(n)
    out: list[str] = []
    zh_shared = [z for z in (chinese_theme(v) for v in shared) if z]
    if zh_shared:
        kind = "occasion" if shared[0] in n.occasions else "design"
        out.append(_pick(rng, _AD_SHARED_ZH[kind], t=zh_shared[0], x=name, this=_this_zh(n, rng)))
    else:
        out.append(_pick(rng, _AD_OPEN_ZH[style], x=name, this=_this_zh(n, rng)))
    if length != "short" and n.pack_count:
        out.append(_pack_zh(n.pack_count, name, rng) + "。")
    detail = _detail_zh(f, rng)
    if detail and length != "short":
        out.append(detail)
    _shuffle_tail(out, 1, rng)
    if reason:
        out.append(f"推荐理由：{reason.rstrip('。')}。")
    price = f.price_text()
    if price:
        end = "，" if length == "long" else "。"
        out.append(
            _pick(
                rng,
                (
                    "只要{p}",
                    "仅需{p}",
                    "售价{p}",
                    "到手价{p}",
                    "现价{p}",
                    "{p}入手",
                    "{p}即可拥有",
                    "{p}就能带回家",
                    "标价{p}",
                    "一口价{p}",
                ),
                p=price,
            )
            + end
        )
    if length == "long" or not price:
        out.append(rng.choice(_CTA_ZH[style]))
    return "".join(out)


# -------------------------------------------------------------------------------------------- title and push
def title_line(
    f: ItemFacts, lang: str, rng: random.Random, style: str | None = None, length: str | None = None
) -> str:
    """A product title line for a listing (no sentence, no claims beyond the record and the price)."""
    style = style or rng.choice(_styles(f, "title"))
    length = length or rng.choice(LENGTHS)
    n = f.names
    price = f.price_text()
    if lang == "zh":
        name = _zh_name(n)
        parts = [name]
        if n.pack_count and length != "short":
            parts.append(f"{n.pack_count}{measure_word(name)}装")
        if n.capacity and length == "long":
            cap = _capacity_zh(n.capacity[0])
            if cap:
                parts.append(f"容量{cap}")
        occasion = _zh_occasion(n)
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


_PUSH_EN = {
    "nudge": ("Still thinking about the {x}?", "Don't forget the {x}.", "The {x} is still here for you.",
              "Remember the {x}?", "Come back to the {x}.", "The {x} misses you.", "Ready for the {x}?",
              "One more look at the {x}?", "Your {x} is waiting.", "Back for the {x}?", "Still keen on the {x}?"),
    "news": ("Picked for you: the {x}.", "Take a look at the {x}.", "Today's pick: the {x}.",
             "We thought of you: the {x}.", "Have you seen the {x}?", "Fresh idea: the {x}.", "Meet the {x}.",
             "New in your feed: the {x}.", "Our tip today: the {x}.", "Just in: the {x}.",
             "Worth a look: the {x}."),
    "price": ("The {x}", "Price tip: the {x}", "Worth a look: the {x}", "Good value: the {x}",
              "Price news: the {x}", "Budget pick: the {x}", "Today's price on the {x}", "Deal watch: the {x}"),
}  # fmt: skip
_PUSH_ZH = {
    "nudge": ("还在考虑{this}{x}吗？", "别忘了{this}{x}。", "{this}{x}还在等你哦。", "还记得{this}{x}吗？", "回来看看{this}{x}吧。",
              "那款{x}，你还喜欢吗？", "再看一眼{this}{x}？", "{this}{x}给你留着呢。", "心动过的{x}还在。"),
    "news": ("为你推荐：{x}", "看看{this}{x}", "给你挑了一款{x}", "今日推荐：{x}", "新发现：{x}", "猜你喜欢：{x}",
             "瞧瞧{x}", "有件好东西：{x}", "今天的小发现：{x}", "给你的灵感：{x}"),
    "price": ("{x}", "好价提醒：{x}", "实惠之选：{x}", "值得一看：{x}", "价格速递：{x}", "看价格：{x}", "{x}来啦",
              "小预算也能买：{x}", "划算好物：{x}"),
}  # fmt: skip


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
    n = f.names
    price = f.price_text()
    if style == "price" and not price:  # a price push needs a price
        style = "news"
    shared = _shared_themes(f, interests or [])
    if lang == "zh":
        name = _zh_name(n)
        zh_theme = chinese_theme(shared[0]) if shared else None
        if zh_theme:
            suffix = "" if zh_theme.endswith(("风", "节")) else "主题"
            text = _pick(rng, ("你喜欢的{t}{s}又有新选择：{x}", "{t}控看过来：{x}", "喜欢{t}？看看{this}{x}",
                               "又一件{t}{s}好物：{x}", "{t}{s}推荐：{x}", "给{t}爱好者：{x}"),
                         t=zh_theme, s=suffix, x=name, this=_this_zh(n, rng))  # fmt: skip
        else:
            text = _pick(rng, _PUSH_ZH[style], x=name, this=_this_zh(n, rng))
        if price:
            if text.endswith(("？", "。")):
                text += _pick(
                    rng,
                    (
                        "只要{p}。",
                        "售价{p}。",
                        "现价{p}。",
                        "{p}就能带走。",
                        "到手{p}。",
                        "仅需{p}。",
                        "{p}即可入手。",
                        "标价{p}。",
                    ),
                    p=price,
                )
            else:
                text += _pick(
                    rng,
                    (
                        "，只要{p}。",
                        "，{p}带回家。",
                        "，售价{p}。",
                        "，到手价{p}。",
                        "，{p}。",
                        "，仅需{p}。",
                        "，现价{p}。",
                        "，{p}即可入手。",
                    ),
                    p=price,
                )
        elif not text.endswith(("。", "？")):
            text += "。"
        if length == "long" and n.pack_count:
            text += _pack_zh(n.pack_count, name, rng) + "。"
        return text
    noun = n.noun()
    if shared:
        what, occasion = _shared_en(n, shared[0])
        text = _pick(rng, ("For your {w} plans: the {x}.", "{W} ahead? The {x}.") if occasion else
                     ("More {w} for you: the {x}.", "Love {w}? The {x}.", "Your kind of {w}: the {x}."),
                     w=what, W=_cap(what), x=n.short_title)  # fmt: skip
    else:
        text = _pick(rng, _PUSH_EN[style], x=n.short_title)
    if price:
        if text.endswith(("?", ".")):
            text += " " + _pick(rng, ("Only {p}.", "Just {p}.", "{p} today.", "Now {p}.", "{A} for {p}.",
                                      "Yours for {p}.", "Priced at {p}.", "Take it home for {p}.",
                                      "All yours for {p}."),
                                p=price, A=_cap(indefinite(noun)) if not n.plural else _cap(noun))  # fmt: skip
        else:
            text += _pick(
                rng, (", {p}.", " for {p}.", " at {p}.", ", now {p}.", ", only {p}.", ", just {p}."), p=price
            )
    elif not text.endswith(("?", ".")):
        text += "."
    if length == "long" and n.pack_count:
        text += " " + _pick(rng, ("{c} in a pack.", "{c} per pack.", "Packed {k} at a time.", "Sold in packs of {k}."),
                            c=_cap(counted(n.pack_count, noun)), k=n.pack_count)  # fmt: skip
    return text


# ---------------------------------------------------------------------------------------------------- summary
def review_summary(f: ItemFacts, lang: str, rng: random.Random) -> str:
    """Pros and cons from aspect opinions of the real reviews. No reviews: an empty string (nothing to say);
    a side with no opinion is left out rather than said to be empty. Chinese copy names the aspects in Chinese
    and quotes only Chinese reviews."""
    if not f.reviews:
        return ""
    pros = _by_aspect(f.positive_evidence(), rng)
    cons = _by_aspect(f.negative_evidence(), rng)
    pros = {a: e for a, e in pros.items() if a not in cons or _count(f, a, 1) > _count(f, a, -1)}
    cons = {a: e for a, e in cons.items() if a not in pros}
    d = f.derived
    n = f.names
    if lang == "zh":
        out = [f"关于这款{_zh_name(n)}："]
        if "n_ratings" in d:
            out.append(
                f"共{int(d['n_ratings'])}条评价，{int(d['positive_pct'])}%为好评（4星及以上），"
                f"平均{d['mean_rating']:.1f}分（满分5分）。"
            )
        elif "n_reviews" in d:
            out.append(f"共{int(d['n_reviews'])}条评价。")
        if pros:
            out.append("优点：" + "；".join(_zh_point(a, e) for a, e in list(pros.items())[:3]) + "。")
        if cons:
            out.append("缺点：" + "；".join(_zh_point(a, e) for a, e in list(cons.items())[:3]) + "。")
        if not pros and not cons:
            out.append("评价中没有集中提到的优缺点。")
        return "".join(out)
    subject = f"the {n.short_title}" if f.title else (f"this {n.noun_en}" if n.noun_en else "this item")
    out = [f"Reviews of {subject}:"]
    if "n_ratings" in d:
        reviews = "review" if int(d["n_ratings"]) == 1 else "reviews"
        out.append(
            f"{int(d['n_ratings'])} {reviews}, {int(d['positive_pct'])}% of them rated 4 or 5 stars "
            f"(average {d['mean_rating']:.1f} out of 5)."
        )
    elif "n_reviews" in d:
        out.append(f"{int(d['n_reviews'])} {'review' if int(d['n_reviews']) == 1 else 'reviews'}.")
    if pros:
        out.append("Pros: " + "; ".join(f"{a} ({_quote(e, 'en')})" for a, e in list(pros.items())[:3]) + ".")
    if cons:
        out.append("Cons: " + "; ".join(f"{a} ({_quote(e, 'en')})" for a, e in list(cons.items())[:3]) + ".")
    if not pros and not cons:
        out.append("The reviews name no recurring strength or weakness.")
    return " ".join(out)


def _zh_point(aspect: str, e: Evidence) -> str:
    name = aspect_name(aspect, "zh")
    if any("\u4e00" <= c <= "\u9fff" for c in e.text):
        return f"{name}（{_quote(e, 'zh')}）"
    return name


def _quote(e: Evidence, lang: str) -> str:
    text = e.text.strip().rstrip(".!?。！？")
    return f"“{text}”" if lang == "zh" else f'"{text}"'


def _count(f: ItemFacts, aspect: str, polarity: int) -> int:
    return sum(1 for e in f.evidence if e.aspect == aspect and e.polarity == polarity)


def _by_aspect(evidence: list[Evidence], rng: random.Random) -> dict[str, Evidence]:
    counts = Counter(e.aspect for e in evidence)
    out: dict[str, Evidence] = {}
    for aspect, _ in counts.most_common():
        options = [e for e in evidence if e.aspect == aspect]
        out[aspect] = rng.choice(options[:4])
    return out


def render(
    task: str,
    f: ItemFacts,
    lang: str,
    *,
    seed: int = 0,
    interests: list[str] | None = None,
    reason: str | None = None,
    style: str | None = None,
    length: str | None = None,
) -> str:
    """Write ``task`` copy for an item (the template backend's one entry point)."""
    rng = random.Random(f"{seed}:{f.item_id}:{task}:{lang}")
    if task == "description":
        return description(f, lang, rng, style, length)
    if task == "ad":
        return ad_copy(f, lang, rng, list(interests or []), reason, style, length)
    if task == "title":
        return title_line(f, lang, rng, style, length)
    if task == "push":
        return push(f, lang, rng, interests, style, length)
    return review_summary(f, lang, rng)


__all__ = [
    "LENGTHS",
    "STYLES",
    "TASKS",
    "ad_copy",
    "description",
    "plural",
    "push",
    "render",
    "review_summary",
    "title_case",
    "title_line",
]
