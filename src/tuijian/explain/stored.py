"""Explanations precomputed with the top lists: the explained request of a known user becomes a lookup.

A known user without fresh events is served from the version's precomputed top lists
(:mod:`tuijian.models.toplists`); the model explains the items it ranked from that user's trained history
alone, so the explanation of each (user, item) pair is fixed for the version, like the list. At training time
(:func:`precompute_explanations`) every trained user's default request is answered through the serving
:class:`~tuijian.models.pipeline.Pipeline` (``k`` = :data:`EXPLAINED_PER_USER`, bought items excluded, as
``GET /v1/users/{id}/recommendations`` asks by default) and the model's own ``explain`` is run, with the same
:class:`~tuijian.explain.reasons.Evidence` a request builds, on the items it ranked and, for a ranker's
tail-rule lists, on every stored candidate as well, while that table fits :data:`BUDGET_MB`: a filter or a
larger ``k`` reaches deep into a user's list, and a per-request explanation of even a few items costs most of
what ten do. Those explanations are kept as flat arrays (:class:`StoredExplanations`, ``explanations.npz``
beside ``toplists.npz``, no pickle), mapped read-only at load with every page mapped at once.

Online, :func:`tuijian.explain.pipeline.explain_ranked` reads a stored explanation for every model-ranked item
of a trained query that has one, and asks the model only for the others (without every candidate stored:
another ``k``, a filter reaching deeper into the list, ``exclude_purchased=false``). The stored explanation is
the model's own output for the same evidence, number for number (``tests/explain/test_stored.py``;
``bench/full_scoring.py --check-lookup`` compares served and recomputed explanations). Only explanations built
with the attribution method a request uses are read (the dashboard asks for TreeSHAP; the API uses the
decision path, which is what is stored).

Memory: about 0.4 KB per item of a default request (the reasons, up to twelve ranker attributions in float64;
Beauty's 22,363 users x 10 items take 86 MB, ~35 s); a ranker's table of every candidate stores its feature
values in float32 and feature ids in int16, 255 bytes an item (Beauty: 10.6 million items, 2,710 MB, 14
minutes on one core).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tuijian.exceptions import StorageError
from tuijian.explain.reasons import KINDS, Evidence, Explanation, new_attribution, new_reason
from tuijian.models.column_scores import row_offsets

if TYPE_CHECKING:
    from pathlib import Path

    from tuijian.models.base import Recommender
    from tuijian.models.toplists import TopLists

log = logging.getLogger("tuijian.explain")

#: items explained in advance per trained user: the API's default ``k``
EXPLAINED_PER_USER = 10
#: a ranker's stored lists get every stored candidate explained while the table takes at most this many MB
#: (Beauty: 2,710 MB for 10.6 million candidates); more, and only the items of the default request
BUDGET_MB = 4096
FILE = "explanations.npz"
_KIND_INDEX = {k: n for n, k in enumerate(KINDS)}
_ARRAYS = (
    "user_ptr", "item", "base", "reason_ptr", "r_kind", "r_weight", "r_item_ptr", "r_items", "r_term_ptr",
    "r_terms", "attr_ptr", "a_feature", "a_value", "a_contrib", "a_kind", "features", "terms",
)  # fmt: skip


@dataclass(frozen=True)
class StoredExplanations:
    """Per trained user, the model's explanations of its first stored items, as flat arrays (CSR style):
    user ``u``'s entries are ``user_ptr[u]:user_ptr[u+1]``; entry ``e``'s reasons ``reason_ptr[e]:...`` and
    attributions ``attr_ptr[e]:...``; a reason's items and terms by their own pointers. Kinds are indices into
    :data:`~tuijian.explain.reasons.KINDS` (``-1``: none), features and terms into ``features`` / ``terms``."""

    method: str
    user_ptr: np.ndarray  # (n_users + 1,) int64
    item: np.ndarray  # (M,) int32
    base: np.ndarray  # (M,) float64, NaN: no base value
    reason_ptr: np.ndarray  # (M + 1,) int64
    r_kind: np.ndarray  # (R,) int8
    r_weight: np.ndarray  # (R,) float64
    r_item_ptr: np.ndarray  # (R + 1,) int64
    r_items: np.ndarray  # int32
    r_term_ptr: np.ndarray  # (R + 1,) int64
    r_terms: np.ndarray  # int32 into terms
    attr_ptr: np.ndarray  # (M + 1,) int64
    a_feature: np.ndarray  # (A,) int32 into features
    a_value: np.ndarray  # (A,) float64 (NaN kept)
    a_contrib: np.ndarray  # (A,) float64
    a_kind: np.ndarray  # (A,) int8
    features: np.ndarray  # str
    terms: np.ndarray  # str
    #: True: every stored candidate of a ranker's lists is explained, not only the default request's items
    every_candidate: bool = False

    @property
    def n_users(self) -> int:
        return len(self.user_ptr) - 1

    @property
    def nbytes(self) -> int:
        return sum(int(getattr(self, name).nbytes) for name in _ARRAYS)

    def lookup(self, user: int, items: list[int]) -> dict[int, Explanation]:
        """The stored explanations of ``user`` for those of ``items`` that have one."""
        if not 0 <= user < self.n_users:
            return {}
        a, b = int(self.user_ptr[user]), int(self.user_ptr[user + 1])
        if a == b or not items:
            return {}
        # only the wanted entries are read: a user may have hundreds (every stored candidate)
        found = np.flatnonzero(np.isin(self.item[a:b], np.asarray(items, np.int64)))
        if not len(found):
            return {}
        entries = found + a
        r_off, r_len = row_offsets(self.reason_ptr, entries)
        kinds = self.r_kind[r_off].tolist()
        weights = self.r_weight[r_off].tolist()
        i_off, i_len = row_offsets(self.r_item_ptr, r_off)
        r_items = self.r_items[i_off].tolist()
        t_off, t_len = row_offsets(self.r_term_ptr, r_off)
        r_terms = self.r_terms[t_off].tolist()
        a_off, a_len = row_offsets(self.attr_ptr, entries)
        feats = self.a_feature[a_off].tolist()
        values = self.a_value[a_off].tolist()
        contribs = self.a_contrib[a_off].tolist()
        a_kinds = self.a_kind[a_off].tolist()
        bases = self.base[entries].tolist()
        items_now = self.item[entries].tolist()
        features, terms = self._strings()
        n_reasons, n_attrs = r_len.tolist(), a_len.tolist()
        item_lens, term_lens = i_len.tolist(), t_len.tolist()
        out: dict[int, Explanation] = {}
        r = x = i = t = 0
        for n, item in enumerate(items_now):
            reasons = []
            for _ in range(n_reasons[n]):
                its = tuple(r_items[i : i + item_lens[r]])
                i += item_lens[r]
                named = tuple([terms[w] for w in r_terms[t : t + term_lens[r]]])
                t += term_lens[r]
                reasons.append(new_reason(KINDS[kinds[r]], its, weights[r], named))
                r += 1
            attrs = [
                new_attribution(
                    features[feats[y]], values[y], contribs[y], None if a_kinds[y] < 0 else KINDS[a_kinds[y]]
                )
                for y in range(x, x + n_attrs[n])
            ]
            x += n_attrs[n]
            base = bases[n]
            out[item] = Explanation(item, reasons, attrs, None if base != base else base)
        return out

    def _strings(self) -> tuple[list[str], list[str]]:
        """``features`` and ``terms`` as lists of Python strings (``str`` of each element), made on first use."""
        cached = self.__dict__.get("_string_lists")
        if cached is None:
            cached = ([str(x) for x in self.features], [str(x) for x in self.terms])
            object.__setattr__(self, "_string_lists", cached)  # a cache beside the frozen fields
        return cached

    # ------------------------------------------------------------------ files
    def save(self, path: Path) -> None:
        """Write ``path`` (npz, no pickle)."""
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        np.savez(
            path,
            allow_pickle=False,
            method=np.asarray(self.method),
            every_candidate=np.asarray(self.every_candidate),
            **arrays,
        )

    @classmethod
    def load(cls, path: Path, n_users: int) -> StoredExplanations:
        """Read ``path``; it must hold explanations of ``n_users`` users."""
        arrays = _map_npz(path)
        missing = [name for name in (*_ARRAYS, "method") if name not in arrays]
        if missing:
            raise StorageError(f"{path} is not a stored-explanations file: missing {', '.join(missing)}")
        every = bool(arrays["every_candidate"]) if "every_candidate" in arrays else False
        out = cls(
            method=str(arrays["method"]), every_candidate=every, **{name: arrays[name] for name in _ARRAYS}
        )
        if out.n_users != n_users or len(out.reason_ptr) != len(out.item) + 1:
            raise StorageError(
                f"{path} holds explanations of {out.n_users} users, but the model has {n_users}; "
                "retrain to rebuild them"
            )
        return out


#: what a damaged table's error says to do (it is an optimisation: without it every item is explained per request)
_FIX = "retrain the version, or remove the file to explain its items per request"


def _map_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an uncompressed ``.npz`` (as :meth:`StoredExplanations.save` writes it), each a read-only
    view of the file mapped once: the table of every stored candidate takes gigabytes, which the workers of a
    server then share, and a request reads only its user's pages. A compressed file is read whole."""
    import mmap
    import struct
    import zipfile

    from numpy.lib import format as npy

    from tuijian.models.artifacts import load_npz

    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except FileNotFoundError:
        raise StorageError(f"missing artifact file {path}") from None
    except zipfile.BadZipFile as exc:
        raise StorageError(f"{path} is not a stored-explanations file: {exc}; {_FIX}") from None
    if any(m.compress_type != zipfile.ZIP_STORED for m in members):
        return load_npz(path)
    out: dict[str, np.ndarray] = {}
    with open(path, "rb") as fh:
        # every page mapped now (Linux: MAP_POPULATE), not at a request's first touch: a page the kernel
        # reclaimed meanwhile would cost that request a read from disk (on Beauty's 2.7 GB table the p99 of
        # an explained request was 43 ms without, bench/RESULTS.md)
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        whole = mmap.mmap(fh.fileno(), 0, flags=flags, prot=mmap.PROT_READ)  # a zip file is never empty
        for m in members:
            try:
                fh.seek(m.header_offset + 26)
                name_len, extra_len = struct.unpack("<HH", fh.read(4))
                fh.seek(m.header_offset + 30 + name_len + extra_len)
                version = npy.read_magic(fh)
                read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
                shape, fortran, dtype = read_header(fh)
                if dtype.hasobject:
                    raise StorageError(f"{path} holds data that would need pickle to load; refusing")
                count = int(np.prod(shape, dtype=np.int64))
                arr = np.frombuffer(whole, dtype, count, fh.tell()) if count else np.zeros(0, dtype)
            except (ValueError, struct.error) as exc:
                raise StorageError(f"{path} is not a stored-explanations file: {exc}; {_FIX}") from None
            arr = arr.reshape(shape, order="F" if fortran else "C")
            arr.flags.writeable = False
            out[m.filename.removesuffix(".npy")] = arr
    return out


