"""Product-type accuracy of :func:`tuijian.nlp.product.understand` on the hand-labelled items (issue 12, item 1).

    nice -n 10 .venv/bin/python bench/product_types.py [--split dev|heldout|blind|blind2|blind3|blind4|all] [--errors N]

The labels and the labelling rule are in ``tests/nlp/data/product_types.csv`` (160 Online Retail items, 160 Amazon
Office items, each split 80 dev / 80 held-out, plus 60 + 60 ``blind`` items labelled before the rules first ran). Office titles are read from ``../shared/datasets`` (only ids and
labels are committed). A prediction is right when it equals one of the label's ``|``-separated forms, ignoring case
and treating "-" as a space; ``<none>`` expects no product type. Prints accuracy per split and dataset and the
first errors.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from tuijian.data.datasets import load_dataset
from tuijian.nlp.product import _chinese_names, chinese_product_type, understand

LABELS = Path(__file__).resolve().parents[1] / "tests" / "nlp" / "data" / "product_types.csv"


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


def load_items(path: Path = LABELS) -> list[dict[str, str]]:
    """Labelled rows with ``title``, ``description`` and ``category`` filled in from the datasets."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    catalogues = {}
    for name in sorted({r["dataset"] for r in rows}):
        items = load_dataset(name).items
        if items is None:
            raise SystemExit(f"dataset {name} has no item catalogue")
        catalogues[name] = items.set_index("item_id")
    for row in rows:
        item = catalogues[row["dataset"]].loc[row["item_id"]]
        if row["dataset"] == "online-retail" and row["title"] != item["title"]:
            raise SystemExit(
                f"label file title {row['title']!r} differs from the dataset's {item['title']!r}"
            )
        row["title"] = str(item["title"])
        row["description"] = str(item.get("description", "") or "")
        row["category"] = str(item.get("category", "") or "")
    return rows


def is_correct(predicted: str | None, label: str) -> bool:
    """Whether ``predicted`` matches one of the label's forms (``<none>``: no product type)."""
    if label == "<none>":
        return predicted is None
    return predicted is not None and _norm(predicted) in {_norm(form) for form in label.split("|")}


def predict(row: dict[str, str]) -> str | None:
    """The product type ``understand`` gives for a labelled row."""
    record = understand(row["title"], row["description"] or None, row["category"] or None)
    return None if record.product_type is None else str(record.product_type.value)


def chinese_coverage() -> None:
    """How many catalogue items get a product type, and a Chinese name for it (exact or from the head noun)."""
    types, heads = _chinese_names()
    for name in ("online-retail", "amazon-office"):
        items = load_dataset(name).items
        if items is None:
            raise SystemExit(f"dataset {name} has no item catalogue")
        typed = exact = named = 0
        for title, description, category in zip(
            items["title"], items["description"], items["category"], strict=True
        ):
            record = understand(str(title), str(description or "") or None, str(category or "") or None)
            if record.product_type is None:
                continue
            value = str(record.product_type.value)
            typed += 1
            exact += value in types or value in heads
            named += chinese_product_type(value) is not None
        n = len(items)
        print(
            f"{name:14s} items {n}: typed {typed / n:.3f}, Chinese name {named / n:.3f} "
            f"(whole type {exact / n:.3f}, from the head noun only {(named - exact) / n:.3f})"
        )
    print()


def count_accuracy(rows: list[dict[str, str]]) -> None:
    """Pack count and capacity per split on the rows that label them (``-`` = not labelled; empty = none stated)."""
    labelled = [row for row in rows if row.get("pack_count", "-") != "-"]
    for split in sorted({row["split"] for row in labelled}):
        chosen = [row for row in labelled if row["split"] == split]
        for field in ("pack_count", "capacity"):
            right, errors = 0, []
            for row in chosen:
                record = understand(row["title"], row["description"] or None, row["category"] or None)
                got = record.values(field)
                predicted = str(got[0]) if got else ""
                if predicted == row[field]:
                    right += 1
                else:
                    title = row["title"] or f"(Office item {row['item_id']})"
                    errors.append(f"{row['item_id']}: {title[:60]!r} -> {predicted!r}, label {row[field]!r}")
            stated = sum(bool(row[field]) for row in chosen)
            print(
                f"{split:7s} {field:10s} {right:3d}/{len(chosen)} = {right / len(chosen):.3f} ({stated} stated)"
            )
            for line in errors:
                print("   ", line)
    if labelled:
        print()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--split", default="all", choices=["dev", "heldout", "blind", "blind2", "blind3", "blind4", "all"]
    )
    parser.add_argument("--errors", type=int, default=10, help="how many errors to print")
    parser.add_argument(
        "--zh", action="store_true", help="also: Chinese-name coverage over both whole catalogues"
    )
    args = parser.parse_args()
    if args.zh:
        chinese_coverage()
    rows = load_items()
    count_accuracy(rows)
    results = [(row, predict(row)) for row in rows]
    splits = (
        ["dev", "heldout", "blind", "blind2", "blind3", "blind4"] if args.split == "all" else [args.split]
    )
    for split in [*splits, "all"] if args.split == "all" else splits:
        for dataset in ("online-retail", "amazon-office", "both"):
            chosen = [
                (row, p)
                for row, p in results
                if (split == "all" or row["split"] == split) and dataset in ("both", row["dataset"])
            ]
            right = sum(is_correct(p, row["product_type"]) for row, p in chosen)
            print(f"{split:8s} {dataset:14s} {right:3d}/{len(chosen):3d} = {right / len(chosen):.3f}")
    errors = [
        (row, p) for row, p in results if row["split"] in splits and not is_correct(p, row["product_type"])
    ]
    print(f"\n{len(errors)} errors; the first {min(args.errors, len(errors))}:")
    for row, p in errors[: args.errors]:
        print(
            f"  [{row['split']}] {row['dataset']} {row['item_id']}: {row['title'][:80]!r} -> {p!r}, label {row['product_type']!r}"
        )


if __name__ == "__main__":
    main()
