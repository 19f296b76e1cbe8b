"""The built-in offline generator: a small grammar of English and Chinese sentence templates filled only with
facts (title attributes, catalogue fields, quoted review clauses). Deterministic for a given seed."""

from __future__ import annotations

import random
from collections import Counter

from tuijian.generate.facts import Evidence, ItemFacts
from tuijian.nlp.aspects import aspect_name
from tuijian.nlp.lexicon import chinese_name

_EN_OPEN = ("Meet the {name}.", "Introducing the {name}.", "Say hello to the {name}.", "Here is the {name}.")
_EN_CLOSE = (
    "A charming addition to any home.",
    "An easy pick, whether as a present or for yourself.",
    "Made to be enjoyed every day.",
    "A thoughtful touch for everyday life.",
    "Simple, useful and good to look at.",
)
_ZH_CLOSE = (
    "为生活增添一份温馨。",
    "送礼自用两相宜。",
    "让日常多一点小确幸。",
    "简单实用，颜值在线。",
    "值得拥有的好物。",
)
_EN_CTA = (
    "Add it to your basket today.",
    "Treat yourself today.",
    "Take a closer look now.",
    "Why not make it yours?",
)
_ZH_CTA = ("立即加入购物车吧！", "现在就带它回家吧！", "快来看看吧！", "别错过哦！")


def title_case(title: str) -> str:
    """``WHITE HANGING HEART`` -> ``White Hanging Heart``; mixed-case titles are kept as they are."""
    if title.isupper():
        return " ".join(w.capitalize() if w.isalpha() else w.title() for w in title.split())
    return title


