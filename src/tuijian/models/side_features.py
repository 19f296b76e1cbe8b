"""Side-information ranker features of the hybrid: user demographics and multi-label item genres.

Signals that collaborative retrievers (EASE, item-kNN, ALS) do not see:

* **segment popularity** (``segment_features=True``): for each user attribute (e.g. gender, age
  group, occupation of ML-1M, and the gender x age cross), the share of the users of the
  candidate user's segment who had the candidate item in the training interactions, and its
  ratio to the item's share among all users (how much more the segment likes the item than
  everyone does); plus the user's attribute codes (categorical-as-number for the trees).
* **genre affinity** (``genre_features=True``): items may carry several genres
  (``"Animation|Children's|Comedy"``); the mean and max share of the user's history in the
  candidate's genres, and the cosine of the user's genre profile with the item's genres.
* **release year** (``year_features=True``): the year in the item's title (``"Heat (1995)"``)
  and its difference to the mean year of the user's history.

Everything is computed from the interactions the features are built on (no labels) and plain
numpy/scipy on dense indices; unknown users (index ``-1``) or attributes get ``NaN``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary

#: user columns used as segments when present (others, e.g. a zip code, are ignored)
SEGMENT_COLUMNS = ("gender", "age", "occupation")
GENRE_FEATURES = ("genre_share_mean", "genre_share_max", "genre_cosine")
YEAR_FEATURES = ("item_year", "year_gap")


def user_segments(users: pd.DataFrame | None, vocab: Vocabulary) -> tuple[np.ndarray, list[str]]:
    """``(n_users x n_attrs)`` int codes (-1 unknown) of the segment columns, aligned to ``vocab``.

    A cross of the first two attributes (e.g. gender x age) is added as a further column.
    """
    n = len(vocab)
    if users is None or len(users) == 0 or "user_id" not in users.columns:
        return np.zeros((n, 0), np.int64), []
    cols = [c for c in SEGMENT_COLUMNS if c in users.columns]
    frame = users.assign(user_id=users["user_id"].astype(str)).drop_duplicates("user_id")
    frame = frame.set_index("user_id").reindex(pd.Index([str(i) for i in vocab.ids]))
    codes, names = [], []
    for c in cols:
        v = frame[c].astype("string").str.strip()
        code, _ = pd.factorize(v.where(v.notna() & (v != ""), None))
        codes.append(code.astype(np.int64))
        names.append(c)
    if len(codes) >= 2:
        a, b = codes[0], codes[1]
        cross = np.where((a >= 0) & (b >= 0), a * (int(b.max()) + 1) + b, -1)
        codes.append(cross.astype(np.int64))
        names.append(f"{names[0]}x{names[1]}")
    return np.column_stack(codes) if codes else np.zeros((n, 0), np.int64), names


def segment_feature_names(attrs: Sequence[str]) -> list[str]:
    out = [f"user_seg:{a}" for a in attrs]
    for a in attrs:
        out += [f"seg_share:{a}", f"seg_lift:{a}"]
    return out


@dataclass
class SegmentContext:
    """Per attribute, the share of each segment's users that had each item (``n_seg x n_items``)."""

    codes: np.ndarray  # n_users x n_attrs
    shares: list[np.ndarray]
    global_share: np.ndarray


def build_segment_context(interactions: Interactions, codes: np.ndarray) -> SegmentContext:
    """Segment shares from the distinct (user, item) pairs of ``interactions`` (users with events only)."""
    m = sp.csr_matrix(interactions.matrix, dtype=np.float32, copy=True)
    m.data[:] = 1.0
    active = np.diff(m.indptr) > 0
    n_active = max(int(active.sum()), 1)
    global_share = (np.asarray(m.sum(axis=0)).ravel() / n_active).astype(np.float32)
    shares = []
    for a in range(codes.shape[1]):
        c = codes[:, a]
        ok = (c >= 0) & active
        n_seg = int(c.max()) + 1 if (c >= 0).any() else 1
        ind = sp.csr_matrix(
            (np.ones(int(ok.sum()), np.float32), (c[ok], np.flatnonzero(ok))), shape=(n_seg, m.shape[0])
        )
        size = np.maximum(np.bincount(c[ok], minlength=n_seg), 1).astype(np.float32)
        # a little smoothing towards the global share for small segments
        counts = np.asarray((ind @ m).todense(), dtype=np.float32)
        shares.append(((counts + 5.0 * global_share[None, :]) / (size[:, None] + 5.0)).astype(np.float32))
    return SegmentContext(codes=codes, shares=shares, global_share=global_share)


