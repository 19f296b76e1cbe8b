"""Decision-path contributions of a LightGBM ensemble: how the hybrid's ranker score splits over its features.

Walking an item from each tree's root to its leaf, every split moves the node value from the parent's to the
child's, and that change is credited to the split's feature (Saabas; what ``treeinterpreter`` computes). The
values telescope, so a row's contributions plus the trees' root values add up to its score exactly. The credit
depends only on the leaf reached, so :class:`PathAttributor` precomputes it per leaf from
``Booster.dump_model()``, and a request costs finding each row's leaf in every tree (:class:`_LeafIndex`,
LightGBM's single-row C API) and summing those leaves' rows.

:func:`contributions` is the booster-level API the explanations use (:mod:`tuijian.explain.ranker` maps the
contributions to shopper reasons): the hybrid's boosters averaged exactly as its score averages them, by
decision paths (``"path"``, served) or by exact TreeSHAP (``"shap"``, LightGBM's ``pred_contrib``).
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tuijian.models.hybrid import HybridRecommender

#: how ranker scores are split over features: ``"path"`` (served; decision-path contributions, one sparse
#: lookup per tree) or ``"shap"`` (exact TreeSHAP, LightGBM's ``pred_contrib``; 20-40 ms per booster for
#: ten items, used by the benchmark and the dashboard)
METHODS = ("path", "shap")


class PathAttributor:
    """Decision-path contributions of a LightGBM ensemble (Saabas; what ``treeinterpreter`` computes).

    Walking an item down a tree from the root to its leaf, every split moves the node value from the
    parent's to the child's; that change is credited to the split's feature. The values telescope, so
    ``score = sum of root values + sum of contributions`` exactly, like TreeSHAP; unlike TreeSHAP, the credit
    depends only on the leaf reached, so it is precomputed per leaf (a sparse ``leaves x features`` matrix)
    and an item's contributions are its leaves' rows summed: one ``pred_leaf`` call and one sparse product.
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
        #: leaves x features (dense: a few thousand leaves x tens of features; one gather per request)
        self.leaf_contrib = contrib.toarray()
        self._leaves = _LeafIndex(booster, n_features)

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        """``(rows, n_features + 1)`` contributions, the last column the base value."""
        leaves = self._leaves(feats)
        # trees x rows: one gather of (trees, rows, features) summed over the trees, tree after tree (the same
        # sequential float64 sums as summing (rows, trees, features) over axis 1, a third less time)
        by_tree = np.ascontiguousarray(leaves.T) + self.offsets[: leaves.shape[1], None]
        out = np.empty((len(feats), self.leaf_contrib.shape[1] + 1))
        out[:, :-1] = self.leaf_contrib[by_tree].sum(axis=0)
        out[:, -1] = self.base
        return out


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
            _LIB.LGBM_BoosterPredictForMatSingleRowFast  # noqa: B018 - present in LightGBM >= 3.2
        except (ImportError, AttributeError):
            self._api = None

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        """``(rows, trees)`` int64 leaf indices."""
        dtype = np.dtype(feats.dtype)
        if self._api is None or len(feats) > self.FAST_ROWS or dtype not in self._DTYPES:
            leaves = np.asarray(self.booster.predict(feats, pred_leaf=True, num_threads=1), np.int64)
            return leaves.reshape(len(feats), -1)
        lib = self._api[0]
        config = self._config(dtype)
        rows = np.ascontiguousarray(feats)
        out = np.empty((len(rows), self.n_trees), dtype=np.float64)
        n_out = ctypes.c_int64(0)
        step_in, step_out = rows.strides[0], out.strides[0]
        base_in, base_out = rows.ctypes.data, out.ctypes.data
        predict = lib.LGBM_BoosterPredictForMatSingleRowFast
        for r in range(len(rows)):
            if predict(
                config,
                ctypes.c_void_p(base_in + r * step_in),
                ctypes.byref(n_out),
                ctypes.c_void_p(base_out + r * step_out),
            ):
                self._api[2](-1)  # raises LightGBM's last error
        return out.astype(np.int64)

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
    out = np.zeros((len(feats), feats.shape[1] + 1), dtype=np.float64)
    if method == "shap":
        for booster in model.boosters_:
            out += booster.predict(feats, pred_contrib=True, num_threads=1)
        return out / len(model.boosters_)
    attributors = getattr(model, "_path_attributors", None)
    if attributors is None or len(attributors) != len(model.boosters_):
        attributors = [PathAttributor(b, feats.shape[1]) for b in model.boosters_]
        model._path_attributors = attributors  # type: ignore[attr-defined]  # built once per loaded model
    for attributor in attributors:
        out += attributor(feats)
    return out / len(model.boosters_)
