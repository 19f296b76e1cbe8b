""":func:`~tuijian.models.shown_features.base_rows` (one preallocated float32 array, the item columns from a
cached per-context table, ``fmax.reduce`` for ``nanmax``, the last times and category shares without a loop)
against its previous formulation (column by column, then ``np.column_stack``), bit for bit, on random and
adversarial rows: repeated items, NaN and signed-zero times, an empty sequence, non-finite and signed-zero
scores, all-NaN score rows, items without a category, prices or not, extra columns; and the cached table
rebuilt when the context's arrays change."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tests.models.test_column_scores import _matrix
from tuijian.explain.reasons import Evidence
from tuijian.models import shown_features as sf
from tuijian.models.ranker_features import DAY, FeatureContext, price_ratio


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _category_share_reference(ctx: FeatureContext, seq: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The previous ``_category_share``: a bincount over every category."""
    if ctx.category is None:
        return np.full(len(cols), np.nan, np.float32)
    cat = ctx.category
    c = cat[seq]
    c = c[c >= 0]
    per_cat = np.bincount(c, minlength=int(cat.max()) + 1 if len(cat) else 1).astype(np.float32)
    totals = np.maximum(np.array([per_cat.sum()], dtype=np.float32), 1.0)
    cand_cat = cat[cols]
    share = (
        np.where(cand_cat >= 0, per_cat[np.maximum(cand_cat, 0)], 0.0).astype(np.float32)
        / totals[np.zeros(len(cols), np.int64)]
    )
    return np.where(cand_cat >= 0, share, np.nan).astype(np.float32)


def _base_rows_reference(
    ctx: FeatureContext,
    seq: np.ndarray,
    ts: np.ndarray,
    cols: np.ndarray,
    scores: list[np.ndarray],
    ranks: list[np.ndarray],
    score_cols: np.ndarray | None = None,
) -> np.ndarray:
    """The previous ``base_rows``, column by column."""
    k = len(cols)
    rows = np.zeros(k, dtype=np.int64)
    at = cols if score_cols is None else score_cols
    out: list[np.ndarray] = []
    if scores:
        table = np.concatenate([np.asarray(score, np.float32).reshape(1, -1) for score in scores])
        with np.errstate(all="ignore"), _nowarn():
            best = np.nanmax(np.where(np.isfinite(table), table, np.nan), axis=1)
        s = table[:, at]
        s = np.where(np.isfinite(s), s, np.nan)
        gap = (s - best[:, None]).astype(np.float32)
        for r, rank in enumerate(ranks):
            out += [s[r], rank.astype(np.float32), gap[r]]
    days_item = (ctx.t_ref - ctx.last_seen[cols]) / DAY
    price = ctx.price[cols] if ctx.price is not None else np.full(k, np.nan)
    out += [ctx.log_pop[cols], ctx.recent_pop[cols], ctx.trend[cols], days_item, ctx.repeat_rate[cols], price]
    n = len(seq)
    items, counts = np.unique(seq, return_counts=True)
    counts = counts.astype(np.float32)
    hist_len = np.full(k, n, dtype=np.float32)
    n_distinct = np.full(k, len(items), dtype=np.float32)
    last_ts = float(np.max(ts)) if n else np.nan
    out += [hist_len, n_distinct, np.full(k, (ctx.t_ref - last_ts) / DAY)]
    at = seq[None, :] == cols[:, None]
    has = at.any(axis=1)
    count = np.count_nonzero(at, axis=1).astype(np.float32)
    lpos = np.where(at, np.arange(1, n + 1, dtype=np.float32)[None, :], 0.0).max(axis=1, initial=0.0)
    lpos = lpos.astype(np.float32)
    steps = np.where(lpos > 0, hist_len - lpos, np.nan)
    its = np.zeros(k, dtype=np.float32)
    tsv = np.asarray(ts, np.float64)
    for j in np.flatnonzero(has):
        times = tsv[at[j]]
        known = times[~np.isnan(times)]
        its[j] = known.max() if len(known) else np.nan
    ui_days = np.where(count > 0, (ctx.t_ref - its) / DAY, np.nan) if n else np.full(k, np.nan)
    last = seq[-3:][::-1]
    last = np.concatenate([last, np.full(3 - len(last), -1, np.int64)])
    sims = sf._rows_values(ctx.similarity, np.concatenate([last, items[::-1]]), cols)
    sim_mean = sf._history_similarity(items, counts, sims[3:])
    sims = sims[:3]
    trans = sf._rows_values(ctx.transitions, last, cols)
    t1 = trans[0]
    t3 = t1 + trans[1] + trans[2]
    out += [count, ui_days, steps, *sims, sim_mean, t1, t3, _category_share_reference(ctx, seq, cols)]
    out.append(sf._content_similarity(ctx, items, counts, cols))
    if ctx.price is None:
        out.append(np.full(k, np.nan, np.float32))
    else:
        out.append(price_ratio(ctx, sf._counts_row(items, counts, ctx.n_items), rows, cols))
    for values in ctx.extra.values():
        out.append(np.asarray(values, np.float32)[cols])
    return np.column_stack([np.asarray(c, np.float32) for c in out])


