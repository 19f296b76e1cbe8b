"""Helpers of :mod:`tuijian.models.hybrid`: catalog arrays, label carving, sampling, ranker training,
safe save/load."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, ModelNotFoundError

if TYPE_CHECKING:
    from tuijian.models.base import Recommender
    from tuijian.models.hybrid import HybridRecommender
    from tuijian.models.hybrid_parts import RankerConfig

DAY = 86400.0
FORMAT_VERSION = 2


@dataclass
class CatalogArrays:
    """Catalog columns in item-index order: price (NaN unknown), category codes (-1 unknown), text vectors."""

    price: np.ndarray | None = None
    category: np.ndarray | None = None
    content: sp.csr_matrix | None = None


def catalog_arrays(items: pd.DataFrame | None, vocab: Vocabulary) -> CatalogArrays:
    """Align an item catalog (``item_id, title, description, brand, category, price``) to ``vocab``."""
    if items is None or len(items) == 0:
        return CatalogArrays()
    from tuijian.models.features import TEXT_FIELDS, align_catalog, item_text, tfidf_item_vectors

    aligned = align_catalog(items, vocab).catalog
    price = None
    if "price" in aligned.columns:
        p = pd.to_numeric(aligned["price"], errors="coerce").to_numpy(np.float64)
        price = p if np.isfinite(p).any() else None
    category = None
    if "category" in aligned.columns:
        cat = aligned["category"].fillna("").astype(str)
        codes, _ = pd.factorize(cat.where(cat.str.strip() != "", None))
        category = codes.astype(np.int64) if (codes >= 0).any() else None
    fields = [f for f in TEXT_FIELDS if f in aligned.columns]
    content = None
    if fields:
        texts = item_text(aligned.assign(item_id=vocab.ids), fields)
        if (texts.str.strip() != "").any():
            content, _ = tfidf_item_vectors(texts.to_numpy())
    return CatalogArrays(price=price, category=category, content=content)


def _aggregation(inter: Interactions) -> str:
    return "binary" if inter.nnz == 0 or bool(np.all(inter.matrix.data == 1.0)) else "sum"


def carve_labels(
    inter: Interactions,
    strategy: str,
    fraction: float,
    days: float,
    seed: int,
    *,
    repeats: bool = True,
    offset: int = 0,
) -> tuple[Interactions, sp.csr_matrix]:
    """Split ``inter`` into the history the retrievers learn from and the ranker's label matrix.

    ``"last"``: each user's last event (users with >= 2 events); ``"random"``: a random
    ``fraction`` of each user's events (at least one, never all); ``"time"``: every event
    in the last ``days`` of the log, with the events before the window as history (window events of
    users without earlier events are neither labels nor history). With ``repeats=False`` label items already in the
    user's remaining history are dropped (they would be excluded from the ranking).

    ``offset`` > 0 gives an earlier, independent carving (for training the ranker on
    several label sets): ``"last"`` labels the ``offset``-th event before the last and
    keeps only the events before it as history; ``"time"`` labels the window that ends
    ``offset * days`` before the end of the log, with the events before it as history
    (later events are dropped); ``"random"`` draws with seed ``seed + offset``.
    """
    if not isinstance(offset, int | np.integer) or offset < 0:
        raise ConfigError(f"offset must be a non-negative integer, got {offset!r}")
    log = inter.log
    u = log["u"].to_numpy(np.int64)
    n = len(log)
    counts = np.bincount(u, minlength=inter.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(n) - starts[u]
    keep = np.ones(n, dtype=bool)  # events in history or labels (the rest is dropped)
    if strategy == "last":
        is_label = (pos == counts[u] - 1 - offset) & (counts[u] >= 2 + offset)
        keep = pos <= counts[u] - 1 - offset
    elif strategy == "random":
        rng = np.random.default_rng(seed + offset)
        key = rng.random(n)
        order = np.lexsort((key, u))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - starts[u[order]]
        n_lab = np.maximum(1, np.floor(fraction * counts)).astype(np.int64)
        is_label = (rank < n_lab[u]) & (counts[u] >= 2)
    elif strategy == "time":
        ts = log["ts"].to_numpy(np.int64)
        # window ``offset`` is [end - days, end) with end = max - offset * days (offset 0: to the end)
        end = ts.max() - offset * days * DAY if (n and offset) else np.inf
        cut = ts.max() - (offset + 1) * days * DAY if n else 0
        window = (ts >= cut) & (ts < end)
        before = np.bincount(u[ts < cut], minlength=inter.n_users)
        is_label = window & (before[u] > 0)
        # the history ends at the cut: window events of users with no earlier history are dropped too
        keep = ts < cut
    else:
        raise ConfigError(f"label strategy must be 'last', 'random' or 'time', got {strategy!r}")
    if not is_label.any():
        raise ConfigError(f"label_strategy={strategy!r} found no events to use as ranker labels in {inter!r}")
    inner = inter.subset(~is_label & keep, aggregation=_aggregation(inter))
    lab = log[is_label]
    labels = sp.csr_matrix(
        (np.ones(len(lab), np.float32), (lab["u"].to_numpy(np.int64), lab["i"].to_numpy(np.int64))),
        shape=inter.matrix.shape,
    )
    labels.sum_duplicates()
    labels.data[:] = 1.0
    if not repeats:
        seen = inner.matrix.copy()
        seen.data[:] = 1.0
        labels = sp.csr_matrix(labels - labels.multiply(seen))
        labels.eliminate_zeros()
    return inner, labels


def negative_sample(
    rows: np.ndarray, y: np.ndarray, n_negatives: int, rng: np.random.Generator
) -> np.ndarray:
    """Mask keeping every positive and at most ``n_negatives`` random negatives per row group."""
    key = rng.random(len(rows))
    neg = ~y
    order = np.lexsort((key, rows))
    # rank of each negative among the negatives of its row, in random order
    neg_sorted = neg[order]
    rows_sorted = rows[order]
    csum = np.cumsum(neg_sorted)
    first = np.concatenate([[True], rows_sorted[1:] != rows_sorted[:-1]])
    base = np.maximum.accumulate(np.where(first, csum - neg_sorted, 0))
    rank_sorted = csum - base - 1
    keep_sorted = ~neg_sorted | (rank_sorted < n_negatives)
    keep = np.empty(len(rows), dtype=bool)
    keep[order] = keep_sorted
    return keep


def retrieve_candidates(
    models: list[Recommender],
    history: sp.csr_matrix,
    seqs: list[np.ndarray],
    n_candidates: int,
    repeats: bool,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """The union of each retriever's top-``n_candidates`` per row, plus every retriever's scores and ranks.

    Retrievers are asked with user index ``-1`` so that they score from ``history``/``seqs``
    alone (fold-in). Without ``repeats`` the rows' history items are never candidates; with
    it they all are. Returns ``(rows, cols, scores, ranks)``: candidate pairs in row-major
    order, and per retriever a dense ``(B, n_items)`` score matrix and rank matrix
    (``n_candidates + 1`` outside its top-N).
    """
    from tuijian.models.base import topk

    b, n = history.shape
    users = np.full(b, -1, dtype=np.int64)
    seen = sp.csr_matrix(history)
    seen_rows = np.repeat(np.arange(b), np.diff(seen.indptr))
    mask = np.zeros((b, n), dtype=bool)
    all_scores, all_ranks = [], []
    for model in models:
        s = np.array(model.score(users, history=history, sequences=seqs), dtype=np.float32, copy=True)
        sel = np.where(np.isfinite(s), s, -np.inf)
        if not repeats:
            sel[seen_rows, seen.indices] = -np.inf
        ids, top = topk(sel, n_candidates)
        ranks = np.full((b, n), n_candidates + 1, dtype=np.int32)
        r_idx = np.repeat(np.arange(b), ids.shape[1])
        ok = (ids.ravel() >= 0) & np.isfinite(top.ravel())
        ranks[r_idx[ok], ids.ravel()[ok]] = np.tile(np.arange(1, ids.shape[1] + 1), b)[ok]
        mask[r_idx[ok], ids.ravel()[ok]] = True
        all_scores.append(s)
        all_ranks.append(ranks)
    if repeats:
        mask[seen_rows, seen.indices] = True
    rows, cols = np.nonzero(mask)
    return rows.astype(np.int64), cols.astype(np.int64), all_scores, all_ranks


def user_timestamps(inter: Interactions) -> list[np.ndarray]:
    """Per-user event times aligned with :meth:`Interactions.sequences` (float seconds)."""
    log = inter.log
    counts = np.bincount(log["u"].to_numpy(np.int64), minlength=inter.n_users)
    ts = log["ts"].to_numpy(np.float64)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [ts[bounds[k] : bounds[k + 1]] for k in range(inter.n_users)]


def user_values(inter: Interactions) -> list[np.ndarray]:
    """Per-user event ``value`` (e.g. a rating) aligned with :meth:`Interactions.sequences` (NaN if none)."""
    log = inter.log
    counts = np.bincount(log["u"].to_numpy(np.int64), minlength=inter.n_users)
    if "value" in log.columns:
        v = pd.to_numeric(log["value"], errors="coerce").to_numpy(np.float64)
    else:
        v = np.full(len(log), np.nan)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [v[bounds[k] : bounds[k + 1]] for k in range(inter.n_users)]


def train_rankers(
    x: np.ndarray,
    y: np.ndarray,
    g: np.ndarray,
    rng: np.random.Generator,
    cfg: RankerConfig,
    random_state: int,
    num_threads: int,
) -> tuple[list[str], np.ndarray, int]:
    """Train ``cfg.n_rankers`` LambdaRank models; ``(LightGBM texts, summed gain per feature, best
    iteration of the first)``. Rows of one group must be contiguous in ``g``."""
    import inspect

    import lightgbm as lgb

    groups = np.unique(g)
    if len(groups) == 0:
        raise ConfigError("the retrievers' candidates never contain a label item; raise n_candidates")
    texts: list[str] = []
    gain = np.zeros(x.shape[1])
    first_best = 0
    for j in range(int(cfg.n_rankers)):
        valid_groups = (
            rng.choice(groups, max(1, len(groups) // 10), replace=False) if len(groups) >= 20 else groups[:0]
        )
        is_valid = np.isin(g, valid_groups)
        params: dict[str, Any] = dict(
            objective="lambdarank", n_estimators=cfg.n_estimators, learning_rate=cfg.learning_rate,
            num_leaves=cfg.num_leaves, min_child_samples=cfg.min_child_samples, colsample_bytree=0.8,
            subsample=0.8, subsample_freq=1, reg_lambda=1.0, random_state=random_state + j,
            n_jobs=num_threads, deterministic=True, force_row_wise=True, verbose=-1,
            lambdarank_truncation_level=20,
        )  # fmt: skip
        ranker = lgb.LGBMRanker(**params)
        tr = ~is_valid
        fit_kw: dict[str, Any] = {"group": _group_sizes(g[tr])}
        if is_valid.any():
            xv, yv = x[is_valid], y[is_valid]
            if "eval_X" in inspect.signature(ranker.fit).parameters:  # lightgbm >= 4.7
                fit_kw.update(eval_X=(xv,), eval_y=(yv,))
            else:
                fit_kw.update(eval_set=[(xv, yv)])
            fit_kw.update(
                eval_group=[_group_sizes(g[is_valid])],
                eval_at=[10],
                callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
            )
        ranker.fit(x[tr], y[tr], **fit_kw)
        best = int(ranker.best_iteration_ or cfg.n_estimators)
        if j == 0:
            first_best = best
        texts.append(ranker.booster_.model_to_string(num_iteration=best))
        gain += ranker.booster_.feature_importance("gain", iteration=best)
    return texts, gain, first_best


def _group_sizes(g: np.ndarray) -> np.ndarray:
    """Sizes of consecutive runs of equal group ids (rows of one group are contiguous)."""
    if len(g) == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(np.diff(g)) + 1
    return np.diff(np.concatenate([[0], change, [len(g)]]))


# ---------------------------------------------------------------------- persistence
def save_hybrid(model: HybridRecommender, directory: Path) -> None:
    """``config.json`` + ``ranker*.txt`` + ``interactions.npz`` + ``catalog.npz`` + ``retrievers/<name>/``."""
    from dataclasses import asdict

    from tuijian.models.base import Persistable
    from tuijian.models.persist import _put_sparse, interactions_to_arrays

    directory.mkdir(parents=True, exist_ok=True)
    for name, m in model.models_.items():
        if not isinstance(m, Persistable):
            raise ConfigError(
                f"retriever {name!r} ({type(m).__name__}) cannot be saved safely (no save/load)"
            )
        m.save(str(directory / "retrievers" / name))
    texts = list(model.ranker_texts_)
    for j, text in enumerate(texts):
        (directory / ("ranker.txt" if j == 0 else f"ranker_{j}.txt")).write_text(text, encoding="utf-8")
    arrays: dict[str, Any] = interactions_to_arrays(model.interactions_)
    np.savez_compressed(directory / "interactions.npz", **arrays)
    cat: dict[str, Any] = {}
    if model.catalog_.price is not None:
        cat["price"] = model.catalog_.price
    if model.catalog_.category is not None:
        cat["category"] = model.catalog_.category
    if model.catalog_.content is not None:
        _put_sparse(cat, "content", model.catalog_.content)
    side = model.side_
    if side.segment_codes is not None:
        cat["segment_codes"] = side.segment_codes
    if side.genres is not None:
        _put_sparse(cat, "genres", side.genres)
    if side.years is not None:
        cat["years"] = side.years
    np.savez_compressed(directory / "catalog.npz", **cat)
    try:
        params = json.loads(json.dumps(model.get_params()))
        selection = json.loads(json.dumps(model.selection_, default=float))
    except TypeError as exc:
        raise ConfigError(f"hybrid parameters must be JSON values to be saved: {exc}") from exc
    config = {
        "format": FORMAT_VERSION,
        "class": f"{type(model).__module__}:{type(model).__qualname__}",
        "params": params,
        "retrievers": model.retriever_names_,
        "retriever_classes": {
            n: f"{type(m).__module__}:{type(m).__qualname__}" for n, m in model.models_.items()
        },
        "served": model.served_,
        "labels": asdict(model.labels_),
        "features": asdict(model.features_),
        "refit": model.refit_,
        "repeats": model.repeats_,
        "holdout": model.holdout_.to_dict(),
        "selection": selection,
        "feature_names": model.feature_names_,
        "best_iteration": model.best_iteration_,
        "n_rankers": len(texts),
        "n_train_groups": model.n_train_groups_,
        "fit_seconds": model.fit_seconds_,
        "segment_attrs": list(side.segment_attrs or []),
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")


def load_hybrid(model: HybridRecommender, directory: Path, config: dict[str, Any]) -> HybridRecommender:
    import importlib

    import lightgbm as lgb

    from tuijian.models.holdout import Holdout
    from tuijian.models.hybrid_parts import FeatureGroups, LabelStrategy, SideInfo
    from tuijian.models.persist import _get_sparse, interactions_from_arrays

    if config.get("format") != FORMAT_VERSION:
        raise ConfigError(
            f"{directory} has hybrid format {config.get('format')!r}; this version reads {FORMAT_VERSION}"
        )
    for f in ("interactions.npz", "catalog.npz"):
        if not (directory / f).is_file():
            raise ModelNotFoundError(f"saved hybrid in {directory} lacks {f}")
    with np.load(directory / "interactions.npz", allow_pickle=False) as arr:
        inter = interactions_from_arrays(arr)
    with np.load(directory / "catalog.npz", allow_pickle=False) as arr:
        model.catalog_ = CatalogArrays(
            price=arr["price"] if "price" in arr.files else None,
            category=arr["category"] if "category" in arr.files else None,
            content=_get_sparse(arr, "content").astype(np.float32) if "content.shape" in arr.files else None,
        )
        model.side_ = SideInfo(
            segment_codes=arr["segment_codes"] if "segment_codes" in arr.files else None,
            segment_attrs=list(config.get("segment_attrs", [])) or None,
            genres=_get_sparse(arr, "genres").astype(np.float32) if "genres.shape" in arr.files else None,
            years=arr["years"] if "years" in arr.files else None,
        )
    model.models_ = {}
    for name in config["retrievers"]:
        module, _, cls = config["retriever_classes"][name].partition(":")
        model.models_[name] = getattr(importlib.import_module(module), cls).load(
            str(directory / "retrievers" / name)
        )
    model.retriever_names_ = list(config["retrievers"])
    model.served_ = str(config["served"])
    model.labels_ = LabelStrategy(**config["labels"])
    model.features_ = FeatureGroups(**config["features"])
    model.refit_ = bool(config["refit"])
    model.repeats_ = bool(config["repeats"])
    model.holdout_ = Holdout.from_dict(config["holdout"])
    model.selection_ = dict(config["selection"])
    model.feature_names_ = list(config["feature_names"])
    model.best_iteration_ = int(config["best_iteration"])
    model.n_train_groups_ = int(config["n_train_groups"])
    model.fit_seconds_ = dict(config["fit_seconds"])
    n_rankers = int(config.get("n_rankers", 0))
    names = [("ranker.txt" if j == 0 else f"ranker_{j}.txt") for j in range(n_rankers)]
    missing = [f for f in names if not (directory / f).is_file()]
    if missing:
        raise ModelNotFoundError(f"saved hybrid in {directory} lacks {missing}")
    model.ranker_texts_ = [(directory / f).read_text(encoding="utf-8") for f in names]
    model.boosters_ = [lgb.Booster(model_str=t) for t in model.ranker_texts_]
    model.interactions_ = inter
    model._seq_cache = None
    model._finish(inter)
    return model
