"""Grounding rate and distinct-2 diversity of generated copy over real items, per available backend.

    nice -n 10 .venv/bin/python bench/generation.py [--n-items 150] [--backends template,llama-cpp]

Texts: Online Retail product descriptions and personalised ads (English and Chinese; ads use the interest tags
of a real buyer of the item) and Women's Clothing review summaries (English and Chinese).
"raw grounded" = share of the backend's own outputs with no guard violation; "final grounded" = share after the
writer's retry / template fallback. distinct-2 = unique token bigrams / all token bigrams (jieba for Chinese).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from tuijian.generate.backends import GenerationRequest, llama_cpp_available, make_backend
from tuijian.generate.guard import check
from tuijian.generate.shop import load_shop
from tuijian.generate.writer import CopyWriter
from tuijian.nlp.tokenize import tokenize


def distinct_2(texts: list[str]) -> float:
    grams = [tuple(t[i : i + 2]) for t in (tokenize(x) for x in texts) for i in range(len(t) - 1)]
    return len(set(grams)) / max(len(grams), 1)


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-items", type=int, default=150)
    ap.add_argument("--n-summaries", type=int, default=60)
    ap.add_argument("--backends", default="template,llama-cpp")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    work = jobs(args.n_items, args.n_summaries, args.seed)
    rows = []
    for name in args.backends.split(","):
        if name == "llama-cpp" and not llama_cpp_available():
            print("llama-cpp: skipped (extra 'llm' not installed)")
            continue
        backend = make_backend(name)
        writer = CopyWriter(backend, max_attempts=2)
        raw_ok, final_ok, texts, fallbacks = 0, 0, [], 0
        t = time.perf_counter()
        for i, (task, facts, lang, interests) in enumerate(work):
            raw = backend.generate(
                GenerationRequest(
                    task,
                    facts,
                    lang,
                    interests,
                    None if task != "ad" else "popular with shoppers like you",
                    seed=i,
                )
            )
            raw_ok += check(raw, facts).ok
            copy = writer.write(task, facts, lang, interests=interests, seed=i, use_cache=False)
            final_ok += check(copy.text, facts).ok
            fallbacks += copy.backend != name
            texts.append(copy.text if name == "template" else raw)
        row = {
            "backend": name,
            "n_texts": len(work),
            "raw_grounded": round(raw_ok / len(work), 4),
            "final_grounded": round(final_ok / len(work), 4),
            "fallback_share": round(fallbacks / len(work), 4),
            "distinct_2": round(distinct_2(texts), 4),
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
