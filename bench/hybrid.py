"""Benchmark: the hybrid ranker and its components on the four datasets/protocols of issue 3.

Every model of one dataset runs on the same split in the same run (test phase: fit on
train + valid, score test, seen items excluded unless the protocol counts repeats).
Results are printed as markdown rows and written as JSON under ``bench/results/``.

    nice -n 5 .venv/bin/python bench/hybrid.py beauty ml1m retail office

Tasks:

``beauty``  Amazon Beauty ``loo``: default hybrid vs its retrievers.
``ml1m``    ML-1M ``recbole``: hybrid with random-share labels (the split is random), activity-window
            features, an RP3beta retriever, 5 averaged rankers, and side information (catalog genres/titles
            with a content retriever, user-segment popularity from the demographics, release years).
``retail``  Online Retail ``time`` and ``time-repeats``: hybrid with time-window labels
            (repeat candidates on, eight 15-day label windows and 3 rankers for ``time-repeats``) vs ``repeat-popular``
            and CF models.
``office``  Amazon Office ``loo`` with the item text; and a cold-item run where 10 % of the
            items have every train/valid event removed, so only content can recommend them
            (HR@10 over the test users whose test item is one of those).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: implicit (ALS) wants single-threaded BLAS

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
METRICS = ("ndcg@10", "hr@10", "fit_seconds", "score_seconds", "peak_mb", "max_rss_mb")

CF = ["popularity", "recent-popularity", "item-knn:n_neighbors=200", "ease:reg=250.0", "als"]


def _run(
    dataset_name: str,
    protocol: str,
    specs: list[str],
    params: dict[str, dict[str, Any]] | None = None,
    **kw: Any,
) -> dict:
    from tuijian.evaluate.runner import evaluate_models

    t = time.perf_counter()
    res = evaluate_models(dataset_name, protocol, specs, params=params, progress=False, **kw)
    res["wall_seconds"] = round(time.perf_counter() - t, 1)
    return res


def _print(res: dict, label: str) -> None:
    print(
        f"\n### {label}: {res['dataset']} / {res['protocol']} (users evaluated: {res['split']['users_evaluated']})"
    )
    print("| model | NDCG@10 | HR@10 | fit s | score s | peak traced MB | max RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for name, m in res["results"].items():
        row = " | ".join(
            f"{m.get(k, float('nan')):.4f}" if k in ("ndcg@10", "hr@10") else f"{m.get(k, float('nan'))}"
            for k in METRICS
        )
        print(f"| {name} | {row} |", flush=True)


def _save(name: str, res: Any) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"hybrid_{name}.json").write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")


def beauty() -> None:
    res = _run("amazon-beauty", "loo", ["hybrid", *CF])
    _print(res, "Beauty")
    _save("beauty", res)


def ml1m() -> None:
    # time_features, n_rankers=5, the rp3beta retriever, and the side information (the ML-1M catalog's
    # genres/titles with a content retriever, user-segment popularity, release years): chosen on the
    # validation phase (bench/RESULTS.md)
    hybrid = {"label_strategy": "random", "label_fraction": 0.11, "refit": True, "time_features": True,
              "n_rankers": 5, "dataset": "movielens-1m", "segment_features": True, "year_features": True,
              "retrievers": {
        "ease": {"reg": 500.0}, "item-knn": {"n_neighbors": 200}, "popularity": {}, "als": {},
        "rp3beta": {"beta": 0.5, "n_neighbors": 200}, "content": {}}}  # fmt: skip
    res = _run("movielens-1m", "recbole", ["hybrid", "popularity", "item-knn:n_neighbors=200", "ease:reg=500.0", "als"],
               params={"hybrid": hybrid})  # fmt: skip
    _print(res, "ML-1M")
    _save("ml1m", res)


def retail() -> None:
    from tuijian.data.datasets import load_dataset
    from tuijian.evaluate.protocols import make_protocol

    ds = load_dataset("online-retail")
    out = {}
    for protocol, repeats in (("time", False), ("time-repeats", True)):
        split = make_protocol(protocol, ds)
        hybrid = {"label_strategy": "time", "label_days": 30.0, "repeats": repeats, "dataset": "online-retail",
                  "retrievers": {"ease": {"reg": 250.0}, "item-knn": {"n_neighbors": 200}, "popularity": {},
                                 "recent-popularity": {}, "als": {}, "repeat-popular": {}}}  # fmt: skip
        if repeats:  # eight 15-day label windows, 3 averaged rankers: chosen on validation (bench/RESULTS.md)
            hybrid.update(label_days=15.0, n_label_sets=8, n_rankers=3)
        res = _run("online-retail", protocol, ["hybrid", "repeat-popular", *CF], params={"hybrid": hybrid},
                   split=split, dataset=ds)  # fmt: skip
        _print(res, f"Online Retail ({'repeats allowed' if repeats else 'repeats excluded'})")
        out[protocol] = res
    _save("retail", out)


def office() -> None:
    from tuijian.data.datasets import load_dataset
    from tuijian.evaluate.protocols import make_protocol

    ds = load_dataset("amazon-office")
    split = make_protocol("loo", ds)
    hybrid = {"dataset": "amazon-office"}
    res = _run("amazon-office", "loo", ["hybrid", *CF], params={"hybrid": hybrid}, split=split, dataset=ds)
    _print(res, "Office")
    res["cold_items"] = office_cold(ds)
    _save("office", res)


def office_cold(ds: Any, share: float = 0.1, seed: int = 0) -> dict:
    """Remove every train/valid event of a random 10 % of the items; HR@10 on test users whose target is one."""
    from tuijian.evaluate.protocols import EvalSplit, make_protocol
    from tuijian.models.content import ContentRecommender
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
    for name, model in (
        ("hybrid", HybridRecommender(dataset="amazon-office")),
        ("content", ContentRecommender()),
    ):
        t = time.perf_counter()
        model.fit(stage.fit, items=ds.items)
        ids, _ = model.recommend(users, k=10, history=stage.exclude[users])
        hit = (ids == stage.targets[users].toarray().argmax(axis=1)[:, None]).any(axis=1)
        out[name] = {"hr@10_cold": float(hit.mean()), "fit_seconds": round(time.perf_counter() - t, 1)}
    print(f"\nOffice cold items ({out['n_cold_items']} items, {out['n_users']} test users): "
          f"hybrid HR@10 {out['hybrid']['hr@10_cold']:.4f}, content HR@10 {out['content']['hr@10_cold']:.4f}", flush=True)  # fmt: skip
    return out


TASKS = {"beauty": beauty, "ml1m": ml1m, "retail": retail, "office": office}

if __name__ == "__main__":
    names = sys.argv[1:] or list(TASKS)
    bad = [n for n in names if n not in TASKS]
    if bad:
        raise SystemExit(f"unknown task(s) {bad}; choose from {list(TASKS)}")
    for n in names:
        TASKS[n]()
