"""Features of (user, candidate item) pairs for the learned ranker of the hybrid pipeline.

Everything here is plain numpy/scipy on dense integer indices. A
:class:`FeatureContext` holds what is learned once from an :class:`Interactions`
(item popularity, recency, repeat rates, an item-item similarity and a
transition matrix, optional catalog columns and content vectors);
:func:`pair_features` turns a batch of candidate pairs plus the retrievers'
scores into a float32 matrix whose columns are named by :func:`feature_names`.

Feature groups (``missing`` values are ``NaN``, which LightGBM treats as missing):

* per retriever: its score for the item, its rank in the retriever's top-N
  (``n_candidates + 1`` when outside it) and the score relative to the user's best;
* item: log popularity, recent popularity, trend ratio, days since the item was
  last seen, global repeat rate, price;
* user: history length, distinct items, days since the user's last event;
* user x item: times the user had the item, days and steps since, cosine
  similarity to the last three history items, transitions from the last item,
  share of the user's history in the item's category, content similarity to the
  user's profile, and price relative to the user's usual price;
* repeat cycle (only with ``repeat_features=True``, the hybrid's ``repeats`` + ``repeat_features``): the
  item's share of the user's events, the user's repeat share, the user's mean days between
  purchases of the item and the days since the last one divided by that interval ("due");
* activity window (only with ``time_features=True``): the item's age (days since its first
  event), days from the user's last event to the item's first one (positive: the item
  appeared after the user was last active), and how often the item was had while the user
  was active (events in ``[user's first event - 1 day, last event + 1 day]``: log count and
  share of all events then);
* event values (only with ``rating_features=True``, for logs whose events carry a rating in
  ``value``): the item's mean value, the user's mean value, the similarity-weighted mean value
  of the user's items similar to the candidate, and the similarity to the user's items weighted
  by how far each was rated above the user's mean;
* ``extra``: named columns supplied by callers (the hook for NLP features such as
  review keywords or sentiment), one value per item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from tuijian.data.interactions import Interactions

DAY = 86400.0
ITEM_FEATURES = (
    "item_log_pop",
    "item_recent_pop",
    "item_trend",
    "item_days_since",
    "item_repeat_rate",
    "item_price",
)
USER_FEATURES = ("user_hist_len", "user_n_items", "user_days_since")
REPEAT_FEATURES = ("ui_share", "user_repeat_share", "ui_interval_days", "ui_due")
TIME_FEATURES = ("item_age_days", "ui_first_gap_days", "ui_window_pop", "ui_window_share")
RATING_FEATURES = ("item_mean_value", "user_mean_value", "sim_value_mean", "sim_value_centred")
_TS_SHIFT = np.int64(1) << np.int64(34)  # item index * 2**34 + seconds: sortable (item, time) keys
PAIR_FEATURES = (
    "ui_count",
    "ui_days_since",
    "ui_steps_since",
    "sim_last1",
    "sim_last2",
    "sim_last3",
    "sim_hist_mean",
    "trans_last1",
    "trans_last3",
    "cat_share",
    "content_sim",
    "price_ratio",
)


def feature_names(
    retrievers: Sequence[str],
    extra: Sequence[str] = (),
    *,
    repeat_features: bool = False,
    time_features: bool = False,
    rating_features: bool = False,
) -> list[str]:
    """Column names of :func:`pair_features`, in order."""
    names: list[str] = []
    for r in retrievers:
        names += [f"{r}:score", f"{r}:rank", f"{r}:rel"]
    return (
        names
        + list(ITEM_FEATURES)
        + list(USER_FEATURES)
        + list(PAIR_FEATURES)
        + (list(REPEAT_FEATURES) if repeat_features else [])
        + (list(TIME_FEATURES) if time_features else [])
        + (list(RATING_FEATURES) if rating_features else [])
        + [f"extra:{e}" for e in extra]
    )


@dataclass
class FeatureContext:
    """What the features need, learned from one :class:`Interactions` (see :func:`build_context`)."""

    n_items: int
    t_ref: float
    log_pop: np.ndarray
    recent_pop: np.ndarray
    trend: np.ndarray
    last_seen: np.ndarray
    repeat_rate: np.ndarray
    similarity: sp.csr_matrix  # item x item cosine, pruned
    transitions: sp.csr_matrix  # row-normalised next-item counts
    price: np.ndarray | None = None
    category: np.ndarray | None = None  # int codes, -1 unknown
    content: sp.csr_matrix | None = None  # L2-normalised item vectors (rows)
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)
    first_seen: np.ndarray | None = None  # per item, time of its first event (NaN if none)
    item_time_keys: np.ndarray | None = None  # sorted item * 2**34 + ts of every event
    event_times: np.ndarray | None = None  # sorted ts of every event
    item_mean_value: np.ndarray | None = None  # per item, mean event ``value`` (NaN if none)


def _cosine_similarity(matrix: sp.csr_matrix, n_neighbors: int) -> sp.csr_matrix:
    from tuijian.models.similarity import item_item_similarity

    x = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    x.data[:] = 1.0
    sim = item_item_similarity(x, similarity="cosine", n_neighbors=n_neighbors, shrinkage=0.0, alpha=0.5)
    sim = sp.csr_matrix(sim, dtype=np.float32)
    sim = sim.maximum(sim.T).tocsr()
    sim.setdiag(0.0)
    sim.eliminate_zeros()
    sim.sort_indices()
    return sim


def transition_matrix(sequences: Sequence[np.ndarray], n_items: int) -> sp.csr_matrix:
    """Row-normalised counts of "item b came right after item a" over all sequences."""
    src = [s[:-1] for s in sequences if len(s) > 1]
    dst = [s[1:] for s in sequences if len(s) > 1]
    if not src:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    a = np.concatenate(src)
    b = np.concatenate(dst)
    keep = a != b
    t = sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (a[keep], b[keep])), shape=(n_items, n_items))
    t.sum_duplicates()
    rows = np.asarray(t.sum(axis=1)).ravel()
    t = sp.diags(1.0 / np.maximum(rows, 1.0)).astype(np.float32) @ t
    t = sp.csr_matrix(t, dtype=np.float32)
    t.sort_indices()
    return t


def build_context(
    interactions: Interactions,
    *,
    recent_days: float = 30.0,
    n_neighbors: int = 100,
    price: np.ndarray | None = None,
    category: np.ndarray | None = None,
    content: sp.csr_matrix | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
) -> FeatureContext:
    """Item statistics, similarity and transitions of ``interactions`` (all computed on it alone)."""
    n_items = interactions.n_items
    log = interactions.log
    i = log["i"].to_numpy(np.int64)
    u = log["u"].to_numpy(np.int64)
    ts = log["ts"].to_numpy(np.float64)
    t_ref = float(ts.max()) if len(ts) else 0.0
    events = np.bincount(i, minlength=n_items).astype(np.float64)
    recent = np.bincount(i[ts >= t_ref - recent_days * DAY], minlength=n_items).astype(np.float64)
    last_seen = np.full(n_items, np.nan)
    first_seen = np.full(n_items, np.nan)
    if len(i):
        order = np.argsort(ts, kind="stable")
        last_seen[i[order]] = ts[order]
        first_seen[i[order[::-1]]] = ts[order[::-1]]
    ts_int = np.clip(log["ts"].to_numpy(np.int64), 0, int(_TS_SHIFT) - 1)
    item_time_keys = np.sort(i * _TS_SHIFT + ts_int)
    event_times = np.sort(ts_int)
    item_mean_value = None
    if "value" in log.columns and len(i):
        v = log["value"].to_numpy(np.float64)
        ok = np.isfinite(v)
        tot = np.bincount(i[ok], weights=v[ok], minlength=n_items)
        cnt = np.bincount(i[ok], minlength=n_items)
        item_mean_value = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    pairs = u * n_items + i
    uniq, counts = np.unique(pairs, return_counts=True)
    pair_items = uniq % n_items
    buyers = np.bincount(pair_items, minlength=n_items).astype(np.float64)
    repeaters = np.bincount(pair_items[counts > 1], minlength=n_items).astype(np.float64)
    share_recent = recent.sum() / max(events.sum(), 1.0)
    return FeatureContext(
        n_items=n_items,
        t_ref=t_ref,
        log_pop=np.log1p(buyers).astype(np.float32),
        recent_pop=np.log1p(recent).astype(np.float32),
        trend=((recent + 1.0) / (events * share_recent + 1.0)).astype(np.float32),
        last_seen=last_seen,
        repeat_rate=np.where(buyers > 0, repeaters / np.maximum(buyers, 1.0), np.nan).astype(np.float32),
        similarity=_cosine_similarity(interactions.matrix, n_neighbors),
        transitions=transition_matrix(interactions.sequences(), n_items),
        price=price,
        category=category,
        content=content,
        extra=dict(extra or {}),
        first_seen=first_seen,
        item_time_keys=item_time_keys,
        event_times=event_times,
        item_mean_value=item_mean_value,
    )


def gather(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix[rows[j], cols[j]]`` for every j (0 where absent), vectorised on sorted CSR keys."""
    out = np.zeros(len(rows), dtype=np.float32)
    valid = rows >= 0
    if not valid.any() or matrix.nnz == 0:
        return out
    matrix = sp.csr_matrix(matrix)
    r = rows[valid].astype(np.int64)
    uniq, r = np.unique(r, return_inverse=True)
    if len(uniq) * 8 < matrix.shape[0]:
        # few distinct rows (one served request): search only those rows, not a key per stored entry of the
        # whole matrix; a row's entries are the same either way, so the values are identical
        matrix = matrix[uniq]
        if matrix.nnz == 0:
            return out
    else:
        r = uniq[r]
    if not matrix.has_canonical_format:
        matrix = matrix.copy()
        matrix.sum_duplicates()
    n = np.int64(matrix.shape[1])
    m_rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    keys = m_rows * n + matrix.indices.astype(np.int64)
    q = r * n + cols[valid].astype(np.int64)
    pos = np.searchsorted(keys, q)
    pos = np.minimum(pos, len(keys) - 1)
    hit = keys[pos] == q
    vals = np.where(hit, matrix.data[pos], 0.0)
    out[valid] = vals
    return out


