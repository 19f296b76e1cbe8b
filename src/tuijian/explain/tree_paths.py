"""Decision-path contributions of a LightGBM ensemble: how the hybrid's ranker score splits over its features.

Walking an item from each tree's root to its leaf, every split moves the node value from the parent's to the
child's, and that change is credited to the split's feature (Saabas; what ``treeinterpreter`` computes). The
values telescope, so a row's contributions plus the trees' root values add up to its score exactly. The credit
depends only on the leaf reached, so :class:`PathAttributor` precomputes it per leaf from
``Booster.dump_model()`` (a sparse ``leaves x features`` table, five or six features per leaf), and a request
costs finding each row's leaf in every tree (:class:`_LeafIndex`, LightGBM's single-row C API) and summing
those leaves' rows, tree after tree (:class:`PathEnsemble`, all boosters of the hybrid at once).

:func:`contributions` is the booster-level API the explanations use (:mod:`tuijian.explain.ranker` maps the
contributions to shopper reasons): the hybrid's boosters averaged exactly as its score averages them, by
decision paths (``"path"``, served) or by exact TreeSHAP (``"shap"``, LightGBM's ``pred_contrib``).
"""

from __future__ import annotations

import ctypes
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tuijian.models.hybrid import HybridRecommender

log = logging.getLogger("tuijian.explain")

#: how ranker scores are split over features: ``"path"`` (served; decision-path contributions, one sparse
#: lookup per tree) or ``"shap"`` (exact TreeSHAP, LightGBM's ``pred_contrib``; 20-40 ms per booster for
#: ten items, used by the benchmark and the dashboard)
METHODS = ("path", "shap")


class PathAttributor:
    """Decision-path contributions of one LightGBM booster (Saabas; what ``treeinterpreter`` computes).

    Walking an item down a tree from the root to its leaf, every split moves the node value from the
    parent's to the child's; that change is credited to the split's feature. The values telescope, so
    ``score = sum of root values + sum of contributions`` exactly, like TreeSHAP; unlike TreeSHAP, the credit
    depends only on the leaf reached, so it is precomputed per leaf (:attr:`leaf_contrib`, a sparse ``leaves x
    features`` matrix) and an item's contributions are its leaves' rows summed (:class:`PathEnsemble`).
    """

    def __init__(self, booster: Any, n_features: int) -> None:
        import scipy.sparse as sp

        dump = booster.dump_model()
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        offsets: list[int] = []
        base = 0.0
        total = 0
        for tree in dump["tree_info"]:
            offsets.append(total)
            total += int(tree["num_leaves"])
            root = tree["tree_structure"]
            if "leaf_index" in root or "leaf_value" in root and "split_feature" not in root:
                base += float(root.get("leaf_value", 0.0))
                continue
            base += float(root["internal_value"])
            stack: list[tuple[dict[str, Any], dict[int, float]]] = [(root, {})]
            while stack:
                node, path = stack.pop()
                value = float(node["internal_value"])
                f = int(node["split_feature"])
                for side in ("left_child", "right_child"):
                    child = node[side]
                    child_value = float(
                        child["leaf_value"] if "leaf_index" in child else child["internal_value"]
                    )
                    p = dict(path)
                    p[f] = p.get(f, 0.0) + child_value - value
                    if "leaf_index" in child:
                        leaf = offsets[-1] + int(child["leaf_index"])
                        rows += [leaf] * len(p)
                        cols += list(p)
                        vals += list(p.values())
                    else:
                        stack.append((child, p))
        self.booster = booster
        self.base = base
        self.offsets = np.asarray(offsets, np.int64)
        contrib = sp.csr_matrix((vals, (rows, cols)), shape=(total, n_features), dtype=np.float64)
        # Exact zeros are dropped: adding 0.0 never changes these sums (a credit is (sum so far + child) -
        # parent, starting from +0.0, so never -0.0, and neither is a partial sum of them).
        contrib.eliminate_zeros()
        #: leaves x features (CSR, canonical: one entry per feature on the leaf's path, sorted)
        self.leaf_contrib = contrib
        self._leaves = _LeafIndex(booster, n_features)
        self._alone: PathEnsemble | None = None

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        """``(rows, n_features + 1)`` contributions, the last column the base value."""
        if self._alone is None:
            self._alone = PathEnsemble([self])
        return self._alone(feats)


def _csr_kernels() -> tuple[Any, Any] | None:
    """scipy's compiled ``csr_matmat`` and ``csr_todense`` (``scipy.sparse._sparsetools``, private: what
    ``A @ B`` and ``toarray`` run), or ``None`` where this scipy lacks them (the sums then take numpy's dense
    gather, as they do where a :class:`PathEnsemble`'s check of the kernels against it fails)."""
    try:
        from scipy.sparse import _sparsetools

        return _sparsetools.csr_matmat, _sparsetools.csr_todense
    except (ImportError, AttributeError):
        return None


