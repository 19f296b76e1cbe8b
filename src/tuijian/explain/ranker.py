"""The hybrid's ranker explained: its feature contributions mapped to shopper reasons.

The contributions come from :func:`tuijian.explain.tree_paths.contributions`: decision-path contributions
(served) or exact TreeSHAP (LightGBM's ``Booster.predict(..., pred_contrib=True)``, the algorithm of
``shap.TreeExplainer``, without the extra dependency); either way, for one (user, item) pair, ``score = base +
sum_f contribution_f`` over the ranker's features. The hybrid averages several boosters, and so do the
contributions. Each feature belongs to one reason kind (:func:`feature_kind`):

* a retriever's columns (``ease:score``, ``item-knn:rank``, ...) to that retriever's kind: item-kNN, EASE
  and RP3beta are ``history``, the session model and SASRec ``recent``, content ``content``, ALS/BPR
  ``similar_shoppers``, popularity ``popular``, recent popularity ``trending``;
* the pair features by what they measure (``sim_last1`` and ``trans_last1`` are ``recent``,
  ``sim_hist_mean`` is ``history``, ``cat_share`` and ``content_sim`` are ``content``, ...);
* the user's own features (history length, days since the last visit) to no kind: they are the same for
  every item of the list, so they explain the user, not the item, and are shown as attributions only.

A reason's weight is the sum of its features' contributions; reasons with a positive sum are the item's
reasons, strongest first. Their items come from the retrievers' own ``explain`` (the same
:class:`~tuijian.explain.reasons.Evidence` the hybrid scored them with): ``history`` names the history items
of the linear retriever whose columns contributed most, ``recent`` the session model's recent items,
``content`` the content model's items and shared words. Items outside the candidate set sit in the
popularity-ordered tail (``popular``), or are the never-seen item the content retriever placed
(``content`` + ``new``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from tuijian.explain.reasons import KINDS, Evidence, Explanation, Reason, new_attribution, new_reason
from tuijian.explain.tree_paths import METHODS, contributions
from tuijian.explain.tree_paths import PathAttributor as PathAttributor  # re-exported (tests, benches)
from tuijian.explain.tree_paths import _LeafIndex as _LeafIndex  # re-exported (tests, benches)
from tuijian.models.column_scores import row_offsets
from tuijian.models.ranker_features import REPEAT_FEATURES, TIME_FEATURES
from tuijian.models.side_features import GENRE_FEATURES, YEAR_FEATURES
from tuijian.models.toplists import StoredCandidates

if TYPE_CHECKING:
    from tuijian.models.hybrid import HybridRecommender

RETRIEVER_KINDS: dict[str, str] = {
    "item-knn": "history",
    "ease": "history",
    "rp3beta": "history",
    "session-transitions": "recent",
    "sasrec": "recent",
    "content": "content",
    "als": "similar_shoppers",
    "bpr": "similar_shoppers",
    "user-knn": "similar_shoppers",
    "popularity": "popular",
    "recent-popularity": "trending",
    "repeat-popular": "repeat",
}
FEATURE_KINDS: dict[str, str | None] = {
    "item_log_pop": "popular",
    "item_recent_pop": "trending",
    "item_trend": "trending",
    "item_days_since": "trending",
    "item_repeat_rate": "repeat",
    "item_price": "price",
    "user_hist_len": None,
    "user_n_items": None,
    "user_days_since": None,
    "ui_count": "repeat",
    "ui_days_since": "repeat",
    "ui_steps_since": "repeat",
    "sim_last1": "recent",
    "sim_last2": "recent",
    "sim_last3": "recent",
    "sim_hist_mean": "history",
    "trans_last1": "recent",
    "trans_last3": "recent",
    "cat_share": "content",
    "content_sim": "content",
    "price_ratio": "price",
    **dict.fromkeys(REPEAT_FEATURES, "repeat"),
    **dict(zip(TIME_FEATURES, ("new", "new", "trending", "trending"), strict=True)),
    "item_mean_value": "popular",
    "user_mean_value": None,
    "sim_value_mean": "history",
    "sim_value_centred": "history",
    **dict.fromkeys(GENRE_FEATURES, "content"),
    **dict.fromkeys(YEAR_FEATURES, "content"),
}
#: attributions kept per item (largest absolute contributions)
ATTRIBUTIONS_KEPT = 12
#: history-based retrievers whose own explanation names the history items of a ``history`` reason
LINEAR = ("item-knn", "ease", "rp3beta")


def feature_kind(name: str) -> str | None:
    """The reason kind of a ranker column (``None``: a feature of the user alone)."""
    if name in FEATURE_KINDS:
        return FEATURE_KINDS[name]
    prefix, sep, _ = name.partition(":")
    if sep and prefix in RETRIEVER_KINDS:
        return RETRIEVER_KINDS[prefix]
    if prefix == "user_seg":
        return None
    if prefix in ("seg_share", "seg_lift"):
        return "similar_shoppers"
    if prefix == "extra":
        return "content"
    return None


#: the method :func:`explain_hybrid` uses when none is passed (the dashboard sets ``"shap"`` for its requests)
ATTRIBUTION_METHOD: contextvars.ContextVar[str] = contextvars.ContextVar("attribution_method", default="path")


@contextlib.contextmanager
def attribution_method(method: str) -> Iterator[None]:
    """Within the block, the hybrid's explanations use ``method`` (see :data:`METHODS`)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    token = ATTRIBUTION_METHOD.set(method)
    try:
        yield
    finally:
        ATTRIBUTION_METHOD.reset(token)


