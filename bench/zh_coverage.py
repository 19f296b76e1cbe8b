"""Chinese coverage of the shop assistant's vocabulary over the real Online Retail catalogue (issue 12).

    nice -n 10 .venv/bin/python bench/zh_coverage.py [--min-items 2] [--list] [--json PATH]

A catalogue word or phrase is *reachable from Chinese* when some Chinese word the assistant reads
(:attr:`tuijian.generate.assistant_catalog.Vocabulary.chinese`) maps to a concept with an alternative made of that
word or phrase (an alternative is the set of title words an item must have to match). Reported:

- items whose product type (the record's head noun phrase, "bottle opener") is reachable as a whole, and items whose
  type or at least its head noun ("opener") is reachable;
- the share of title content words, counted once per item that has them, that a Chinese word reaches on its own
  ("songbird": 鸣鸟), and the share reached at least inside a phrase ("water" in 热水袋, hot water bottle);
- the product types, head nouns, themes and title words of at least ``--min-items`` items that no Chinese word
  reaches (``--list`` prints them, most frequent first), and frequent two- and three-word title phrases that are
  product types or lexicon terms. A word in the ``words`` list is reached by no Chinese word at all, not even in a
  phrase.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuijian.generate.assistant import ShopAssistant
from tuijian.generate.retrieval import index_tokens
from tuijian.generate.shop import load_shop
from tuijian.nlp.lexicon import attribute_lexicon

#: Title words that name no thing a shopper asks for (sizes, set words, grammar, codes).
_NOT_CONTENT_WORDS = """
    set pack box of and with in the a small large mini big medium jumbo giant tiny assorted asst design designs
    col w h cm mm x pc pcs piece pieces pk new
"""
_NOT_CONTENT = frozenset(_NOT_CONTENT_WORDS.split())


def _content(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t.isalpha() and len(t) > 1 and t not in _NOT_CONTENT]


def coverage(min_items: int = 2, data_dir: str | None = None) -> dict[str, Any]:
    """The coverage report (see the module docstring) as a dict."""
    shop = load_shop("online-retail", data_dir)
    assistant = ShopAssistant(shop).fit()
    cat = assistant.catalog_
    vocab = cat.vocabulary
    alts: set[tuple[str, ...]] = set()
    zh_of: dict[tuple[str, ...], list[str]] = {}
    for zh, concept in vocab.chinese.items():
        for alt in concept.alternatives:
            alts.add(alt)
            zh_of.setdefault(alt, []).append(zh)
    words = {alt[0] for alt in alts if len(alt) == 1}
    in_phrases = {t for alt in alts for t in alt}

    n = len(cat.titles)
    type_tok = [tuple(index_tokens(t.replace("-", " "))) for t in cat.types]
    typed = [i for i in range(n) if type_tok[i]]
    type_ok = [i for i in typed if type_tok[i] in alts]
    head_ok = [i for i in typed if type_tok[i] in alts or (type_tok[i][-1],) in alts]

    word_items: Counter[str] = Counter()
    for toks in cat.tokens:
        word_items.update(set(_content(sorted(toks))))
    total = sum(word_items.values())
    reached = sum(c for w, c in word_items.items() if w in words)
    reached_any = sum(c for w, c in word_items.items() if w in in_phrases)

    types = Counter(cat.types[i] for i in typed)
    heads = Counter(type_tok[i][-1] for i in typed)
    themes: Counter[str] = Counter()
    for r in cat.records:
        themes.update({str(v) for v in r.values("theme")})
    lex_phrases = {
        tuple(index_tokens(f.replace("-", " ")))
        for kind in attribute_lexicon().values()
        for value, forms in kind.items()
        for f in [value, *forms["en"]]
    }
    phrases: Counter[tuple[str, ...]] = Counter()
    type_phrases = set(type_tok)
    for title in cat.titles:
        words_of = index_tokens(title.replace("-", " "))
        grams = {tuple(words_of[i : i + k]) for k in (2, 3) for i in range(len(words_of) - k + 1)}
        phrases.update(g for g in grams if g in lex_phrases or g in type_phrases)

    def missing(counter: Counter, key: Callable[[Any], bool]) -> list[tuple[str, int]]:
        return [
            (" ".join(k) if isinstance(k, tuple) else k, c)
            for k, c in counter.most_common()
            if c >= min_items and not key(k)
        ]

    theme_tok = {t: tuple(index_tokens(t.replace("-", " "))) for t in themes}
    gaps = {
        "types": missing(Counter(dict(types)), lambda t: tuple(index_tokens(t.replace("-", " "))) in alts),
        "heads": missing(heads, lambda h: (h,) in alts),
        "themes": missing(themes, lambda t: theme_tok[t] in alts or not theme_tok[t]),
        "phrases": missing(phrases, lambda p: p in alts),
        "words": missing(word_items, lambda w: w in in_phrases),
    }
    n_freq = {
        "types": sum(1 for c in types.values() if c >= min_items),
        "heads": sum(1 for c in heads.values() if c >= min_items),
        "themes": sum(1 for c in themes.values() if c >= min_items),
        "phrases": sum(1 for c in phrases.values() if c >= min_items),
        "words": sum(1 for c in word_items.values() if c >= min_items),
    }
    return {
        "dataset": "online-retail",
        "n_items": n,
        "n_chinese_words": len(vocab.chinese),
        "items_with_type": len(typed),
        "items_type_reachable": round(len(type_ok) / max(len(typed), 1), 4),
        "items_type_or_head_reachable": round(len(head_ok) / max(len(typed), 1), 4),
        "title_word_share_reachable": round(reached / max(total, 1), 4),
        "title_word_share_reachable_in_phrase": round(reached_any / max(total, 1), 4),
        "min_items": min_items,
        "unreached": {k: f"{len(v)} of {n_freq[k]}" for k, v in gaps.items()},
        "gaps": gaps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--min-items", type=int, default=2, help="list gaps that occur in at least this many items"
    )
    parser.add_argument("--list", action="store_true", help="print every gap, most frequent first")
    parser.add_argument("--json", type=Path, default=None, help="also write the full report here")
    parser.add_argument("--data-dir", default=None, help="dataset root (default: resolve_data_dir())")
    args = parser.parse_args()
    if args.min_items < 1:
        parser.error(f"--min-items must be at least 1, got {args.min_items}")
    report = coverage(args.min_items, args.data_dir)
    summary = {k: v for k, v in report.items() if k != "gaps"}
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    if args.list:
        for kind, rows in report["gaps"].items():
            print(f"\n## {kind} not reachable from Chinese ({len(rows)})")
            print(", ".join(f"{w} ({c})" for w, c in rows))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
