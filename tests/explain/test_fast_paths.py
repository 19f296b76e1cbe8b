"""The explain path's fast formulations against the plain ones they replace, on random and adversarial inputs:
the same items, terms and float weights, bit for bit (explanations stored at training time must equal the ones
computed per request, so a fast path may not move the last bit)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from tuijian.explain.attribution import _top_rows
from tuijian.explain.ranker import _similarity_columns
from tuijian.explain.reasons import Attribution, Explanation, Reason
from tuijian.explain.render import TOP_ATTRIBUTIONS, _number, explanation_bytes, sentence


def _top_rows_plain(contrib: np.ndarray, keys: np.ndarray, n: int) -> list[tuple[tuple[int, ...], float]]:
    """The per-column numpy formulation :func:`_top_rows` had before its list fast path."""
    order = np.argsort(-contrib, axis=0, kind="stable")[:n]
    vals = np.take_along_axis(contrib, order, axis=0)
    keep = vals > 0
    return [
        (tuple(keys[order[keep[:, j], j]].tolist()), float(vals[keep[:, j], j].sum()))
        for j in range(contrib.shape[1])
    ]


def _adversarial(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Values with ties, zeros, signed zeros, negatives, NaN, tiny and huge magnitudes."""
    pool = np.array([0.0, -0.0, 1.0, 1.0, -1.0, 1e-300, 5e-324, 1e300, 0.1, 0.2, 0.3, np.nan, 3.0, 1 / 3])
    out = rng.choice(pool, size=shape)
    mixed = rng.random(shape) < 0.5
    out[mixed] = rng.normal(size=int(mixed.sum())) * 10.0 ** rng.integers(-5, 5, int(mixed.sum()))
    return out


@pytest.mark.parametrize("n", [1, 2, 3])
def test_top_rows_equals_the_plain_formulation(n: int) -> None:
    rng = np.random.default_rng(n)
    for _ in range(500):
        h, t = int(rng.integers(1, 12)), int(rng.integers(1, 6))
        contrib = _adversarial(rng, (h, t))
        keys = np.sort(rng.choice(10_000, h, replace=False)).astype(np.int64)
        got, want = _top_rows(contrib, keys, n), _top_rows_plain(contrib, keys, n)
        assert [k for k, _ in got] == [k for k, _ in want]
        for (_, a), (_, b) in zip(got, want, strict=True):
            assert a == b or (math.isnan(a) and math.isnan(b))
            assert math.copysign(1.0, a) == math.copysign(1.0, b)
            assert type(a) is float


def test_similarity_columns_equal_scipy_indexing() -> None:
    rng = np.random.default_rng(3)
    for density in (0.0, 0.05, 0.5, 1.0):
        sim = sp.random(60, 60, density=density, format="csr", random_state=rng, dtype=np.float32)
        sim.data -= 0.3  # negative and positive similarities
        for _ in range(50):
            pool = np.sort(rng.choice(60, int(rng.integers(1, 10)), replace=False)).astype(np.int64)
            targets = rng.choice(60, int(rng.integers(1, 5)), replace=False).tolist()
            got = _similarity_columns(sim, pool, targets)
            want = np.concatenate([sim[pool][:, [t]].toarray() for t in targets], axis=1)
            assert got.dtype == want.dtype == np.float32
            assert np.array_equal(got, want)
    unsorted = sp.csr_matrix(sim.toarray()[:, ::-1])[:, ::-1]  # a non-canonical matrix takes scipy's way
    assert np.array_equal(
        _similarity_columns(unsorted, np.array([1, 2]), [3]), unsorted[[1, 2]][:, [3]].toarray()
    )


