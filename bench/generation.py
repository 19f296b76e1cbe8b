"""Grounding rate and distinct-2 diversity of generated copy over real items, per available backend; and
(``--quality``) the issue-12 checks of the built-in generator on Online Retail and Amazon Office.

    nice -n 10 .venv/bin/python bench/generation.py [--n-items 150] [--backends template,llama-cpp]
    nice -n 10 .venv/bin/python bench/generation.py --quality [--n-items 150] [--markdown]

``--quality``: for ``--n-items`` popular items of each catalogue, the description, ad (interests of a real buyer),
title line and push text in English and Chinese (seeded, so styles and lengths vary), written by
:class:`CopyWriter`. Per task it reports: grounded (the guard passes), English article/number errors
(:func:`tuijian.generate.grammar.english_errors`), the share of Chinese texts that name the product in Chinese,
the share whose Latin letters are at most 10 % of the characters (spec line and item code left out) and the worst
share, and distinct-2 per language. A coverage line gives, over the full catalogues, how each item's product type
is named in Chinese: listed as a whole, composed, by its head noun only, or not at all.

Texts: Online Retail product descriptions and personalised ads (English and Chinese; ads use the interest tags
of a real buyer of the item) and Women's Clothing review summaries (English and Chinese).
"raw grounded" = share of the backend's own first outputs with no guard violation; "final grounded" = share of the
delivered texts after the writer's retry (``--max-attempts``) / template fallback. distinct-2 = unique token
bigrams / all token bigrams (jieba for Chinese), over the raw outputs and over the delivered texts.
``--max-seconds`` caps a slow backend (the local LLM); ``--shuffle`` then keeps the task/language mix.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from tuijian.generate.backends import llama_cpp_available, make_backend
from tuijian.generate.grammar import distinct_2, english_errors, latin_share, names_product_in_chinese
from tuijian.generate.guard import check
from tuijian.generate.shop import load_shop
from tuijian.generate.writer import CopyWriter


def jobs(n_items: int, n_summaries: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    retail = load_shop("online-retail")
    pop = retail.popularity()
    items = rng.choice(pop[pop > 0].index.to_numpy(), size=n_items, replace=False)
    events = retail.events
    out = []
    for item in items:
        facts = retail.facts(item)
        buyers = events.loc[events["item"] == item, "user"]
        buyers = buyers[~buyers.astype(str).str.startswith("anon:")]
        interests = retail.interests(buyers.iloc[int(rng.integers(len(buyers)))]) if len(buyers) else []
        for lang in ("en", "zh"):
            out.append(("description", facts, lang, []))
            out.append(("ad", facts, lang, interests))
    clothing = load_shop("womens-clothing-reviews")
    counts = {k: len(v) for k, v in clothing.reviews.items()}
    reviewed = sorted([k for k, c in counts.items() if c >= 5], key=lambda k: -counts[k])[:n_summaries]
    for item in reviewed:
        facts = clothing.facts(item, max_reviews=60)
        for lang in ("en", "zh"):
            out.append(("summary", facts, lang, []))
    return out


QUALITY_TASKS = ("description", "ad", "title", "push")
QUALITY_SHOPS = ("online-retail", "amazon-office")


def quality_texts(n_items: int, seed: int = 0) -> list[dict]:
    """Generated texts (with their item and task) for the issue-12 checks; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    writer = CopyWriter()
    out = []
    for shop_name in QUALITY_SHOPS:
        shop = load_shop(shop_name)
        pop = shop.popularity()
        ids = pop[pop > 0].sort_values(ascending=False).index.to_numpy()[: n_items * 3]
        items = rng.choice(ids, size=min(n_items, len(ids)), replace=False)
        events = shop.events
        for k, item in enumerate(items):
            facts = shop.facts(item)
            buyers = events.loc[events["item"].astype(str) == str(item), "user"]
            buyers = buyers[~buyers.astype(str).str.startswith("anon:")]
            interests = shop.interests(buyers.iloc[int(rng.integers(len(buyers)))]) if len(buyers) else []
            for task in QUALITY_TASKS:
                for lang in ("en", "zh"):
                    copy = writer.write(task, facts, lang, interests=interests, seed=k, use_cache=False)
                    out.append(
                        {
                            "shop": shop_name,
                            "task": task,
                            "lang": lang,
                            "text": copy.text,
                            "facts": facts,
                            "grounded": check(copy.text, facts).ok,
                        }  # fmt: skip
                    )
    return out