def _join_en(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _noun_phrase_en(f: ItemFacts) -> str:
    a = f.attributes
    parts = [*a.colour[:2], *a.material[:1], a.product_type or "piece"]
    return " ".join(p.replace("multicolour", "multicoloured") for p in parts)


def _noun_phrase_zh(f: ItemFacts) -> str:
    a = f.attributes
    parts = [chinese_name("colour", c) for c in a.colour[:2]] + [
        chinese_name("material", m) for m in a.material[:1]
    ]
    parts += [chinese_name("pattern", p) for p in a.pattern[:1]]
    parts.append(chinese_name("product_type", a.product_type) if a.product_type else "单品")
    return "".join(parts)


def _quote(e: Evidence, lang: str) -> str:
    text = e.text.strip().rstrip(".!?。！？")
    return f"“{text}”" if lang == "zh" else f'"{text}"'


def description(f: ItemFacts, lang: str, rng: random.Random) -> str:
    a = f.attributes
    name = title_case(f.display_name)
    if lang == "zh":
        out = [
            f"这款{_noun_phrase_zh(f)}（{name}）"
            + rng.choice(("做工用心，", "设计别致，", "小巧实用，", "造型讨喜，"))
        ]
        if a.style:
            out.append(f"带有{chinese_name('style', a.style[0])}气息，")
        if a.occasion:
            out.append(f"适合{chinese_name('occasion', a.occasion[0])}时使用，")
        if a.recipient:
            out.append(f"很适合送给{chinese_name('recipient', a.recipient[0])}，")
        out[-1] = out[-1].rstrip("，") + "。"
        if a.pack_count:
            out.append(f"每套{a.pack_count}件。")
        if f.brand:
            out.append(f"品牌：{f.brand}。")
        price = f.price_text()
        if price:
            out.append(rng.choice((f"售价{price}。", f"仅需{price}。")))
        good = f.positive_evidence()
        if good:
            out.append(f"买家评价：{_quote(rng.choice(good[:5]), 'zh')}。")
        out.append(rng.choice(_ZH_CLOSE))
        return "".join(out)
    sentences = [rng.choice(_EN_OPEN).format(name=name)]
    body = f"It is a {_noun_phrase_en(f)}"
    extras = []
    if a.pattern:
        extras.append(f"with a {a.pattern[0]} motif")
    if a.style:
        extras.append(f"in a {a.style[0]} style")
    sentences.append(" ".join([body, *extras]) + ".")
    if a.pack_count:
        sentences.append(
            rng.choice((f"It comes as a set of {a.pack_count}.", f"Each pack holds {a.pack_count}."))
        )
    if a.occasion:
        sentences.append(
            rng.choice(("Perfect for {o}.", "Just right for {o}.")).format(o=_join_en(a.occasion[:2]))
        )
    if f.brand:
        sentences.append(f"Made by {f.brand}.")
    price = f.price_text()
    if price:
        sentences.append(rng.choice((f"Yours for {price}.", f"Priced at {price}.", f"Only {price}.")))
    good = f.positive_evidence()
    if good:
        sentences.append(f"Shoppers say: {_quote(rng.choice(good[:5]), 'en')}.")
    sentences.append(rng.choice(_EN_CLOSE))
    return " ".join(sentences)


def ad_copy(f: ItemFacts, lang: str, rng: random.Random, interests: list[str], reason: str | None) -> str:
    """Personalised copy: only interests that the item shares are named (anything else could be untrue)."""
    item_values = f.attributes.values()
    shared = [i.split(":", 1)[-1] for i in interests if i.split(":", 1)[-1] in item_values]
    shared = list(dict.fromkeys(shared))[:2]
    name = title_case(f.display_name)
    price = f.price_text()
    if lang == "zh":
        names = []
        for value in shared:
            k = next((k for k, vals in _kinds(f).items() if value in vals), None)
            names.append(chinese_name(k, value) if k else value)
        out = [
            f"喜欢{'和'.join(names)}的你，一定会爱上这款{_noun_phrase_zh(f)}（{name}）。"
            if names
            else f"为你精选：{_noun_phrase_zh(f)}（{name}）。"
        ]
        if reason:
            out.append(f"推荐理由：{reason}。")
        if price:
            out.append(f"只要{price}，")
        out.append(rng.choice(_ZH_CTA))
        return "".join(out)
    out = [
        rng.choice(("Love {s}? You will like the {n}.", "A pick for fans of {s}: the {n}.")).format(
            s=_join_en(shared), n=name
        )
        if shared
        else rng.choice(("Picked for you: the {n}.", "Just for you: the {n}.")).format(n=name)
    ]
    if reason:
        out.append(f"Why we picked it: {reason.rstrip('.')}.")
    if price:
        out.append(f"Only {price}.")
    out.append(rng.choice(_EN_CTA))
    return " ".join(out)


def _kinds(f: ItemFacts) -> dict[str, list[str]]:
    a = f.attributes
    kinds = {
        k: list(getattr(a, k))
        for k in ("colour", "material", "size", "style", "pattern", "occasion", "recipient")
    }
    kinds["product_type"] = [a.product_type] if a.product_type else []
    return kinds


def review_summary(f: ItemFacts, lang: str, rng: random.Random) -> str:
    """Pros and cons from aspect opinions of the real reviews, with one quoted clause per aspect."""
    pros = _by_aspect(f.positive_evidence(), rng)
    cons = _by_aspect(f.negative_evidence(), rng)
    pros = {a: e for a, e in pros.items() if a not in cons or _count(f, a, 1) > _count(f, a, -1)}
    cons = {a: e for a, e in cons.items() if a not in pros}
    d = f.derived
    name = title_case(f.display_name)
    if lang == "zh":
        out = [f"{name}："]
        if "n_ratings" in d:
            out.append(
                f"共{int(d['n_ratings'])}条评价，{int(d['positive_pct'])}%为好评（4星及以上），"
                f"平均{d['mean_rating']:.1f}分（满分5分）。"
            )
        elif "n_reviews" in d:
            out.append(f"共{int(d['n_reviews'])}条评价。")
        out.append(
            "优点："
            + (
                "；".join(f"{aspect_name(a, 'zh')}（{_quote(e, 'zh')}）" for a, e in list(pros.items())[:3])
                or "暂无集中好评"
            )
            + "。"
        )
        out.append(
            "缺点："
            + (
                "；".join(f"{aspect_name(a, 'zh')}（{_quote(e, 'zh')}）" for a, e in list(cons.items())[:3])
                or "暂无集中差评"
            )
            + "。"
        )
        return "".join(out)
    out = [f"{name}:"]
    if "n_ratings" in d:
        out.append(
            f"{int(d['n_ratings'])} reviews, {int(d['positive_pct'])}% of them rated 4 or 5 stars "
            f"(average {d['mean_rating']:.1f} out of 5)."
        )
    elif "n_reviews" in d:
        out.append(f"{int(d['n_reviews'])} reviews.")
    out.append(
        "Pros: "
        + ("; ".join(f"{a} ({_quote(e, 'en')})" for a, e in list(pros.items())[:3]) or "no recurring praise")
        + "."
    )
    out.append(
        "Cons: "
        + (
            "; ".join(f"{a} ({_quote(e, 'en')})" for a, e in list(cons.items())[:3])
            or "no recurring complaints"
        )
        + "."
    )
    return " ".join(out)


def _count(f: ItemFacts, aspect: str, polarity: int) -> int:
    return sum(1 for e in f.evidence if e.aspect == aspect and e.polarity == polarity)


def _by_aspect(evidence: list[Evidence], rng: random.Random) -> dict[str, Evidence]:
    counts = Counter(e.aspect for e in evidence)
    out: dict[str, Evidence] = {}
    for aspect, _ in counts.most_common():
        options = [e for e in evidence if e.aspect == aspect]
        out[aspect] = rng.choice(options[:4])
    return out
