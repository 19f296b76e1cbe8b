"""Review summaries: pros and cons by aspect, quoted from the real reviews, with the rating counts."""

from __future__ import annotations

import random
from collections import Counter

from tuijian.generate.facts import Evidence, ItemFacts
from tuijian.generate.templates.common import quote, zh_name
from tuijian.nlp.aspects import aspect_name


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
        out = [f"关于这款{zh_name(n)}："]
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
        out.append("Pros: " + "; ".join(f"{a} ({quote(e, 'en')})" for a, e in list(pros.items())[:3]) + ".")
    if cons:
        out.append("Cons: " + "; ".join(f"{a} ({quote(e, 'en')})" for a, e in list(cons.items())[:3]) + ".")
    if not pros and not cons:
        out.append("The reviews name no recurring strength or weakness.")
    return " ".join(out)


def _zh_point(aspect: str, e: Evidence) -> str:
    name = aspect_name(aspect, "zh")
    if any("\u4e00" <= c <= "\u9fff" for c in e.text):
        return f"{name}（{quote(e, 'zh')}）"
    return name


def _count(f: ItemFacts, aspect: str, polarity: int) -> int:
    return sum(1 for e in f.evidence if e.aspect == aspect and e.polarity == polarity)


def _by_aspect(evidence: list[Evidence], rng: random.Random) -> dict[str, Evidence]:
    counts = Counter(e.aspect for e in evidence)
    out: dict[str, Evidence] = {}
    for aspect, _ in counts.most_common():
        options = [e for e in evidence if e.aspect == aspect]
        out[aspect] = rng.choice(options[:4])
    return out
