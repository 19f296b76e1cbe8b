"""Benchmark: the DEFAULT hybrid (no options: it configures itself) beside the other registered models.

Every model of one dataset runs on the same split in the same run. ``--phase valid`` fits on
train and scores the validation split (where every decision is made); ``--phase test`` fits on
train + valid and scores test (once per final configuration). The hybrid gets exactly what
``tuijian evaluate`` gives it: the dataset's catalog and user attributes, and the protocol's
holdout shape; it chooses its own labels, feature groups, refit and ranker-vs-retriever on a
split carved from its own training data. Results are printed as markdown rows and written as
JSON under ``bench/results/``.

    nice -n 5 .venv/bin/python bench/hybrid.py --phase valid retail-time retail-repeats office ml1m beauty

Tasks: ``beauty`` (Amazon Beauty ``loo``), ``ml1m`` (ML-1M ``recbole``), ``retail-time`` and
``retail-repeats`` (Online Retail ``time`` / ``time-repeats``), ``office`` (Amazon Office ``loo``,
plus the cold-item run: 10 % of the items have every train/valid event removed, HR@10 over the
test users whose target is one of those), and two checks on data no default was developed on:
``ml100k`` (MovieLens-100K ``recbole``) and ``ml100k-loo`` (MovieLens-100K ``loo``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: implicit (ALS) wants single-threaded BLAS

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
METRICS = ("ndcg@10", "hr@10", "fit_seconds", "score_seconds", "max_rss_mb")

#: the other registered models, registry defaults (SASRec, BPR and user-kNN are in bench/peers.py)
OTHERS = ["ease", "item-knn", "rp3beta", "als", "session-transitions", "popularity", "recent-popularity"]

TASKS: dict[str, tuple[str, str, list[str]]] = {
    "beauty": ("amazon-beauty", "loo", OTHERS + ["content"]),
    "ml1m": ("movielens-1m", "recbole", OTHERS + ["content"]),
    "retail-time": ("online-retail", "time", OTHERS + ["content", "repeat-popular"]),
    "retail-repeats": ("online-retail", "time-repeats", OTHERS + ["content", "repeat-popular"]),
    "office": ("amazon-office", "loo", OTHERS + ["content"]),
    # never used for any choice: a check of the defaults on data they were not developed on
    "ml100k": ("movielens-100k", "recbole", OTHERS + ["content"]),
    "ml100k-loo": ("movielens-100k", "loo", OTHERS + ["content"]),
}


def run(task: str, phase: str) -> dict[str, Any]:
    from tuijian.data.datasets import load_dataset
    from tuijian.evaluate.protocols import make_protocol
    from tuijian.evaluate.runner import evaluate_models

    name, protocol, others = TASKS[task]
    ds = load_dataset(name)
    split = make_protocol(protocol, ds)
    if getattr(ds, "items", None) is None:
        others = [m for m in others if m != "content"]
    t = time.perf_counter()
    res = evaluate_models(
        name, protocol, ["hybrid", *others], progress=False, phase=phase, split=split, dataset=ds,
        params={"hybrid": {"verbose": True}},
    )  # fmt: skip
    res["wall_seconds"] = round(time.perf_counter() - t, 1)
    hybrid = res["results"]["hybrid"]
    best_other = max((m for m in res["results"] if m != "hybrid"), key=lambda m: res["results"][m]["ndcg@10"])
    res["best_other"] = best_other
    res["ratio_to_best_other"] = hybrid["ndcg@10"] / max(res["results"][best_other]["ndcg@10"], 1e-12)
    _print(res, f"{task} ({phase})")
    if task == "office" and phase == "test":
        res["cold_items"] = office_cold(ds)
    return res


def _print(res: dict, label: str) -> None:
    print(
        f"\n### {label}: {res['dataset']} / {res['protocol']} (users evaluated: {res['split']['users_evaluated']})"
    )
    print("| model | NDCG@10 | HR@10 | fit s | score s | max RSS MB |")
    print("|---|---|---|---|---|---|")
    for name, m in res["results"].items():
        row = " | ".join(
            f"{m.get(k, float('nan')):.4f}" if k in ("ndcg@10", "hr@10") else f"{m.get(k, float('nan'))}"
            for k in METRICS
        )
        print(f"| {name} | {row} |", flush=True)
    print(f"hybrid / best other ({res['best_other']}): {res['ratio_to_best_other']:.3f}x", flush=True)


def office_cold(ds: Any, share: float = 0.1, seed: int = 0) -> dict:
    """Remove every train/valid event of a random 10 % of the items; HR@10 on test users whose target is one."""
    from tuijian.evaluate.protocols import EvalSplit, make_protocol
    from tuijian.models.content import ContentRecommender
    from tuijian.models.holdout import Holdout
    from tuijian.models.hybrid import HybridRecommender

    split = make_protocol("loo", ds)
    rng = np.random.default_rng(seed)
    n_items = split.train.n_items
    cold = np.zeros(n_items, dtype=bool)
    cold[rng.choice(n_items, int(share * n_items), replace=False)] = True
    train = split.train.subset(~cold[split.train.log["i"].to_numpy()])
    valid = split.valid.subset(~cold[split.valid.log["i"].to_numpy()])
    cut = EvalSplit(
        train=train, valid=valid, test=split.test, info=split.info, protocol="loo", dataset=ds.name
    )
    stage = cut.stage("test")
    targets = stage.targets[stage.users]
    target_item = targets.indices[targets.indptr[:-1]]
    users = stage.users[cold[target_item]]
    out: dict[str, Any] = {"n_cold_items": int(cold.sum()), "n_users": len(users)}
    for name, model, kw in (
        ("hybrid", HybridRecommender(), {"items": ds.items, "holdout": Holdout("last")}),
        ("content", ContentRecommender(), {"items": ds.items}),
    ):
        t = time.perf_counter()
        model.fit(stage.fit, **kw)
        ids, _ = model.recommend(users, k=10, history=stage.exclude[users])
        hit = (ids == stage.targets[users].toarray().argmax(axis=1)[:, None]).any(axis=1)
        out[name] = {"hr@10_cold": float(hit.mean()), "fit_seconds": round(time.perf_counter() - t, 1)}
    print(f"\nOffice cold items ({out['n_cold_items']} items, {out['n_users']} test users): "
          f"hybrid HR@10 {out['hybrid']['hr@10_cold']:.4f}, content HR@10 {out['content']['hr@10_cold']:.4f}", flush=True)  # fmt: skip
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tasks", nargs="*", default=list(TASKS), help=f"any of {list(TASKS)}")
    ap.add_argument("--phase", choices=("valid", "test"), default="valid")
    ap.add_argument(
        "--tag", default="", help="suffix of the JSON's name (keeps an earlier configuration's file)"
    )
    args = ap.parse_args()
    bad = [n for n in args.tasks if n not in TASKS]
    if bad:
        raise SystemExit(f"unknown task(s) {bad}; choose from {list(TASKS)}")
    RESULTS.mkdir(exist_ok=True)
    for n in args.tasks:
        out = run(n, args.phase)
        (RESULTS / f"hybrid_{n}_{args.phase}{args.tag}.json").write_text(
            json.dumps(out, indent=2, default=str), encoding="utf-8"
        )
