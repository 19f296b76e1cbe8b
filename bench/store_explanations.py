"""Explain every trained user's stored items of a saved version now (issue 14), as training does.

Training for serving (:func:`tuijian.service.versions.train_version`) stores a version's top lists and, since
this change, the model's explanations of each trained user's default request (:mod:`tuijian.explain.stored`).
This script adds them to a version trained before, without training again: it loads the model and its top lists
and runs the same :func:`~tuijian.explain.stored.precompute_explanations`, then writes ``explanations.npz``
into the version folder and notes it in ``config.json``.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/store_explanations.py \\
        --artifacts /work/var_beauty/home3/artifacts/amazon-beauty --model auto --version v0001

A ranker's tail-rule lists get every stored candidate explained while the table fits its budget
(:data:`~tuijian.explain.stored.BUDGET_MB`), as training now does; the lists are then saved again without the
stored candidates' feature rows, which no explanation reads any more (``toplist_rows.npy`` is removed from the
folder; the lists' arrays are written unchanged).

``--rows``: instead, score the top lists again as training now does, which also keeps the ranker's feature row
of every stored candidate (``toplist_rows.npy``, :attr:`tuijian.models.toplists.TopLists.rows`); the new
lists must equal the stored ones (items, scores, tail rule, ranks) or nothing is written. Files are written
under new names and renamed over the old ones (a version folder hard-linked into a copy stays untouched).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--artifacts", type=Path, required=True, help="artifact root of the dataset")
    ap.add_argument("--model", default="auto")
    ap.add_argument("--version", default="latest")
    ap.add_argument("--per-user", type=int, default=None, help="items per user (default: the library's)")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures here (JSON)")
    ap.add_argument("--rows", action="store_true", help="add the stored candidates' feature rows instead")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    if args.rows:
        add_rows(args)
        return

    from tuijian.explain.stored import EXPLAINED_PER_USER, FILE, precompute_explanations
    from tuijian.models.artifacts import load_model, load_top_lists, resolve_version

    per_user = EXPLAINED_PER_USER if args.per_user is None else args.per_user
    folder = resolve_version(args.artifacts, args.model, args.version)
    started = time.perf_counter()
    model = load_model(args.artifacts, args.model, args.version)
    lists = load_top_lists(args.artifacts, args.model, args.version, model)
    if lists is None:
        raise SystemExit(f"{folder} has no top lists: explanations are stored with them")
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    stored = precompute_explanations(model, lists, per_user)
    seconds = time.perf_counter() - started
    import dataclasses
    import os

    from tuijian.models.toplists import FILE as LISTS
    from tuijian.models.toplists import ROWS_FILE

    tmp = folder / ".explanations-incoming"
    tmp.mkdir(exist_ok=True)
    stored.save(tmp / FILE)  # written under a new name, then renamed: a hard-linked copy stays untouched
    os.replace(tmp / FILE, folder / FILE)
    if stored.every_candidate and lists.rows is not None:  # as training does: the rows are read no more
        dataclasses.replace(lists, rows=None, row_ptr=None, explained=None).save(tmp / LISTS)
        os.replace(tmp / LISTS, folder / LISTS)
        (folder / ROWS_FILE).unlink(missing_ok=True)
    tmp.rmdir()
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config["top_lists"]["explained"] = FILE
    config_path.write_text(json.dumps(config, indent=2))
    figures = {
        "folder": str(folder),
        "users": stored.n_users,
        "per_user": per_user,
        "every_candidate": stored.every_candidate,
        "candidates": int((lists.ids >= 0).sum()),
        "explanations": len(stored.item),
        "seconds": round(seconds, 1),
        "load_seconds": round(loaded, 1),
        "mb_in_memory": round(stored.nbytes / 1e6, 1),
        "mb_on_disk": round((folder / FILE).stat().st_size / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    _report(figures, args.out)


def add_rows(args: argparse.Namespace) -> None:
    """``--rows`` (module docstring)."""
    import os

    import numpy as np

    from tuijian.models.artifacts import load_model, load_top_lists, resolve_version
    from tuijian.models.toplists import FILE, ROWS_FILE, precompute_top_lists

    folder = resolve_version(args.artifacts, args.model, args.version)
    model = load_model(args.artifacts, args.model, args.version)
    old = load_top_lists(args.artifacts, args.model, args.version, model)
    if old is None:
        raise SystemExit(f"{folder} has no top lists: train the version for serving first")
    started = time.perf_counter()
    new = precompute_top_lists(model, old.n)
    seconds = time.perf_counter() - started
    for name in ("ids", "scores", "tail_key", "tail_base", "ranks"):
        a, b = getattr(old, name), getattr(new, name)
        if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b, equal_nan=True)):
            raise SystemExit(f"the new top lists differ from the stored ones in {name}; nothing written")
    if new.rows is None:
        raise SystemExit("no feature rows were kept (see the log: over the budget); nothing written")
    tmp = folder / ".rows-incoming"
    tmp.mkdir(exist_ok=True)
    new.save(tmp / FILE)
    for name in (ROWS_FILE, FILE):  # the rows first: lists with pointers never name a missing file
        os.replace(tmp / name, folder / name)
    tmp.rmdir()
    figures = {
        "folder": str(folder),
        "users": new.n_users,
        "rows": int(new.rows.shape[0]),
        "features": int(new.rows.shape[1]),
        "seconds": round(seconds, 1),
        "mb_on_disk": round((folder / ROWS_FILE).stat().st_size / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    _report(figures, args.out)


def _report(figures: dict[str, object], out: Path | None) -> None:
    print(json.dumps(figures, indent=2))
    if out is not None:
        out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
