"""Run models through a protocol and collect metrics.

>>> res = evaluate_models("movielens-1m", "recbole", ["popularity", "ease:reg=500"])  # doctest: +SKIP
>>> res["results"]["ease:reg=500"]["ndcg@10"]  # doctest: +SKIP

Models are registry names, optionally with parameters: ``"ease:reg=500"``,
``"item-knn:n_neighbors=100;shrinkage=10"``. The result key is the spec as
given. Users are scored in batches (``batch_size``) with a tqdm bar; each
model's fit time, scoring time and peak traced memory are recorded.
"""

from __future__ import annotations

import ast
import inspect
import resource
import sys
import time
import tracemalloc
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.vocabulary import Vocabulary
from tuijian.evaluate import metrics as M
from tuijian.evaluate.exposure import exposure_metrics
from tuijian.evaluate.protocols import EvalSplit, Stage, make_protocol
from tuijian.exceptions import ConfigError


def parse_value(text: str) -> Any:
    """A parameter value from the CLI: Python literal if it parses (500, 0.1, True, None), else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_model_specs(text: str | Sequence[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """Parse ``"pop,ease:reg=500,item-knn:n_neighbors=100;shrinkage=10"`` into (label, name, params).

    Models are separated by commas; parameters follow a colon and are
    separated by ``;`` (a comma-separated ``key=value`` without a colon also
    belongs to the model before it).
    """
    tokens = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    specs: list[list[Any]] = []
    for tok in tokens:
        if ":" not in tok and "=" in tok:
            if not specs:
                raise ConfigError(f"parameter {tok!r} comes before any model name in {text!r}")
            specs[-1][0] += f";{tok}"
            specs[-1][2].update(_params(tok, text))
            continue
        name, _, rest = tok.partition(":")
        specs.append([tok, name.strip(), _params(rest, text) if rest else {}])
    if not specs:
        raise ConfigError(f"no model names given (got {text!r}); e.g. --models popularity,ease:reg=500")
    return [(label, name, params) for label, name, params in specs]


def _params(text: str, whole: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, eq, val = part.partition("=")
        if not eq or not key.strip():
            raise ConfigError(
                f"model parameter {part!r} in {whole!r} must look like name=value, e.g. ease:reg=500"
            )
        out[key.strip()] = parse_value(val.strip())
    return out


def catalog_features(items: pd.DataFrame | None, vocab: Vocabulary) -> sp.csr_matrix | None:
    """One-hot item features (category path levels and brand) for intra-list diversity, or None."""
    if items is None or len(items) == 0 or "item_id" not in items.columns:
        return None
    cols = [c for c in ("category", "brand") if c in items.columns]
    if not cols:
        return None
    idx = vocab.lookup(items["item_id"].astype(str).to_numpy(), missing="negative")
    rows: list[int] = []
    toks: list[str] = []
    for col in cols:
        for r, val in zip(idx, items[col].to_numpy(), strict=True):
            if r < 0 or val is None or (isinstance(val, float) and np.isnan(val)):
                continue
            values = (
                list(val) if isinstance(val, list | tuple | np.ndarray) else [v for v in str(val).split("|")]
            )
            for v in values:
                v = str(v).strip()
                if v:
                    rows.append(int(r))
                    toks.append(f"{col}={v}")
    if not toks:
        return None
    codes, uniq = pd.factorize(pd.Series(toks))
    m = sp.csr_matrix((np.ones(len(codes)), (np.asarray(rows), codes)), shape=(len(vocab), len(uniq)))
    m.data[:] = 1.0
    return m


#: Side information a model's ``fit`` may take by keyword, besides the interactions.
SIDE_INFO_KEYWORDS: tuple[str, ...] = ("items", "users", "holdout")


def side_info_kwargs(
    model: Any,
    *,
    items: pd.DataFrame | None = None,
    users: pd.DataFrame | None = None,
    holdout: Any = None,
) -> dict[str, Any]:
    """The side information ``model.fit`` accepts, as keyword arguments.

    Looks at ``inspect.signature(model.fit)``: a model whose ``fit`` names ``items`` gets the
    catalog frame (or None), ``users`` the user-attributes frame, ``holdout`` the
    :class:`~tuijian.models.holdout.Holdout` mirroring the protocol. Side information is passed in
    with the data; a model never loads it by dataset name.
    """
    try:
        params = inspect.signature(model.fit).parameters
    except (TypeError, ValueError):  # a builtin or C-implemented fit: pass nothing
        return {}
    given = {"items": items, "users": users, "holdout": holdout}
    return {
        key: given[key]
        for key in SIDE_INFO_KEYWORDS
        if key in params
        and params[key].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }


def fit_kwargs(model: Any, dataset: Any, split: EvalSplit) -> dict[str, Any]:
    """:func:`side_info_kwargs` for ``dataset``'s catalog and user attributes and a holdout shaped
    like ``split``'s (``Holdout.for_protocol``)."""
    from tuijian.models.holdout import Holdout

    return side_info_kwargs(
        model,
        items=getattr(dataset, "items", None),
        users=getattr(dataset, "users", None),
        holdout=Holdout.for_protocol(split.protocol, split.info),
    )


