"""Validation-phase variants of the hybrid on one task (fit on train, score the validation split; never test).

Used to find what a self-configuration choice should be before it becomes a default: each variant is the
default hybrid with some parameters given. ``default`` also scores ``repeat-popular`` for the ratio.

    nice -n 5 .venv/bin/python bench/hybrid_variants.py retail-repeats default retr6 fixed prune

Writes ``bench/results/hybrid_variants_<task>_<variant>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from tuijian.models.hybrid import DEFAULT_RETRIEVERS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: task: (dataset, protocol, the model ``default`` is compared with: the bar's reference or the best other)
TASKS = {
    "retail-repeats": ("online-retail", "time-repeats", "repeat-popular"),
    "retail-time": ("online-retail", "time", "ease"),
    "office": ("amazon-office", "loo", "session-transitions"),
    "beauty": ("amazon-beauty", "loo", "session-transitions"),
    "ml1m": ("movielens-1m", "recbole", "ease"),
    "ml100k": ("movielens-100k", "recbole", "ease"),
}
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    # the six retrievers of the issue 3 hand-picked setting, everything else chosen as by default
    "retr6": {
        "retrievers": {
            "ease": {"reg": 250.0},
            "item-knn": {"n_neighbors": 200},
            "popularity": {},
            "recent-popularity": {"window_days": 30.0},
            "als": {},
            "repeat-popular": {},
        }
    },
    # the issue 3 hand-picked labels, features and refit, with the default retrievers
    "fixed": {"labels": {"kind": "time", "days": 15.0, "n_sets": 8}, "features": {}, "refit": False},
    # the retriever set chosen on the hybrid's own holdout
    "prune": {"prune_retrievers": True},
    # the setup the default chose on retail-repeats (time 15d x8, repeat+rating+genre, refit) and the retrievers
    # prune kept, fixed, no selection and no gate: a fast base to compare ranker changes on (issue 10)
    "pfix": {
        "retrievers": {
            **{k: v for k, v in DEFAULT_RETRIEVERS.items()},
            "repeat-popular": {},
        },
        "labels": {"kind": "time", "days": 15.0, "n_sets": 8},
        "features": {"repeat": True, "rating": True, "genre": True},
        "refit": True,
        "gate": False,
    },
}
# ``pfix-hneg`` (bench/results/hybrid_variants_retail-repeats_pfix-hneg.json) was ``pfix`` with every past item of
# the user kept among the ranker's negatives (``RankerConfig.history_negatives`` of commit 7a87c77): 0.2943, removed
# the same fixed setup, the ranker trained on every candidate of a user (as many as are scored), or on 30 negatives
VARIANTS["pfix-neg1000"] = {**VARIANTS["pfix"], "ranker": {"n_negatives": 1000}}
VARIANTS["pfix-neg30"] = {**VARIANTS["pfix"], "ranker": {"n_negatives": 30}}
# ``pfix-occ`` (bench/results/hybrid_variants_retail-repeats_pfix-occ.json) was ``pfix`` run at commit 3f08a8a, whose
# repeat group had six purchase-occasion features more; they scored lower and were removed (RESULTS, issue 10 note 2)


def main() -> None:
    from tuijian.data.datasets import load_dataset
    from tuijian.evaluate.protocols import make_protocol
    from tuijian.evaluate.runner import evaluate_models

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("task", choices=sorted(TASKS))  # one task a run
    ap.add_argument("variants", nargs="+", choices=sorted(VARIANTS))
    args = ap.parse_args()
    name, protocol, baseline = TASKS[args.task]
    ds = load_dataset(name)
    split = make_protocol(protocol, ds)
    for variant in args.variants:
        t = time.perf_counter()
        models = ["hybrid"] + ([baseline] if variant == "default" else [])
        res = evaluate_models(
            name, protocol, models, progress=False, phase="valid", split=split, dataset=ds,
            params={"hybrid": {"verbose": True, **VARIANTS[variant]}},
        )  # fmt: skip
        out = {m: {k: res["results"][m][k] for k in ("ndcg@10", "hr@10")} for m in res["results"]}
        out["params"] = VARIANTS[variant]
        out["wall_seconds"] = round(time.perf_counter() - t, 1)
        print("RESULT", variant, json.dumps(out), flush=True)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"hybrid_variants_{args.task}_{variant}.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