@dataclass
class UserState:
    """Per-user facts for a batch, from each user's time-ordered sequence (and timestamps if known)."""

    last_items: np.ndarray  # (B, 3) the last three distinct-in-time items, -1 padded
    hist_len: np.ndarray
    n_distinct: np.ndarray
    last_ts: np.ndarray  # user's last event time (NaN if unknown)
    counts: sp.csr_matrix  # B x n_items: times the user had the item
    last_pos: sp.csr_matrix  # B x n_items: 1 + position of the last occurrence
    item_ts: sp.csr_matrix | None  # B x n_items: time of the user's last event on the item
    first_ts: sp.csr_matrix | None = None  # B x n_items: time of the user's first event on the item
    user_first_ts: np.ndarray | None = None  # user's first event time (NaN if unknown)
    item_value: sp.csr_matrix | None = None  # B x n_items: mean event value of the user on the item
    user_mean_value: np.ndarray | None = None  # user's mean event value (NaN if unknown)


def user_state(
    sequences: Sequence[np.ndarray],
    n_items: int,
    timestamps: Sequence[np.ndarray] | None = None,
    values: Sequence[np.ndarray] | None = None,
) -> UserState:
    b = len(sequences)
    last = np.full((b, 3), -1, dtype=np.int64)
    lens = np.array([len(s) for s in sequences], dtype=np.int64)
    rows = np.repeat(np.arange(b), lens)
    items = (
        np.concatenate([np.asarray(s, np.int64) for s in sequences])
        if b and lens.sum()
        else np.zeros(0, np.int64)
    )
    pos = np.concatenate([np.arange(1, n + 1) for n in lens]) if b and lens.sum() else np.zeros(0, np.int64)
    for r, s in enumerate(sequences):
        tail = np.asarray(s[-3:], np.int64)[::-1]
        last[r, : len(tail)] = tail
    counts = sp.csr_matrix((np.ones(len(items), np.float32), (rows, items)), shape=(b, n_items))
    counts.sum_duplicates()
    # COO keeps duplicate (row, item) entries; a CSR constructor would sum them before the max
    last_pos = _max_duplicates(sp.coo_matrix((pos.astype(np.float32), (rows, items)), shape=(b, n_items)))
    n_distinct = np.diff(counts.indptr).astype(np.float32)
    item_ts = first_ts = None
    last_ts = np.full(b, np.nan)
    user_first = np.full(b, np.nan)
    if timestamps is not None and b and lens.sum():
        tsv = np.concatenate([np.asarray(t, np.float64) for t in timestamps])
        item_ts = _max_duplicates(sp.coo_matrix((tsv, (rows, items)), shape=(b, n_items)))
        first = _max_duplicates(sp.coo_matrix((-tsv, (rows, items)), shape=(b, n_items)))
        first_ts = sp.csr_matrix((-first.data, first.indices, first.indptr), shape=first.shape)
        for r, t in enumerate(timestamps):
            if len(t):
                last_ts[r] = float(np.max(t))
                user_first[r] = float(np.min(t))
    item_value = user_mean = None
    if values is not None and b and lens.sum():
        val = np.concatenate([np.asarray(v, np.float64) for v in values])
        ok = np.isfinite(val)
        if ok.any():
            tot = sp.csr_matrix((val[ok], (rows[ok], items[ok])), shape=(b, n_items))
            cnt = sp.csr_matrix((np.ones(int(ok.sum())), (rows[ok], items[ok])), shape=(b, n_items))
            tot.sum_duplicates()
            cnt.sum_duplicates()
            item_value = sp.csr_matrix((tot.data / cnt.data, tot.indices, tot.indptr), shape=tot.shape)
            n_val = np.bincount(rows[ok], minlength=b)
            user_mean = np.where(
                n_val > 0, np.bincount(rows[ok], weights=val[ok], minlength=b) / np.maximum(n_val, 1), np.nan
            )
    return UserState(
        last,
        lens.astype(np.float32),
        n_distinct,
        last_ts,
        counts.tocsr(),
        last_pos,
        item_ts,
        first_ts,
        user_first,
        item_value,
        user_mean,
    )


