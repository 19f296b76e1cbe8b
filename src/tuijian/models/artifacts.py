"""Versioned model artifacts in safe formats, and the registry of saved versions.

Layout::

    <root>/<model_name>/<version>/
        config.json     name, class, params, dataset, protocol, created_at,
                        library version, chosen hyper-parameters (+ any meta)
        metrics.json    evaluation figures (whatever the caller measured)
        model/          the weights: npz (``allow_pickle=False``), JSON,
                        safetensors or LightGBM text; NEVER pickle
        toplists.npz    optional: each trained user's precomputed top list
                        (:mod:`tuijian.models.toplists`); versions without it
                        are served by full scoring
        explanations.npz  optional, with the top lists: the model's explanations of
                        each trained user's default request and, for a ranker's
                        lists, of every stored candidate (:mod:`tuijian.explain.stored`),
                        memory-mapped
        toplist_rows.npy  optional, with a ranker's top lists whose candidates are not
                        all explained: the feature row of every stored candidate
                        (``TopLists.rows``), memory-mapped

Versions are ``v0001``, ``v0002``...; ``"latest"`` is the highest. A version is
written to a temporary folder and renamed into place, so a crash never leaves a
half-written version behind.

Models either implement :class:`~tuijian.models.base.Persistable` themselves or
are saved generically by :func:`save_state`: every learned attribute (name ends
in ``_``) that is an array, a sparse matrix, an :class:`Interactions`, a
:class:`Vocabulary` or JSON-able data is written; anything else is refused with
a clear error rather than pickled.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, ModelNotFoundError, StorageError
from tuijian.models.base import Recommender

if TYPE_CHECKING:
    from tuijian.models.toplists import TopLists

_VERSION_RE = re.compile(r"^v(\d{4,})$")
STATE_FILE = "state.json"
ARRAYS_FILE = "arrays.npz"


# ---------------------------------------------------------------------- npz/JSON helpers
def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, tuple | set):
        return list(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as pretty UTF-8 JSON (numpy scalars converted)."""
    Path(path).write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=_json_default), encoding="utf-8"
    )


