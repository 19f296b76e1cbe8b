"""Reasons read off a model's own scoring state, one helper per family of scorers.

Every helper takes the :class:`~tuijian.explain.reasons.Evidence` the model scores from and the items to
explain, and returns one :class:`~tuijian.explain.reasons.Explanation` per item. The models' ``explain``
methods (:class:`~tuijian.models.base.Explainable`) are one call to one of these:

* :func:`item_item`: ``score = history @ W`` (item-kNN, EASE, RP3beta): history item ``h`` contributes
  ``value_h * W[h, item]``, exactly; the largest positive terms are "because you bought h".
* :func:`weighted_sequence`: ``score = sum_j w_j T[x_j, item]`` over the recent items (session
  transitions): the recent items with the largest terms.
* :func:`occlusion`: any sequential scorer (SASRec): each of the last few distinct items is left out and the
  sequence rescored; the items whose absence lowers the score most.
* :func:`content_profile`: the content model's cosine, split by history item, with the shared words.
* :func:`item_values`: a score that is a per-item value (popularity, trending).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from tuijian.explain.reasons import Evidence, Explanation, Reason
from tuijian.models.column_scores import row_offsets

if TYPE_CHECKING:
    from tuijian.models.content import ContentRecommender

#: history items named per reason ("because you bought X and Y")
ITEMS_PER_REASON = 2


class _EntryKeys:
    """A CSR matrix's stored entries as sorted keys ``row * n_cols + col`` (and, for a matrix whose rows are
    not sorted, each key's position in ``data``): any entry is then found by one binary search. Built once per
    matrix (weakly cached, :func:`_entry_keys`); valid while the matrix keeps the same index arrays, unsorted."""

    def __init__(self, m: sp.csr_matrix) -> None:
        self.indptr, self.indices, self.sorted = m.indptr, m.indices, bool(m.has_sorted_indices)
        n_rows, n_cols = m.shape
        dtype = np.int32 if n_rows * n_cols < 2**31 else np.int64
        rows = np.repeat(np.arange(n_rows, dtype=dtype), np.diff(m.indptr))
        keys = rows * dtype(n_cols) + m.indices.astype(dtype)
        self.position: np.ndarray | None = None
        if not self.sorted:
            self.position = np.argsort(keys, kind="stable").astype(
                np.int32 if len(keys) < 2**31 else np.int64
            )
            keys = keys[self.position]
        self.keys = keys
        #: a duplicate entry (a matrix not in canonical form): the plain gather's last-wins order is kept instead
        self.unique = bool(len(keys) < 2 or (keys[1:] > keys[:-1]).all())

    def valid_for(self, m: sp.csr_matrix) -> bool:
        return (
            m.indptr is self.indptr
            and m.indices is self.indices
            and bool(m.has_sorted_indices) == self.sorted
        )


_ENTRY_KEYS: dict[int, _EntryKeys] = {}
_ENTRY_KEYS_LOCK = threading.Lock()


def _entry_keys(m: sp.csr_matrix) -> _EntryKeys:
    """:class:`_EntryKeys` of ``m``, built on first use and dropped with the matrix."""
    found = _ENTRY_KEYS.get(id(m))
    if found is not None and found.valid_for(m):
        return found
    built = _EntryKeys(m)
    with _ENTRY_KEYS_LOCK:
        if id(m) not in _ENTRY_KEYS:
            weakref.finalize(m, _ENTRY_KEYS.pop, id(m), None)
        _ENTRY_KEYS[id(m)] = built
    return built


def _block(matrix: sp.spmatrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix[rows][:, cols]`` (``cols`` distinct) as a dense float64 array: each wanted entry found by a
    binary search in the matrix's sorted entry keys (:func:`_entry_keys`), without scipy's fancy indexing.
    The stored values themselves, no arithmetic (:func:`_block_gather`, the plain gather, is the reference)."""
    m = matrix if isinstance(matrix, sp.csr_matrix) else sp.csr_matrix(matrix)
    if len(rows) == 0 or len(cols) == 0 or m.nnz == 0:
        return np.zeros((len(rows), len(cols)), dtype=np.float64)
    cols_list = np.asarray(cols).tolist()
    found = _entry_keys(m)
    if not found.unique or len(set(cols_list)) != len(cols_list):
        return _block_gather(m, rows, cols)
    keys = found.keys
    wanted = (np.asarray(rows, np.int64)[:, None] * m.shape[1] + np.asarray(cols_list, np.int64)).ravel()
    wanted = wanted.astype(keys.dtype)
    pos = np.minimum(keys.searchsorted(wanted), len(keys) - 1)
    hit = keys[pos] == wanted
    out = np.zeros(len(wanted), dtype=np.float64)
    at = pos[hit] if found.position is None else found.position[pos[hit]]
    out[hit] = m.data[at]
    return out.reshape(len(rows), len(cols))


