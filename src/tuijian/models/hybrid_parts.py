"""The composed parts of the hybrid: label strategy, feature groups, ranker settings, side information.

Each part is a small frozen dataclass that the hybrid takes as an argument (or as a plain
``dict`` of its fields, e.g. from the CLI: ``hybrid:labels={'kind':'time','days':15}``), or
``"auto"`` where the hybrid chooses it on its validation split (:mod:`.hybrid_select`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.holdout import Holdout, check_share_and_window

LABEL_KINDS = ("last", "random", "time")
#: optional feature groups, in the column order of the ranker's feature matrix
FEATURE_GROUPS = ("repeat", "time", "rating", "segment", "genre", "year")

_T = TypeVar("_T", "LabelStrategy", "FeatureGroups", "RankerConfig")


def _coerce(cls: type[_T], value: Any, what: str) -> _T:
    if isinstance(value, cls):
        return value
    if value is None:
        return cls()
    if isinstance(value, dict):
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ConfigError(f"{what} has no field(s) {unknown}; valid: {sorted(names)}")
        return cls(**value)
    raise ConfigError(f"{what} must be 'auto', a dict or a {cls.__name__}, got {value!r}")


@dataclass(frozen=True)
class LabelStrategy:
    """How ranker labels are carved out of the training data.

    ``kind``: ``"last"`` (each user's last event), ``"random"`` (a random ``fraction`` of each
    user's events) or ``"time"`` (the events of the last ``days``). ``n_sets`` carvings are
    pooled: earlier windows / events for ``time`` / ``last``, other draws for ``random``.
    """

    kind: str = "last"
    fraction: float = 0.1
    days: float = 30.0
    n_sets: int = 1

    def __post_init__(self) -> None:
        if self.kind not in LABEL_KINDS:
            raise ConfigError(f"labels kind must be one of {LABEL_KINDS}, got {self.kind!r}")
        check_share_and_window("labels", self.fraction, self.days)
        if not isinstance(self.n_sets, int | np.integer) or self.n_sets < 1:
            raise ConfigError(f"labels n_sets must be a positive integer, got {self.n_sets!r}")

    @classmethod
    def parse(cls, value: Any) -> LabelStrategy:
        return _coerce(cls, value, "labels")

    @classmethod
    def candidates(cls, holdout: Holdout, inter: Interactions) -> list[LabelStrategy]:
        """The label strategies worth trying for a validation split like ``holdout``: labels shaped like
        its targets; for time windows also several half-length windows when the log is long enough."""
        if holdout.strategy == "last":
            return [cls("last")]
        if holdout.strategy == "random":
            return [cls("random", fraction=float(holdout.fraction))]
        days = float(holdout.days)
        out = [cls("time", days=days)]
        ts = inter.log["ts"].to_numpy(np.float64) if inter.nnz else np.zeros(0)
        span = (ts.max() - ts.min()) / 86400.0 if len(ts) else 0.0
        n_half = int(min(8, span // (days / 2.0) - 1))
        if n_half >= 4:
            out.append(cls("time", days=days / 2.0, n_sets=n_half))
        return out

    def label(self) -> str:
        if self.kind == "last":
            return f"last x{self.n_sets}" if self.n_sets > 1 else "last"
        if self.kind == "random":
            return f"random {self.fraction:.3g}" + (f" x{self.n_sets}" if self.n_sets > 1 else "")
        return f"time {self.days:g}d" + (f" x{self.n_sets}" if self.n_sets > 1 else "")


@dataclass(frozen=True)
class FeatureGroups:
    """Optional groups of ranker features (see :mod:`.ranker_features` and :mod:`.side_features`).

    ``repeat``: repeat-cycle features (only with repeat candidates); ``time``: activity windows;
    ``rating``: the events' values; ``segment``: user-segment popularity (needs user attributes);
    ``genre``: genre affinity (``|``-separated categories); ``year``: release years in titles.
    """

    repeat: bool = False
    time: bool = False
    rating: bool = False
    segment: bool = False
    genre: bool = False
    year: bool = False

    @classmethod
    def parse(cls, value: Any) -> FeatureGroups:
        return _coerce(cls, value, "features")

    @classmethod
    def of(cls, names: set[str] | list[str] | tuple[str, ...]) -> FeatureGroups:
        return cls(**{g: (g in names) for g in FEATURE_GROUPS})

    def names(self) -> list[str]:
        return [g for g in FEATURE_GROUPS if getattr(self, g)]

    def label(self) -> str:
        return "+".join(self.names()) or "base"

    def __and__(self, other: FeatureGroups) -> FeatureGroups:
        return FeatureGroups.of([g for g in self.names() if g in other.names()])


@dataclass(frozen=True)
class RankerConfig:
    """LightGBM LambdaRank settings and how much data trains it.

    ``n_rankers`` rankers (seeds ``random_state + j``, each with its own early-stopping users)
    are averaged; ``max_train_users`` users per label set and ``n_negatives`` non-relevant
    candidates per user train them; early stopping on NDCG@10 of 10 % of the training users.
    """

    n_estimators: int = 400
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 50
    early_stopping_rounds: int = 40
    n_rankers: int = 3
    max_train_users: int = 30000
    n_negatives: int = 100

    def __post_init__(self) -> None:
        for name in ("n_estimators", "n_rankers", "max_train_users", "n_negatives", "early_stopping_rounds"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"ranker {name} must be a positive integer, got {value!r}")

    @classmethod
    def parse(cls, value: Any) -> RankerConfig:
        return _coerce(cls, value, "ranker")

    def with_(self, **changes: Any) -> RankerConfig:
        return replace(self, **changes)


def to_jsonable(value: Any) -> Any:
    """Dataclass parts as plain dicts (for ``get_params`` round trips through JSON)."""
    if isinstance(value, LabelStrategy | FeatureGroups | RankerConfig | Holdout):
        return asdict(value)
    return value


@dataclass
class SideInfo:
    """Side information aligned to a model's id maps, passed in with the data (never loaded by name)."""

    segment_codes: np.ndarray | None = None  # n_users x n_attrs
    segment_attrs: list[str] | None = None
    genres: sp.csr_matrix | None = None
    years: np.ndarray | None = None

    @classmethod
    def build(cls, inter: Interactions, items: pd.DataFrame | None, users: pd.DataFrame | None) -> SideInfo:
        from tuijian.models.side_features import genre_matrix, title_years, user_segments

        codes, attrs = user_segments(users, inter.users)
        genres = genre_matrix(items, inter.items)
        if genres is not None and (genres.nnz == 0 or genres.shape[1] < 2):
            genres = None
        return cls(
            segment_codes=codes if len(attrs) else None,
            segment_attrs=list(attrs) if len(attrs) else None,
            genres=genres,
            years=title_years(items, inter.items),
        )


def available_groups(inter: Interactions, side: SideInfo, repeats: bool) -> FeatureGroups:
    """The feature groups the data can feed (the others would be constant columns)."""
    log = inter.log
    has_time = bool(len(log) and log["ts"].nunique() > 1)
    has_rating = False
    if "value" in log.columns and len(log):
        v = pd.to_numeric(log["value"], errors="coerce").to_numpy(np.float64)
        v = v[np.isfinite(v)]
        has_rating = bool(len(v) and np.std(v) > 0)
    return FeatureGroups(
        repeat=bool(repeats),
        time=has_time,
        rating=has_rating,
        segment=side.segment_codes is not None,
        genre=side.genres is not None,
        year=side.years is not None,
    )
