"""Aspect-sentiment accuracy on the labelled mentions of ``tests/nlp/data/aspect_mentions.jsonl`` (issue 12, item 7).

    nice -n 10 .venv/bin/python bench/aspects.py [--split dev|heldout|all] [--errors]

Prints accuracy overall, per language, and on the mentions tagged ``negation`` / ``contrast``. The prediction for a
mention is the polarity of the last non-neutral opinion :func:`tuijian.nlp.aspects.aspect_opinions` finds for that aspect in the
sentence (a missed aspect counts as wrong). See ``tests/nlp/data/README.md`` for the labelling rule.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tuijian.nlp.aspects import aspect_opinions

DATA = Path(__file__).resolve().parents[1] / "tests" / "nlp" / "data" / "aspect_mentions.jsonl"


def load_mentions(split: str = "all", path: Path = DATA) -> list[dict[str, Any]]:
    """The labelled mentions of ``split`` (``dev``, ``heldout`` or ``all``)."""
    if split not in ("dev", "heldout", "all"):
        raise SystemExit(f"--split must be dev, heldout or all, got {split!r}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split == "all" or r["split"] == split]


def predict(text: str, aspect: str, language: str) -> int:
    """Polarity of the last clause that judges ``aspect`` in ``text`` (0 when none does)."""
    found = [
        o.polarity for o in aspect_opinions(text, language=language) if o.aspect == aspect and o.polarity
    ]
    return found[-1] if found else 0


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy overall, per language and per tag, with the counts."""
    groups: dict[str, list[bool]] = {"overall": [], "en": [], "zh": [], "negation": [], "contrast": []}
    for r in rows:
        ok = predict(r["text"], r["aspect"], r["lang"]) == r["polarity"]
        r["_ok"] = ok
        for g in ("overall", r["lang"], *r["tags"]):
            groups[g].append(ok)
    return {g: {"accuracy": round(sum(v) / len(v), 4) if v else None, "n": len(v)} for g, v in groups.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", help="dev (default), heldout or all")
    parser.add_argument("--errors", action="store_true", help="also list the mentions it gets wrong")
    args = parser.parse_args()
    rows = load_mentions(args.split)
    result = score(rows)
    print(json.dumps({"split": args.split, **result}, ensure_ascii=False))
    if args.errors:
        for r in rows:
            if not r["_ok"]:
                got = predict(r["text"], r["aspect"], r["lang"])
                print(f"{r['id']}\t{r['aspect']}\tgold {r['polarity']:+d}\tgot {got:+d}\t{r['text']}")


if __name__ == "__main__":
    main()
