"""How the hybrid chooses its own setup on a validation split carved from its training data.

Given the training interactions and a :class:`~.holdout.Holdout` (shaped like the split the
model will be judged on), :func:`select_setup`:

1. carves ``(inner, targets)``: the model learns from ``inner`` and is scored on ``targets``
   (NDCG@10, for at most ``max_valid_users`` users, seen items excluded unless repeats count);
2. fits every retriever on ``inner`` and scores each alone; with the default retrievers, EASE's
   regularisation is chosen there too (:data:`RETRIEVER_GRIDS`);
3. for each label strategy worth trying (:meth:`LabelStrategy.candidates`: labels shaped like
   the targets), builds the ranker's training data once with every available feature group,
   and trains one ranker per feature-group subset (all groups, none, all but one) on the
   matching columns;
   (one ranker per subset, trained faster than the final one: see ``sel_cfg``);
4. scores each ranker twice: with the retrievers of the label carving, and with retrievers
   refitted on all of ``inner`` (the ``refit`` choice);
5. keeps the best. If a retriever alone beats every ranker variant (and ``gate`` is on), the
   hybrid serves that retriever and says so in ``selection_``.

Everything is chosen on ``targets``, never on the test split of an evaluation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.models.holdout import Holdout
from tuijian.models.hybrid_parts import FEATURE_GROUPS, FeatureGroups, LabelStrategy, RankerConfig

if TYPE_CHECKING:
    from tuijian.models.hybrid import HybridRecommender

K = 10
#: (retriever, parameter, factors of its default tried on validation) when the retrievers are the defaults
RETRIEVER_GRIDS: tuple[tuple[str, str, tuple[float, ...]], ...] = (("ease", "reg", (0.5, 2.0, 4.0)),)
#: catalogs above this size skip the grid (EASE inverts an items x items matrix per value)
MAX_GRID_ITEMS = 20000


@dataclass
class Selection:
    """The chosen setup and the validation table it was chosen from."""

    labels: LabelStrategy
    features: FeatureGroups
    refit: bool
    served: str  # "ranker" or a retriever name
    holdout: Holdout
    specs: dict[str, dict[str, Any]]  # the retrievers with the parameters chosen on validation
    table: dict[str, float] = field(default_factory=dict)
    n_users: int = 0
    seconds: float = 0.0

    def report(self) -> dict[str, Any]:
        best = max(self.table.values()) if self.table else float("nan")
        return {
            "chosen": self.served,
            "labels": self.labels.label(),
            "features": self.features.label(),
            "refit": self.refit,
            "retrievers": self.specs,
            "holdout": self.holdout.to_dict(),
            "validation_users": self.n_users,
            "validation_ndcg@10": best,
            "validation": dict(sorted(self.table.items(), key=lambda kv: -kv[1])),
            "seconds": round(self.seconds, 1),
        }


def _ndcg(scores: np.ndarray, seen: sp.csr_matrix | None, targets: sp.csr_matrix) -> float:
    from tuijian.evaluate import metrics as M
    from tuijian.models.base import mask_scores, topk

    scores = np.array(scores, dtype=np.float32, copy=True)
    mask_scores(scores, seen, None)
    ranked = topk(scores, K)[0]
    return float(
        np.nanmean(M.metrics_from_hits(M.hits(ranked, targets, K), M.n_relevant(targets), K)["ndcg"])
    )


def _subsets(avail: FeatureGroups, fixed: FeatureGroups | None) -> list[FeatureGroups]:
    if fixed is not None:
        return [fixed]
    groups = avail.names()
    out = [avail, FeatureGroups()]
    if len(groups) >= 2:
        out += [FeatureGroups.of([g for g in groups if g != drop]) for drop in groups]
    return list(dict.fromkeys(out))


def _prune(
    model: HybridRecommender,
    best: tuple[float, LabelStrategy, FeatureGroups, bool],
    kept: dict[str, Any],
    names: list[str],
    all_cols: list[str],
    cfg: RankerConfig,
    rng: np.random.Generator,
    log_pop: np.ndarray,
    hist: sp.csr_matrix,
    seqs: list[np.ndarray],
    seen: sp.csr_matrix | None,
    tgt: sp.csr_matrix,
    table: dict[str, float],
) -> list[str]:
    """The retriever set, chosen on the holdout (``prune_retrievers``): the best setup is scored again
    without each retriever in turn (its candidates and its columns gone: both are read off the rows'
    rank columns, nothing is refitted), and every retriever whose absence scores higher is dropped if
    dropping them together also scores higher. Returns the retrievers kept."""
    import lightgbm as lgb

    from tuijian.models.hybrid import HybridRecommender, place_cold_item, train_rankers

    score0, lab, feats_set, rf = best
    x, y, g = kept["x"], kept["y"], kept["g"]
    rows, cand, feats = kept["scored"][rf]
    retr = kept["retr"][rf]
    count_col = all_cols.index("ui_count")

    def inside(m: np.ndarray, keep: list[str]) -> np.ndarray:
        rank_cols = [all_cols.index(f"{r}:rank") for r in keep]
        ok = np.asarray((m[:, rank_cols] <= model.n_candidates).any(axis=1), dtype=bool)
        if model.repeats_:
            ok |= m[:, count_col] > 0
        return ok

    def score(keep: list[str]) -> float:
        idx = np.asarray([all_cols.index(c) for c in model.feature_columns(feats_set, keep)], dtype=np.int64)
        m = inside(x, keep)
        m &= np.isin(g, np.unique(g[m & (y > 0)]))  # groups that keep a positive
        texts, _, _ = train_rankers(x[m][:, idx], y[m], g[m], rng, cfg, model.random_state, model.num_threads)
        boosters = [lgb.Booster(model_str=t) for t in texts]
        e = inside(feats, keep)
        pred = model._predict(feats[e][:, idx], boosters)
        out = HybridRecommender.assemble(len(seqs), rows[e], cand[e], pred, log_pop)
        if model.cold_item_rank is not None and "content" in keep:
            place_cold_item(out, retr["content"], hist, seqs, log_pop, model.cold_item_rank)
        return _ndcg(out, seen, tgt)

    label = f"{lab.label()}; {feats_set.label()}{'; refit' if rf else ''}"
    worse = []
    for r in names:
        if len(names) <= 2:
            break
        table[f"ranker[{label}; without {r}]"] = got = score([n for n in names if n != r])
        if got > score0:
            worse.append(r)
    keep = names
    if worse and len(names) - len(worse) >= 2:
        rest = [n for n in names if n not in worse]
        table[f"ranker[{label}; without {'+'.join(worse)}]"] = got = score(rest)
        if got > score0:
            keep = rest
    model._log(
        f"retrievers kept: {', '.join(keep)}" + (f" (dropped {', '.join(worse)})" if keep != names else "")
    )
    return keep


def select_setup(
    model: HybridRecommender,
    interactions: Interactions,
    holdout: Holdout,
    specs: dict[str, dict[str, Any]],
    avail: FeatureGroups,
    cfg: RankerConfig,
    items: pd.DataFrame | None,
    *,
    labels: LabelStrategy | None = None,
    features: FeatureGroups | None = None,
    refit: bool | None = None,
) -> Selection:
    """Choose labels, feature groups, refit and ranker-vs-retriever on ``holdout`` (module docstring).
    Arguments that are not ``None`` are fixed and not searched."""
    import lightgbm as lgb

    from tuijian.models.hybrid import HybridRecommender, place_cold_item, train_rankers
    from tuijian.models.hybrid_training import user_timestamps, user_values

    t0 = time.perf_counter()
    inner, targets = holdout.split(interactions, model.random_state)
    seqs_all = inner.sequences()
    has_hist = np.diff(inner.matrix.indptr) > 0
    users = np.flatnonzero((np.diff(targets.indptr) > 0) & has_hist)
    rng = np.random.default_rng(model.random_state)
    if len(users) > model.max_valid_users:
        users = np.sort(rng.choice(users, model.max_valid_users, replace=False))
    hist = inner.matrix[users]
    seen = None if model.repeats_ else hist
    tgt = targets[users]
    seqs = [seqs_all[u] for u in users]
    ts_all = user_timestamps(inner)
    ts = [ts_all[u] for u in users]
    vals_all = user_values(inner)
    vals = [vals_all[u] for u in users]
    minus = np.full(len(users), -1, np.int64)
    model._log(f"validation: {holdout.strategy} holdout, {len(users)} users, inner {inner!r}")
    table: dict[str, float] = {}

    # retrievers alone, fitted on all of inner (also the "refit" variant's retrievers)
    specs = {k: dict(v) for k, v in specs.items()}
    refitted = model._fit_retrievers(specs, inner, items)
    alone = {
        name: _ndcg(m.score(minus, history=hist, sequences=seqs), seen, tgt) for name, m in refitted.items()
    }
    table.update(alone)
    # the retrievers' main regulariser, on the same split (EASE's L2 weight: cheap for catalogs of this size)
    for name, param, factors in RETRIEVER_GRIDS:
        if name not in specs or model.retrievers is not None or inner.n_items > MAX_GRID_ITEMS:
            continue
        from tuijian.models import registry

        base = float(specs[name].get(param, registry.create(name).get_params()[param]))
        table[f"{name}({param}={base:g})"] = table.pop(name)
        for f in factors:
            trial = {**specs[name], param: base * f}
            m = registry.create(name, **trial).fit(inner)
            score = _ndcg(m.score(minus, history=hist, sequences=seqs), seen, tgt)
            table[f"{name}({param}={base * f:g})"] = score
            if score > alone[name]:
                specs[name], refitted[name], alone[name] = trial, m, score
    model._log("retrievers: " + ", ".join(f"{k} {v:.4f}" for k, v in table.items()))

    ctx = model._context(inner)
    seg_ctx = model._segment_context(inner)
    # one ranker per setup, a faster learning rate and at most 10,000 training users per label set: the
    # setups are compared with each other here, the chosen one is then trained with ``cfg`` in full
    sel_cfg = cfg.with_(
        n_rankers=1,
        learning_rate=max(cfg.learning_rate, 0.1),
        n_estimators=min(cfg.n_estimators, 200),
        early_stopping_rounds=min(cfg.early_stopping_rounds, 20),
        max_train_users=min(cfg.max_train_users, 10000),
    )
    subsets = _subsets(avail, features)
    refits = [refit] if refit is not None else [False, True]
    best: tuple[float, LabelStrategy, FeatureGroups, bool] | None = None
    names = list(specs)
    all_cols = model.feature_columns(avail, names)
    label_options = [labels] if labels is not None else LabelStrategy.candidates(holdout, inner)
    kept: dict[str, Any] = {}  # the best label strategy's training data and holdout features (pruning)
    for lab in label_options:
        try:
            x, y, g, carved = model._ranker_data(inner, None, specs, lab, avail, sel_cfg, items, rng)
        except Exception as exc:  # noqa: BLE001 - a label strategy the data cannot feed is skipped, and said
            model._log(f"labels {lab.label()} skipped: {exc}")
            continue
        scored: dict[bool, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        best_before = best[0] if best is not None else -np.inf
        boosters: dict[FeatureGroups, list[Any]] = {}
        cols: dict[FeatureGroups, np.ndarray] = {}
        for s in subsets:
            wanted = model.feature_columns(s, names)
            idx = np.asarray([all_cols.index(c) for c in wanted], dtype=np.int64)
            cols[s] = idx
            texts, _, _ = train_rankers(x[:, idx], y, g, rng, sel_cfg, model.random_state, model.num_threads)
            boosters[s] = [lgb.Booster(model_str=t) for t in texts]
        for rf in refits:
            retr = refitted if rf else carved
            rows, cand, feats = model._candidates_features(
                retr, avail, ctx, seg_ctx, hist, seqs, ts, vals, users=users
            )
            scored[rf] = (rows, cand, feats)
            for s in subsets:
                pred = model._predict(feats[:, cols[s]], boosters[s])
                out = HybridRecommender.assemble(len(users), rows, cand, pred, ctx.log_pop)
                if model.cold_item_rank is not None and "content" in retr:
                    place_cold_item(out, retr["content"], hist, seqs, ctx.log_pop, model.cold_item_rank)
                score = _ndcg(out, seen, tgt)
                key = f"ranker[{lab.label()}; {s.label()}{'; refit' if rf else ''}]"
                table[key] = score
                if best is None or score > best[0]:
                    best = (score, lab, s, rf)
        model._log(
            "rankers: "
            + ", ".join(f"{k} {v:.4f}" for k, v in table.items() if k.startswith(f"ranker[{lab.label()}"))
        )
        if model.prune_retrievers and best is not None and best[0] > best_before:
            kept = {"x": x, "y": y, "g": g, "scored": scored, "retr": {False: carved, True: refitted}}
    if best is None:
        raise RuntimeError("no ranker setup could be trained on the validation split")
    if kept:
        names = _prune(
            model, best, kept, names, all_cols, sel_cfg, rng, ctx.log_pop, hist, seqs, seen, tgt, table
        )
        specs = {k: v for k, v in specs.items() if k in names}
    served = "ranker"
    best_retriever = max(alone, key=lambda n: alone[n])
    if model.gate and alone[best_retriever] > best[0]:
        served = best_retriever
    return Selection(
        labels=best[1],
        features=best[2],
        refit=best[3],
        served=served,
        holdout=holdout,
        specs=specs,
        table=table,
        n_users=len(users),
        seconds=time.perf_counter() - t0,
    )


__all__ = ["FEATURE_GROUPS", "Selection", "select_setup"]
