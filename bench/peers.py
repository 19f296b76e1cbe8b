"""Side by side with peer libraries: ``implicit`` run directly beside Tuijian's models, same split, same run.

    nice -n 10 .venv/bin/python bench/peers.py                       # Beauty loo + ML-1M recbole
    .venv/bin/python bench/peers.py --setting amazon-beauty:loo --models als,ease --peers implicit-als
    .venv/bin/python bench/peers.py --cold-office                    # content on Office incl. held-out items

For every setting (dataset:protocol) one split is built; every model, ours and
the peers', is tuned on the VALIDATION split over a small grid (fit on train,
score valid), then refitted with the best settings on train + valid and scored
on test (full ranking, known items excluded). Recorded per model: NDCG@10,
HR@10, the final fit's seconds, peak traced memory of fit + scoring
(tracemalloc, numpy buffers included) and the grid.

Peers are called through their own API (``implicit``'s ``fit`` and
``recommend(..., filter_already_liked_items=True)``); ours through the
recommender contract. Writes ``bench/results/peers_<dataset>_<protocol>.json``
and ``.md``.

``--cold-office`` evaluates the content model (and ALS for contrast) on Amazon
Office with 10 % of the catalog held out of training entirely: each user's last
item is the test item; HR@10 is reported separately for test items that were
never seen in training (only content can reach those).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import warnings  # noqa: E402

warnings.filterwarnings("ignore", message="Method expects CSR input")

import numpy as np  # noqa: E402

from tuijian.evaluate import metrics as M  # noqa: E402
from tuijian.evaluate.protocols import Stage, make_protocol  # noqa: E402
from tuijian.evaluate.runner import evaluate_model, parse_model_specs  # noqa: E402
from tuijian.models import registry  # noqa: E402
from tuijian.models.tuning import parameter_grid  # noqa: E402

OUT = Path(__file__).parent / "results"

#: small validation grids, per (model, dataset); "*" = any dataset
GRIDS: dict[str, dict[str, dict[str, list[Any]]]] = {
    "als": {"*": {"n_factors": [128], "reg": [10.0, 100.0], "alpha": [1.0, 10.0]}},
    "bpr": {"*": {"n_factors": [128], "learning_rate": [0.01, 0.05]}},
    "ease": {"amazon-beauty": {"reg": [30.0, 100.0]}, "*": {"reg": [250.0, 500.0, 1000.0]}},
    "item-knn": {"*": {"n_neighbors": [100, 200]}},
    "content": {"*": {"recency_half_life": [None, 3.0]}},
    "implicit-als": {"*": {"factors": [128], "regularization": [10.0, 100.0], "alpha": [1.0, 10.0]}},
    "implicit-bpr": {"*": {"factors": [128], "learning_rate": [0.01, 0.05]}},
    "implicit-cosine": {"*": {"K": [100, 1000]}},
    "implicit-bm25": {"*": {"K": [100, 1000], "B": [0.75, 1.0]}},
}
#: our wrappers of an implicit model: when the peer ran first in the same setting, ours takes the peer's
#: validation grid results (identical model, identical numbers) and re-checks only the chosen point
SHARED: dict[str, tuple[str, dict[str, str]]] = {
    "als": ("implicit-als", {"factors": "n_factors", "regularization": "reg", "alpha": "alpha"}),
    "bpr": ("implicit-bpr", {"factors": "n_factors", "learning_rate": "learning_rate"}),
}
FIXED: dict[str, dict[str, Any]] = {
    "als": {"n_iterations": 15, "random_state": 42, "num_threads": 0},
    "bpr": {"n_iterations": 100, "reg": 0.01, "random_state": 42, "num_threads": 1},
    "implicit-als": {"iterations": 15, "random_state": 42, "num_threads": 0},
    "implicit-bpr": {"iterations": 100, "regularization": 0.01, "random_state": 42, "num_threads": 1},
    "implicit-cosine": {"num_threads": 0},
    "implicit-bm25": {"K1": 1.2, "num_threads": 0},
}
PEERS = ("implicit-als", "implicit-bpr", "implicit-cosine", "implicit-bm25")


# ----------------------------------------------------------------------------- peers, called directly
def _implicit(name: str, params: dict[str, Any]) -> Any:
    if name == "implicit-als":
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(**params)
    if name == "implicit-bpr":
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(**params)
    if name == "implicit-cosine":
        from implicit.nearest_neighbours import CosineRecommender

        return CosineRecommender(**params)
    if name == "implicit-bm25":
        from implicit.nearest_neighbours import BM25Recommender

        return BM25Recommender(**params)
    raise SystemExit(f"unknown peer {name!r}; choose from {', '.join(PEERS)}")


def _metrics(ranked: np.ndarray, stage: Stage, k: int = 10) -> dict[str, float]:
    rel = stage.targets[stage.users]
    h = M.hits(ranked, rel, k)
    out = M.metrics_from_hits(h, M.n_relevant(rel), k)
    return {f"{m}@{k}": float(np.nanmean(out[m])) for m in ("ndcg", "hr", "recall")}


def run_peer(name: str, params: dict[str, Any], stage: Stage, batch: int = 2048) -> dict[str, Any]:
    """Fit an ``implicit`` model on ``stage.fit`` and rank with its own ``recommend``."""
    from threadpoolctl import threadpool_limits

    matrix = stage.fit.matrix.astype(np.float32).tocsr()
    with threadpool_limits(1, "blas"):
        model = _implicit(name, params)
        t0 = time.perf_counter()
        model.fit(matrix, show_progress=False)
        fit_s = time.perf_counter() - t0
        users = stage.users
        ranked = np.full((len(users), 10), -1, dtype=np.int64)
        t1 = time.perf_counter()
        for s in range(0, len(users), batch):
            u = users[s : s + batch]
            ids, _ = model.recommend(u, matrix[u], N=10, filter_already_liked_items=True)
            ranked[s : s + len(u)] = ids
        score_s = time.perf_counter() - t1
    # implicit's filter is the fitted matrix; the stage excludes the same items (train [+ valid])
    assert stage.exclude is None or abs(stage.exclude - (matrix > 0).astype(np.float32)).sum() == 0
    return {**_metrics(ranked, stage), "fit_seconds": fit_s, "score_seconds": score_s}


def run_ours(name: str, params: dict[str, Any], stage: Stage, catalog: Any) -> dict[str, Any]:
    model = registry.create(name, **params)
    if hasattr(model, "with_catalog") and catalog is not None:
        model.with_catalog(catalog)
    t0 = time.perf_counter()
    model.fit(stage.fit)
    fit_s = time.perf_counter() - t0
    res = evaluate_model(model, stage, (10,), batch_size=1024)
    return {
        **{k: res[k] for k in ("ndcg@10", "hr@10", "recall@10")},
        "fit_seconds": fit_s,
        "score_seconds": res["score_seconds"],
    }


# ----------------------------------------------------------------------------- one model: tune, refit, test
def measured(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    tracemalloc.start()
    try:
        out = fn()
        out["peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()
    out["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def bench_model(
    label: str, name: str, extra: dict[str, Any], split: Any, dataset: str, catalog: Any, done: dict[str, Any]
) -> dict[str, Any]:
    is_peer = name in PEERS
    grids = GRIDS.get(name, {})
    grid = grids.get(dataset, grids.get("*", {}))
    shared_from = None
    if name in SHARED and SHARED[name][0] in done and not extra:
        peer, rename = SHARED[name]
        shared_from = peer
        grid = {rename[k]: [v] for k, v in done[peer]["best_params"].items()}
    fixed = {**FIXED.get(name, {}), **extra}
    valid, test = split.stage("valid"), split.stage("test")

    def run(params: dict[str, Any], stage: Stage) -> dict[str, Any]:
        return run_peer(name, params, stage) if is_peer else run_ours(name, params, stage, catalog)

    trials = []
    t_tune = time.perf_counter()
    for params in parameter_grid(grid):
        p = {**fixed, **params}
        res = run(p, valid)
        trials.append(
            {
                **params,
                "ndcg@10": res["ndcg@10"],
                "hr@10": res["hr@10"],
                "fit_seconds": round(res["fit_seconds"], 2),
            }
        )
        print(
            f"  [{label}] valid {params} ndcg@10={res['ndcg@10']:.4f} ({res['fit_seconds']:.1f}s)", flush=True
        )
    tune_s = time.perf_counter() - t_tune
    best = max(trials, key=lambda t: t["ndcg@10"]) if trials else {}
    best_params = {k: best[k] for k in grid}
    final = measured(lambda: run({**fixed, **best_params}, test))
    print(f"  [{label}] TEST {best_params} ndcg@10={final['ndcg@10']:.4f} hr@10={final['hr@10']:.4f} "
          f"fit {final['fit_seconds']:.1f}s peak {final['peak_mb']} MB", flush=True)  # fmt: skip
    return {
        "library": "implicit" if is_peer else "tuijian",
        "model": name,
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in final.items()},
        "best_params": best_params,
        "fixed_params": fixed,
        "valid_ndcg@10": round(best.get("ndcg@10", float("nan")), 4),
        "grid_shared_with": shared_from,
        "tune_seconds": round(tune_s, 1),
        "trials": trials,
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"**{results['dataset']} `{results['protocol']}`** ({results['users_evaluated']:,} test users; "
        f"train/valid/test {results['split']['train']:,}/{results['split']['valid']:,}/{results['split']['test']:,})",
        "",
        "| model | library | NDCG@10 | HR@10 | fit s | peak MB | best params (validation) |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = sorted(results["models"].items(), key=lambda kv: -kv[1]["ndcg@10"])
    for label, r in rows:
        params = ", ".join(f"{k}={v}" for k, v in r["best_params"].items()) or "-"
        if r.get("grid_shared_with"):
            params += f" (grid of {r['grid_shared_with']}; valid NDCG@10 {r['valid_ndcg@10']:.4f})"
        lines.append(f"| {label} | {r['library']} | {r['ndcg@10']:.4f} | {r['hr@10']:.4f} | "
                     f"{r['fit_seconds']:.1f} | {r['peak_mb']:.0f} | {params} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def run_setting(
    setting: str, models: list[tuple[str, str, dict[str, Any]]], peers: list[str], out: Path
) -> dict[str, Any]:
    from tuijian.data.datasets import load_dataset

    dataset, _, protocol = setting.partition(":")
    print(f"== {dataset} {protocol}", flush=True)
    ds = load_dataset(dataset)
    split = make_protocol(protocol, ds)
    test = split.stage("test")
    results: dict[str, Any] = {
        "dataset": dataset,
        "protocol": protocol,
        "split": {"train": split.train.nnz, "valid": split.valid.nnz, "test": split.test.nnz},
        "users_evaluated": len(test.users),
        "command": " ".join(sys.argv),
        "models": {},
    }
    jobs = [(p, p, {}) for p in peers] + list(models)
    for label, name, extra in jobs:
        if name not in PEERS and name not in registry.available():
            print(f"  skipping {label}: not registered", flush=True)
            continue
        if name == "content" and ds.items is None:
            print("  skipping content: no catalog", flush=True)
            continue
        results["models"][label] = bench_model(
            label, name, extra, split, dataset, ds.items, results["models"]
        )
        _write(results, out)
    return results


def _write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"peers_{results['dataset']}_{results['protocol']}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2, default=float))
    stem.with_suffix(".md").write_text(markdown(results))


# ----------------------------------------------------------------------------- cold items on Office
def cold_office(out: Path, seed: int = 0) -> dict[str, Any]:
    from tuijian.data.datasets import load_dataset
    from tuijian.data.interactions import Interactions
    from tuijian.models.content import ContentRecommender
    from tuijian.models.features import catalog_vocabulary
    from tuijian.models.mf import ALS

    ds = load_dataset("amazon-office")
    events = ds.events.sort_values(["user", "ts"], kind="stable")
    ids = ds.items["item_id"].to_numpy()
    held = set(np.random.default_rng(seed).choice(ids, size=len(ids) // 10, replace=False).tolist())
    last = events.groupby("user").tail(1)
    rest = events.drop(last.index)
    train = rest[~rest["item"].isin(held)]
    vocab = catalog_vocabulary(train["item"], ds.items)
    inter = Interactions.from_events(train, items=vocab)
    test = last[last["user"].isin(inter.users.ids)]
    users, target = inter.users.lookup(test["user"]), vocab.lookup(test["item"])
    cold = test["item"].isin(held).to_numpy()
    models = {
        "content (TF-IDF)": ContentRecommender(),
        "content (TF-IDF, recency 3)": ContentRecommender(recency_half_life=3.0),
        "content (TF-IDF + MiniLM, recency 3)": ContentRecommender(recency_half_life=3.0, embedding="minilm"),
        "als (CF only)": ALS(n_factors=64, reg=1.0, alpha=10.0),
    }
    rows = {}
    for label, model in models.items():
        t0 = time.perf_counter()
        model.fit(inter, items=ds.items) if isinstance(model, ContentRecommender) else model.fit(inter)
        fit_s = time.perf_counter() - t0
        ranked, _ = model.recommend(users, k=10)
        hit = (ranked == target[:, None]).any(axis=1)
        pos = np.argmax(ranked == target[:, None], axis=1)
        ndcg = np.where(hit, 1.0 / np.log2(pos + 2), 0.0)
        rows[label] = {
            "hr@10_all": round(float(hit.mean()), 4),
            "ndcg@10_all": round(float(ndcg.mean()), 4),
            "hr@10_heldout_items": round(float(hit[cold].mean()), 4),
            "hr@10_seen_items": round(float(hit[~cold].mean()), 4),
            "fit_seconds": round(fit_s, 1),
        }
        print(f"  {label}: {rows[label]}", flush=True)
    res = {
        "dataset": "amazon-office",
        "held_out_items": len(held),
        "test_users": len(test),
        "test_users_with_heldout_item": int(cold.sum()),
        "chance_hr@10": round(10 / inter.n_items, 4),
        "command": " ".join(sys.argv),
        "models": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "peers_office_cold.json").write_text(json.dumps(res, indent=2))
    (out / "peers_office_cold.md").write_text(office_markdown(res))
    return res


def office_markdown(res: dict[str, Any]) -> str:
    lines = [
        f"**amazon-office, {res['held_out_items']} of the catalog's items held out of training entirely** "
        f"({res['test_users']:,} test users, {res['test_users_with_heldout_item']} of them with a held-out test item; "
        f"chance HR@10 {res['chance_hr@10']})",
        "",
        "| model | NDCG@10 (all) | HR@10 (all) | HR@10 held-out items | HR@10 seen items | fit s |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in res["models"].items():
        lines.append(f"| {label} | {r['ndcg@10_all']:.4f} | {r['hr@10_all']:.4f} | {r['hr@10_heldout_items']:.4f} | "
                     f"{r['hr@10_seen_items']:.4f} | {r['fit_seconds']:.1f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--setting", action="append", help="dataset:protocol (repeatable); default Beauty loo + ML-1M recbole"
    )
    ap.add_argument("--models", default="als,bpr,ease,item-knn,content",
                    help="our registry models, comma-separated, with optional params (als:n_iterations=20)")  # fmt: skip
    ap.add_argument("--peers", default=",".join(PEERS), help=f"peer models ({', '.join(PEERS)}); '' for none")
    ap.add_argument("--cold-office", action="store_true", help="only the Office held-out-items run")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if args.cold_office:
        cold_office(args.out)
        return
    settings = args.setting or ["amazon-beauty:loo", "movielens-1m:recbole"]
    models = parse_model_specs(args.models) if args.models else []
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    for setting in settings:
        results = run_setting(setting, models, peers, args.out)
        print(markdown(results), flush=True)


if __name__ == "__main__":
    main()
