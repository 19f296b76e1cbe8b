"""Hyper-parameter search on the VALIDATION split only.

Each trial fits a fresh copy of the model on the split's training part and
scores the validation targets (train items excluded), so the test split is never
touched while choosing settings::

    split = make_protocol("loo", "amazon-beauty")
    result = search("als", split, {"n_factors": [64, 128], "reg": [0.01, 0.1]})
    result.best_params, result.trials      # a dict and a DataFrame

Grid search tries every combination; random search samples ``n_trials`` of
them (without replacement, seeded). A tqdm bar shows progress. The chosen
settings travel with the model: :func:`tuijian.models.artifacts.save_model`
takes them as ``hyperparameters=result.to_dict()``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tuijian.exceptions import ConfigError
from tuijian.models.base import Recommender

#: Small default grids (used by ``tuijian train --tune`` and ``bench/peers.py``).
DEFAULT_SPACES: dict[str, dict[str, list[Any]]] = {
    "als": {"n_factors": [64, 128], "reg": [0.01, 0.1, 1.0], "alpha": [1.0, 5.0, 20.0]},
    "bpr": {"n_factors": [64, 128], "learning_rate": [0.005, 0.01, 0.02], "reg": [0.001, 0.01]},
    "ease": {"reg": [30.0, 100.0, 250.0, 500.0, 1000.0]},
    "item-knn": {"n_neighbors": [50, 100, 200], "shrinkage": [0.0, 10.0]},
    "user-knn": {"n_neighbors": [50, 100, 200], "shrinkage": [0.0, 10.0]},
    "content": {"max_df": [0.5, 0.9], "recency_half_life": [None, 2.0, 10.0]},
    "recent-popularity": {"window_days": [7.0, 30.0, 90.0]},
}


@dataclass
class SearchResult:
    """Outcome of a search: the best settings, their validation score and every trial."""

    model: str
    metric: str
    method: str
    best_params: dict[str, Any]
    best_score: float
    trials: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (what artifacts store as ``hyperparameters``)."""
        return {
            "model": self.model,
            "metric": self.metric,
            "method": self.method,
            "split": "valid",
            "best_params": self.best_params,
            "best_score": self.best_score,
            "n_trials": len(self.trials),
            "trials": _jsonable_records(self.trials),
        }


def _jsonable_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict("records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and math.isnan(v):
                v = None
            clean[str(k)] = v
        out.append(clean)
    return out


def parameter_grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``space`` (a dict of name -> list of values), in a stable order."""
    if not space:
        return [{}]
    for name, values in space.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or len(values) == 0:
            raise ConfigError(f"search space for {name!r} must be a non-empty list of values, got {values!r}")
    names = list(space)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(space[n] for n in names))]


def _candidates(
    space: Mapping[str, Sequence[Any]], method: str, n_trials: int | None, random_state: int
) -> list[dict[str, Any]]:
    grid = parameter_grid(space)
    if method == "grid":
        return grid
    if method != "random":
        raise ConfigError(f"method must be 'grid' or 'random', got {method!r}")
    if n_trials is None or n_trials < 1:
        raise ConfigError(f"random search needs n_trials >= 1, got {n_trials!r}")
    rng = np.random.default_rng(random_state)
    order = rng.permutation(len(grid))[: min(n_trials, len(grid))]
    return [grid[i] for i in order]


def _stage(split: Any) -> Any:
    """The validation stage of an EvalSplit, or a stage-like object passed as is."""
    if hasattr(split, "stage"):
        return split.stage("valid")
    if all(hasattr(split, a) for a in ("fit", "users", "targets", "exclude")):
        if getattr(split, "phase", "valid") != "valid":
            raise ConfigError(f"tuning must use the validation stage, got phase {split.phase!r}")
        return split
    raise ConfigError(
        f"split must be an EvalSplit (make_protocol) or a validation Stage, got {type(split).__name__}"
    )


def validation_score(model: Recommender, stage: Any, k: int = 10) -> dict[str, float]:
    """NDCG@k, HR@k and recall@k of a fitted model on a validation stage."""
    from tuijian.evaluate.runner import evaluate_model

    res = evaluate_model(model, stage, (k,))
    return {m: float(res[f"{m}@{k}"]) for m in ("ndcg", "hr", "recall")}


def search(
    model: Recommender | str,
    split: Any,
    space: Mapping[str, Sequence[Any]] | None = None,
    *,
    method: str = "grid",
    n_trials: int | None = None,
    metric: str = "ndcg@10",
    fixed: Mapping[str, Any] | None = None,
    random_state: int = 0,
    progress: bool = True,
) -> SearchResult:
    """Find the settings with the best validation ``metric`` (``ndcg@K``, ``hr@K`` or ``recall@K``).

    ``model`` is a registry name or an unfitted model (whose other settings, and
    for the content model its catalog, are kept); ``space`` defaults to
    :data:`DEFAULT_SPACES`; ``fixed`` settings apply to every trial.
    """
    from tqdm.auto import tqdm

    from tuijian.models import registry

    base = registry.create(model) if isinstance(model, str) else model
    if fixed:
        base = base.clone(**dict(fixed))
    name = base.name or type(base).__name__
    if space is None:
        if name not in DEFAULT_SPACES:
            raise ConfigError(f"no default search space for {name!r}; pass space={{'param': [values, ...]}}")
        space = DEFAULT_SPACES[name]
    valid_params = base.get_params()
    unknown = sorted(set(space) - set(valid_params))
    if unknown:
        raise ConfigError(
            f"{type(base).__name__} has no parameter(s) {unknown}; valid: {sorted(valid_params)}"
        )
    metric_name, _, k_text = metric.partition("@")
    if metric_name not in ("ndcg", "hr", "recall") or not k_text.isdigit() or int(k_text) < 1:
        raise ConfigError(f"metric must look like 'ndcg@10', 'hr@10' or 'recall@20', got {metric!r}")
    k = int(k_text)
    stage = _stage(split)
    candidates = _candidates(space, method, n_trials, random_state)
    rows: list[dict[str, Any]] = []
    best: tuple[float, int] | None = None
    bar = tqdm(candidates, desc=f"tuning {name}", disable=not progress, unit="trial")
    for trial, params in enumerate(bar):
        candidate = base.clone(**params)
        t0 = time.perf_counter()
        candidate.fit(stage.fit)
        fit_seconds = time.perf_counter() - t0
        scores = validation_score(candidate, stage, k)
        value = scores[metric_name]
        rows.append(
            {
                "trial": trial,
                **params,
                **{f"{m}@{k}": v for m, v in scores.items()},
                "fit_seconds": round(fit_seconds, 3),
            }
        )
        if not math.isnan(value) and (best is None or value > best[0]):
            best = (value, trial)
            bar.set_postfix({metric: f"{value:.4f}", **{p: v for p, v in params.items()}})
        del candidate
    if best is None:
        raise ConfigError(f"every trial scored NaN on {metric}: the validation split has no evaluable users")
    trials = pd.DataFrame(rows)
    return SearchResult(
        model=name,
        metric=metric,
        method=method,
        best_params=dict(candidates[best[1]]),
        best_score=float(best[0]),
        trials=trials,
    )