def _max_duplicates(m: sp.spmatrix) -> sp.csr_matrix:
    """CSR with the largest value of each duplicated (row, col) of ``m`` (pass COO: CSR sums them)."""
    coo = m.tocoo()
    if coo.nnz == 0:
        return sp.csr_matrix(m.shape, dtype=m.dtype)
    keys = coo.row.astype(np.int64) * m.shape[1] + coo.col
    order = np.lexsort((-coo.data, keys))
    first = np.ones(len(order), dtype=bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    sel = order[first]
    out = sp.csr_matrix((coo.data[sel], (coo.row[sel], coo.col[sel])), shape=m.shape)
    out.sort_indices()
    return out


def pair_features(
    ctx: FeatureContext,
    state: UserState,
    rows: np.ndarray,
    cols: np.ndarray,
    retriever_scores: Sequence[np.ndarray],
    retriever_ranks: Sequence[np.ndarray],
    *,
    repeat_features: bool = False,
    time_features: bool = False,
    rating_features: bool = False,
) -> np.ndarray:
    """Feature matrix (len(rows) x n_features) for the candidate pairs ``(rows[j], cols[j])``.

    ``retriever_scores[r]`` is the dense ``(B, n_items)`` score matrix of retriever r
    and ``retriever_ranks[r]`` its ``(B, n_items)`` rank matrix (sentinel outside top-N).
    """
    cols_out: list[np.ndarray] = []
    for scores, ranks in zip(retriever_scores, retriever_ranks, strict=True):
        s = scores[rows, cols].astype(np.float32)
        finite = np.where(np.isfinite(scores), scores, np.nan)
        with np.errstate(all="ignore"):
            best = np.nanmax(finite, axis=1)
        s = np.where(np.isfinite(s), s, np.nan)
        cols_out += [s, ranks[rows, cols].astype(np.float32), (s - best[rows]).astype(np.float32)]
    # item
    days_item = (ctx.t_ref - ctx.last_seen[cols]) / DAY
    price = ctx.price[cols] if ctx.price is not None else np.full(len(cols), np.nan)
    cols_out += [
        ctx.log_pop[cols],
        ctx.recent_pop[cols],
        ctx.trend[cols],
        days_item,
        ctx.repeat_rate[cols],
        price,
    ]
    # user
    cols_out += [state.hist_len[rows], state.n_distinct[rows], (ctx.t_ref - state.last_ts[rows]) / DAY]
    # user x item
    count = gather(state.counts, rows, cols)
    lpos = gather(state.last_pos, rows, cols)
    steps = np.where(lpos > 0, state.hist_len[rows] - lpos, np.nan)
    if state.item_ts is not None:
        its = gather(state.item_ts, rows, cols)
        ui_days = np.where(count > 0, (ctx.t_ref - its) / DAY, np.nan)
    else:
        ui_days = np.full(len(rows), np.nan)
    sims = [gather(ctx.similarity, state.last_items[rows, j], cols) for j in range(3)]
    norm_counts = sp.diags(1.0 / np.maximum(np.asarray(state.counts.sum(axis=1)).ravel(), 1.0)) @ state.counts
    sim_mean = gather(sp.csr_matrix(norm_counts @ ctx.similarity, dtype=np.float32), rows, cols)
    t1 = gather(ctx.transitions, state.last_items[rows, 0], cols)
    t3 = (
        t1
        + gather(ctx.transitions, state.last_items[rows, 1], cols)
        + gather(ctx.transitions, state.last_items[rows, 2], cols)
    )
    cat_share = _category_share(ctx, state, rows, cols)
    content_sim = content_similarity(ctx, state.counts, rows, cols)
    price_rel = price_ratio(ctx, state.counts, rows, cols)
    cols_out += [count, ui_days, steps, *sims, sim_mean, t1, t3, cat_share, content_sim, price_rel]
    if repeat_features:
        cols_out += _repeat_cycle(state, rows, cols, count, ui_days)
    if time_features:
        cols_out += _activity_window(ctx, state, rows, cols)
    if rating_features:
        cols_out += _value_features(ctx, state, rows, cols)
    for values in ctx.extra.values():
        cols_out.append(np.asarray(values, np.float32)[cols])
    return np.column_stack([np.asarray(c, np.float32) for c in cols_out])


def _repeat_cycle(
    state: UserState, rows: np.ndarray, cols: np.ndarray, count: np.ndarray, ui_days: np.ndarray
) -> list[np.ndarray]:
    """Item share of the user's events, user repeat share, mean days between repeats, days since / interval."""
    hist = np.maximum(state.hist_len[rows], 1.0)
    share = count / hist
    user_repeat = 1.0 - state.n_distinct[rows] / hist
    interval = np.full(len(rows), np.nan, dtype=np.float64)
    if state.item_ts is not None and state.first_ts is not None:
        span = (
            gather(state.item_ts, rows, cols).astype(np.float64) - gather(state.first_ts, rows, cols)
        ) / DAY
        rep = count > 1
        interval[rep] = span[rep] / (count[rep] - 1.0)
    with np.errstate(all="ignore"):
        due = np.where(interval > 0, ui_days / interval, np.nan)
    return [share, user_repeat, interval, due]


def _activity_window(
    ctx: FeatureContext, state: UserState, rows: np.ndarray, cols: np.ndarray
) -> list[np.ndarray]:
    """Item age, item first event vs the user's last one, item events during the user's active days."""
    nan = np.full(len(rows), np.nan, np.float32)
    if ctx.first_seen is None or ctx.item_time_keys is None or ctx.event_times is None:
        return [nan, nan, nan, nan]
    first = ctx.first_seen[cols]
    age = (ctx.t_ref - first) / DAY
    user_last = state.last_ts[rows]
    user_first = state.user_first_ts[rows] if state.user_first_ts is not None else np.full(len(rows), np.nan)
    gap = (first - user_last) / DAY
    known = np.isfinite(user_first) & np.isfinite(user_last)
    lo = np.clip(np.nan_to_num(user_first - DAY), 0, float(_TS_SHIFT - 1)).astype(np.int64)
    hi = np.clip(np.nan_to_num(user_last + DAY), 0, float(_TS_SHIFT - 1)).astype(np.int64)
    c = cols.astype(np.int64) * _TS_SHIFT
    n_item = np.searchsorted(ctx.item_time_keys, c + hi, side="right") - np.searchsorted(
        ctx.item_time_keys, c + lo, side="left"
    )
    n_all = np.searchsorted(ctx.event_times, hi, side="right") - np.searchsorted(
        ctx.event_times, lo, side="left"
    )
    pop = np.where(known, np.log1p(n_item), np.nan)
    share = np.where(known & (n_all > 0), n_item / np.maximum(n_all, 1), np.nan)
    return [age, gap, pop, share]


def _value_features(
    ctx: FeatureContext, state: UserState, rows: np.ndarray, cols: np.ndarray
) -> list[np.ndarray]:
    """Item mean value, user mean value, similarity-weighted mean value, centred-value similarity."""
    nan = np.full(len(rows), np.nan, np.float32)
    item_mean = ctx.item_mean_value[cols] if ctx.item_mean_value is not None else nan
    if state.item_value is None or state.user_mean_value is None:
        return [item_mean, nan, nan, nan]
    user_mean = state.user_mean_value[rows]
    known = sp.csr_matrix(state.item_value, copy=True)
    known.data[:] = 1.0
    centred = sp.csr_matrix(state.item_value, copy=True)
    centred.data -= np.repeat(np.nan_to_num(state.user_mean_value), np.diff(centred.indptr))
    sim_w = gather(sp.csr_matrix(known @ ctx.similarity, dtype=np.float32), rows, cols)
    sim_v = gather(sp.csr_matrix(state.item_value @ ctx.similarity, dtype=np.float32), rows, cols)
    sim_c = gather(sp.csr_matrix(centred @ ctx.similarity, dtype=np.float32), rows, cols)
    n = np.maximum(np.diff(known.indptr)[rows], 1).astype(np.float32)
    with np.errstate(all="ignore"):
        mean_v = np.where(sim_w > 0, sim_v / sim_w, np.nan)
    return [item_mean, user_mean, mean_v, sim_c / n]


def _category_share(ctx: FeatureContext, state: UserState, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if ctx.category is None:
        return np.full(len(rows), np.nan, np.float32)
    cat = ctx.category
    n_cat = int(cat.max()) + 1 if len(cat) and cat.max() >= 0 else 1
    coo = state.counts.tocoo()
    c = cat[coo.col]
    ok = c >= 0
    per_user = sp.csr_matrix((coo.data[ok], (coo.row[ok], c[ok])), shape=(state.counts.shape[0], n_cat))
    per_user.sum_duplicates()
    totals = np.maximum(np.asarray(per_user.sum(axis=1)).ravel(), 1.0)
    cand_cat = cat[cols]
    share = gather(per_user, np.where(cand_cat >= 0, rows, -1), np.maximum(cand_cat, 0)) / totals[rows]
    return np.where(cand_cat >= 0, share, np.nan).astype(np.float32)


def content_similarity(
    ctx: FeatureContext, counts: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """Cosine of each pair's item content vector and its row's profile (``counts @ content``)."""
    if ctx.content is None:
        return np.full(len(rows), np.nan, np.float32)
    profile = sp.csr_matrix(counts @ ctx.content)
    norms = np.sqrt(np.asarray(profile.multiply(profile).sum(axis=1)).ravel())
    profile = sp.diags(1.0 / np.maximum(norms, 1e-12)) @ profile
    # row-wise dot products of profile[rows] and content[cols], in chunks to bound memory
    out = np.zeros(len(rows), np.float32)
    step = 200_000
    prof = sp.csr_matrix(profile)
    for start in range(0, len(rows), step):
        r = rows[start : start + step]
        c = cols[start : start + step]
        out[start : start + step] = np.asarray(prof[r].multiply(ctx.content[c]).sum(axis=1)).ravel()
    return out


def price_ratio(ctx: FeatureContext, counts: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Each pair's item price over its row's mean price of the items in ``counts`` (weighted by count)."""
    if ctx.price is None:
        return np.full(len(rows), np.nan, np.float32)
    price = np.nan_to_num(ctx.price.astype(np.float64), nan=0.0)
    known = (~np.isnan(ctx.price)).astype(np.float64)
    spent = counts @ price
    n = np.maximum(counts @ known, 1e-9)
    mean = np.where(counts @ known > 0, spent / n, np.nan)
    return (ctx.price[cols] / mean[rows]).astype(np.float32)
