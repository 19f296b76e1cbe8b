"""Sequence helpers shared by the sequential models (numpy only, no torch).

* :func:`length_batches` groups sequences of similar length so that padding
  (and therefore wasted compute) stays small;
* :func:`pad_right` turns sequences into a right-padded matrix of ``index + 1``
  ids (0 is padding);
* :func:`valid_targets` reads the held-out next item of each user from a
  validation :class:`Interactions`;
* :func:`rank_metrics` gives HR@k / NDCG@k of one target per row in a full
  ranking with the user's seen items excluded;
* :func:`save_interactions` / :func:`load_interactions` store the training log
  in a pickle-free ``.npz`` so that a saved model can score its known users.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, DataError, ModelNotFoundError


def length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Row indices in batches of similar length.

    With ``rng`` the rows are shuffled, sorted by length within chunks of 50
    batches and the batch order is shuffled (training); without it the rows are
    simply sorted by length (scoring).
    """
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[s : s + batch_size] for s in range(0, n, batch_size)]
    perm = rng.permutation(n)
    chunk = batch_size * 50
    batches: list[np.ndarray] = []
    for s in range(0, n, chunk):
        part = perm[s : s + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[b : b + batch_size] for b in range(0, len(part), batch_size))
    return [batches[j] for j in rng.permutation(len(batches))]


def pad_right(seqs: Sequence[np.ndarray], length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, lengths)``: a right-padded int64 matrix of ``item + 1`` ids and the true lengths."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    width = int(lengths.max(initial=1)) if length is None else length
    out = np.zeros((len(seqs), max(width, 1)), dtype=np.int64)
    for r, s in enumerate(seqs):
        out[r, : len(s)] = np.asarray(s[-width:], dtype=np.int64) + 1
    return out, np.minimum(lengths, width)


def valid_targets(valid: Interactions, n_users: int, n_items: int) -> np.ndarray:
    """Per user, the first held-out item of ``valid`` in time order, or ``-1`` if it has none."""
    if valid.n_items != n_items or valid.n_users != n_users:
        raise ConfigError(
            f"valid must share the training vocabularies: expected {n_users} users x {n_items} items, "
            f"got {valid.n_users} x {valid.n_items}"
        )
    log = valid.log.sort_values(["u", "ts"], kind="stable")
    first = log.drop_duplicates("u", keep="first")
    targets = np.full(n_users, -1, dtype=np.int64)
    targets[first["u"].to_numpy(np.int64)] = first["i"].to_numpy(np.int64)
    return targets


def rank_metrics(
    scores: np.ndarray, targets: np.ndarray, seen: sp.csr_matrix | None, k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Per row ``(hit@k, ndcg@k)`` of ``targets`` in the full ranking of ``scores``.

    Items in ``seen`` (except the target itself) are excluded from the ranking;
    ties are counted against the target (pessimistic).
    """
    scores = np.array(scores, dtype=np.float32, copy=True)
    rows = np.arange(len(targets))
    target_scores = scores[rows, targets].copy()
    if seen is not None and seen.nnz:
        r = np.repeat(rows, np.diff(seen.indptr))
        scores[r, seen.indices] = -np.inf
    scores[rows, targets] = -np.inf
    rank = (scores >= target_scores[:, None]).sum(axis=1)  # 0-based rank
    hit = (rank < k).astype(np.float64)
    ndcg = np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0)
    return hit, ndcg


def read_config(src: Path, name: str, label: str) -> dict[str, Any]:
    """``config.json`` of a saved model directory, checked to hold model ``name`` (``label`` names it in errors)."""
    if not (src / "config.json").is_file():
        raise ModelNotFoundError(f"no saved {label} at {src}: config.json is missing")
    config: dict[str, Any] = json.loads((src / "config.json").read_text())
    if config.get("model") != name:
        raise ModelNotFoundError(f"{src} holds a {config.get('model')!r} model, not {name!r}")
    return config


def save_interactions(path: Path, inter: Interactions) -> None:
    """The training interactions (matrix, id maps and the whole log, event kinds included) as a pickle-free
    ``.npz`` (:func:`tuijian.models.persist.interactions_to_arrays`)."""
    from tuijian.models.persist import interactions_to_arrays

    arrays: dict[str, Any] = interactions_to_arrays(inter)
    np.savez_compressed(path, **arrays)


def load_interactions(path: Path) -> Interactions:
    """Inverse of :func:`save_interactions` (``allow_pickle=False``); reads the older log-only files too."""
    from tuijian.models.persist import interactions_from_arrays

    try:
        with np.load(path, allow_pickle=False) as z:
            if "__interactions__.matrix.data" in z.files:
                return interactions_from_arrays(z)
            log = pd.DataFrame({"u": z["u"], "i": z["i"], "ts": z["ts"], "weight": z["weight"]})
            users, items = Vocabulary(z["user_ids"].tolist()), Vocabulary(z["item_ids"].tolist())
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"cannot read saved interactions from {path}: {exc}") from exc
    log["kind"] = "interaction"
    log["value"] = 1.0
    return Interactions.from_log(log, users, items, "binary")