def read_json(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StorageError(f"missing artifact file {path}") from None
    except json.JSONDecodeError as exc:
        raise StorageError(f"corrupt JSON in {path}: {exc}") from None


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file; object arrays (which would need pickle) are refused."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise StorageError(f"missing artifact file {path}") from None
    except ValueError as exc:
        raise StorageError(f"{path} holds data that would need pickle to load; refusing: {exc}") from None


def _str_array(values: np.ndarray | list[str]) -> np.ndarray:
    """Strings as a fixed-width unicode array (loadable without pickle)."""
    arr = np.asarray([str(v) for v in values])
    return arr if arr.size else np.zeros(0, dtype="<U1")


def _pack_sparse(prefix: str, m: sp.spmatrix, out: dict[str, np.ndarray]) -> None:
    m = sp.csr_matrix(m)
    out[f"{prefix}.data"] = m.data
    out[f"{prefix}.indices"] = m.indices
    out[f"{prefix}.indptr"] = m.indptr
    out[f"{prefix}.shape"] = np.asarray(m.shape, dtype=np.int64)


def _unpack_sparse(prefix: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays[f"{prefix}.shape"])
    return sp.csr_matrix(
        (arrays[f"{prefix}.data"], arrays[f"{prefix}.indices"], arrays[f"{prefix}.indptr"]), shape=shape
    )


def _pack_interactions(prefix: str, inter: Interactions, out: dict[str, np.ndarray]) -> None:
    _pack_sparse(f"{prefix}.matrix", inter.matrix, out)
    out[f"{prefix}.users"] = _str_array(inter.users.ids)
    out[f"{prefix}.items"] = _str_array(inter.items.ids)
    log = inter.log
    for col in ("u", "i", "ts"):
        out[f"{prefix}.log.{col}"] = log[col].to_numpy(np.int64)
    for col in ("weight", "value"):
        if col in log.columns:
            out[f"{prefix}.log.{col}"] = log[col].to_numpy(np.float64)
    if "kind" in log.columns:
        out[f"{prefix}.log.kind"] = _str_array(log["kind"].astype(str).to_numpy())


def _unpack_interactions(prefix: str, arrays: dict[str, np.ndarray]) -> Interactions:
    log = pd.DataFrame({col: arrays[f"{prefix}.log.{col}"] for col in ("u", "i", "ts")})
    for col in ("kind", "value", "weight"):
        key = f"{prefix}.log.{col}"
        if key in arrays:
            log[col] = arrays[key].astype(object) if col == "kind" else arrays[key]
    return Interactions(
        matrix=_unpack_sparse(f"{prefix}.matrix", arrays).astype(np.float32),
        users=Vocabulary(arrays[f"{prefix}.users"].tolist()),
        items=Vocabulary(arrays[f"{prefix}.items"].tolist()),
        log=log,
    )


# ---------------------------------------------------------------------- generic model state
def save_state(model: Recommender, path: str | Path) -> None:
    """Write a fitted model's params and learned attributes to ``path`` (npz + JSON, no pickle)."""
    model._check_fitted()
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    attrs: dict[str, dict[str, Any]] = {}
    for key, value in vars(model).items():
        if not key.endswith("_") or key.startswith("_"):
            continue
        if isinstance(value, Interactions):
            _pack_interactions(key, value, arrays)
            attrs[key] = {"kind": "interactions"}
        elif isinstance(value, Vocabulary):
            arrays[key] = _str_array(value.ids)
            attrs[key] = {"kind": "vocabulary"}
        elif sp.issparse(value):
            _pack_sparse(key, value, arrays)
            attrs[key] = {"kind": "sparse", "format": value.format}
        elif isinstance(value, np.ndarray):
            if value.dtype == object:
                raise StorageError(
                    f"{type(model).__name__}.{key} is an object array; it cannot be saved without pickle"
                )
            arrays[key] = value
            attrs[key] = {"kind": "array"}
        else:
            try:
                json.dumps(value, default=_json_default)
            except TypeError:
                raise StorageError(
                    f"{type(model).__name__}.{key} ({type(value).__name__}) has no safe file format; "
                    "implement save()/load() for this model"
                ) from None
            attrs[key] = {"kind": "json", "value": value}
    state = {
        "class": f"{type(model).__module__}:{type(model).__qualname__}",
        "name": model.name,
        "params": model.get_params(),
        "attributes": attrs,
    }
    np.savez(path / ARRAYS_FILE, **arrays)  # type: ignore[arg-type]
    write_json(path / STATE_FILE, state)


def load_state(cls: type[Recommender], path: str | Path) -> Recommender:
    """Rebuild a model saved by :func:`save_state` (``cls(**params)`` + learned attributes)."""
    path = Path(path)
    state = read_json(path / STATE_FILE)
    expected = f"{cls.__module__}:{cls.__qualname__}"
    if state.get("class") != expected:
        raise StorageError(f"{path} holds a {state.get('class')!r}, not a {expected!r}")
    arrays = load_npz(path / ARRAYS_FILE)
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in state["params"].items()}
    model = cls(**params)
    for key, spec in state["attributes"].items():
        kind = spec["kind"]
        if kind == "interactions":
            value: Any = _unpack_interactions(key, arrays)
        elif kind == "vocabulary":
            value = Vocabulary(arrays[key].tolist())
        elif kind == "sparse":
            value = _unpack_sparse(key, arrays)
            value = value.asformat(spec.get("format", "csr"))
        elif kind == "array":
            value = arrays[key]
        else:
            value = spec["value"]
        setattr(model, key, value)
    model._seq_cache = None
    after = getattr(model, "_after_load", None)
    if callable(after):
        after()
    return model


# ---------------------------------------------------------------------- versions
def _versions(model_dir: Path) -> list[str]:
    if not model_dir.is_dir():
        return []
    found = [
        (int(m.group(1)), p.name)
        for p in model_dir.iterdir()
        if p.is_dir() and (m := _VERSION_RE.match(p.name))
    ]
    return [name for _, name in sorted(found)]