def explain_hybrid(
    model: HybridRecommender, evidence: Evidence, items: np.ndarray, method: str | None = None
) -> list[Explanation]:
    """One explanation per item of ``items`` (see module docstring); ``method``: see :data:`METHODS`
    (default: :data:`ATTRIBUTION_METHOD`, ``"path"`` unless set)."""
    method = ATTRIBUTION_METHOD.get() if method is None else method

    items = np.asarray(items, np.int64)
    seq = np.asarray(evidence.sequence, np.int64)
    if len(seq) == 0:
        seq = evidence.items  # as HybridRecommender._score_rows: the history row stands in for the sequence
    retriever_ev = Evidence(-1, evidence.items, evidence.values, seq)  # what each retriever is scored from
    if model.served_ != "ranker":  # the gate chose one retriever: it explains itself
        explain = getattr(model.models_[model.served_], "explain", None)
        return explain(retriever_ev, items) if callable(explain) else [Explanation(int(t), []) for t in items]
    log_pop = model.context_.log_pop
    if len(seq) == 0:
        return [Explanation(int(t), [Reason("popular", (), float(log_pop[t]))]) for t in items]
    scratch = evidence.scratch
    if isinstance(scratch, tuple) and len(scratch) == 4 and scratch[0] is model:
        _, rows, cols, feats = scratch  # the rows the ranker scored for this very query
        # one user's candidate columns come sorted (np.nonzero of its row)
        pos = np.minimum(np.searchsorted(cols, items), max(len(cols) - 1, 0))
        picked = [
            int(p) if len(cols) and cols[p] == t else -1
            for p, t in zip(pos.tolist(), items.tolist(), strict=True)
        ]
        shown = feats[[j for j in picked if j >= 0]]
    else:  # no rows were scored (a stored top list answered): the shown items' rows alone, the same values
        stored = rows = None
        if isinstance(scratch, StoredCandidates):  # the stored candidates' ranks, and their rows when kept
            stored, rows = scratch.lists.stored_ranks(scratch.user), scratch.lists.stored_rows(scratch.user)
        is_cand, shown = model.shown_features(
            evidence.user, evidence.row(model.n_items), seq, items, stored=stored, rows=rows
        )
        picked = np.where(is_cand, np.cumsum(is_cand) - 1, -1).tolist()
    cand = [j for j in picked if j >= 0]
    phi = contributions(model, shown, method) if cand else np.zeros((0, shown.shape[1] + 1))
    names = model.feature_names_
    kinds, groups = _feature_groups(model)
    sums = _kind_sums(phi, groups) if len(cand) else np.zeros((0, len(KINDS)))
    # the retrievers' own explanations, asked once for the items whose reasons need them
    sub = _sub_explanations(model, retriever_ev, items, names, phi, picked, sums)
    had = set(evidence.items.tolist())
    # per row, its largest absolute contributions (a stable sort per row, all rows at once) as Python floats
    tops = np.argsort(-np.abs(phi[:, :-1]), axis=1, kind="stable")[:, :ATTRIBUTIONS_KEPT].tolist()
    phi_rows, sum_rows, feat_rows = phi.tolist(), sums.tolist(), shown.tolist()
    out: list[Explanation] = []
    r = 0
    for n, t in enumerate(items.tolist()):
        if picked[n] < 0:
            out.append(_outside(model, retriever_ev, t))
            continue
        row, values = phi_rows[r], feat_rows[r]
        attrs = [new_attribution(names[f], values[f], row[f], kinds[f]) for f in tops[r] if row[f] != 0]
        reasons = []
        for k, w in zip(KINDS, sum_rows[r], strict=True):
            if w <= 0:
                continue
            found = sub.get((k, t))
            if found is not None:
                reasons.append(new_reason(k, found.items, w, found.terms))
            elif k == "repeat" and t in had:
                # repeat names the item only when the user had it ("you bought this before"); otherwise it is
                # the item's own repeat rate ("often bought again")
                reasons.append(new_reason(k, (t,), w, ()))
            else:
                reasons.append(new_reason(k, (), w, ()))
        out.append(Explanation(t, reasons, attrs, row[-1]))
        r += 1
    return out