def _shop_names(facts) -> tuple[str, ...]:  # noqa: ANN001 - ItemFacts
    """The shop's own names of an item (its title and short title), which the grammar check leaves alone."""
    return (facts.title, facts.display_name, facts.names.short_title)


def quality_report(texts: list[dict]) -> list[dict]:
    """One row per task (and one for all tasks) with the issue-12 figures."""
    rows = []
    for task in (*QUALITY_TASKS, "all"):
        sel = [t for t in texts if task in ("all", t["task"])]
        en = [t for t in sel if t["lang"] == "en"]
        zh = [t for t in sel if t["lang"] == "zh"]
        shares = [latin_share(t["text"], t["facts"].item_id) for t in zh]
        rows.append(
            {
                "task": task,
                "n_texts": len(sel),
                "grounded": round(sum(t["grounded"] for t in sel) / max(len(sel), 1), 4),
                "en_grammar_errors": sum(len(english_errors(t["text"], _shop_names(t["facts"]))) for t in en),
                "zh_names_product": round(
                    sum(names_product_in_chinese(t["text"], t["facts"].names.type_zh) for t in zh)
                    / max(len(zh), 1),
                    4,
                ),
                "zh_latin_le_10pct": round(sum(s <= 0.10 for s in shares) / max(len(shares), 1), 4),
                "zh_latin_max": round(max(shares, default=0.0), 4),
                "distinct_2_en": round(distinct_2([t["text"] for t in en]), 4),
                "distinct_2_zh": round(distinct_2([t["text"] for t in zh]), 4),
            }
        )
    return rows


def vocabulary_coverage() -> list[dict]:
    """How the product type of every catalogue item is named in Chinese (exact / composed / head / none)."""
    from tuijian.data.datasets import load_dataset
    from tuijian.nlp.product import name_product_type, understand

    rows = []
    for name in QUALITY_SHOPS:
        items = load_dataset(name).items
        counts = {"exact": 0, "composed": 0, "head": 0, "none": 0, "no_type": 0}
        for title, desc, cat in zip(
            items["title"].fillna(""),
            items["description"].fillna(""),
            items["category"].fillna(""),
            strict=True,
        ):
            record = understand(str(title), str(desc) or None, str(cat) or None)
            if record.product_type is None:
                counts["no_type"] += 1
                continue
            named = name_product_type(str(record.product_type.value))
            counts["none" if named is None else named[1]] += 1
        typed = len(items) - counts["no_type"]
        rows.append({"shop": name, "items": len(items), "typed": typed, **counts,
                     "named_share_of_typed": round((typed - counts["none"]) / max(typed, 1), 4)})  # fmt: skip
    return rows


