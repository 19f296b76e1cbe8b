"""In-process cost of requests, without HTTP.

Default: a request that no stored list answers, an anonymous 5-item session scored in full. Loads a saved
version (``--root``, ``--model``, ``--version``; e.g. the home the Beauty load test prepared), builds 40 random
5-item session queries with the serving ``Pipeline`` and times ``model.recommend_query`` on each (after one
warm-up), then prints the 30 most expensive calls under cProfile.

    .venv/bin/python bench/full_scoring.py --root <home>/artifacts/amazon-beauty --model auto --version v0001

``--explain-home HOME``: the personalised route's own function (``user_recommendations_body``, what the HTTP
route and the hot path call: auth, parameters, ranking, explanation, JSON bytes, impression log) for known
users of the home's active version, plain and with ``explain=true`` alternating request by request (same
users, half ``lang=en``, half ``lang=zh``, with the load test's category filter unless ``--no-filter``);
prints p50 / p99 of each and the difference as JSON. HOME must be a *copy* (the impression log writes to
its database):

    nice -n 10 .venv/bin/python bench/full_scoring.py --explain-home <copy of a prepared home> \
        --dataset amazon-beauty --requests 1000

``--check-lookup N`` (with ``--explain-home``): for N sampled known users, explains the route's list (same
filter) twice, as served (a list from the stored top lists has no scored rows: the shown items' rows are built
alone, :mod:`tuijian.models.shown_features`) and from every candidate's row (``pair_features``, what the
explanation recomputed before), and counts the explanations whose reasons, attributions or base value differ
in any bit (floats compared by ``repr``, which round-trips them exactly); prints JSON. Explanations stored at
training time (:mod:`tuijian.explain.stored`) are read as served (``stored_explanations`` counts them); the
reference explains every item per request.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import dataclasses
import json
import os
import pstats
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

KEY = "bench-admin-key-" + "x" * 16


def session_scoring(args: argparse.Namespace) -> None:
    from tuijian.models.artifacts import load_model
    from tuijian.models.pipeline import Pipeline

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


@contextmanager
def _service_state(args: argparse.Namespace) -> Iterator[Any]:
    """The service's state for ``--explain-home``, started in-process (no HTTP, no bootstrap)."""
    from fastapi.testclient import TestClient

    from tuijian.service.app import create_app
    from tuijian.service.options import ServiceOptions
    from tuijian.settings import Settings

    settings = Settings(
        home=args.explain_home, dataset=args.dataset, admin_key=KEY, log_level="warning", env="test"
    )
    app = create_app(settings, ServiceOptions(bootstrap=False, access_log=False, poll_seconds=3600))
    with TestClient(app):
        yield app.state.tuijian


def explained_route(args: argparse.Namespace) -> dict[str, Any]:
    """p50 / p99 of the user route's function, plain and ``explain=true`` (see module docstring)."""
    from tuijian.service.routes_recs import user_recommendations_body

    with _service_state(args) as st:
        snap = st.engine.snapshot
        category = None if args.no_filter else _top_category(args.dataset)  # the load test's filter
        model = snap.pipeline.model
        users = model.interactions_.users
        rng = np.random.default_rng(args.seed)
        picked = rng.choice(model.interactions_.n_users, args.requests, replace=True).tolist()
        times: dict[str, list[float]] = {"plain": [], "explain": []}
        cpu: dict[str, list[float]] = {"plain": [], "explain": []}  # this thread's CPU: robust to other load
        for n, u in enumerate([picked[0], *picked]):  # the first: warm-up (lazy caches), not timed
            base = {"k": "10", **({"category": category} if category else {})}
            for kind, query in (
                ("plain", base),
                ("explain", {**base, "explain": "true", "lang": "zh" if n % 2 else "en"}),
            ):
                start, start_cpu = time.perf_counter(), time.thread_time()
                user_recommendations_body(st, f"bench-{n}", str(users.ids[u]), query, KEY)
                if n:
                    times[kind].append((time.perf_counter() - start) * 1000)
                    cpu[kind].append((time.thread_time() - start_cpu) * 1000)
        out: dict[str, Any] = {
            "version": snap.version,
            "requests": args.requests,
            "category": category,
            "load_avg": os.getloadavg(),
        }
        for kind, ts in times.items():
            out[kind] = {
                "p50_ms": round(float(np.percentile(ts, 50)), 3),
                "p99_ms": round(float(np.percentile(ts, 99)), 3),
                "mean_ms": round(float(np.mean(ts)), 3),
                "cpu_p50_ms": round(float(np.percentile(cpu[kind], 50)), 3),
                "cpu_p99_ms": round(float(np.percentile(cpu[kind], 99)), 3),
            }
        for m in ("p50_ms", "p99_ms", "cpu_p50_ms", "cpu_p99_ms"):
            out[f"added_{m}"] = round(out["explain"][m] - out["plain"][m], 3)
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            for n, u in enumerate(picked[:200]):
                query = {"k": "10", "explain": "true", "lang": "zh" if n % 2 else "en"}
                if category:
                    query["category"] = category
                user_recommendations_body(st, f"prof-{n}", str(users.ids[u]), query, KEY)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
    return out