_KERNELS = _csr_kernels()


class PathEnsemble:
    """The decision-path contributions of boosters whose scores are averaged (the hybrid's ranker):
    ``(rows, n_features + 1)``, the last column the base value, each booster's contributions summed tree after
    tree in float64 and the boosters' added one after another, then divided by their number, bit for bit what
    summing each booster's dense ``(trees, rows, features)`` gather of :attr:`PathAttributor.leaf_contrib` over
    the trees and averaging gives (``tests/explain/test_tree_paths.py``).

    A row of a request touches a leaf in every tree (about 500 for the served hybrid), and a leaf credits
    five or six of the 45 features: the sums run over those entries only, in one pass of scipy's CSR product
    kernel (``(row, booster) x leaves`` incidence times the stacked leaf tables, each product ``1.0 * credit``,
    each sum started at 0.0 and added in the incidence row's order, the trees' order; adding the absent
    entries' 0.0 would change nothing) and one of its dense conversion, which adds a row's booster blocks into
    the output in booster order, as :func:`contributions` used to add the boosters' arrays. The kernels are
    scipy's private ones, so each ensemble checks them once against numpy's dense sums on its own leaves and
    takes numpy's (about twice the time) if they fail or differ in a bit. The leaves of all boosters land in
    one buffer, one C call per row and booster (:class:`_LeafIndex`).
    """

    #: leaf cells (rows x trees) from which the kernels' positions take 64 bits
    _INT32_CELLS = 2**31 - 1

    def __init__(self, attributors: list[PathAttributor]) -> None:
        import scipy.sparse as sp

        if not attributors:
            raise ValueError("PathEnsemble needs at least one booster")
        self.attributors = list(attributors)
        self.n_features = int(attributors[0].leaf_contrib.shape[1])
        for a in attributors:
            if a._leaves.n_trees != len(a.offsets) or a.leaf_contrib.shape[1] != self.n_features:
                raise ValueError("a booster's dumped trees or features differ from the others' or its own")
        table = sp.vstack([a.leaf_contrib for a in attributors], format="csr")
        index = np.int32 if max(table.nnz, table.shape[0]) < self._INT32_CELLS else np.int64
        self._indptr = np.ascontiguousarray(table.indptr, index)
        self._indices = np.ascontiguousarray(table.indices, index)
        self._data = np.ascontiguousarray(table.data, np.float64)
        firsts = np.cumsum([0] + [a.leaf_contrib.shape[0] for a in attributors])[:-1]
        #: per tree of every booster, in order, the table row of its leaf 0
        self._tree_leaf = np.concatenate([a.offsets + f for a, f in zip(attributors, firsts, strict=True)])
        self._tree_leaf = self._tree_leaf.astype(index)
        ends = np.cumsum([len(a.offsets) for a in attributors]).tolist()
        #: per booster, its trees' columns ``[lo, hi)`` in the leaf buffer
        self._spans = list(zip([0, *ends[:-1]], ends, strict=True))
        self.n_trees = ends[-1]
        self._dense: list[np.ndarray] | None = None  # the leaf tables as arrays, for the numpy sums only
        self.base = 0.0
        for a in attributors:  # the boosters' bases added one after another, as their columns are
            self.base += a.base
        # per row and booster, where its leaves start in the row-major leaf buffer, for up to FAST_ROWS rows
        # (a request's rows: sliced, not rebuilt); past them built per call
        self._blocks = self._block_starts(_LeafIndex.FAST_ROWS)
        self._ones = np.ones(_LeafIndex.FAST_ROWS * self.n_trees)
        for shared in (self._indptr, self._indices, self._data, self._tree_leaf, self._blocks, self._ones):
            shared.flags.writeable = False  # read by every thread's calls
        self._kernels = self._checked(_KERNELS)
        if self._kernels is not None:
            self._dense = None  # the check's dense tables: not needed while the kernels serve

    def serves(self, boosters: list[Any]) -> bool:
        """Whether this ensemble is of exactly ``boosters`` (the same objects, in order)."""
        return len(boosters) == len(self.attributors) and all(
            a.booster is b for a, b in zip(self.attributors, boosters, strict=True)
        )

    def _checked(self, kernels: tuple[Any, Any] | None) -> tuple[Any, Any] | None:
        """``kernels`` if they give numpy's dense sums bit for bit on a few rows of leaves that visit every leaf
        of every tree, else ``None``."""
        if kernels is None:
            return None
        sizes = np.concatenate([np.diff(a.offsets, append=a.leaf_contrib.shape[0]) for a in self.attributors])
        leaves = (np.arange(int(sizes.max()))[:, None] % sizes).astype(np.float64)
        want = np.zeros((len(leaves), self.n_features + 1))
        self._dense_sums(leaves, want)
        got = np.zeros_like(want)
        try:
            self._sparse_sums(leaves, got, kernels)
        except Exception:  # a scipy whose private kernels changed: numpy's sums, which these replace
            log.warning("scipy's CSR kernels failed on the decision-path sums; using numpy's", exc_info=True)
            return None
        if not np.array_equal(got.view(np.int64), want.view(np.int64)):
            log.warning("scipy's CSR kernels differ from numpy's decision-path sums; using numpy's")
            return None
        return kernels

    def _block_starts(self, n_rows: int) -> np.ndarray:
        """``(n_rows * boosters + 1,)``: the start of row ``r``'s booster ``b`` leaves at ``r * boosters + b``."""
        starts = np.asarray([lo for lo, _ in self._spans], np.int64)
        rows = np.arange(n_rows + 1, dtype=np.int64)[:, None] * self.n_trees
        return (rows + starts).ravel()[: n_rows * len(self._spans) + 1].astype(self._indptr.dtype)

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        """``(rows, n_features + 1)``: the boosters' mean contributions, the last column the mean base value."""
        n = len(feats)
        out = np.zeros((n, self.n_features + 1))
        if n:
            rows = np.ascontiguousarray(feats)
            leaves = np.empty((n, self.n_trees))
            for a, (lo, hi) in zip(self.attributors, self._spans, strict=True):
                a._leaves.fill(rows, leaves[:, lo:hi])
            if _KERNELS is None or self._kernels is None:
                self._dense_sums(leaves, out)
            else:
                self._sparse_sums(leaves, out, self._kernels)
        out[:, -1] = self.base
        if len(self.attributors) > 1:
            out /= len(self.attributors)
        return out

    def _sparse_sums(self, leaves: np.ndarray, out: np.ndarray, kernels: tuple[Any, Any]) -> None:
        """Adds each row's leaves' credits into ``out[:, :-1]`` (zeros), booster by booster: see the class."""
        matmat, todense = kernels
        index = self._indptr.dtype
        indptr, indices, tree_leaf = self._indptr, self._indices, self._tree_leaf
        n, n_boosters, n_features = len(leaves), len(self.attributors), self.n_features
        if n <= _LeafIndex.FAST_ROWS:
            blocks, ones = self._blocks[: n * n_boosters + 1], self._ones[: n * self.n_trees]
        else:
            if n * self.n_trees >= self._INT32_CELLS:  # millions of rows: 64-bit positions throughout
                index = np.dtype(np.int64)
                indptr, indices, tree_leaf = (x.astype(index) for x in (indptr, indices, tree_leaf))
            blocks, ones = self._block_starts(n).astype(index), np.ones(n * self.n_trees)
        cells = leaves.astype(index)  # leaf numbers within each tree: small non-negative integers, exact
        cells += tree_leaf
        n_blocks = n * n_boosters
        sum_ptr = np.empty(n_blocks + 1, index)
        sum_col = np.empty(n_blocks * n_features, index)  # at most every feature of every block
        sum_val = np.empty(n_blocks * n_features)
        matmat(
            n_blocks,
            n_features,
            blocks,
            cells.reshape(-1),
            ones,
            indptr,
            indices,
            self._data,
            sum_ptr,
            sum_col,
            sum_val,
        )
        # row r's blocks are r * boosters ... r * boosters + boosters - 1: one row of ``out`` each
        todense(n, n_features + 1, np.ascontiguousarray(sum_ptr[::n_boosters]), sum_col, sum_val, out)

    def _dense_sums(self, leaves: np.ndarray, out: np.ndarray) -> None:
        """:meth:`_sparse_sums` by numpy: per booster a dense ``(trees, rows, features)`` gather summed over the
        trees (numpy adds axis 0 of a C-contiguous array slice after slice), added to ``out``."""
        if self._dense is None:
            self._dense = [a.leaf_contrib.toarray() for a in self.attributors]
        for a, dense, (lo, hi) in zip(self.attributors, self._dense, self._spans, strict=True):
            by_tree = leaves[:, lo:hi].T.astype(np.intp, order="C") + a.offsets[:, None]
            out[:, :-1] += dense[by_tree].sum(axis=0)