def _bytes_plain(
    e: Explanation, lang: str, title: Callable[[int], str], item_id: Callable[[int], bytes], bought: set[int]
) -> bytes:
    """The per-number writer :func:`explanation_bytes` had before it formatted an item's numbers at once."""
    flat = [b'"reasons":[']
    for n, r in enumerate(e.reasons):
        kind = b'{"kind":' + json.dumps(r.kind).encode() + b',"item_ids":['
        ids = b",".join([item_id(i) for i in r.items])
        terms = (
            b',"terms":' + json.dumps(list(r.terms), ensure_ascii=False, separators=(",", ":")).encode()
            if r.terms
            else b""
        )
        flat.append(
            (b"," if n else b"") + kind + ids + b'],"weight":' + _number(float(r.weight)) + terms + b"}"
        )
    flat.append(b'],"sentence":' + json.dumps(sentence(e, lang, title, bought), ensure_ascii=False).encode())
    if e.attributions:
        flat.append(b',"attributions":[')
        for n, a in enumerate(e.attributions[:TOP_ATTRIBUTIONS]):
            value = b"null" if a.value != a.value else _number(a.value)
            flat.append(
                (b"," if n else b"")
                + b'{"feature":' + json.dumps(a.feature, ensure_ascii=False).encode() + b',"value":' + value
                + b',"contribution":' + _number(a.contribution) + b',"kind":' + json.dumps(a.kind).encode() + b"}"
            )  # fmt: skip
        flat.append(b'],"base_value":' + _number(float(e.base_value or 0.0)))
    flat.append(b"}")
    return b"".join(flat)


def test_explanation_bytes_equal_the_per_number_writer() -> None:
    rng = np.random.default_rng(5)
    numbers = [0.0, -0.0, 1e-7, -4e-7, 5e-7, 0.1234565, 2.5e-6, 1e15, -3.0, 1 / 3, 123456.7890125]
    features = ["ease:score", "a%s%%b", "price_ratio", "sim_last1", "用户%d"]

    def title(i: int) -> str:
        return f"Item {i} «quoted»"

    def item_id(i: int) -> bytes:
        return json.dumps(f"id-{i}%").encode()

    for _ in range(300):
        reasons = [
            Reason(
                str(rng.choice(["history", "recent", "content", "popular"])),
                (1, 2),
                float(rng.choice(numbers)),
            )
            for _ in range(int(rng.integers(0, 4)))
        ]
        attrs = [
            Attribution(
                str(rng.choice(features)),
                float("nan") if rng.random() < 0.2 else float(rng.choice(numbers)),
                float(rng.choice(numbers)),
                rng.choice([None, "history", "price"]),  # type: ignore[arg-type]
            )
            for _ in range(int(rng.integers(0, 12)))
        ]
        base = None if rng.random() < 0.2 else float(rng.choice(numbers))
        e = Explanation(7, reasons, attrs, base)
        for lang in ("en", "zh"):
            assert explanation_bytes(e, lang, title, item_id, {1}) == _bytes_plain(
                e, lang, title, item_id, {1}
            )


@pytest.mark.parametrize("where", ["weight", "value", "contribution", "base"])
def test_explanation_bytes_refuse_non_finite_numbers(where: str) -> None:
    bad = float("inf")
    e = Explanation(
        7,
        [Reason("history", (1,), bad if where == "weight" else 0.5)],
        [Attribution("f", bad if where == "value" else 1.0, bad if where == "contribution" else 0.1, None)],
        bad if where == "base" else 0.0,
    )
    with pytest.raises(ValueError, match="non-finite number inf"):
        explanation_bytes(e, "en", str, lambda i: b'"x"', set())


def _random_csr(
    rng: np.random.Generator, shape: tuple[int, int], density: float, *, shuffle: bool
) -> sp.csr_matrix:
    m = sp.random(*shape, density=density, format="csr", random_state=rng, dtype=np.float32)
    m.data -= np.float32(0.25)
    if shuffle:  # stored entries out of column order within each row (as a matrix built by hand may be)
        for r in range(shape[0]):
            a, b = m.indptr[r], m.indptr[r + 1]
            perm = rng.permutation(b - a) + a
            m.indices[a:b], m.data[a:b] = m.indices[perm], m.data[perm]
        m.has_sorted_indices = False
    return m


@pytest.mark.parametrize("shuffle", [False, True])
def test_block_equals_the_plain_gather(shuffle: bool) -> None:
    from tuijian.explain.attribution import _block, _block_gather

    rng = np.random.default_rng(11)
    for density in (0.0, 0.02, 0.3, 1.0):
        m = _random_csr(rng, (80, 70), density, shuffle=shuffle)
        for _ in range(40):
            rows = np.sort(rng.choice(80, int(rng.integers(0, 12)), replace=False)).astype(np.int64)
            cols = rng.choice(70, int(rng.integers(0, 8)), replace=False).astype(np.int64)
            got = _block(m, rows, cols)
            assert got.dtype == np.float64
            assert np.array_equal(got, _block_gather(m, rows, cols))
            assert np.array_equal(got, m[rows][:, cols].toarray().astype(np.float64))
        m.sort_indices()  # the index arrays changed in place: the cached keys are rebuilt
        rows, cols = np.arange(80), np.arange(70)
        assert np.array_equal(_block(m, rows, cols), m.toarray().astype(np.float64))
    dup = sp.csr_matrix(
        (np.array([1.0, 2.0], np.float32), np.array([3, 3]), np.array([0, 2, 2])), shape=(2, 5)
    )
    assert np.array_equal(
        _block(dup, np.array([0, 1]), np.array([3, 1])),
        _block_gather(dup, np.array([0, 1]), np.array([3, 1])),
    )


