"""Saving and loading fitted models as safe files: ``params.json`` + ``arrays.npz`` (never pickle).

A model directory holds

* ``params.json``: ``{"format": 1, "class": "module:Class", "name": ..., "params": {...}}``;
  the constructor arguments, which must be JSON values;
* ``arrays.npz``: the learned arrays (dense, or sparse as ``<key>.data/indices/indptr/shape``)
  and the training :class:`~tuijian.data.interactions.Interactions` (matrix, id maps, log),
  because ``recommend`` needs the training rows for ``exclude_seen`` and history.

Everything is read back with ``allow_pickle=False``. Models use :class:`NpzPersistence`
as a mixin and list their learned attributes in ``_persisted``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, ModelNotFoundError

FORMAT_VERSION = 1
_INTER = "__interactions__"


def _put_sparse(out: dict[str, np.ndarray], key: str, m: sp.spmatrix) -> None:
    m = sp.csr_matrix(m)
    out[f"{key}.data"] = m.data
    out[f"{key}.indices"] = m.indices
    out[f"{key}.indptr"] = m.indptr
    out[f"{key}.shape"] = np.asarray(m.shape, dtype=np.int64)


def _get_sparse(arrays: Any, key: str) -> sp.csr_matrix:
    shape = tuple(int(s) for s in arrays[f"{key}.shape"])
    return sp.csr_matrix(
        (arrays[f"{key}.data"], arrays[f"{key}.indices"], arrays[f"{key}.indptr"]), shape=shape
    )


def interactions_to_arrays(inter: Interactions, prefix: str = _INTER) -> dict[str, np.ndarray]:
    """Flatten an :class:`Interactions` into plain (non-object) numpy arrays."""
    out: dict[str, np.ndarray] = {}
    _put_sparse(out, f"{prefix}.matrix", inter.matrix)
    out[f"{prefix}.users"] = np.asarray(inter.users.ids, dtype=str)
    out[f"{prefix}.items"] = np.asarray(inter.items.ids, dtype=str)
    for col in inter.log.columns:
        values = inter.log[col].to_numpy()
        out[f"{prefix}.log.{col}"] = values.astype(str) if values.dtype == object else values
    return out


def interactions_from_arrays(arrays: Any, prefix: str = _INTER) -> Interactions:
    """Inverse of :func:`interactions_to_arrays`."""
    log_cols = [k[len(f"{prefix}.log.") :] for k in arrays.files if k.startswith(f"{prefix}.log.")]
    log = pd.DataFrame({c: arrays[f"{prefix}.log.{c}"] for c in log_cols})
    for c in log_cols:
        if log[c].dtype.kind == "U":
            log[c] = log[c].astype(object)
    return Interactions(
        matrix=_get_sparse(arrays, f"{prefix}.matrix").astype(np.float32),
        users=Vocabulary(arrays[f"{prefix}.users"].tolist()),
        items=Vocabulary(arrays[f"{prefix}.items"].tolist()),
        log=log,
    )


class NpzPersistence:
    """Mixin giving a :class:`~tuijian.models.base.Recommender` ``save(path)`` / ``load(path)``.

    Subclasses name their learned attributes (numpy arrays, scipy sparse matrices,
    or JSON-able scalars) in ``_persisted``.
    """

    _persisted: ClassVar[tuple[str, ...]] = ()

    def save(self, path: str) -> None:
        """Write the fitted model to directory ``path`` (created if missing)."""
        self._check_fitted()  # type: ignore[attr-defined]
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = interactions_to_arrays(self.interactions_)  # type: ignore[attr-defined]
        scalars: dict[str, Any] = {}
        for attr in self._persisted:
            value = getattr(self, attr)
            if sp.issparse(value):
                _put_sparse(arrays, attr, value)
            elif isinstance(value, np.ndarray):
                arrays[attr] = value
            else:
                scalars[attr] = value
        meta = {
            "format": FORMAT_VERSION,
            "class": f"{type(self).__module__}:{type(self).__qualname__}",
            "name": getattr(self, "name", ""),
            "params": self.get_params(),  # type: ignore[attr-defined]
            "scalars": scalars,
        }
        try:
            text = json.dumps(meta, indent=2, sort_keys=True)
        except TypeError as exc:
            raise ConfigError(
                f"{type(self).__name__} parameters must be JSON values to be saved: {exc}"
            ) from exc
        (directory / "params.json").write_text(text, encoding="utf-8")
        # numpy's stub declares allow_pickle: bool beside **kwds, so mypy rejects spreading a dict of arrays
        # (a key could be "allow_pickle"); ours are attribute names
        np.savez_compressed(directory / "arrays.npz", **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str) -> Self:
        """Read a model written by :meth:`save`."""
        directory = Path(path)
        meta_file, arr_file = directory / "params.json", directory / "arrays.npz"
        if not meta_file.is_file() or not arr_file.is_file():
            raise ModelNotFoundError(f"no saved model in {directory}: expected params.json and arrays.npz")
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        expected = f"{cls.__module__}:{cls.__qualname__}"
        if meta.get("class") != expected:
            raise ConfigError(f"{directory} holds a {meta.get('class')!r} model, not {expected!r}")
        if meta.get("format") != FORMAT_VERSION:
            raise ConfigError(
                f"{directory} has format {meta.get('format')!r}; this version reads {FORMAT_VERSION}"
            )
        model = cls(**meta["params"])
        with np.load(arr_file, allow_pickle=False) as arrays:
            inter = interactions_from_arrays(arrays)
            for attr in cls._persisted:
                if attr in meta["scalars"]:
                    setattr(model, attr, meta["scalars"][attr])
                elif f"{attr}.shape" in arrays.files:
                    setattr(model, attr, _get_sparse(arrays, attr))
                else:
                    setattr(model, attr, arrays[attr])
        model.interactions_ = inter  # type: ignore[attr-defined]
        model._seq_cache = None  # type: ignore[attr-defined]
        return model
