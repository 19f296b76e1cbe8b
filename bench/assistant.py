"""Shop-assistant answer accuracy on the gold questions of ``tests/generate/data/assistant_gold.json`` (issue 12,
item 5), on the real Online Retail catalogue.

    nice -n 10 .venv/bin/python bench/assistant.py [--split dev|heldout|heldout2|heldout3|heldout4|heldout5|heldout6|heldout7|heldout8|heldout9|heldout10|heldout11|heldout12|heldout13|heldout14|heldout15|all] [--errors] [--json PATH]

Prints accuracy overall, per split (``dev`` written while building; ``heldout`` to ``heldout15`` each written after a freeze of the code),
per language and per category (facts, price ranges, negation, sorting, policies, unknown items, follow-ups), the
time to build the assistant and the mean time per question. The labelling rule is in the gold file's ``_about``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tuijian.generate.assistant import ShopAssistant
from tuijian.generate.assistant_eval import evaluate, load_gold
from tuijian.generate.shop import load_shop

GOLD = Path(__file__).resolve().parents[1] / "tests" / "generate" / "data" / "assistant_gold.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--split",
        default="all",
        choices=[
            "dev",
            "heldout",
            "heldout2",
            "heldout3",
            "heldout4",
            "heldout5",
            "heldout6",
            "heldout7",
            "heldout8",
            "heldout9",
            "heldout10",
            "heldout11",
            "heldout12",
            "heldout13",
            "heldout14",
            "heldout15",
            "all",
        ],
    )
    parser.add_argument("--errors", action="store_true", help="print every wrong answer")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.add_argument("--data-dir", default=None, help="dataset root (default: resolve_data_dir())")
    args = parser.parse_args()

    questions = [q for q in load_gold(GOLD) if args.split == "all" or q.get("split", "dev") == args.split]
    shop = load_shop("online-retail", args.data_dir)
    start = time.perf_counter()
    assistant = ShopAssistant(shop).fit()
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    report = evaluate(assistant, questions)
    per_question_ms = 1000 * (time.perf_counter() - start) / max(len(questions), 1)
    summary = {
        "dataset": "online-retail",
        "n_items": len(shop.items),
        "split": args.split,
        "n_questions": report["n"],
        "accuracy": report["accuracy"],
        "counts": report["counts"],
        "fit_s": round(fit_s, 2),
        "ms_per_question_incl_turns": round(per_question_ms, 1),
        "n_wrong": len(report["failures"]),
    }
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    if args.errors:
        for failure in report["failures"]:
            print(json.dumps(failure, ensure_ascii=False))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summary["failures"] = report["failures"]
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