def _narrow(name: str, arr: np.ndarray, n_features: int) -> np.ndarray:
    """A part of a table's array in a narrower dtype where every value fits it: the ranker's feature values
    are float32 (NaN included), and feature ids fit int16; a part that does not fit stays as it is."""
    if name == "a_value":
        narrow = arr.astype(np.float32)
        if np.array_equal(narrow.astype(np.float64), arr, equal_nan=True):
            return narrow
    if name == "a_feature" and n_features <= np.iinfo(np.int16).max:
        return arr.astype(np.int16)
    return arr


class _Builder:
    """Appends explanations to the flat arrays of :class:`StoredExplanations`, as Python lists turned into
    arrays every :meth:`flush` (millions of explanations would not fit memory as Python objects)."""

    _DTYPES = {"user_ptr": np.int64, "item": np.int32, "base": np.float64, "reason_ptr": np.int64,
               "r_kind": np.int8, "r_weight": np.float64, "r_item_ptr": np.int64, "r_items": np.int32,
               "r_term_ptr": np.int64, "r_terms": np.int32, "attr_ptr": np.int64, "a_feature": np.int32,
               "a_value": np.float64, "a_contrib": np.float64, "a_kind": np.int8}  # fmt: skip
    _PTRS = ("user_ptr", "reason_ptr", "r_item_ptr", "r_term_ptr", "attr_ptr")

    def __init__(self) -> None:
        self.lists: dict[str, list[Any]] = {name: [0] if name in self._PTRS else [] for name in self._DTYPES}
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in self._DTYPES}
        self.done = dict.fromkeys(self._DTYPES, 0)  # entries of each array already flushed
        self.features: dict[str, int] = {}
        self.terms: dict[str, int] = {}

    def _n(self, name: str) -> int:
        return self.done[name] + len(self.lists[name])

    def add(self, e: Explanation) -> None:
        f = self.lists
        f["item"].append(int(e.item))
        f["base"].append(float("nan") if e.base_value is None else float(e.base_value))
        if e.reasons:
            r_items, r_terms, terms = f["r_items"], f["r_terms"], self.terms
            items_done, terms_done = self.done["r_items"], self.done["r_terms"]
            for r in e.reasons:
                f["r_kind"].append(_KIND_INDEX[r.kind])
                f["r_weight"].append(float(r.weight))
                if r.items:
                    r_items += [int(i) for i in r.items]
                f["r_item_ptr"].append(items_done + len(r_items))
                if r.terms:
                    r_terms += [terms.setdefault(t, len(terms)) for t in r.terms]
                f["r_term_ptr"].append(terms_done + len(r_terms))
        f["reason_ptr"].append(self._n("r_kind"))
        attrs = e.attributions
        if attrs:  # one pass per array (the same values as one loop appending to each)
            features = self.features
            f["a_feature"] += [features.setdefault(x.feature, len(features)) for x in attrs]
            f["a_value"] += [float(x.value) for x in attrs]
            f["a_contrib"] += [float(x.contribution) for x in attrs]
            f["a_kind"] += [-1 if x.kind is None else _KIND_INDEX[x.kind] for x in attrs]
        f["attr_ptr"].append(self._n("a_feature"))

    def end_user(self) -> None:
        self.lists["user_ptr"].append(self._n("item"))

    def flush(self) -> None:
        """Turn the lists gathered so far into arrays."""
        for name in self._DTYPES:
            values = self.lists[name]
            if values:
                self.parts[name].append(
                    _narrow(name, np.asarray(values, self._DTYPES[name]), len(self.features))
                )
                self.done[name] += len(values)
                self.lists[name] = []

    def nbytes(self) -> int:
        """About the bytes the table built now would take."""
        return sum(self._n(name) * np.dtype(dtype).itemsize for name, dtype in self._DTYPES.items())

    def build(self, method: str, every_candidate: bool = False) -> StoredExplanations:
        def strings(table: dict[str, int]) -> np.ndarray:
            return np.asarray(list(table), dtype=str) if table else np.zeros(0, dtype="<U1")

        self.flush()
        arrays = {  # parts of narrowed dtypes join in the widest of them (every value exact)
            name: np.concatenate(parts) if parts else _narrow(name, np.zeros(0, self._DTYPES[name]), 0)
            for name, parts in self.parts.items()
        }
        return StoredExplanations(
            method=method,
            features=strings(self.features),
            terms=strings(self.terms),
            every_candidate=every_candidate,
            **arrays,
        )