def quality_main(args: argparse.Namespace) -> None:
    t = time.perf_counter()
    texts = quality_texts(args.n_items, args.seed)
    rows = quality_report(texts)
    for row in rows:
        print(json.dumps(row), flush=True)
    coverage = vocabulary_coverage()
    for row in coverage:
        print(json.dumps({"vocabulary_coverage": row}), flush=True)
    print(f"{len(texts)} texts in {time.perf_counter() - t:.0f}s")
    if args.markdown:
        print("\n| task | texts | grounded | en article/number errors | zh names product | zh Latin ≤10% "
              "| zh Latin max | distinct-2 en | distinct-2 zh |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['task']} | {r['n_texts']} | {r['grounded']:.4f} | {r['en_grammar_errors']} | "
                  f"{r['zh_names_product']:.4f} | {r['zh_latin_le_10pct']:.4f} | {r['zh_latin_max']:.3f} | "
                  f"{r['distinct_2_en']:.3f} | {r['distinct_2_zh']:.3f} |")  # fmt: skip
        print("\n| catalogue | items | with a type | exact | composed | head only | none | named |")
        print("|---|---|---|---|---|---|---|---|")
        for c in coverage:
            print(f"| {c['shop']} | {c['items']} | {c['typed']} | {c['exact']} | {c['composed']} | {c['head']} | "
                  f"{c['none']} | {c['named_share_of_typed']:.4f} |")  # fmt: skip
    if args.examples:
        rng = np.random.default_rng(args.seed + 1)
        for lang in ("en", "zh"):
            pool = [t for t in texts if t["lang"] == lang]
            for j in rng.choice(len(pool), size=min(args.examples, len(pool)), replace=False):
                print(f"[{pool[j]['shop']} {pool[j]['task']} {lang}] {pool[j]['text']}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-items", type=int, default=150)
    ap.add_argument("--n-summaries", type=int, default=60)
    ap.add_argument("--backends", default="template,llama-cpp")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-attempts", type=int, default=2, help="backend tries before the template fallback")
    ap.add_argument(
        "--max-seconds", type=float, default=0, help="stop a backend after this long (0 = no limit)"
    )
    ap.add_argument("--max-texts", type=int, default=0, help="only the first N texts (0 = all)")
    ap.add_argument("--shuffle", action="store_true", help="interleave the tasks (useful with --max-seconds)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--quality", action="store_true", help="issue-12 checks of the built-in generator")
    ap.add_argument("--markdown", action="store_true", help="with --quality: also print markdown tables")
    ap.add_argument(
        "--examples", type=int, default=0, help="with --quality: print N random texts per language"
    )
    args = ap.parse_args()
    if args.quality:
        quality_main(args)
        return
    all_work = jobs(args.n_items, args.n_summaries, args.seed)
    if args.shuffle:
        order = np.random.default_rng(args.seed).permutation(len(all_work))
        all_work = [all_work[j] for j in order]
    if args.max_texts:
        all_work = all_work[: args.max_texts]
    rows = []
    for name in args.backends.split(","):
        work = all_work
        if name == "llama-cpp" and not llama_cpp_available():
            print("llama-cpp: skipped (extra 'llm' not installed)")
            continue
        backend = make_backend(name)
        writer = CopyWriter(backend, max_attempts=args.max_attempts)
        raw_ok, final_ok, raw_texts, final_texts, fallbacks, n = 0, 0, [], [], 0, 0
        t = time.perf_counter()
        for i, (task, facts, lang, interests) in enumerate(work):
            if args.max_seconds and time.perf_counter() - t > args.max_seconds:
                print(f"{name}: time budget of {args.max_seconds}s reached after {i} of {len(work)} texts")
                break
            copy = writer.write(task, facts, lang, interests=interests, seed=i, use_cache=False)
            # the backend's own first attempt (what the guard saw first), and what the writer delivered
            first = copy.text if copy.backend == name and copy.attempts == 1 else copy.rejected[0]
            raw_ok += bool(first) and not first.startswith("<") and check(first, facts).ok
            final_ok += check(copy.text, facts).ok
            fallbacks += copy.backend != name
            raw_texts.append(first)
            final_texts.append(copy.text)
            n += 1
        texts = raw_texts
        work = work[:n]
        row = {
            "backend": name,
            "n_texts": len(work),
            "raw_grounded": round(raw_ok / max(n, 1), 4),
            "final_grounded": round(final_ok / max(n, 1), 4),
            "fallback_share": round(fallbacks / max(n, 1), 4),
            "distinct_2_raw": round(distinct_2(raw_texts), 4),
            "distinct_2_delivered": round(distinct_2(final_texts), 4),
            "seconds_per_text": round((time.perf_counter() - t) / max(n, 1), 2),
            "seconds": round(time.perf_counter() - t, 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
        for lang in ("en", "zh"):
            sample = [x for x, (_, _, lg, _) in zip(texts, work, strict=True) if lg == lang][:2]
            print(f"  sample {lang}: {sample}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
