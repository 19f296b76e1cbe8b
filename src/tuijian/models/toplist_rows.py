"""The ranker's feature rows of a tail-rule list's stored candidates (:attr:`TopLists.rows
<tuijian.models.toplists.TopLists.rows>`): built at training, saved beside the lists, mapped at load.

An explanation of a stored list attributes the ranker's rows of the items it shows. Without stored rows it
builds them per request (:func:`tuijian.models.shown_features.shown_rows`: every retriever scores the user
at the needed columns, then the base columns), about 1 ms whatever the number of items. :func:`with_rows`
runs that same code once per trained user at training, so the rows read later are the rows a request would
build, bit for bit (rows from the batched ranking would not be: a batched ALS product rounds differently
from a one-user one). They are kept while they fit :data:`ROWS_BUDGET_MB`, saved as :data:`ROWS_FILE`
(float32, one row per stored item) and memory-mapped by :func:`load_rows`, so the workers of a server share
their pages.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import TYPE_CHECKING

import numpy as np

from tuijian.exceptions import StorageError

if TYPE_CHECKING:
    from pathlib import Path

    from tuijian.models.base import Recommender
    from tuijian.models.toplists import TopLists

log = logging.getLogger("tuijian.models")

#: the ranker's feature rows of the stored candidates, a file of its own beside ``toplists.npz`` so that every
#: worker maps the same pages
ROWS_FILE = "toplist_rows.npy"
#: those rows are kept when they take at most this many MB (Beauty: 1,910 MB for 22,363 users); more users
#: than that explain their lists' items from the model per request, as before
ROWS_BUDGET_MB = 4096


def with_rows(model: Recommender, lists: TopLists, budget_mb: float) -> TopLists:
    """``lists`` with the feature rows of every stored candidate (:attr:`TopLists.rows`), built by the model's
    ``shown_features`` from the stored ranks as an explanation builds them, when the model has it, the lists
    keep ranks, and the rows fit ``budget_mb``."""
    shown, names = getattr(model, "shown_features", None), getattr(model, "feature_names_", None)
    if lists.ranks is None or lists.tail_base is None or not callable(shown) or names is None:
        return lists
    counts = np.where(np.isfinite(lists.tail_base), (lists.ids >= 0).sum(axis=1), 0).astype(np.int64)
    mb = int(counts.sum()) * len(names) * 4 / 1e6
    if mb > budget_mb:
        log.info(
            "the stored candidates' feature rows exceed the budget; explanations build them per request",
            extra={"model": model.name, "mb": round(mb), "budget_mb": budget_mb},
        )
        return lists
    row_ptr = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=row_ptr[1:])
    rows = np.zeros((int(row_ptr[-1]), len(names)), dtype=np.float32)
    started, step = time.perf_counter(), max(1, lists.n_users // 10)
    matrix = model.interactions_.matrix
    for u in np.flatnonzero(counts).tolist():
        items = lists.ids[u, : counts[u]].astype(np.int64)
        stored = (lists.ids[u], lists.ranks[u])
        candidate, built = shown(u, matrix[[u]], model.train_sequence(u), items, stored=stored)
        rows[row_ptr[u] + np.flatnonzero(candidate)] = built
        if (u + 1) % step == 0:
            log.info(
                "building the stored candidates' feature rows",
                extra={"model": model.name, "users_done": u + 1, "users": lists.n_users,
                       "seconds": round(time.perf_counter() - started, 1)},
            )  # fmt: skip
    return dataclasses.replace(lists, rows=rows, row_ptr=row_ptr)


def load_rows(
    path: Path, row_ptr: np.ndarray | None, ranks: np.ndarray | None, model: Recommender
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The stored feature rows beside ``path`` (memory-mapped, read ahead by the kernel) and their
    pointers, checked against the lists and the model; ``(None, None)`` when the lists have none, or the
    rows file was removed (a warning: explanations are then built per request)."""
    if row_ptr is None:
        return None, None
    file = path.with_name(ROWS_FILE)
    if not file.is_file():
        log.warning("top lists without their feature rows file; explanations build rows per request",
                    extra={"file": str(file)})  # fmt: skip
        return None, None
    try:
        rows = np.load(file, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:  # a truncated or foreign file
        raise StorageError(
            f"{file} is not a feature rows file ({exc}); retrain to rebuild the top lists"
        ) from None
    n_users = model.interactions_.n_users
    names = getattr(model, "feature_names_", None)
    if (
        ranks is None
        or row_ptr.shape != (n_users + 1,)
        or rows.ndim != 2
        or rows.dtype != np.float32
        or int(row_ptr[-1]) != rows.shape[0]
        or (np.diff(row_ptr) < 0).any()
        or (names is not None and rows.shape[1] != len(names))
    ):
        raise StorageError(f"{file} does not fit its top lists or model; retrain to rebuild the top lists")
    if hasattr(os, "posix_fadvise"):  # read the pages in now, in the background, not at each first request
        with open(file, "rb") as f:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_WILLNEED)
    # a plain array over the mapping: numpy.memmap's Python-level indexing costs ~20 µs a request
    return np.asarray(rows), np.asarray(row_ptr, np.int64)
