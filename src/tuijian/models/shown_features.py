"""The ranker's feature rows of the few items a list shows, for one user, without the other candidates' rows.

A known user without fresh events is served from the precomputed top lists (:mod:`.toplists`): no feature row
was built for the request, so an explanation has to rebuild the rows the list was ranked from. Building every
candidate's row (:meth:`HybridRecommender.pair_features <tuijian.models.hybrid.HybridRecommender.pair_features>`,
~475 candidates on Beauty) costs ~9 ms of CPU; :func:`shown_rows` builds only the shown items' rows (from a
stored list ~1.0 ms of CPU, about 65 % of it the retrievers' columns), with exactly the values ``pair_features``
gives them (``tests/explain/test_shown_features.py`` compares them bit for bit):

* every retriever scores the user in full, with the very call :func:`~.hybrid_training.retrieve_candidates`
  makes (its score, the user's best score and the item's rank are features);
* an item's rank in a retriever's top ``n_candidates`` is counted, not sorted (:func:`item_ranks`): ``1 +`` the
  items whose score is higher, or equal with a lower index (the order :func:`~.base.topk` returns), seen items
  left out unless repeats are candidates; ``n_candidates + 1`` past the top or for a score that is not
  finite, as ``retrieve_candidates`` writes it. An item is a candidate when some retriever has it in its top
  (or, with repeats, when the user had it);
* the base feature groups are computed for one user (:func:`base_rows`) with numpy on the CSR arrays, no
  sparse matrix built per request: look-ups (counts, positions, times, similarities, transitions, category
  shares); where a value is a float32 sum, it is added in the order scipy adds it in ``pair_features`` (the
  similarity to the history: item by item in the order ``diags(1 / n) @ counts`` lists them; the content
  similarity: scipy's product, norm, scaling and ``multiply(...).sum(axis=1)`` replayed in their stored
  orders and numpy's pairwise sum, :mod:`~tuijian.models.column_scores`), or by the ranking's own function
  on the shown pairs (the price ratio, and the content similarity when a content row stores a column
  twice). The columns are written into one float32 array (each cast as ``pair_features`` casts it); the
  item columns, element-wise functions of per-item arrays, are gathered from a float32 table built once per
  context (:func:`_item_table`);
* any other feature group (repeat cycle, activity window, values, segments, genres, years) takes the ranking's
  own code (:meth:`HybridRecommender._pair_rows`) on the shown pairs only: every value there depends on its own
  pair and row alone.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from tuijian.models.column_scores import row_offsets
from tuijian.models.ranker_features import DAY, content_similarity, gather, price_ratio

if TYPE_CHECKING:
    from tuijian.models.hybrid import HybridRecommender
    from tuijian.models.ranker_features import FeatureContext


def item_ranks(sel: np.ndarray, items: np.ndarray, n_candidates: int) -> np.ndarray:
    """Per item of ``items``, its rank in the top ``n_candidates`` of the score row ``sel`` (``-inf``: never
    ranked), ordered by score then item index as :func:`~tuijian.models.base.topk`; ``n_candidates + 1``
    outside it (int32, as :func:`~tuijian.models.hybrid_training.retrieve_candidates`)."""
    out = np.full(len(items), n_candidates + 1, dtype=np.int32)
    v = sel[items]
    # one comparison pass for all items (a partial sort is slower on rows with many equal scores)
    above = np.count_nonzero(sel[None, :] > v[:, None], axis=1)
    for j in np.flatnonzero(np.isfinite(v) & (above < n_candidates)).tolist():
        # equal scores are ordered by item index
        rank = 1 + int(above[j]) + int(np.count_nonzero(sel[: items[j]] == v[j]))
        if rank <= n_candidates:
            out[j] = rank
    return out


def shown_rows(
    model: HybridRecommender,
    user: int,
    history: sp.csr_matrix,
    seq: np.ndarray,
    items: np.ndarray,
    stored: tuple[np.ndarray, np.ndarray] | None = None,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(candidate, feats)``: per item of ``items`` whether it is one of the user's ranker candidates, and
    the feature rows of those that are (in ``items`` order), equal to the rows ``model.pair_features(
    [user], history, [seq])`` holds for them (module docstring). ``history``: the ``1 x n_items`` row;
    ``stored``: the trained user's stored candidates and their ranks (:func:`stored_scores`); ``rows``: the
    stored candidates' feature rows, read instead of built (:func:`read_rows`)."""
    items = np.asarray(items, np.int64)
    seq = np.asarray(seq, np.int64)
    n_items, top = model.n_items, int(model.n_candidates)
    seen = np.asarray(history.indices[history.indptr[0] : history.indptr[1]], np.int64)
    if stored is not None and rows is not None:
        read = read_rows(model, items, seen, stored, rows)
        if read is not None:
            return read
    need: np.ndarray | None = None  # stored lists: the columns the (compact) score rows hold
    scores: list[np.ndarray] | np.ndarray
    ranks: list[np.ndarray] | np.ndarray
    if stored is not None:
        candidate, scores, ranks, need = stored_scores(model, history, seq, items, seen, stored)
    else:
        score_list, rank_list = [], []
        candidate = np.zeros(len(items), dtype=bool)
        users = np.full(1, -1, dtype=np.int64)
        for retriever in model.models_.values():
            s = np.array(
                retriever.score(users, history=history, sequences=[seq]), dtype=np.float32, copy=True
            )
            sel = np.where(np.isfinite(s[0]), s[0], -np.inf)
            if not model.repeats_:
                sel[seen] = -np.inf
            r = item_ranks(sel, items, top)
            candidate |= r <= top
            score_list.append(s)
            rank_list.append(r)
        scores, ranks = score_list, rank_list
    if model.repeats_:
        candidate |= np.isin(items, seen)
    cols = items[candidate]
    ts = model._aligned(np.array([user], np.int64), [seq], getattr(model, "_ts_cache", None))
    f = model.features_
    if f.repeat or f.time or f.rating or f.segment or f.genre or f.year:
        full_scores = list(scores)
        if need is not None:  # the ranking's code reads full rows: NaN outside the columns it reads
            full_scores = []
            for compact in scores:
                row = np.full((1, n_items), np.nan, dtype=np.float32)
                row[0, need] = np.reshape(compact, -1)
                full_scores.append(row)
        rank_rows = []
        for r in ranks:  # the rank matrices the ranking path fills, for the shown pairs only
            full = np.full((1, n_items), top + 1, dtype=np.int32)
            full[0, cols] = r[candidate]
            rank_rows.append(full)
        vals = model._aligned(np.array([user], np.int64), [seq], getattr(model, "_val_cache", None))
        feats = model._pair_rows(
            f, model.context_, model._seg_ctx, n_items, [seq], ts, vals if f.rating else None,
            np.array([user], np.int64), np.zeros(len(cols), np.int64), cols, full_scores, rank_rows,
        )  # fmt: skip
        return candidate, feats
    shown = ranks[:, candidate] if isinstance(ranks, np.ndarray) else [r[candidate] for r in ranks]
    at = None if need is None else np.searchsorted(need, cols)
    return candidate, base_rows(model.context_, seq, ts[0], cols, scores, shown, score_cols=at)


