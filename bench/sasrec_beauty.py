"""Sequential models on Amazon Beauty, leave-last-out, full ranking (issue 3).

Protocol: per user (time order) the last item is the test item, the one before
it the validation item, the rest is training. SASRec trains on the training
sequences and stops early on validation NDCG@10; for the test it reads the
training + validation sequence and ranks the test item against all 12,101 items
with the user's training and validation items excluded. The session model
counts transitions in training + validation sequences (no learned parameters
are tuned on the test item).

    nice -n 5 .venv/bin/python bench/sasrec_beauty.py [--models sasrec session-transitions] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tuijian.data.interactions import Interactions
from tuijian.models.registry import create
from tuijian.models.sequential_data import rank_metrics


def _beauty_path() -> Path:
    try:
        from tuijian.data.datasets import resolve_data_dir

        base = resolve_data_dir()
    except ImportError:
        base = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    return base / "amazon_beauty" / "Beauty.txt"


def load_loo() -> tuple[Interactions, Interactions, Interactions]:
    """(train, valid, test) Interactions sharing id maps, read straight from Beauty.txt."""
    users, items, pos = [], [], []
    for line in _beauty_path().read_text().splitlines():
        parts = line.split()
        users.extend([parts[0]] * (len(parts) - 1))
        items.extend(parts[1:])
        pos.extend(range(len(parts) - 1))
    events = pd.DataFrame({"user": users, "item": items, "ts": np.asarray(pos, dtype=np.int64)})
    full = Interactions.from_events(events)
    log = full.log
    n_per_user = np.bincount(log["u"].to_numpy(), minlength=full.n_users)
    from_end = n_per_user[log["u"].to_numpy()] - 1 - log.groupby("u").cumcount().to_numpy()
    return full.subset(from_end >= 2), full.subset(from_end == 1), full.subset(from_end == 0)


def rank_eval(
    model, users: np.ndarray, seqs: list[np.ndarray], seen, targets: np.ndarray, k: int = 10
) -> dict[str, float]:
    """HR@k / NDCG@k of ``targets`` given ``seqs`` (full ranking, ``seen`` items excluded)."""
    hits, ndcgs, t0 = [], [], time.perf_counter()
    for s in range(0, len(users), 2048):
        u = users[s : s + 2048]
        hist = seen[u]
        scores = model.score(u, history=hist, sequences=seqs[s : s + 2048])
        hit, ndcg = rank_metrics(scores, targets[s : s + 2048], hist, k)
        hits.append(hit)
        ndcgs.append(ndcg)
    return {
        f"HR@{k}": float(np.concatenate(hits).mean()),
        f"NDCG@{k}": float(np.concatenate(ndcgs).mean()),
        "n_users": int(len(users)),
        "score_seconds": round(time.perf_counter() - t0, 2),
    }


def evaluate_valid(model, train: Interactions, valid: Interactions) -> dict[str, float]:
    """The validation item given the training sequence (for tuning)."""
    va = valid.log.drop_duplicates("u")
    users = va["u"].to_numpy(np.int64)
    tr_seq = train.sequences()
    return rank_eval(model, users, [tr_seq[x] for x in users], train.matrix, va["i"].to_numpy(np.int64))


def evaluate_test(model, train: Interactions, valid: Interactions, test: Interactions) -> dict[str, float]:
    """The test item given the training + validation sequence; train and valid items excluded."""
    seen = (train.matrix + valid.matrix).tocsr()
    tr_seq, va_seq = train.sequences(), valid.sequences()
    te = test.log.drop_duplicates("u")
    users = te["u"].to_numpy(np.int64)
    seqs = [np.concatenate([tr_seq[x], va_seq[x]]) for x in users]
    return rank_eval(model, users, seqs, seen, te["i"].to_numpy(np.int64))


SESSION_GRID = {
    "window": [1, 2, 3, 5, 8, 12, 20],
    "step_decay": [0.3, 0.5, 0.8],
    "reverse_weight": [0.0, 0.1, 0.3, 0.6],
    "alpha": [0.0, 0.25, 0.5, 0.75, 1.0],
    "position_decay": [0.2, 0.35, 0.5, 0.7],
}


def tune_session(train: Interactions, valid: Interactions, params: dict) -> tuple[dict, list[dict]]:
    """Coordinate search (two passes) on validation NDCG@10 only."""
    best = dict(params)
    trials: list[dict] = []
    cache: dict[str, float] = {}

    def score(p: dict) -> float:
        key = json.dumps(p, sort_keys=True)
        if key not in cache:
            m = create("session-transitions", **p).fit(train)
            cache[key] = evaluate_valid(m, train, valid)["NDCG@10"]
            trials.append({"params": p, "valid_ndcg@10": cache[key]})
        return cache[key]

    best_score = score(best)
    for _ in range(2):
        for key, values in SESSION_GRID.items():
            for v in values:
                cand = {**best, key: v}
                sc = score(cand)
                if sc > best_score:
                    best, best_score = cand, sc
    print(
        f"session-transitions tuned on valid: {best} (valid NDCG@10 {best_score:.4f}, {len(trials)} trials)",
        file=sys.stderr,
    )
    return best, trials


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["sasrec", "session-transitions"])
    ap.add_argument("--param", action="append", default=[], help="model param, e.g. sasrec.n_factors=128")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--tune", action="store_true", help="tune session-transitions on the validation split first"
    )
    args = ap.parse_args(argv)
    train, valid, test = load_loo()
    print(f"train {train!r}\nvalid {valid!r}\ntest  {test!r}", file=sys.stderr)
    results = []
    for name in args.models:
        params = {}
        for p in args.param:
            key, _, value = p.partition("=")
            mname, _, pname = key.rpartition(".")
            if mname == name:
                params[pname] = json.loads(value)
        trials = None
        if name == "session-transitions" and args.tune:
            params, trials = tune_session(train, valid, params)
        model = create(name, **params)
        t0, c0 = time.perf_counter(), time.process_time()
        if name == "sasrec":
            model.fit(train, valid)
        else:
            model.fit(
                Interactions.from_log(
                    pd.concat([train.log, valid.log]).sort_values(["u", "ts"], kind="stable"),
                    train.users,
                    train.items,
                )
            )
        fit_s = time.perf_counter() - t0
        fit_cpu = time.process_time() - c0
        row = {
            "model": name,
            "params": model.get_params(),
            "fit_seconds": round(fit_s, 1),
            "fit_cpu_seconds": round(fit_cpu, 1),
        }
        row.update(evaluate_test(model, train, valid, test))
        if trials is not None:
            row["tuning_trials"] = trials
        one = np.concatenate([train.sequences()[0], valid.sequences()[0]])
        model.recommend(-1, k=10, sequences=[one])
        t1 = time.perf_counter()
        for _ in range(50):
            model.recommend(-1, k=10, sequences=[one])
        row["one_session_ms"] = round((time.perf_counter() - t1) / 50 * 1000, 2)
        if hasattr(model, "best_epoch_"):
            row["best_epoch"] = model.best_epoch_
            row["best_valid_ndcg@10"] = model.best_valid_ndcg_
            row["epochs_run"] = len(model.history_)
            row["history"] = model.history_
        row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        results.append(row)
        print(
            f"{name:22s} HR@10 {row['HR@10']:.4f}  NDCG@10 {row['NDCG@10']:.4f}  fit {fit_s:7.1f} s (cpu {fit_cpu:.0f} s)  "
            f"peak RSS {row['peak_rss_mb']:.0f} MB  one session {row['one_session_ms']} ms",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