def segment_pair_features(
    ctx: SegmentContext, users: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> list[np.ndarray]:
    """User attribute codes, then per attribute the segment share and its ratio to the global share."""
    u = np.asarray(users, np.int64)[rows]
    known_user = (u >= 0) & (u < ctx.codes.shape[0])
    uu = np.where(known_user, u, 0)
    out: list[np.ndarray] = []
    seg_codes = []
    for a in range(ctx.codes.shape[1]):
        c = np.where(known_user, ctx.codes[uu, a], -1)
        seg_codes.append(c)
        out.append(np.where(c >= 0, c, np.nan).astype(np.float32))
    g = np.maximum(ctx.global_share[cols], 1e-6)
    for a, c in enumerate(seg_codes):
        share = np.where(c >= 0, ctx.shares[a][np.maximum(c, 0), cols], np.nan)
        out += [share.astype(np.float32), (share / g).astype(np.float32)]
    return out


def genre_matrix(items: pd.DataFrame | None, vocab: Vocabulary) -> sp.csr_matrix | None:
    """``n_items x n_genres`` binary matrix from ``|``-separated ``category`` strings (aligned to ``vocab``)."""
    if items is None or "category" not in items.columns or "item_id" not in items.columns:
        return None
    frame = items.assign(item_id=items["item_id"].astype(str)).drop_duplicates("item_id").set_index("item_id")
    cats = frame["category"].reindex(pd.Index([str(i) for i in vocab.ids])).fillna("").astype(str)
    rows, names = [], []
    for r, s in enumerate(cats.to_numpy()):
        for g in s.split("|"):
            g = g.strip()
            if g:
                rows.append(r)
                names.append(g)
    if not rows:
        return None
    codes, _ = pd.factorize(pd.Index(names))
    g = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (np.asarray(rows), codes)), shape=(len(vocab), int(codes.max()) + 1)
    )
    g.sum_duplicates()
    g.data[:] = 1.0
    return g


def genre_pair_features(
    genres: sp.csr_matrix, counts: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray
) -> list[np.ndarray]:
    """Mean / max share of the user's history in the candidate's genres; cosine of profile and item genres."""
    profile = np.asarray((counts @ genres).todense(), dtype=np.float64)  # B x n_genres
    totals = np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1.0)
    share = profile / totals[:, None]
    norms = np.maximum(np.linalg.norm(profile, axis=1), 1e-12)
    g = genres[cols]  # n_pairs x n_genres
    n_g = np.asarray(g.sum(axis=1)).ravel()
    coo = g.tocoo()
    vals = share[rows[coo.row], coo.col]
    s_sum = np.bincount(coo.row, weights=vals, minlength=len(rows))
    s_max = np.zeros(len(rows))
    np.maximum.at(s_max, coo.row, vals)
    dot = np.bincount(coo.row, weights=profile[rows[coo.row], coo.col], minlength=len(rows))
    has = n_g > 0
    mean = np.where(has, s_sum / np.maximum(n_g, 1), np.nan)
    cos = np.where(has, dot / (norms[rows] * np.sqrt(np.maximum(n_g, 1))), np.nan)
    return [mean.astype(np.float32), np.where(has, s_max, np.nan).astype(np.float32), cos.astype(np.float32)]


def title_years(items: pd.DataFrame | None, vocab: Vocabulary) -> np.ndarray | None:
    """Per item (aligned to ``vocab``), the year in parentheses at the end of its title (NaN if none)."""
    if items is None or "title" not in items.columns or "item_id" not in items.columns:
        return None
    frame = items.assign(item_id=items["item_id"].astype(str)).drop_duplicates("item_id").set_index("item_id")
    titles = frame["title"].reindex(pd.Index([str(i) for i in vocab.ids])).fillna("").astype(str)
    year = pd.to_numeric(titles.str.extract(r"\((\d{4})\)\s*$")[0], errors="coerce").to_numpy(np.float64)
    return year if np.isfinite(year).any() else None


def year_pair_features(
    years: np.ndarray, counts: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray
) -> list[np.ndarray]:
    """The candidate's year and its difference to the mean year of the user's history."""
    known = np.isfinite(years)
    y = np.where(known, years, 0.0)
    tot = counts @ y
    n = counts @ known.astype(np.float64)
    with np.errstate(all="ignore"):
        mean = np.where(n > 0, tot / np.maximum(n, 1e-9), np.nan)
    item_year = years[cols]
    return [item_year.astype(np.float32), (item_year - mean[rows]).astype(np.float32)]