def explainable(model: Recommender) -> bool:
    """True when ``model`` explains its own items (:class:`~tuijian.explain.reasons.Explainable`)."""
    return callable(getattr(model, "explain", None))


def precompute_explanations(
    model: Recommender,
    top_lists: TopLists,
    per_user: int = EXPLAINED_PER_USER,
    budget_mb: float = BUDGET_MB,
) -> StoredExplanations:
    """Every trained user's explained requests answered now (see module docstring), with a progress log.

    A ranker's tail-rule lists (:attr:`TopLists.tail_base <tuijian.models.toplists.TopLists.tail_base>`)
    get the model's explanation of every stored candidate, while the table fits ``budget_mb``: a filtered
    request reaches deep into a user's list, and explaining even two items per request costs most of what
    ten do. Other lists, or when the table would not fit (judged on the first users), get the items of the
    first ``per_user`` of each user's served default list, as before."""
    from tuijian.explain.ranker import attribution_method
    from tuijian.models.pipeline import Pipeline

    if not explainable(model):
        raise StorageError(f"{type(model).__name__} does not explain its recommendations; nothing to store")
    pipeline = Pipeline(model, top_lists=top_lists)
    with attribution_method("path"):
        if top_lists.tail_base is not None and budget_mb > 0:
            stored = _explain(model, pipeline, top_lists, per_user, budget_mb)
            if stored is not None:
                return stored
        stored = _explain(model, pipeline, top_lists, per_user, None)
    assert stored is not None
    return stored


