"""Faithfulness of explanations (issue 14): does removing the named evidence change the score as stated?

For each model, ``--users`` random users with at least two history items are served ``k`` items through the
online pipeline (:class:`~tuijian.models.pipeline.Pipeline`) and explained (:func:`tuijian.explain.pipeline.
explain_ranked`), exactly as ``explain=true`` does. Then:

* **"because you bought X"** (every item whose reasons include ``history``, X = the first item it names):
  X is removed from the user's history (the row and the sequence) and the model rescored from the rest
  (fold-in, the same path an unknown user takes); the explanation is faithful when the item's score drops
  or its rank (among the items the query may return) gets worse.
* **ranker attributions** (the hybrid): the feature with the largest absolute contribution is taken; its
  stated direction is the sign of the contribution. (a) *contribution removed*: the score minus that
  contribution, others unchanged; the rank must move the stated way (raised items fall, held-back items
  rise). (b) *feature ablated*: the feature set to its median over the user's candidates (the local background
  the attribution is relative to) and the ranker re-run; the score must move
  against the stated direction, and the rank the same way. Both for the served decision-path attributions
  and for exact TreeSHAP.

Models are loaded from ``--artifacts`` when saved there (``tuijian train``), else trained on all events.

    nice -n 10 .venv/bin/python bench/explain.py --dataset amazon-beauty \
        --artifacts /work/var_beauty/home/artifacts/amazon-beauty --models auto,item-knn,ease,rp3beta
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

_LOADED: dict[str, Any] = {}


def load(name: str, args: argparse.Namespace, ds: Any) -> tuple[Any, str]:
    """The model ``name``: from the artifacts when saved there, else trained on all events."""
    from tuijian.models import registry
    from tuijian.models.artifacts import load_model

    parent, _, part = name.partition("/")
    if part and args.artifacts and (Path(args.artifacts) / parent).is_dir():  # e.g. auto/ease: a retriever
        if parent not in _LOADED:
            _LOADED[parent] = load_model(args.artifacts, parent)
        return _LOADED[parent].models_[part], f"the {parent} model's {part} retriever (fitted on all events)"
    if args.artifacts and (Path(args.artifacts) / name).is_dir():
        return load_model(args.artifacts, name), "loaded from artifacts"
    from tuijian.data.interactions import Interactions, WeightConfig
    from tuijian.evaluate.runner import side_info_kwargs
    from tuijian.models.holdout import Holdout

    params: dict[str, Any] = {}
    if name in ("auto", "hybrid") and args.fixed_hybrid:
        params = {"labels": {"kind": "last"}, "features": {}, "refit": True, "gate": False}
    est = registry.create(name, **params)
    side = side_info_kwargs(est, items=ds.items, users=ds.users, holdout=Holdout())
    t0 = time.perf_counter()
    est.fit(Interactions.from_events(ds.events, WeightConfig(aggregation="binary")), **side)
    return est, f"trained on all events in {time.perf_counter() - t0:.0f} s" + (
        " (fixed setup)" if params else ""
    )


def _rank(scores: np.ndarray, allowed: np.ndarray | None, item: int) -> int:
    """1-based position of ``item`` among the items the query may return (ties: lower index first)."""
    s = scores if allowed is None else np.where(allowed, scores, -np.inf)
    v = s[item]
    return int((s > v).sum() + ((s == v) & (np.arange(len(s)) < item)).sum()) + 1


def faithfulness(model: Any, n_users: int, k: int, seed: int) -> dict[str, Any]:
    from tuijian.explain.pipeline import explain_ranked
    from tuijian.explain.reasons import Evidence
    from tuijian.explain.render import explained_items
    from tuijian.models.pipeline import Pipeline

    pipe = Pipeline(model)
    rng = np.random.default_rng(seed)
    lens = np.diff(model.interactions_.matrix.indptr)
    users = rng.permutation(np.flatnonzero(lens >= 2))[:n_users]
    n_items = model.n_items
    tested = dropped = rank_worse = score_lower = 0
    other: dict[str, list[bool]] = {"recent": [], "content": []}  # the same test for the other named evidence
    t_explain: list[float] = []
    kinds: dict[str, int] = {}
    ranker: dict[str, list[tuple[bool, bool, bool, bool]]] = {"path": [], "shap": []}
    records = [{"item_id": str(i), "title": str(i)} for i in model.interactions_.items.ids]
    t_rank: list[float] = []
    for u in users.tolist():
        q = pipe.user_query(int(u))
        t0 = time.perf_counter()
        ranked = pipe.recommend(q, k)
        t1 = time.perf_counter()
        # what explain=true adds to a request: the explanations and their JSON (reasons, sentence, attributions)
        json.dumps(explained_items(pipe, records, q, ranked, "en" if u % 2 else "zh"), ensure_ascii=False)
        t2 = time.perf_counter()
        t_rank.append(t1 - t0)
        t_explain.append(t2 - t1)
        explanations = explain_ranked(pipe, q, ranked)
        ev = Evidence.of(model, q)
        allowed = q.candidate_mask(n_items)
        base = model.score(-1, history=ev.row(n_items), sequences=[ev.sequence])
        cache: dict[int, np.ndarray] = {}
        for e in explanations:
            for r in e.reasons:
                kinds[r.kind] = kinds.get(r.kind, 0) + 1
            for kind, results in other.items():
                named = [r for r in e.reasons if r.kind == kind and r.items]
                if named:
                    after = _without(model, ev, named[0].items[0], cache)
                    results.append(
                        bool(after[e.item] < base[e.item])
                        or _rank(after, allowed, e.item) > _rank(base, allowed, e.item)
                    )
            hist = [r for r in e.reasons if r.kind == "history" and r.items]
            if not hist:
                continue
            after = _without(model, ev, hist[0].items[0], cache)
            lower = bool(after[e.item] < base[e.item])
            worse = _rank(after, allowed, e.item) > _rank(base, allowed, e.item)
            tested += 1
            score_lower += lower
            rank_worse += worse
            dropped += lower or worse
        if getattr(model, "served_", None) == "ranker":
            for method in ranker:
                ranker[method] += _ranker_checks(model, ev, [e.item for e in explanations], method)
    out: dict[str, Any] = {
        "users": len(users),
        "items_explained": len(users) * k,
        "reason_kinds": kinds,
        "because_you_bought": {
            "tested": tested,
            "faithful": round(dropped / tested, 4) if tested else None,
            "score_lower": round(score_lower / tested, 4) if tested else None,
            "rank_worse": round(rank_worse / tested, 4) if tested else None,
        },
        # in-process, one request at a time: ranking, and what explain=true adds (explanations + JSON)
        "rank_ms_p50_p99": [round(float(np.percentile(t_rank, p)) * 1e3, 2) for p in (50, 99)],
        "named_item_removed": {
            k: {"tested": len(v), "faithful": round(float(np.mean(v)), 4) if v else None}
            for k, v in other.items()
        },
        "explain_ms_p50_p99": [round(float(np.percentile(t_explain, p)) * 1e3, 2) for p in (50, 99)],
    }
    for method, rows in ranker.items():
        if rows:
            a = np.asarray(rows)
            out[f"ranker_{method}"] = {
                "tested": len(a),
                "contribution_removed_rank_moved_stated_way": round(float(a[:, 0].mean()), 4),
                "contribution_removed_rank_not_against": round(float(a[:, 1].mean()), 4),
                "feature_ablated_score_moved_stated_way": round(float(a[:, 2].mean()), 4),
                "feature_ablated_rank_moved_stated_way": round(float(a[:, 3].mean()), 4),
            }
    return out


def _without(model: Any, ev: Any, item: int, cache: dict[int, np.ndarray]) -> np.ndarray:
    """The model's scores with every event of ``item`` removed from the evidence (cached per item)."""
    if item not in cache:
        cf = ev.without(item)
        cache[item] = model.score(-1, history=cf.row(model.n_items), sequences=[cf.sequence])
    return cache[item]