def _content_profile_plain(model: Any, evidence: Any, items: np.ndarray) -> list[Explanation]:
    """:func:`content_profile` as it was before its vectorised gathers and word filtering (no embeddings)."""
    from tuijian.explain.attribution import ITEMS_PER_REASON, _dense_rows, _is_word, _top_terms

    items = np.asarray(items, np.int64)
    hist, w = evidence.items, np.abs(evidence.values).astype(np.float64)
    contrib = np.zeros((len(hist), len(items)))
    terms: list[tuple[str, ...]] = [() for _ in items]
    for part, (m, share) in enumerate(model._text_parts()):
        used = [m.indices[m.indptr[i] : m.indptr[i + 1]] for i in hist.tolist()]
        cols = np.unique(np.concatenate(used)) if used else np.zeros(0, np.int64)
        mh, mt = _dense_rows(m, hist, cols), _dense_rows(m, items, cols)
        profile = w @ mh
        norm = float(np.sqrt(profile @ profile)) or 1.0
        dots = np.stack([mh @ mt[j] for j in range(len(items))], axis=1)
        contrib += share * w[:, None] * dots / norm
        if part == 0:
            shared = mt * profile[None, :]
            for j in range(len(items)):
                nz = np.flatnonzero(shared[j] > 0)
                ranked = cols[nz[np.lexsort((cols[nz], -shared[j, nz]))]].tolist()
                terms[j] = tuple([t for t in (model.terms_[c] for c in ranked) if _is_word(t)][:3])
    out = []
    for j, t in enumerate(items.tolist()):
        idx, vals = _top_terms(contrib[:, j], hist, ITEMS_PER_REASON)
        reasons = (
            [Reason("content", tuple(hist[idx].tolist()), float(vals.sum()), terms[j])] if len(idx) else []
        )
        out.append(Explanation(t, reasons))
    return out


@pytest.mark.parametrize("shuffle", [False, True])
def test_content_profile_equals_the_plain_formulation(shuffle: bool) -> None:
    from types import SimpleNamespace

    from tuijian.explain.attribution import content_profile
    from tuijian.explain.reasons import Evidence

    rng = np.random.default_rng(13)
    words = ["tea", "7", "x", "mug", "2cm", "瓷", "blue", "ab", "set", "red"]
    with_terms = 0
    for trial in range(60):
        tfidf = _random_csr(rng, (50, 30), float(rng.choice([0.05, 0.2, 0.6])), shuffle=shuffle)
        tfidf.data = np.abs(tfidf.data)
        if trial % 3 == 0:
            tfidf.data = np.round(tfidf.data * 4) / 4  # ties
        parts = [(tfidf, 0.7), (_random_csr(rng, (50, 12), 0.3, shuffle=shuffle), 0.3)][: 1 + trial % 2]
        model = SimpleNamespace(
            recency_half_life=None, embedding_weight=0.5, terms_=[words[c % len(words)] for c in range(30)]
        )
        model._text_parts = lambda parts=parts: parts
        hist = np.sort(rng.choice(50, int(rng.integers(1, 9)), replace=False)).astype(np.int64)
        values = rng.choice([1.0, 2.0, -1.0, 0.5], len(hist)).astype(np.float32)
        ev = Evidence(-1, hist, values, hist)
        items = rng.choice(50, int(rng.integers(1, 7)), replace=False).astype(np.int64)
        got, want = content_profile(model, ev, items), _content_profile_plain(model, ev, items)  # type: ignore[arg-type]
        assert repr(got) == repr(want)
        with_terms += sum(1 for e in got for r in e.reasons if r.terms)
    assert with_terms > 20  # the shared words were exercised