def _feature_groups(model: HybridRecommender) -> tuple[list[str | None], list[np.ndarray]]:
    """Per ranker column its reason kind, and per kind of :data:`KINDS` its columns (built once per model)."""
    cached = getattr(model, "_explain_groups", None)
    names = model.feature_names_
    if cached is not None and cached[0] == names:
        return cached[1], cached[2]
    kinds = [feature_kind(n) for n in names]
    groups = [np.asarray([f for f, k in enumerate(kinds) if k == kind], np.int64) for kind in KINDS]
    model._explain_groups = (list(names), kinds, groups)  # type: ignore[attr-defined]
    return kinds, groups


def _kind_sums(phi: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """``(rows, KINDS)``: per row, the sum of each kind's contributions. Row by row (numpy sums each contiguous
    row on its own), so a row's sums never depend on the other rows explained with it, as a matrix product's
    may in the last bit: an item's explanation is the same in any batch (:mod:`tuijian.explain.stored`)."""
    out = np.zeros((len(phi), len(groups)))
    for k, cols in enumerate(groups):
        if len(cols):
            out[:, k] = _row_sums(phi[:, cols])
    return out


def _sub_explanations(
    model: HybridRecommender,
    evidence: Evidence,
    items: np.ndarray,
    names: list[str],
    phi: np.ndarray,
    picked: list[int],
    sums: np.ndarray,
) -> dict[tuple[str, int], Reason]:
    """``{(kind, item): the retriever's reason}`` for the items whose ``history``, ``recent`` or ``content``
    reason has a positive weight."""
    out: dict[tuple[str, int], Reason] = {}
    cand_items = [t for t, j in zip(items.tolist(), picked, strict=True) if j >= 0]
    if not cand_items:
        return out
    col = {k: n for n, k in enumerate(KINDS)}
    cand_arr = np.asarray(cand_items, np.int64)
    needs = {k: cand_arr[sums[:, col[k]] > 0].tolist() for k in ("history", "recent", "content")}
    # per item, the linear retriever whose own columns contributed most (first on ties, as np.argmax)
    linear = [m for m in LINEAR if m in model.models_]
    best: dict[str, list[int]] = {}
    if linear and needs["history"]:
        rows = phi[sums[:, col["history"]] > 0]
        share = np.stack([_row_sums(rows[:, _columns_of(model, names, m)]) for m in linear])
        for t, b in zip(needs["history"], np.argmax(share, axis=0).tolist(), strict=True):
            best.setdefault(linear[b], []).append(t)
    asked: list[tuple[str, list[int]]] = list(best.items())
    asked += [(m, needs["recent"]) for m in ("session-transitions", "sasrec") if m in model.models_]
    asked += [("content", needs["content"])] if "content" in model.models_ else []
    for name, targets in asked:
        retriever = model.models_[name]
        if not targets or not hasattr(retriever, "explain"):
            continue
        kind = RETRIEVER_KINDS[name]
        for e in retriever.explain(evidence, np.asarray(targets, np.int64)):
            for reason in e.reasons:
                if reason.kind == kind and reason.items and (kind, e.item) not in out:
                    out[(kind, e.item)] = reason
    # no retriever named items: the ranker's own similarity features (sim_hist_mean, sim_last*) do
    sim = model.context_.similarity
    hist = evidence.items
    recent = np.unique(np.asarray(evidence.sequence, np.int64)[-3:])
    for kind, pool in (("history", hist), ("recent", recent)):
        missing = [t for t in needs[kind] if (kind, t) not in out]
        if not missing or len(pool) == 0:
            continue
        block = _similarity_columns(sim, pool, missing)  # column j: sim[pool][:, [missing[j]]], dense
        for j, t in enumerate(missing):
            s = block[:, j]
            top = np.flatnonzero(s > 0)
            top = top[np.lexsort((pool[top], -s[top]))][:2]
            if len(top):
                out[(kind, t)] = Reason(kind, tuple(pool[top].tolist()), float(s[top].sum()))
    return out


def _similarity_columns(sim: Any, pool: np.ndarray, targets: list[int]) -> np.ndarray:
    """``sim[pool][:, targets].toarray()`` (``pool`` distinct), in ``sim``'s dtype: for a CSR matrix in canonical
    form (sorted, no duplicates), gathered from its arrays in one pass instead of two scipy fancy indexings
    (the same stored values, no arithmetic); otherwise scipy's."""
    import scipy.sparse as sp

    if not (isinstance(sim, sp.csr_matrix) and sim.has_canonical_format):
        return np.asarray(sim[pool][:, targets].toarray())
    rows = np.asarray(pool, np.int64)
    cols = np.asarray(targets, np.int64)
    out = np.zeros((len(rows), len(cols)), dtype=sim.dtype)
    offs, lens = row_offsets(sim.indptr, rows)
    if not len(offs):
        return out
    idx = sim.indices[offs]
    row_of = np.repeat(np.arange(len(rows)), lens)
    for j, t in enumerate(cols.tolist()):
        hit = idx == t  # at most one entry per row (canonical form)
        out[row_of[hit], j] = sim.data[offs[hit]]
    return out


def _columns_of(model: HybridRecommender, names: list[str], retriever: str) -> list[int]:
    """The ranker columns of ``retriever`` (``<name>:...``), cached per model."""
    cache = model.__dict__.setdefault("_explain_columns", {})
    key = (retriever, tuple(names))
    if key not in cache:
        cache[key] = [f for f, n in enumerate(names) if n.startswith(retriever + ":")]
    return cache[key]


def _row_sums(block: np.ndarray) -> np.ndarray:
    """Each row's sum, exactly as ``block[r].sum()`` of a one-dimensional copy gives it (numpy sums a
    contiguous row the same way either way)."""
    return np.ascontiguousarray(block).sum(axis=1)


def _outside(model: HybridRecommender, evidence: Evidence, item: int) -> Explanation:
    """An item the ranker did not score: the never-seen item the content retriever placed, or the tail."""
    log_pop = model.context_.log_pop
    content: Any = model.models_.get("content")
    if log_pop[item] == 0 and hasattr(content, "explain"):
        reasons = [r for r in content.explain(evidence, np.array([item]))[0].reasons]
        return Explanation(item, [*reasons, Reason("new", (), 1.0)])
    return Explanation(item, [Reason("popular", (), float(log_pop[item]))])