def _explain(
    model: Recommender, pipeline: Any, top_lists: TopLists, per_user: int, budget_mb: float | None
) -> StoredExplanations | None:
    """The table of :func:`precompute_explanations`: every stored candidate when ``budget_mb`` is given
    (``None`` once the first users show it would not fit), else the first ``per_user`` of the served list."""
    from tuijian.explain.pipeline import model_ranked

    explain = model.explain  # type: ignore[attr-defined]
    builder = _Builder()
    n_users = model.interactions_.n_users
    deep = budget_mb is not None
    candidates = int((top_lists.ids >= 0).sum()) if deep else 0
    check_at = min(1024, n_users)  # the size is judged on the first users
    started = last = time.perf_counter()
    for u in range(n_users):
        query = pipeline.user_query(u)
        if len(query.sequence):
            ranked = pipeline.recommend(query, per_user)  # as served: the scratch an explanation reads
            items = np.asarray(model_ranked(ranked), np.int64)
            if deep:  # and the default list's items outside the candidates (the tail rule's)
                row = top_lists.ids[u]
                row = row[row >= 0].astype(np.int64)
                items = np.concatenate([row, items[~np.isin(items, row)]])
            if len(items):
                for e in explain(Evidence.of(model, query), items):
                    builder.add(e)
        builder.end_user()
        if (u + 1) % 256 == 0:
            builder.flush()
        if budget_mb is not None and u + 1 == check_at:  # the deep table only
            done = int((top_lists.ids[: u + 1] >= 0).sum())
            mb = builder.nbytes() / max(done, 1) * candidates / 1e6
            if mb > budget_mb:
                log.info(
                    "every stored candidate's explanation would exceed the budget; storing the first "
                    "items of each user's list",
                    extra={"model": model.name, "mb": round(mb), "budget_mb": budget_mb},
                )
                return None
        now = time.perf_counter()
        if now - last > 10 or u + 1 == n_users:
            last = now
            log.info(
                "precomputing explanations",
                extra={"model": model.name, "users_done": u + 1, "users": n_users,
                       "every_candidate": deep, "seconds": round(now - started, 1)},
            )  # fmt: skip
    return builder.build("path", every_candidate=deep)