def save_model(
    model: Recommender,
    root: str | Path,
    *,
    metrics: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    hyperparameters: dict[str, Any] | None = None,
    top_lists: TopLists | None = None,
) -> str:
    """Save a fitted model as the next version under ``<root>/<model.name>/``; returns the version.

    ``meta`` may carry ``dataset``, ``protocol`` and anything else worth keeping;
    ``hyperparameters`` are the settings chosen by a search (see :mod:`tuning`);
    ``top_lists`` (precomputed for serving) are written beside the model as ``toplists.npz``.
    """
    import tuijian

    if not model.name:
        raise ConfigError(f"{type(model).__name__} has no registry name; set the class attribute `name`")
    model._check_fitted()
    if top_lists is not None and (
        top_lists.n_users != model.interactions_.n_users or top_lists.n_items != model.n_items
    ):
        raise ConfigError(
            f"top lists of {top_lists.n_users} users x {top_lists.n_items} items do not fit the model "
            f"({model.interactions_.n_users} x {model.n_items})"
        )
    model_dir = Path(root) / model.name
    model_dir.mkdir(parents=True, exist_ok=True)
    meta = dict(meta or {})
    tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=model_dir))
    try:
        if hasattr(model, "save") and callable(model.save):
            model.save(str(tmp / "model"))
        else:
            save_state(model, tmp / "model")
        config = {
            "name": model.name,
            "class": f"{type(model).__module__}:{type(model).__qualname__}",
            "params": model.get_params(),
            "hyperparameters": hyperparameters or {},
            "dataset": meta.pop("dataset", None),
            "protocol": meta.pop("protocol", None),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "tuijian_version": tuijian.__version__,
            "n_users": model.interactions_.n_users,
            "n_items": model.interactions_.n_items,
            "meta": meta,
        }
        if top_lists is not None:
            from tuijian.models.toplists import FILE

            top_lists.save(tmp / FILE)
            config["top_lists"] = {"file": FILE, "n": top_lists.n, "scored": top_lists.scored}
            if top_lists.explained is not None:  # tuijian.explain.stored
                from tuijian.explain.stored import FILE as EXPLAINED

                top_lists.explained.save(tmp / EXPLAINED)
                config["top_lists"]["explained"] = EXPLAINED
        write_json(tmp / "config.json", config)
        write_json(tmp / "metrics.json", metrics or {})
        for _ in range(100):  # another writer may take the same number: retry with the next
            existing = _versions(model_dir)
            number = int(existing[-1][1:]) + 1 if existing else 1
            version = f"v{number:04d}"
            try:
                os.rename(tmp, model_dir / version)
                return version
            except OSError:
                continue
        raise StorageError(f"could not allocate a new version under {model_dir}")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def resolve_version(root: str | Path, name: str, version: str = "latest") -> Path:
    """The folder of ``name``/``version`` (``"latest"`` = highest); clear error if absent."""
    model_dir = Path(root) / name
    versions = _versions(model_dir)
    if not versions:
        raise ModelNotFoundError(
            f"no saved versions of model {name!r} under {Path(root)}; run `tuijian train` first"
        )
    if version == "latest":
        return model_dir / versions[-1]
    if version not in versions:
        raise ModelNotFoundError(
            f"model {name!r} has no version {version!r}; saved versions: {', '.join(versions)}"
        )
    return model_dir / version


def load_model(root: str | Path, name: str, version: str = "latest") -> Recommender:
    """Load a saved model by registry name and version."""
    from tuijian.models.registry import model_class

    folder = resolve_version(root, name, version)
    cls = model_class(name)
    load = getattr(cls, "load", None)
    if callable(load):
        return load(str(folder / "model"))
    return load_state(cls, folder / "model")


def load_top_lists(
    root: str | Path, name: str, version: str = "latest", model: Recommender | None = None
) -> TopLists | None:
    """The precomputed top lists of a saved version, or ``None`` when it has none (older versions).

    ``model`` (the version's loaded model, else loaded here) checks that the lists fit it.
    """
    from tuijian.models.toplists import FILE, TopLists

    folder = resolve_version(root, name, version)
    if not (folder / FILE).is_file():
        return None
    model = model if model is not None else load_model(root, name, version)
    lists = TopLists.load(folder / FILE, model)
    from tuijian.explain.stored import FILE as EXPLAINED
    from tuijian.explain.stored import StoredExplanations

    if (folder / EXPLAINED).is_file():  # explanations made with the lists (tuijian.explain.stored)
        stored = StoredExplanations.load(folder / EXPLAINED, model.interactions_.n_users)
        lists = dataclasses.replace(lists, explained=stored)
    return lists


def read_config(root: str | Path, name: str, version: str = "latest") -> dict[str, Any]:
    """``config.json`` plus ``metrics`` (from ``metrics.json``) and ``version`` of a saved model."""
    folder = resolve_version(root, name, version)
    config = read_json(folder / "config.json")
    config["metrics"] = read_json(folder / "metrics.json")
    config["version"] = folder.name
    return config


def list_versions(root: str | Path) -> pd.DataFrame:
    """One row per saved version under ``root``: name, version, created_at, dataset, protocol, metrics."""
    rows: list[dict[str, Any]] = []
    root = Path(root)
    if root.is_dir():
        for model_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for version in _versions(model_dir):
                try:
                    cfg = read_json(model_dir / version / "config.json")
                    metrics = read_json(model_dir / version / "metrics.json")
                except StorageError as exc:
                    rows.append({"name": model_dir.name, "version": version, "error": str(exc)})
                    continue
                rows.append(
                    {
                        "name": model_dir.name,
                        "version": version,
                        "created_at": cfg.get("created_at"),
                        "dataset": cfg.get("dataset"),
                        "protocol": cfg.get("protocol"),
                        "hyperparameters": cfg.get("hyperparameters") or {},
                        "metrics": metrics,
                    }
                )
    cols = ["name", "version", "created_at", "dataset", "protocol", "hyperparameters", "metrics"]
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=cols + [c for c in frame.columns if c not in cols])