def _block_gather(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix[rows][:, cols]`` (``cols`` distinct) as a dense array, gathered straight from the CSR arrays in
    one vectorised pass (one request's few rows, without scipy's fancy indexing)."""
    m = matrix
    out = np.zeros((len(rows), len(cols)), dtype=np.float64)
    if len(rows) == 0 or len(cols) == 0:
        return out
    offs, lens = row_offsets(m.indptr, rows)
    if not len(offs):
        return out
    idx = m.indices[offs]
    order = np.argsort(cols, kind="stable")
    sorted_cols = np.asarray(cols, np.int64)[order]
    pos = np.minimum(np.searchsorted(sorted_cols, idx), len(sorted_cols) - 1)
    hit = sorted_cols[pos] == idx
    out[np.repeat(np.arange(len(rows)), lens)[hit], order[pos[hit]]] = m.data[offs][hit]
    return out


def _top_rows(contrib: np.ndarray, keys: np.ndarray, n: int) -> list[tuple[tuple[int, ...], float]]:
    """Per column of ``contrib`` (rows keyed by ascending ``keys``): the keys of its ``n`` largest positive
    entries (ties: lower key first) and their sum, in one vectorised sort."""
    order = np.argsort(-contrib, axis=0, kind="stable")[:n]  # stable: equal values keep the ascending keys
    vals = np.take_along_axis(contrib, order, axis=0)
    if n > 2:
        keep = vals > 0
        return [
            (tuple(keys[order[keep[:, j], j]].tolist()), float(vals[keep[:, j], j].sum()))
            for j in range(contrib.shape[1])
        ]
    # at most two terms: numpy sums ``[a, b]`` as ``a + b``, the same float64 addition as Python's, so the
    # columns are read as Python lists (a few numpy calls per column saved; tests/explain/test_attribution.py)
    out: list[tuple[tuple[int, ...], float]] = []
    for named, picked in zip(keys[order].T.tolist(), vals.T.tolist(), strict=True):
        sel = [(k, x) for k, x in zip(named, picked, strict=True) if x > 0]
        if len(sel) == 2:
            out.append(((sel[0][0], sel[1][0]), sel[0][1] + sel[1][1]))
        else:
            out.append(((sel[0][0],), sel[0][1]) if sel else ((), 0.0))
    return out


def _dense_rows(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix[rows]`` restricted to the sorted columns ``cols``, dense (entries in other columns dropped)."""
    out = np.zeros((len(rows), len(cols)), dtype=np.float64)
    if not len(cols):
        return out
    for r, row in enumerate(np.asarray(rows, np.int64).tolist()):
        a, b = matrix.indptr[row], matrix.indptr[row + 1]
        idx = matrix.indices[a:b]
        pos = np.minimum(np.searchsorted(cols, idx), len(cols) - 1)
        keep = cols[pos] == idx
        out[r, pos[keep]] = matrix.data[a:b][keep]
    return out


def _is_word(term: str) -> bool:
    """A term worth showing a shopper: not a number, and at least two letters (one Chinese character)."""
    return not any(ch.isdigit() for ch in term) and (len(term) >= 2 or not term.isascii())


def _top_terms(contrib: np.ndarray, keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``n`` largest positive entries of ``contrib`` (ties: lowest key first) and their sum."""
    pos = np.flatnonzero(contrib > 0)
    order = pos[np.lexsort((keys[pos], -contrib[pos]))][:n]
    return order, contrib[order]


def item_item(
    evidence: Evidence,
    items: np.ndarray,
    weights: np.ndarray | sp.spmatrix,
    *,
    binary: bool,
    kind: str = "history",
) -> list[Explanation]:
    """Explanations of ``score = history @ weights`` (rows: history items, columns: scored items)."""
    hist = evidence.items
    items = np.asarray(items, np.int64)
    values = np.ones(len(hist), np.float32) if binary else evidence.values
    if len(hist) == 0 or len(items) == 0:
        return [Explanation(int(t), []) for t in items]
    dense = not sp.issparse(weights)
    block = np.asarray(weights)[np.ix_(hist, items)] if dense else _block(weights, hist, items)
    contrib = values[:, None].astype(np.float64) * block
    tops = _top_rows(contrib, hist, ITEMS_PER_REASON)  # history items come ascending
    return [
        Explanation(t, [Reason(kind, named, total)] if named else [])
        for t, (named, total) in zip(items.tolist(), tops, strict=True)
    ]


def weighted_sequence(
    evidence: Evidence,
    items: np.ndarray,
    transitions: sp.csr_matrix,
    position_weights: Callable[[int], np.ndarray],
    max_items: int,
    kind: str = "recent",
) -> list[Explanation]:
    """Explanations of ``score = sum_j w_j T[x_j, item]`` over the last ``max_items`` of the sequence."""
    seq = np.asarray(evidence.sequence, np.int64)[-max_items:]
    items = np.asarray(items, np.int64)
    if len(seq) == 0 or len(items) == 0:
        return [Explanation(int(t), []) for t in items]
    w = position_weights(len(seq)).astype(np.float64)
    uniq, inv = np.unique(seq, return_inverse=True)
    block = _block(transitions, uniq, items).astype(np.float64)  # distinct x targets
    weight_of = np.bincount(inv, weights=w, minlength=len(uniq))  # summed position weights per item
    contrib = weight_of[:, None] * block
    tops = _top_rows(contrib, uniq, ITEMS_PER_REASON)
    return [
        Explanation(t, [Reason(kind, named, total)] if named else [])
        for t, (named, total) in zip(items.tolist(), tops, strict=True)
    ]


def occlusion(
    evidence: Evidence,
    items: np.ndarray,
    score_sequences: Callable[[list[np.ndarray]], np.ndarray],
    n_recent: int = 5,
    kind: str = "recent",
) -> list[Explanation]:
    """Explanations of any sequential scorer: leave out each of the last ``n_recent`` distinct items."""
    seq = np.asarray(evidence.sequence, np.int64)
    items = np.asarray(items, np.int64)
    if len(seq) == 0 or len(items) == 0:
        return [Explanation(int(t), []) for t in items]
    recent: list[int] = []
    for x in seq[::-1].tolist():
        if x not in recent:
            recent.append(x)
        if len(recent) == n_recent:
            break
    variants = [seq] + [seq[seq != x] for x in recent]
    scores = score_sequences(variants)[:, items].astype(np.float64)
    drops = scores[0][None, :] - scores[1:]  # recent item x target: how much its absence lowers the score
    keys = np.asarray(recent, np.int64)
    out = []
    for j, t in enumerate(items.tolist()):
        idx, vals = _top_terms(drops[:, j], keys, ITEMS_PER_REASON)
        reasons = [Reason(kind, tuple(keys[idx].tolist()), float(vals.sum()))] if len(idx) else []
        out.append(Explanation(t, reasons))
    return out


def item_values(items: np.ndarray, values: np.ndarray, kind: str) -> list[Explanation]:
    """One reason per item whose score is the item's own value (popularity counts, trending counts)."""
    return [Explanation(int(t), [Reason(kind, (), float(values[t]))]) for t in np.asarray(items, np.int64)]


def whole_score(items: np.ndarray, scores: np.ndarray, kind: str) -> list[Explanation]:
    """One reason per item carrying its whole score: for scorers whose evidence is not item by item
    (matrix factorisation, user-kNN: "shoppers with a history like yours")."""
    return [Explanation(int(t), [Reason(kind, (), float(scores[t]))]) for t in np.asarray(items, np.int64)]


def content_profile(model: ContentRecommender, evidence: Evidence, items: np.ndarray) -> list[Explanation]:
    """Explanations of the content model's ``cos(profile, item)``: history item ``h`` contributes
    ``share * w_h <v_h, v_item> / |profile|`` per text part (TF-IDF, NLP tags, embeddings), exactly the
    terms of the score; the shared words are the largest entries of ``profile * v_item`` in TF-IDF space."""
    items = np.asarray(items, np.int64)
    if model.recency_half_life is None:
        hist, w = evidence.items, np.abs(evidence.values).astype(np.float64)
    else:
        seq = np.asarray(evidence.sequence, np.int64)
        n = len(seq)
        decay = np.power(0.5, (n - 1 - np.arange(n)) / float(model.recency_half_life))
        hist, inv = np.unique(seq, return_inverse=True)
        w = np.bincount(inv, weights=decay, minlength=len(hist))
    if len(hist) == 0 or len(items) == 0:
        return [Explanation(int(t), []) for t in items]
    w_emb = float(model.embedding_weight) if hasattr(model, "item_embeddings_") else 0.0
    contrib = np.zeros((len(hist), len(items)))
    terms: list[tuple[str, ...]] = [() for _ in items]
    # every number below depends on the history and on one item alone, never on the other items asked with
    # it: the profile lives on the history's words, and each item is multiplied on its own, so an item's
    # explanation is the same in any batch (explanations stored at training time, tuijian.explain.stored)
    if w_emb < 1.0:
        for part, (matrix, share) in enumerate(model._text_parts()):
            m = matrix if isinstance(matrix, sp.csr_matrix) else sp.csr_matrix(matrix)
            cols = _row_columns(m, hist)
            mh, mt = _block(m, hist, cols), _block(m, items, cols)  # == _dense_rows(m, ..., cols)
            profile = w @ mh
            norm = float(np.sqrt(profile @ profile)) or 1.0
            dots = np.stack([mh @ mt[j] for j in range(len(items))], axis=1)
            contrib += (1.0 - w_emb) * share * w[:, None] * dots / norm
            if part == 0:  # TF-IDF: the words the profile and the item share
                # only columns whose term is a word can be shown: ranking those alone keeps their order
                word = _word_columns(model.terms_)[cols]
                if word.any():
                    wcols = cols[word]
                    shared = mt[:, word] * profile[None, word]
                    for j in range(len(items)):
                        nz = np.flatnonzero(shared[j] > 0)
                        ranked = wcols[nz[np.lexsort((wcols[nz], -shared[j, nz]))]].tolist()
                        terms[j] = tuple([model.terms_[c] for c in ranked][:3])
    if w_emb > 0.0:
        emb = model.item_embeddings_
        profile_e = w @ emb[hist]
        norm_e = float(np.linalg.norm(profile_e)) or 1.0
        dots_e = np.stack([emb[hist] @ emb[t] for t in items.tolist()], axis=1)
        contrib += w_emb * w[:, None] * dots_e / norm_e
    if len(hist) > 1 and not (hist[1:] > hist[:-1]).all():  # not ascending: rank each item on its own
        tops = []
        for j in range(len(items)):
            idx, vals = _top_terms(contrib[:, j], hist, ITEMS_PER_REASON)
            tops.append((tuple(hist[idx].tolist()), float(vals.sum())))
    else:  # ascending keys: the same ranking and sums, all items at once
        tops = _top_rows(contrib, hist, ITEMS_PER_REASON)
    return [
        Explanation(t, [Reason("content", named, total, terms[j])] if named else [])
        for j, (t, (named, total)) in enumerate(zip(items.tolist(), tops, strict=True))
    ]


def _row_columns(m: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """The distinct columns (ascending) of the stored entries of ``m``'s ``rows``."""
    return np.unique(m.indices[row_offsets(m.indptr, rows)[0]])


_WORD_COLUMNS: dict[int, tuple[object, np.ndarray]] = {}


def _word_columns(terms: Sequence[str]) -> np.ndarray:
    """Per TF-IDF column, whether its term is shown (:func:`_is_word`); built once per vocabulary."""
    found = _WORD_COLUMNS.get(id(terms))
    if found is not None and found[0] is terms:
        return found[1]
    mask = np.array([_is_word(t) for t in terms], dtype=bool)
    if len(_WORD_COLUMNS) > 8:  # a few models' vocabularies at most; drop retired ones
        _WORD_COLUMNS.clear()
    _WORD_COLUMNS[id(terms)] = (terms, mask)
    return mask