def _peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


def evaluate_model(
    model: Any,
    stage: Stage,
    ks: Sequence[int] = (10, 20),
    *,
    batch_size: int = 1024,
    item_features: sp.spmatrix | np.ndarray | None = None,
    progress: bool = False,
    label: str = "",
) -> dict[str, Any]:
    """Score a FITTED model on ``stage`` and return the metric dict (means over evaluated users)."""
    from tqdm.auto import tqdm

    from tuijian.models.base import mask_scores, topk

    kmax = max(ks)
    users = stage.users
    n_items = stage.fit.n_items
    ranked = np.full((len(users), kmax), -1, dtype=np.int64)
    t0 = time.perf_counter()
    starts = range(0, len(users), batch_size)
    for s in tqdm(starts, desc=f"scoring {label}".strip(), disable=not progress, leave=False, unit="batch"):
        batch = users[s : s + batch_size]
        scores = np.array(model.score(batch), dtype=np.float32, copy=True)
        mask_scores(scores, stage.exclude[batch] if stage.exclude is not None else None, None)
        ranked[s : s + len(batch)] = topk(scores, kmax)[0]
    score_seconds = time.perf_counter() - t0
    rel = stage.targets[users]
    h = M.hits(ranked, rel, kmax)
    n_rel = M.n_relevant(rel)
    pop = stage.fit.item_popularity()
    n_fit_users = int((np.diff(stage.fit.matrix.indptr) > 0).sum())
    # the mean popularity of the items the training users interacted with (what popularity lift compares to)
    profile_pop = (
        float(np.asarray(pop, np.float64)[stage.fit.matrix.indices].mean()) if stage.fit.nnz else None
    )
    out: dict[str, Any] = {}
    for k in ks:
        for name, values in M.metrics_from_hits(h, n_rel, k).items():
            out[f"{name}@{k}"] = float(np.nanmean(values)) if len(values) else float("nan")
        out[f"coverage@{k}"] = M.catalogue_coverage(ranked, n_items, k)
        out[f"novelty@{k}"] = M.novelty(ranked, pop, max(n_fit_users, 1), k)
        out[f"gini@{k}"] = M.gini_index(ranked, n_items, k)
        exposure = exposure_metrics(ranked[:, :k], pop, profile_pop)  # issue 14: exposure and popularity bias
        out[f"long_tail@{k}"] = exposure["long_tail_share"]
        out[f"arp@{k}"] = exposure["arp"]
        out[f"pop_lift@{k}"] = exposure["popularity_lift"]
        if item_features is not None:
            out[f"diversity@{k}"] = M.intra_list_diversity(ranked, item_features, k)
    out["score_seconds"] = round(score_seconds, 3)
    out["n_users_evaluated"] = len(users)
    return out


