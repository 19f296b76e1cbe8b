"""Where an explained request's time goes: wall time per stage of ``explain=true``, in-process.

Starts the service's state on a prepared home (as ``bench/full_scoring.py --explain-home``), wraps the named
stages of the explanation path with timers (the stages nest: a parent's time includes its children's, and each
retriever's ``score_columns`` / ``explain`` is timed on its own), sends ``--warmup`` explained requests untimed,
then ``--requests`` timed ones of sampled known users (``k=10``, the load test's category filter unless
``--no-filter``, half ``lang=en`` and half ``zh``), and prints milliseconds per request for each stage, and the
wall time of the first five requests (what is still built lazily, after the service's warm-up at load, shows
there). ``--evict-mb`` writes through a buffer between requests: cold CPU caches, as at a light load.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/explain_stages.py --home <prepared home>
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import full_scoring  # noqa: E402

STAGES = [
    ("tuijian.explain.pipeline", "explain_ranked"),
    ("tuijian.explain.stored", "StoredExplanations.lookup"),
    ("tuijian.models.shown_features", "shown_rows"),
    ("tuijian.models.shown_features", "stored_scores"),
    ("tuijian.models.shown_features", "base_rows"),
    ("tuijian.explain.ranker", "contributions"),  # tree_paths.contributions, by the name explain_hybrid calls
    ("tuijian.explain.ranker", "_sub_explanations"),
    ("tuijian.explain.render", "explanation_bytes"),
    ("tuijian.explain.reasons", "Evidence.row"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--dataset", default="amazon-beauty")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--no-filter", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--evict-mb",
        type=int,
        default=0,
        help="between requests, write this many MB (evicts the CPU caches, as the idle gaps of a lightly "
        "loaded server do); 0: back to back (warm caches)",
    )
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    spent: dict[str, float] = collections.defaultdict(float)
    calls: collections.Counter[str] = collections.Counter()

    def timed(name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += time.perf_counter() - start
                calls[name] += 1

        return wrapper

    for module, qual in STAGES:  # patched where defined: callers look these names up at call time
        owner: Any = importlib.import_module(module)
        *path, attr = qual.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, attr, timed(qual, getattr(owner, attr)))
    from tuijian.service.routes_recs import user_recommendations_body

    state = argparse.Namespace(explain_home=args.home, dataset=args.dataset)
    with full_scoring._service_state(state) as st:
        category = None if args.no_filter else full_scoring._top_category(args.dataset)
        model = st.engine.snapshot.pipeline.model
        for name, retriever in getattr(model, "models_", {}).items():
            for method in ("score_columns", "explain"):
                if callable(getattr(retriever, method, None)):
                    setattr(retriever, method, timed(f"{name}.{method}", getattr(retriever, method)))
        users = model.interactions_.users
        rng = np.random.default_rng(args.seed)
        picked = rng.choice(model.interactions_.n_users, args.warmup + args.requests, replace=True).tolist()
        scratch = np.zeros(args.evict_mb << 17)  # float64: 2**17 per MB
        first: list[float] = []  # the first requests' wall times (lazy tables not built at load show here)
        for n, u in enumerate(picked):
            if args.evict_mb:
                scratch += 1.0
            if n == args.warmup:
                spent.clear()
                calls.clear()
            query = {"k": "10", "explain": "true", "lang": "zh" if n % 2 else "en"}
            if category:
                query["category"] = category
            start = time.perf_counter()
            user_recommendations_body(st, f"stages-{n}", str(users.ids[u]), query, full_scoring.KEY)
            if n < 5:
                first.append(round((time.perf_counter() - start) * 1000, 2))
    out = {
        "requests": args.requests,
        "category": category,
        "evict_mb": args.evict_mb,
        "first_requests_ms": first,
        "ms_per_request": {
            k: round(v / args.requests * 1000, 3) for k, v in sorted(spent.items(), key=lambda x: -x[1])
        },
        "calls": dict(calls),
    }
    print(f"first {len(first)} requests (ms): {first}")
    for name, ms in out["ms_per_request"].items():
        print(f"{name:40s} {ms:7.3f} ms/request  ({calls[name]} calls)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
