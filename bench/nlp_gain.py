"""Does NLP help the recommendations? Content model with vs without NLP tag vectors, on the TEST split.

    nice -n 10 .venv/bin/python bench/nlp_gain.py [--datasets amazon-office,online-retail] [--json out.json]

Per dataset (Amazon Office under ``loo``, Online Retail under ``time``):

1. Tuning, validation phase only (fit on train, rank for the validation targets). The content model is fitted
   once with NLP tags; ``tag_weight`` and ``recency_half_life`` only change scoring, so every grid point is
   scored from that one fit (``tag_weight=0`` is exactly the TF-IDF-only model). The baseline gets its own best
   ``recency_half_life``; the NLP variant its best (``recency_half_life``, ``tag_weight``).
2. Test phase: both chosen configurations are fitted on train + valid and scored on test through
   :func:`tuijian.evaluate.runner.evaluate_models` (the project's runner and metrics).

Tags are the ``kind:value`` title attributes (colour, material, product type, pattern, size, ...) and the
TF-IDF keywords of :func:`tuijian.nlp.features.item_features`, idf-weighted, rows at unit L2 norm.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from tuijian.data.datasets import load_dataset
from tuijian.evaluate.protocols import make_protocol
from tuijian.evaluate.runner import evaluate_model, evaluate_models
from tuijian.models.content import ContentRecommender

PROTOCOL = {"amazon-office": "loo", "online-retail": "time"}
TAG_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7)
HALF_LIVES = (None, 3.0)


def tune(name: str, ds: Any, split: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validation grid from one fit; returns the chosen params (baseline, nlp) and every grid row."""
    stage = split.stage("valid")
    t = time.perf_counter()
    model = ContentRecommender(nlp_tags=True, tag_weight=0.3).fit(stage.fit, items=ds.items)
    print(f"{name}: valid fit {time.perf_counter() - t:.1f}s, {model.item_tags_.shape[1]} tags", flush=True)
    rows = []
    for hl in HALF_LIVES:
        for w in TAG_WEIGHTS:
            model.recency_half_life, model.tag_weight = hl, w
            res = evaluate_model(model, stage, (10,))
            rows.append(
                {"recency_half_life": hl, "tag_weight": w, "ndcg@10": res["ndcg@10"], "hr@10": res["hr@10"]}
            )
            print(f"  valid hl={hl} w={w}: ndcg@10={res['ndcg@10']:.4f} hr@10={res['hr@10']:.4f}", flush=True)
    base = max((r for r in rows if r["tag_weight"] == 0.0), key=lambda r: r["ndcg@10"])
    nlp = max((r for r in rows if r["tag_weight"] > 0.0), key=lambda r: r["ndcg@10"])
    return {"base": base, "nlp": nlp}, rows


def run(name: str) -> dict[str, Any]:
    protocol = PROTOCOL[name]
    ds = load_dataset(name)
    split = make_protocol(protocol, ds)
    chosen, grid = tune(name, ds, split)
    hb, hn, w = (
        chosen["base"]["recency_half_life"],
        chosen["nlp"]["recency_half_life"],
        chosen["nlp"]["tag_weight"],
    )
    specs = {"content (TF-IDF)": {"nlp_tags": False, "recency_half_life": hb}}
    specs["content (TF-IDF + NLP tags)"] = {"nlp_tags": True, "tag_weight": w, "recency_half_life": hn}
    test = {}
    for label, params in specs.items():
        res = evaluate_models(
            name, protocol, ["content"], ks=(10,), params={"content": params},
            split=split, dataset=ds, progress=False, track_memory=False,
        )  # fmt: skip
        test[label] = {**res["results"]["content"], "chosen": params}
        r = test[label]
        print(f"{name} TEST {label} {params}: ndcg@10={r['ndcg@10']:.4f} hr@10={r['hr@10']:.4f}", flush=True)
    b, n = test["content (TF-IDF)"], test["content (TF-IDF + NLP tags)"]
    gain = {m: (n[m] - b[m]) / b[m] if b[m] else float("nan") for m in ("ndcg@10", "hr@10")}
    print(f"{name} relative gain: ndcg@10 {gain['ndcg@10']:+.1%}, hr@10 {gain['hr@10']:+.1%}", flush=True)
    return {
        "dataset": name,
        "protocol": protocol,
        "users_evaluated": b["n_users_evaluated"],
        "valid_grid": grid,
        "chosen": chosen,
        "test": test,
        "relative_gain": gain,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="amazon-office,online-retail")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    out = [run(name) for name in args.datasets.split(",")]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