class _nowarn:
    """Silences ``nanmax``'s all-NaN warning (a ``warnings.catch_warnings`` that ignores)."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def _context(rng: np.random.Generator, n: int, *, price: bool, category: bool, extra: bool) -> FeatureContext:
    def values(scale: float) -> np.ndarray:
        v = rng.standard_normal(n) * scale
        v[rng.random(n) < 0.1] = 0.0
        v[rng.random(n) < 0.05] = -0.0
        return v

    last_seen = rng.uniform(0, 100 * DAY, n)
    last_seen[rng.random(n) < 0.1] = np.nan
    content = _matrix(rng, n, 37, canonical=bool(rng.integers(2)))
    return FeatureContext(
        n_items=n,
        t_ref=float(rng.choice([100 * DAY, 0.0, -0.0, 123.456])),
        log_pop=values(3.0),
        recent_pop=values(1.0).astype(np.float32),
        trend=values(1e-3),
        last_seen=last_seen,
        repeat_rate=values(0.1),
        similarity=_matrix(rng, n, n, canonical=True),
        transitions=_matrix(rng, n, n, canonical=True),
        price=np.abs(values(20.0)) if price else None,
        category=rng.integers(-1, 5, n) if category else None,
        content=content,
        extra={"a": values(1.0), "b": values(1e6)} if extra else {},
    )


@pytest.mark.parametrize("seed", range(12))
def test_base_rows_equal_the_previous_formulation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 60))
    ctx = _context(rng, n, price=seed % 3 == 0, category=seed % 4 != 1, extra=seed % 2 == 0)
    for trial in range(8):
        length = 0 if trial == 0 else int(rng.integers(1, 30))
        seq = rng.integers(0, max(n // 3, 1), length) if trial % 2 else rng.integers(0, n, length)  # repeats
        ts = rng.uniform(0, 100 * DAY, length)
        ts[rng.random(length) < 0.3] = np.nan
        ts[rng.random(length) < 0.1] = rng.choice([0.0, -0.0])
        k = int(rng.integers(0, 9))
        cols = np.concatenate([rng.choice(seq, min(k, length)) if length else [], rng.integers(0, n, k)])
        cols = cols.astype(np.int64)
        n_retr = int(rng.integers(0, 4))
        scores = []
        for _ in range(n_retr):
            s = rng.standard_normal((1, n)).astype(np.float32)
            s[0, rng.random(n) < 0.2] = rng.choice([np.inf, -np.inf, np.nan, 0.0, -0.0])
            if rng.random() < 0.2:
                s[:] = rng.choice([np.nan, -np.inf])  # no finite score at all
            scores.append(s)
        ranks = [rng.integers(1, 102, len(cols)).astype(np.int32) for _ in range(n_retr)]
        want = _base_rows_reference(ctx, seq, ts, cols, scores, ranks)
        assert _same(sf.base_rows(ctx, seq, ts, cols, scores, ranks), want)
        if n_retr:  # the stored path's form: one 2-D array of compact rows, the ranks as one array
            need = np.unique(np.concatenate([cols, rng.integers(0, n, 3)]))
            table = np.concatenate(scores)[:, need]
            at = np.searchsorted(need, cols)
            want = _base_rows_reference(ctx, seq, ts, cols, [r[None, :] for r in table], ranks, score_cols=at)
            got = sf.base_rows(ctx, seq, ts, cols, table, np.array(ranks), score_cols=at)
            assert _same(got, want)


def test_the_item_table_follows_the_contexts_arrays() -> None:
    rng = np.random.default_rng(5)
    ctx = _context(rng, 20, price=True, category=True, extra=True)
    seq, ts, cols = np.array([1, 2, 2]), np.array([1.0, 2.0, 3.0]), np.array([2, 5, 7])
    first = sf.base_rows(ctx, seq, ts, cols, [], [])
    ctx.log_pop = ctx.log_pop + 1.0
    ctx.price = None
    ctx.extra = {"a": np.arange(20.0)}
    ctx.t_ref = ctx.t_ref + DAY
    got = sf.base_rows(ctx, seq, ts, cols, [], [])
    assert _same(got, _base_rows_reference(ctx, seq, ts, cols, [], []))
    assert not _same(got, first)


@pytest.mark.parametrize("n_items", [10, 12101])
def test_an_evidence_row_is_the_matrix_scipy_builds(n_items: int) -> None:
    rng = np.random.default_rng(n_items)
    items = np.sort(rng.choice(n_items, 7, replace=False)).astype(np.int64)
    for values in (rng.random(7).astype(np.float32), rng.random(7), np.zeros(0)):
        ev = Evidence(-1, items[: len(values)], values, items)
        row = ev.row(n_items)
        want = sp.csr_matrix(
            (ev.values, ev.items, np.array([0, len(ev.items)])), shape=(1, n_items), dtype=np.float32
        )
        assert row.shape == want.shape and row.format == want.format
        for a, b in ((row.data, want.data), (row.indices, want.indices), (row.indptr, want.indptr)):
            assert _same(a, b)
