"""In-process cost of a request that no stored list answers: an anonymous 5-item session scored in full.

Loads a saved version (``--root``, ``--model``, ``--version``; e.g. the home the Beauty load test prepared), builds
40 random 5-item session queries with the serving ``Pipeline`` and times ``model.recommend_query`` on each
(after one warm-up), then prints the 30 most expensive calls under cProfile.

    .venv/bin/python bench/full_scoring.py --root <home>/artifacts/amazon-beauty --model auto --version v0001
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def main() -> None:
    from tuijian.models.artifacts import load_model
    from tuijian.models.pipeline import Pipeline

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--model", default="auto")
    ap.add_argument("--version", default="v0001")
    ap.add_argument("--requests", type=int, default=40)
    args = ap.parse_args()
    model = load_model(args.root, args.model, args.version)
    pipe = Pipeline(model)
    rng = np.random.default_rng(0)
    queries = [pipe.session_query(rng.choice(model.n_items, 5, replace=False)) for _ in range(args.requests)]
    model.recommend_query(queries[0], 10)
    start = time.perf_counter()
    for q in queries:
        model.recommend_query(q, 10)
    print(
        f"{(time.perf_counter() - start) / len(queries) * 1000:.1f} ms per request ({len(queries)} sessions)"
    )
    prof = cProfile.Profile()
    prof.enable()
    for q in queries:
        model.recommend_query(q, 10)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
