"""The user x item interaction matrix that every model trains on.

An :class:`Interactions` holds

* ``matrix``: a CSR ``users x items`` float32 matrix of aggregated weights,
* ``users`` / ``items``: :class:`Vocabulary` id maps,
* ``log``: the underlying event log with dense ``u``/``i`` indices, ``ts`` (int64
  seconds), ``weight`` and ``kind`` columns, sorted by user then time. Sequential
  models read per-user sequences from it; evaluation splits slice it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.schema import DEFAULT_EVENT_WEIGHTS
from tuijian.data.vocabulary import Vocabulary
from tuijian.exceptions import ConfigError, SchemaError

Aggregation = str  # "sum" | "max" | "binary"


@dataclass(frozen=True)
class WeightConfig:
    """How events turn into matrix weights.

    ``kind_weights`` maps event kind to weight (purchase > cart > click > view by
    default). ``use_value`` multiplies by the event's value (quantity/rating)
    after ``log1p`` damping. ``half_life_days`` applies exponential time decay
    relative to the newest event. ``aggregation`` combines repeated user-item
    pairs: ``sum``, ``max`` or ``binary`` (1.0 if any).
    """

    kind_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    use_value: bool = False
    half_life_days: float | None = None
    aggregation: Aggregation = "sum"

    def __post_init__(self) -> None:
        if self.aggregation not in ("sum", "max", "binary"):
            raise ConfigError(f"aggregation must be 'sum', 'max' or 'binary', got {self.aggregation!r}")
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise ConfigError(f"half_life_days must be > 0, got {self.half_life_days}")


BINARY = WeightConfig(aggregation="binary")


@dataclass(frozen=True)
class Interactions:
    matrix: sp.csr_matrix
    users: Vocabulary
    items: Vocabulary
    log: pd.DataFrame  # columns u, i, ts, weight, kind (+ value)

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    def __repr__(self) -> str:
        return f"Interactions(users={self.n_users}, items={self.n_items}, nnz={self.nnz}, events={len(self.log)})"

    # ------------------------------------------------------------------ building
    @classmethod
    def from_events(
        cls,
        events: pd.DataFrame,
        weights: WeightConfig = BINARY,
        users: Vocabulary | None = None,
        items: Vocabulary | None = None,
    ) -> Interactions:
        """Build from an events frame (columns ``user``, ``item``, ``ts``, optional ``kind``, ``value``).

        Pass ``users``/``items`` to share id maps with another split; events with
        ids outside them are an error (use :meth:`Vocabulary.extend` first).
        Search events (no item) are ignored here: they are not interactions.
        """
        for col in ("user", "item"):
            if col not in events.columns:
                raise SchemaError(f"events lack column {col!r}; got {list(events.columns)}")
        ev = events[events["item"].notna()] if events["item"].isna().any() else events
        users = users if users is not None else Vocabulary.from_values(ev["user"].astype(str))
        items = items if items is not None else Vocabulary.from_values(ev["item"].astype(str))
        u = users.lookup(ev["user"].astype(str).to_numpy())
        i = items.lookup(ev["item"].astype(str).to_numpy())
        if "ts" in ev.columns:
            ts_col = ev["ts"]
            if isinstance(ts_col.dtype, pd.DatetimeTZDtype) or np.issubdtype(ts_col.dtype, np.datetime64):
                ts = (pd.to_datetime(ts_col, utc=True).astype("int64") // 10**9).to_numpy()
            else:
                ts = ts_col.to_numpy(dtype=np.int64)
        else:
            ts = np.arange(len(ev), dtype=np.int64)
        kind = (
            ev["kind"].astype(str).to_numpy()
            if "kind" in ev.columns
            else np.full(len(ev), "purchase", dtype=object)
        )
        value = ev["value"].to_numpy(dtype=np.float64) if "value" in ev.columns else np.ones(len(ev))
        log = pd.DataFrame({"u": u, "i": i, "ts": ts, "kind": kind, "value": value})
        log["weight"] = _event_weights(log, weights)
        log = log.sort_values(["u", "ts"], kind="stable").reset_index(drop=True)
        return cls.from_log(log, users, items, weights.aggregation)

    @classmethod
    def from_log(
        cls, log: pd.DataFrame, users: Vocabulary, items: Vocabulary, aggregation: Aggregation = "binary"
    ) -> Interactions:
        """Build from a log with dense indices (``u``, ``i``, ``ts``, ``weight``)."""
        if "weight" not in log.columns:
            log = log.assign(weight=1.0)
        shape = (len(users), len(items))
        u = log["u"].to_numpy(np.int64)
        i = log["i"].to_numpy(np.int64)
        w = log["weight"].to_numpy(np.float32)
        if aggregation == "binary":
            m = sp.csr_matrix((np.ones_like(w), (u, i)), shape=shape, dtype=np.float32)
            m.sum_duplicates()
            m.data[:] = 1.0
        elif aggregation == "max":
            keys = u * shape[1] + i
            order = np.lexsort((-w, keys))
            first = np.ones(len(order), dtype=bool)
            first[1:] = keys[order][1:] != keys[order][:-1]
            sel = order[first]
            m = sp.csr_matrix((w[sel], (u[sel], i[sel])), shape=shape, dtype=np.float32)
        else:
            m = sp.csr_matrix((w, (u, i)), shape=shape, dtype=np.float32)
            m.sum_duplicates()
        m.eliminate_zeros()
        m.sort_indices()
        return cls(matrix=m, users=users, items=items, log=log.reset_index(drop=True))

    # ------------------------------------------------------------------ views
    def subset(self, mask: np.ndarray, aggregation: Aggregation = "binary") -> Interactions:
        """The interactions of the log rows where ``mask`` is true, same id maps."""
        return Interactions.from_log(self.log[mask], self.users, self.items, aggregation)

    def sequences(self) -> list[np.ndarray]:
        """Per-user item-index sequences in time order (empty arrays for users with no events)."""
        log = self.log
        counts = np.bincount(log["u"].to_numpy(), minlength=self.n_users)
        items = log["i"].to_numpy(np.int64)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        return [items[bounds[k] : bounds[k + 1]] for k in range(self.n_users)]

    def item_popularity(self) -> np.ndarray:
        """Number of distinct users per item."""
        return np.asarray((self.matrix > 0).sum(axis=0)).ravel().astype(np.float64)

    def last_timestamp(self) -> int:
        return int(self.log["ts"].max()) if len(self.log) else 0


def _event_weights(log: pd.DataFrame, cfg: WeightConfig) -> np.ndarray:
    kw = {str(k): float(v) for k, v in cfg.kind_weights.items()}
    unknown = set(pd.unique(log["kind"])) - set(kw)
    if unknown:
        raise ConfigError(
            f"no weight configured for event kind(s) {sorted(unknown)}; configured: {sorted(kw)}"
        )
    w = log["kind"].map(kw).to_numpy(np.float64)
    if cfg.use_value:
        w = w * np.log1p(np.clip(log["value"].to_numpy(np.float64), 0, None))
    if cfg.half_life_days is not None and len(log):
        age_days = (log["ts"].max() - log["ts"].to_numpy(np.float64)) / 86400.0
        w = w * np.power(0.5, age_days / cfg.half_life_days)
    return w