def read_rows(
    model: HybridRecommender,
    items: np.ndarray,
    seen: np.ndarray,
    stored: tuple[np.ndarray, np.ndarray],
    rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`shown_rows` read from a stored list's rows (:attr:`TopLists.rows
    <tuijian.models.toplists.TopLists.rows>`, built at training by :func:`shown_rows` itself): an item is a
    candidate when a retriever ranked it in its top (its stored ranks, as :func:`stored_scores` decides), or,
    with repeats, when the user had it. ``None`` when a candidate is not among the stored items (not
    expected: every candidate is stored); the caller then builds the rows."""
    ids, table = stored
    match = ids[None, :] == items[:, None]
    found = match.any(axis=1)
    slot = match.argmax(axis=1)
    candidate = found & (table[slot] <= int(model.n_candidates)).any(axis=1)
    if model.repeats_:
        repeat = np.isin(items, seen)
        if (repeat & ~found).any():
            return None
        candidate |= repeat
    return candidate, np.asarray(rows[slot[candidate]], dtype=np.float32)  # the gather is the one copy


def stored_scores(
    model: HybridRecommender,
    history: sp.csr_matrix,
    seq: np.ndarray,
    items: np.ndarray,
    seen: np.ndarray,
    stored: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(candidate, scores, ranks, need)`` as the full path of :func:`shown_rows` has them, from a stored
    list, one row per retriever: ``scores`` (``n_retrievers x len(need)``) compact score rows of the ascending
    columns ``need``, ``ranks`` (``n_retrievers x len(items)``) the items' ranks.

    ``stored`` is the trained user's stored items and, per item and retriever, its rank in that retriever's
    top ``n_candidates`` (:attr:`TopLists.ranks <tuijian.models.toplists.TopLists.ranks>`, written from the
    very feature rows the list was ranked from): every candidate is stored, so an item that is not stored is
    outside every retriever's top. A retriever's scores are needed at the shown candidates, and for the
    user's best score (the ``score - best`` feature) at its first-ranked item and the history's items (the
    best finite score is one of them: the first-ranked item is the best of the others). Those columns come
    from :meth:`~tuijian.models.base.Recommender.score_columns` where the retriever has it (else its whole
    row), kept as a compact row of those columns: the feature code reads only them, and its ``nanmax``
    finds the same best."""
    ids, table = stored
    top = int(model.n_candidates)
    match = ids[None, :] == items[:, None]
    slot = np.where(match.any(axis=1), match.argmax(axis=1), -1)
    item_ranks_ = np.where(slot[:, None] >= 0, table[np.maximum(slot, 0)].astype(np.int32), top + 1)
    candidate = np.asarray((item_ranks_ <= top).any(axis=1), dtype=bool)
    cand_items = items[candidate]
    firsts = ids[(table == 1).any(axis=1)]  # each retriever's first-ranked item
    need = np.unique(np.concatenate([cand_items, seen, firsts[firsts >= 0].astype(np.int64)]))
    scores = np.empty((len(model.models_), len(need)), dtype=np.float32)
    users = np.full(1, -1, dtype=np.int64)
    for j, retriever in enumerate(model.models_.values()):
        values = retriever.score_columns(history, seq, need)
        if values is None:
            row = np.asarray(retriever.score(users, history=history, sequences=[seq]), dtype=np.float32)
            values = row[0, need]
        scores[j] = values
    return candidate, scores, np.ascontiguousarray(item_ranks_.T), need


def _rows_values(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix[rows[i], cols[j]]`` as a ``len(rows) x len(cols)`` float32 array (0 where absent; a row
    ``< 0``: all 0), the values :func:`~tuijian.models.ranker_features.gather` returns, read from those rows'
    CSR entries alone."""
    rows = np.asarray(rows, np.int64)
    out = np.zeros((len(rows), len(cols)), dtype=np.float32)
    if matrix.nnz == 0 or not len(cols) or not len(rows):
        return out
    if not matrix.has_canonical_format:  # gather sums duplicates first: let it
        k = len(cols)
        return gather(matrix, np.repeat(rows, k), np.tile(cols, len(rows))).reshape(len(rows), k)
    valid = np.flatnonzero(rows >= 0)
    offs, lens = row_offsets(matrix.indptr, rows[valid])
    total = len(offs)
    if not total:
        return out
    n = np.int64(matrix.shape[1])
    # one sorted key per stored entry of the rows (row's place, then column): a search finds each pair
    keys = np.repeat(np.arange(len(valid), dtype=np.int64), lens) * n + matrix.indices[offs]
    query = (np.arange(len(valid), dtype=np.int64)[:, None] * n + np.asarray(cols, np.int64)[None, :]).ravel()
    pos = np.minimum(np.searchsorted(keys, query), total - 1)
    found = np.where(keys[pos] == query, matrix.data[offs[pos]], 0.0).astype(np.float32)
    out[valid] = found.reshape(len(valid), len(cols))
    return out


def base_rows(
    ctx: FeatureContext,
    seq: np.ndarray,
    ts: np.ndarray,
    cols: np.ndarray,
    scores: list[np.ndarray] | np.ndarray,
    ranks: list[np.ndarray] | np.ndarray,
    score_cols: np.ndarray | None = None,
) -> np.ndarray:
    """The base feature columns (:func:`~tuijian.models.ranker_features.feature_names` without the optional
    groups) of one user's pairs ``(0, cols)``: ``scores`` the retrievers' ``1 x n_items`` score rows (or a
    ``n_retrievers x n_items`` array of them; with ``score_cols``, compact rows holding the columns whose best
    finite value is the row's, ``cols`` at the positions ``score_cols``), ``ranks`` their ranks of ``cols``;
    ``seq`` the time-ordered items, ``ts`` their times (NaN: unknown). Written into one float32 array, each
    column cast as ``np.column_stack`` of the float32 columns casts it."""
    k = len(cols)
    n_scores = 3 * len(ranks)
    items_table = _item_table(ctx)
    n_extra = items_table.shape[1] - 6
    out = np.empty((k, n_scores + 6 + 3 + 12 + n_extra), dtype=np.float32)
    if len(ranks):  # as pair_features, per retriever: score, rank, score - best (all rows at once)
        if isinstance(scores, np.ndarray) and scores.ndim == 2:
            table = scores.astype(np.float32, copy=False)
        else:
            table = np.concatenate([np.asarray(score, np.float32).reshape(1, -1) for score in scores])
        best = np.fmax.reduce(np.where(np.isfinite(table), table, np.nan), axis=1)  # what nanmax computes
        s = table[:, cols if score_cols is None else score_cols]
        s = np.where(np.isfinite(s), s, np.nan)
        out[:, 0:n_scores:3] = s.T
        out[:, 1:n_scores:3] = np.array(ranks).T
        out[:, 2:n_scores:3] = (s - best[:, None]).astype(np.float32).T
    c = n_scores
    item_values = items_table[cols]
    out[:, c : c + 6] = item_values[:, :6]
    # the user (user_state for one row): the counts row as user_state builds it (sorted items, float32
    # counts; its sums of ones are exact in any order)
    n = len(seq)
    items, counts = np.unique(seq, return_counts=True)
    counts = counts.astype(np.float32)
    last_ts = float(np.max(ts)) if n else np.nan
    out[:, c + 6] = n
    out[:, c + 7] = len(items)
    out[:, c + 8] = (ctx.t_ref - last_ts) / DAY
    # user x item: occurrences of each shown item in the sequence
    at = seq[None, :] == cols[:, None]
    count = np.count_nonzero(at, axis=1).astype(np.float32)
    lpos = np.where(at, np.arange(1, n + 1, dtype=np.float32)[None, :], 0.0).max(axis=1, initial=0.0)
    lpos = lpos.astype(np.float32)
    # the user's last time on the item: the largest non-NaN time (float32, as pair_features stores it)
    its = np.fmax.reduce(np.where(at, np.asarray(ts, np.float64)[None, :], np.nan), axis=1, initial=np.nan)
    its = its.astype(np.float32)
    out[:, c + 9] = count
    out[:, c + 10] = np.where(count > 0, (ctx.t_ref - its) / DAY, np.nan) if n else np.nan
    out[:, c + 11] = np.where(lpos > 0, np.float32(n) - lpos, np.nan)
    last = seq[-3:][::-1]
    last = np.concatenate([last, np.full(3 - len(last), -1, np.int64)])
    sims = _rows_values(ctx.similarity, np.concatenate([last, items[::-1]]), cols)
    out[:, c + 12 : c + 15] = sims[:3].T
    out[:, c + 15] = _history_similarity(items, counts, sims[3:])
    trans = _rows_values(ctx.transitions, last, cols)
    t1 = trans[0]
    out[:, c + 16] = t1
    out[:, c + 17] = t1 + trans[1] + trans[2]
    out[:, c + 18] = _category_share(ctx, seq, cols)
    out[:, c + 19] = _content_similarity(ctx, items, counts, cols)
    if ctx.price is None:
        out[:, c + 20] = np.nan  # price_ratio without prices
    else:
        out[:, c + 20] = price_ratio(
            ctx, _counts_row(items, counts, ctx.n_items), np.zeros(k, np.int64), cols
        )
    out[:, c + 21 :] = item_values[:, 6:]
    return out


#: per feature context (by id), a weak reference to it, the arrays its item table was built from and the table
_ITEM_TABLES: dict[int, tuple[weakref.ref[FeatureContext], tuple[object, ...], np.ndarray]] = {}


def _item_table(ctx: FeatureContext) -> np.ndarray:
    """Per item, its item feature columns and its ``extra`` columns as the float32 values ``base_rows``
    writes (``n_items x (6 + len(extra))``): each is an element-wise function of the item's own entries, so
    a row gathered from this table equals the values computed from the gathered entries. Built once per
    context and kept while the context holds the same arrays (a context's arrays are not changed in place)."""
    key = (ctx.t_ref, ctx.log_pop, ctx.recent_pop, ctx.trend, ctx.last_seen, ctx.repeat_rate, ctx.price)
    extra = tuple(ctx.extra.values())
    cached = _ITEM_TABLES.get(id(ctx))
    if cached is not None and cached[0]() is ctx:
        known, table = cached[1], cached[2]
        if len(known) == len(key) + len(extra) and all(
            a is b for a, b in zip(known, key + extra, strict=False)
        ):
            return table
    n = ctx.n_items
    columns = [
        ctx.log_pop, ctx.recent_pop, ctx.trend, (ctx.t_ref - ctx.last_seen) / DAY, ctx.repeat_rate,
        ctx.price if ctx.price is not None else np.full(n, np.nan),
    ]  # fmt: skip
    columns += [np.asarray(values, np.float32) for values in ctx.extra.values()]
    table = np.empty((n, len(columns)), dtype=np.float32)
    for j, values in enumerate(columns):
        table[:, j] = values
    ident = id(ctx)
    _ITEM_TABLES[ident] = (weakref.ref(ctx, lambda _: _ITEM_TABLES.pop(ident, None)), key + extra, table)
    return table


def _counts_row(items: np.ndarray, counts: np.ndarray, n_items: int) -> sp.csr_matrix:
    """The ``1 x n_items`` counts row ``user_state`` builds (sorted items, float32 counts)."""
    return sp.csr_matrix((counts, items, np.array([0, len(items)])), shape=(1, n_items))


def _history_similarity(items: np.ndarray, counts: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """``sim_hist_mean`` of one row (``counts`` of the sorted ``items``; ``similarity``: each item's
    similarity to each column, items in descending index order, as :func:`_rows_values` reads them), the
    float32 sums of ``pair_features``' ``norm_counts @ similarity`` in their order: scipy's product walks the
    row of ``norm_counts`` (``diags(1 / n) @ counts``: each entry ``(1 / n) * count``, float32, the items in
    descending index order, as that product lists them) and adds ``weight * similarity[item, col]`` where
    that is stored, one item after the other, from 0."""
    k = similarity.shape[1]
    if not len(items) or k == 0:
        return np.zeros(k, np.float32)
    share = np.float32(1.0) / np.maximum(np.add.reduceat(counts, [0]), np.float32(1.0))  # counts.sum(axis=1)
    weights = (share * counts)[::-1].astype(np.float32)
    terms = np.zeros((len(items) + 1, k), dtype=np.float32)
    terms[1:] = weights[:, None] * similarity
    # an item without a stored similarity adds +0.0: the same sum as skipping it (all sums start at +0.0)
    return np.add.accumulate(terms, axis=0, dtype=np.float32)[-1]


def _content_similarity(
    ctx: FeatureContext, items: np.ndarray, counts: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """:func:`~tuijian.models.ranker_features.content_similarity` of one row (``counts`` of the sorted
    ``items``) at ``cols``, with numpy on the CSR arrays, scipy's operations replayed in their order
    (:mod:`tuijian.models.column_scores`): the profile ``counts @ content``, its norm, its scaling, then per
    pair ``profile.multiply(content[col]).sum()``, whose kernel lists the products in increasing column
    order when both operands are canonical and in the reverse of the profile's order otherwise, and whose
    sum is numpy's pairwise one over the non-zero products."""
    from tuijian.models.column_scores import is_canonical_row, product_row, scale_row, squared_norm_row

    k = len(cols)
    content = ctx.content
    if content is None:
        return np.full(k, np.nan, np.float32)
    out = np.zeros(k, np.float32)
    if k == 0:
        return out
    columns, sums = product_row(items, counts, content)
    norms = np.sqrt(squared_norm_row(columns, sums))
    columns, profile = scale_row(columns, sums, 1.0 / np.maximum(norms, 1e-12))
    offs, lens = row_offsets(content.indptr, cols)
    if not len(offs) or not len(columns):
        return out
    terms = content.indices[offs].astype(np.int64)
    row = np.repeat(np.arange(k), lens)
    # scipy's test of canonical format: every selected content row's columns strictly increasing
    # (a canonical matrix has every row increasing: scipy's cached flag of the whole matrix spares the test)
    increasing = content.has_canonical_format or bool(((np.diff(terms) > 0) | (np.diff(row) > 0)).all())
    if not increasing and _has_repeats(row, terms):  # the kernel would add a row's repeats first: let scipy
        return content_similarity(ctx, _counts_row(items, counts, ctx.n_items), np.zeros(k, np.int64), cols)
    where = np.full(content.shape[1], -1, np.int64)
    where[columns] = np.arange(len(columns))
    place = where[terms]
    hit = place >= 0
    products = (
        profile[place[hit]].astype(np.result_type(profile.dtype, content.dtype)) * content.data[offs[hit]]
    )
    row, place = row[hit], place[hit]
    canonical = increasing and is_canonical_row(columns)
    # per pair: increasing columns (canonical: the content row's stored order) or the profile's reversed
    if not canonical:  # canonical: the pairs' rows ascend and each row's columns (and places) increase
        order = np.argsort(row * len(columns) + len(columns) - 1 - place, kind="stable")
        products, row = products[order], row[order]
    keep = products != 0
    products, row = np.ascontiguousarray(products[keep]), row[keep]
    if not len(products):
        return out
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(row)) + 1])
    out[row[bounds]] = np.add.reduceat(products, bounds)
    return out


def _has_repeats(row: np.ndarray, terms: np.ndarray) -> bool:
    """Whether some row stores a column twice."""
    order = np.lexsort((terms, row))
    return bool(((np.diff(row[order]) == 0) & (np.diff(terms[order]) == 0)).any())


def _category_share(ctx: FeatureContext, seq: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """As ``pair_features``' category share for one user: the share of the history in each item's category
    (integer counts, exact in float32 either way; NaN for an item without one). The count of a category is
    counted at the shown items' categories alone, and the history's total is its number of categorised
    events (``pair_features``' float32 sum of the per-category counts, exact below ``2**24``)."""
    if ctx.category is None:
        return np.full(len(cols), np.nan, np.float32)
    cat = ctx.category
    c = cat[seq]
    c = c[c >= 0]
    if len(c) >= 2**24:  # a float32 sum of the counts could round: as pair_features sums them
        per_cat = np.bincount(c, minlength=int(cat.max()) + 1).astype(np.float32)
        total = np.maximum(np.array([per_cat.sum()], dtype=np.float32), 1.0)[0]
    else:
        total = np.float32(max(len(c), 1))
    cand_cat = cat[cols]
    # a category code < 0 never matches a categorised event: 0, then NaN below
    share = np.count_nonzero(c[None, :] == cand_cat[:, None], axis=1).astype(np.float32) / total
    return np.where(cand_cat >= 0, share, np.nan).astype(np.float32)