class _LeafIndex:
    """Each row's leaf in every tree of a booster (``Booster.predict(pred_leaf=True)``), for the few rows of
    one request: LightGBM's single-row C API with its predictor set up once per thread
    (``LGBM_BoosterPredictForMatSingleRowFast``), instead of ``predict``, which builds a predictor on every
    call (about a third of a request's attribution cost). Many rows, or a LightGBM without that API, take
    ``predict``; both walk the same trees, so the leaves are the same (``tests/explain/test_tree_paths.py``)."""

    #: rows at most answered one by one; more take one ``predict`` call
    FAST_ROWS = 64
    _PREDICT_LEAF_INDEX = 2  # C_API_PREDICT_LEAF_INDEX
    _DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}  # C_API_DTYPE_FLOAT32 / FLOAT64

    def __init__(self, booster: Any, n_features: int) -> None:
        self.booster = booster
        self.n_features = n_features
        self.n_trees = int(booster.num_trees())
        self._local = threading.local()
        try:
            from lightgbm.basic import _LIB, _c_str, _safe_call

            self._api: tuple[Any, Any, Any] | None = (_LIB, _c_str, _safe_call)
            # a private prototype of the call (present in LightGBM >= 3.2): its four pointers passed as plain
            # integers, with no ctypes objects made per row (LightGBM's own _LIB function stays as it is)
            signature = ctypes.CFUNCTYPE(ctypes.c_int, *[ctypes.c_void_p] * 4)
            self._fast: Any = signature(("LGBM_BoosterPredictForMatSingleRowFast", _LIB))
        except (ImportError, AttributeError):
            self._api = None

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        """``(rows, trees)`` int64 leaf indices."""
        if not self._fast_rows(feats):
            leaves = np.asarray(self.booster.predict(feats, pred_leaf=True, num_threads=1), np.int64)
            return leaves.reshape(len(feats), -1)
        out = np.empty((len(feats), self.n_trees))
        self._fill_fast(np.ascontiguousarray(feats), out)
        return out.astype(np.int64)

    def fill(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Writes the leaves of C-contiguous ``rows`` into ``out``, ``(rows, trees)`` float64 with contiguous
        rows (a column slice of a larger buffer is fine), as the C API writes them."""
        if self._fast_rows(rows):
            self._fill_fast(rows, out)
        else:
            leaves = self.booster.predict(rows, pred_leaf=True, num_threads=1)
            out[:] = np.asarray(leaves).reshape(len(rows), -1)

    def _fast_rows(self, feats: np.ndarray) -> bool:
        return self._api is not None and len(feats) <= self.FAST_ROWS and feats.dtype in self._DTYPES

    def _fill_fast(self, rows: np.ndarray, out: np.ndarray) -> None:
        config = self._config(rows.dtype).value
        n_out = ctypes.c_int64(0)
        n_addr = ctypes.addressof(n_out)
        fast = self._fast
        n = len(rows)
        # a single row's stride may be anything (numpy's relaxed strides): only its first address is used
        step_in, step_out = rows.strides[0] or 1, out.strides[0] or 1
        first_in, first_out = rows.ctypes.data, out.ctypes.data
        in_rows = range(first_in, first_in + n * step_in, step_in)
        for row, dest in zip(in_rows, range(first_out, first_out + n * step_out, step_out), strict=True):
            if fast(config, row, n_addr, dest):
                self._api[2](-1)  # type: ignore[index]  # raises LightGBM's last error

    def _config(self, dtype: np.dtype) -> ctypes.c_void_p:
        """This thread's fast-predict configuration for input ``dtype`` (made once, freed with the object)."""
        configs = self._local.__dict__.setdefault("configs", {})
        config = configs.get(dtype)
        if config is None:
            lib, c_str, safe_call = self._api  # type: ignore[misc]
            config = ctypes.c_void_p()
            safe_call(
                lib.LGBM_BoosterPredictForMatSingleRowFastInit(
                    self.booster._handle,
                    ctypes.c_int(self._PREDICT_LEAF_INDEX),
                    ctypes.c_int(0),  # start iteration
                    ctypes.c_int(-1),  # all iterations
                    ctypes.c_int(self._DTYPES[dtype]),
                    ctypes.c_int32(self.n_features),
                    c_str("num_threads=1"),
                    ctypes.byref(config),
                )
            )
            weakref.finalize(self, lib.LGBM_FastConfigFree, config)
            configs[dtype] = config
        return config


def contributions(model: HybridRecommender, feats: np.ndarray, method: str = "path") -> np.ndarray:
    """Per-feature contributions, ``(rows, n_features + 1)`` (last column: the base value), averaged over the
    hybrid's boosters exactly as its score is: each row sums to ``model._predict(feats)`` (see :data:`METHODS`)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "shap":
        out = np.zeros((len(feats), feats.shape[1] + 1), dtype=np.float64)
        for booster in model.boosters_:
            out += booster.predict(feats, pred_contrib=True, num_threads=1)
        return out / len(model.boosters_)
    ensemble = getattr(model, "_path_ensemble", None)
    if ensemble is None or not ensemble.serves(model.boosters_):
        ensemble = PathEnsemble([PathAttributor(b, feats.shape[1]) for b in model.boosters_])
        model._path_ensemble = ensemble  # type: ignore[attr-defined]  # built once per loaded model
    return ensemble(feats)