def _ranker_checks(model: Any, ev: Any, items: list[int], method: str) -> list[tuple[bool, bool, bool, bool]]:
    """Per explained candidate: (rank moved the stated way when the top contribution is removed, not against
    it, score moved the stated way when the top feature is set to missing, rank moved so)."""
    from tuijian.explain.ranker import contributions

    seq = ev.sequence if len(ev.sequence) else ev.items
    rows, cols, feats = model.pair_features(np.array([ev.user], np.int64), ev.row(model.n_items), [seq])
    pred = model._predict(feats).astype(np.float64)
    where = {c: j for j, c in enumerate(cols.tolist())}
    picked = [where[t] for t in items if t in where]
    if not picked:
        return []
    phi = contributions(model, feats[picked], method)[:, :-1]
    out = []
    for r, j in enumerate(picked):
        f = int(np.argmax(np.abs(phi[r])))
        sign = np.sign(phi[r, f])
        if sign == 0:
            continue

        def rank(scores: np.ndarray, j: int = j) -> int:
            return int(
                (scores > scores[j]).sum() + ((scores == scores[j]) & (np.arange(len(scores)) < j)).sum()
            )

        before = rank(pred)
        removed = pred.copy()
        removed[j] -= phi[r, f]
        after = rank(removed)
        moved = (after > before) if sign > 0 else (after < before)
        not_against = (after >= before) if sign > 0 else (after <= before)
        ablated_feats = feats[[j]].copy()
        # "without this feature": its typical value among the user's candidates (the local background)
        ablated_feats[0, f] = np.nanmedian(feats[:, f]) if np.isfinite(feats[:, f]).any() else np.nan
        new_score = float(model._predict(ablated_feats)[0])
        ablated = pred.copy()
        ablated[j] = new_score
        score_way = (new_score < pred[j]) if sign > 0 else (new_score > pred[j])
        rank_way = (rank(ablated) > before) if sign > 0 else (rank(ablated) < before)
        out.append((bool(moved), bool(not_against), bool(score_way), bool(rank_way)))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument(
        "--artifacts", default=None, help="artifact root of the dataset (models saved by tuijian train)"
    )
    p.add_argument("--models", default="auto,item-knn")
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fixed-hybrid", action="store_true", help="train auto/hybrid with one fixed setup (faster)"
    )
    p.add_argument("--out", default=None, help="write the results as JSON here")
    args = p.parse_args()
    from tuijian.data.datasets import load_dataset

    ds = load_dataset(args.dataset)
    results: dict[str, Any] = {"dataset": args.dataset, "k": args.k, "models": {}}
    for name in args.models.split(","):
        model, how = load(name, args, ds)
        t0 = time.perf_counter()
        res = faithfulness(model, args.users, args.k, args.seed)
        res["model"] = how
        res["served"] = getattr(model, "served_", name)
        res["seconds"] = round(time.perf_counter() - t0, 1)
        results["models"][name] = res
        print(json.dumps({name: res}, indent=1), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