def check_lookup(args: argparse.Namespace) -> dict[str, Any]:
    """Served explanations of stored lists against the full recomputation (see module docstring)."""
    from tuijian.explain.pipeline import explain_ranked
    from tuijian.explain.reasons import Evidence
    from tuijian.service.engine import Filters

    with _service_state(args) as st:
        snap = st.engine.snapshot
        model = snap.pipeline.model
        category = None if args.no_filter else _top_category(args.dataset)
        rng = np.random.default_rng(args.seed)
        picked = rng.choice(model.interactions_.n_users, args.check_lookup, replace=False).tolist()
        out = {"version": snap.version, "users": len(picked), "category": category, "explanations": 0}
        out.update(lookup=0, scored=0, differing=0, shown_outside_candidates=0, stored_explanations=0)
        # the reference explains every item per request: the same pipeline without the stored explanations
        plain = copy.copy(snap.pipeline)
        lists = snap.pipeline.top_lists
        stored = getattr(lists, "explained", None)
        if lists is not None:
            plain.top_lists = dataclasses.replace(lists, explained=None)
        for u in picked:
            user = str(model.interactions_.users.ids[u])
            _, query = st.engine.user_query(user, 10, Filters(category))
            ranked = snap.pipeline.recommend(query, 10)
            # a stored list leaves no rows (or, with stored ranks, StoredCandidates) in the scratch
            out["lookup" if not _scored(query.scratch) else "scored"] += 1
            served = explain_ranked(snap.pipeline, query, ranked)
            ev = Evidence.of(
                model, query
            )  # as explain_hybrid: the history row stands in for an empty sequence
            seq = np.asarray(ev.sequence if len(ev.sequence) else ev.items, np.int64)
            rows, cols, feats = model.pair_features(
                np.array([ev.user], np.int64), ev.row(model.n_items), [seq]
            )
            if stored is not None and query.trained:
                out["stored_explanations"] += len(stored.lookup(u, [r[0] for r in ranked]))
            query.scratch = (model, rows, cols, feats)  # the rows the explanation recomputed before
            full = explain_ranked(plain, query, ranked)
            out["shown_outside_candidates"] += int((~np.isin([r[0] for r in ranked], cols)).sum())
            for a, b in zip(served, full, strict=True):
                out["explanations"] += 1
                same = (a.item, repr(a.reasons), repr(a.attributions), repr(a.base_value)) == (
                    b.item,
                    repr(b.reasons),
                    repr(b.attributions),
                    repr(b.base_value),
                )
                out["differing"] += int(not same)
    return out


def _scored(scratch: Any) -> bool:
    """Whether a query's scratch holds the ranker's scored rows (a stored list answered otherwise)."""
    from tuijian.models.toplists import StoredCandidates

    return scratch is not None and not isinstance(scratch, StoredCandidates)


def _top_category(dataset: str) -> str | None:
    """The load test's filter: the most common category of the dataset's catalogue."""
    from tuijian.data.datasets import load_dataset

    items = load_dataset(dataset).items
    if items is None:
        return None
    cats = items["category"].str.split("|").explode()
    return str(cats[cats != ""].value_counts().index[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, help="artifacts root of the dataset (session scoring)")
    ap.add_argument("--model", default="auto")
    ap.add_argument("--version", default="v0001")
    ap.add_argument("--requests", type=int, default=None, help="default: 40 sessions / 1,000 users")
    ap.add_argument("--explain-home", type=Path, help="time the user route, plain vs explain=true")
    ap.add_argument("--dataset", default="amazon-beauty")
    ap.add_argument("--no-filter", action="store_true", help="without the category filter")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true", help="also profile 200 explained requests")
    ap.add_argument("--out", type=Path, help="write the route timings as JSON")
    ap.add_argument("--check-lookup", type=int, default=0, help="compare N users' explanations (docstring)")
    args = ap.parse_args()
    if args.explain_home is not None:
        args.requests = args.requests or 1000
        out = check_lookup(args) if args.check_lookup else explained_route(args)
        print(json.dumps(out, indent=2))
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(out, indent=2))
        return
    if args.root is None:
        ap.error("--root (session scoring) or --explain-home (route timing) is required")
    args.requests = args.requests or 40
    session_scoring(args)


if __name__ == "__main__":
    main()
