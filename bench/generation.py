"""Grounding rate and distinct-2 diversity of generated copy over real items, per available backend.

    nice -n 10 .venv/bin/python bench/generation.py [--n-items 150] [--backends template,llama-cpp]

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
    ap.add_argument("--max-attempts", type=int, default=2, help="backend tries before the template fallback")
    ap.add_argument(
        "--max-seconds", type=float, default=0, help="stop a backend after this long (0 = no limit)"
    )
    ap.add_argument("--max-texts", type=int, default=0, help="only the first N texts (0 = all)")
    ap.add_argument("--shuffle", action="store_true", help="interleave the tasks (useful with --max-seconds)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
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