def evaluate_models(
    dataset_name: str,
    protocol: str,
    model_names: Sequence[str] | str,
    ks: Sequence[int] = (10, 20),
    params: Mapping[str, Mapping[str, Any]] | None = None,
    data_dir: str | None = None,
    progress: bool = True,
    *,
    phase: str = "test",
    fit_on: str = "train+valid",
    seed: int = 2020,
    batch_size: int = 1024,
    track_memory: bool = True,
    split: EvalSplit | None = None,
    dataset: Any = None,
) -> dict[str, Any]:
    """Evaluate registry models on ``dataset_name`` under ``protocol``.

    ``dataset`` may be any loaded :class:`~tuijian.data.datasets.Dataset`, a shop's own files
    included (:func:`~tuijian.data.datasets.dataset_from_files`). Each model's ``fit`` gets the
    side information it accepts (:func:`side_info_kwargs`): the dataset's catalog (``items``),
    its user attributes (``users``) and the protocol's :class:`~tuijian.models.holdout.Holdout`.

    ``model_names`` are specs (see :func:`parse_model_specs`); ``params`` maps a
    model name or spec to extra constructor parameters. ``phase="valid"`` fits
    on train and scores validation (tuning); ``phase="test"`` fits on
    ``fit_on`` and scores test. Pass a prebuilt ``split`` (and/or loaded
    ``dataset``) to reuse them across calls. Returns
    ``{"dataset", "protocol", "phase", "ks", "split", "results": {spec: metrics}}``
    where metrics hold ``ndcg@k, hr@k, recall@k, precision@k, map@k, mrr@k,
    coverage@k, novelty@k, gini@k`` (``diversity@k`` when the catalogue has
    categories/brands), ``fit_seconds``, ``score_seconds``, ``peak_mb`` and
    ``n_users_evaluated``.
    """
    from tuijian.models import registry
    from tuijian.models.holdout import Holdout

    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ConfigError(f"ks must be positive integers, got {ks}")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    specs = parse_model_specs(model_names)
    for _, name, _ in specs:
        registry.model_class(name)  # fail fast on unknown names, before loading data
    if split is None:
        if dataset is None:
            from tuijian.data.datasets import load_dataset

            dataset = load_dataset(dataset_name, data_dir=data_dir)
        split = make_protocol(protocol, dataset, seed=seed)
    stage = split.stage(phase, fit_on=fit_on)
    items_frame = getattr(dataset, "items", None) if dataset is not None else None
    users_frame = getattr(dataset, "users", None) if dataset is not None else None
    holdout = Holdout.for_protocol(split.protocol, split.info) if split.protocol else Holdout()
    feats = catalog_features(items_frame, split.train.items)
    results: dict[str, Any] = {}
    for label, name, spec_params in specs:
        kw = {**dict((params or {}).get(name, {})), **dict((params or {}).get(label, {})), **spec_params}
        model = registry.create(name, **kw)
        if track_memory:
            tracemalloc.start()
        try:
            side = side_info_kwargs(model, items=items_frame, users=users_frame, holdout=holdout)
            t0 = time.perf_counter()
            model.fit(stage.fit, **side)
            fit_seconds = time.perf_counter() - t0
            res = evaluate_model(
                model, stage, ks, batch_size=batch_size, item_features=feats, progress=progress, label=label
            )
            peak = tracemalloc.get_traced_memory()[1] / 2**20 if track_memory else float("nan")
        finally:
            if track_memory:
                tracemalloc.stop()
        res["fit_seconds"] = round(fit_seconds, 3)
        res["peak_mb"] = round(peak, 1)
        res["max_rss_mb"] = round(_peak_rss_mb(), 1)
        res["params"] = {
            k: (v if isinstance(v, int | float | str | bool | None) else repr(v))
            for k, v in model.get_params().items()
        }
        selection = getattr(model, "selection_", None)
        if isinstance(selection, dict):
            res["selection"] = selection
        results[label] = res
        del model
    return {
        "dataset": dataset_name or str(getattr(dataset, "name", "")),
        "protocol": protocol,
        "phase": phase,
        "fit_on": fit_on if phase == "test" else "train",
        "ks": ks,
        "split": {
            **split.counts,
            "train": split.train.nnz,
            "valid": split.valid.nnz,
            "test": split.test.nnz,
            "users_evaluated": len(stage.users),
            **{k: v for k, v in split.info.items() if isinstance(v, int | float | str | bool)},
        },
        "results": results,
    }
