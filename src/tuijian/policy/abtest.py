"""A/B experiments: what is compared (variants), how users are split (deterministic hashing) and the spec check.

An :class:`Experiment` splits the users of a shop between two or more :class:`Variant` s by weight. A variant
serves recommendations with a model version (``model_version``; None = the active one), a strategy
(``model``: the personalised pipeline; ``fallback``: the fallback chain alone, e.g. popularity; ``trending``:
the most active items of the recent window) and request settings (``config``: ``exclude_purchased``,
``window_days``). The first variant is the control.

Assignment is a pure function of the experiment's ``salt`` and the user id (BLAKE2b, 64 bits), so it is
sticky per user, the same in every worker and process, and independent between experiments (each has its own
salt). ``traffic`` < 1 keeps a share of users out of the experiment altogether (a second, independent hash),
served as if there were no experiment and not logged as exposed.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuijian.exceptions import ConfigError

#: what serves a variant: the model's pipeline, the fallback chain alone, or one of the live bandit's list
#: strategies (the names of :data:`tuijian.service.bandit_strategies.STRATEGIES`, same code; a test keeps the
#: two lists in step)
STRATEGIES = ("model", "fallback", "sequential", "content", "trending", "popular")
#: request settings a variant may override, with their types
CONFIG_KEYS: dict[str, type] = {"exclude_purchased": bool, "window_days": float}
METRICS = ("click_rate", "ctr", "conversion", "revenue_per_user")
STATUSES = ("running", "stopped")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SCALE = float(2**64)


@dataclass(frozen=True)
class Variant:
    """One arm: ``weight`` (any positive scale), what serves it and its request overrides."""

    name: str
    weight: float = 1.0
    model_version: str | None = None
    strategy: str = "model"
    config: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weight": self.weight,
            "model_version": self.model_version,
            "strategy": self.strategy,
            "config": dict(self.config),
        }


@dataclass(frozen=True)
class Experiment:
    """An experiment's fixed design (its variants never change once it runs) and its status."""

    id: str
    name: str
    variants: tuple[Variant, ...]
    salt: str
    traffic: float = 1.0
    primary_metric: str = "click_rate"
    alpha: float = 0.05
    looks: int = 5
    planned_users: int | None = None  # per variant; None: no sequential plan (fixed horizon only)
    status: str = "running"
    created_at: int = 0
    stopped_at: int | None = None
    description: str = ""

    @property
    def shares(self) -> np.ndarray:
        """Normalised weights (the probability of each variant for a user in the experiment)."""
        w = np.asarray([v.weight for v in self.variants], dtype=np.float64)
        return w / w.sum()

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise ConfigError(
            f"experiment {self.id} has no variant {name!r}; it has {[v.name for v in self.variants]}"
        )

    def assign(self, user: str) -> Variant | None:
        """The user's variant, or None when the user is outside the experiment's traffic share."""
        if self.traffic < 1.0 and unit_hash(self.salt + "|traffic", user) >= self.traffic:
            return None
        return self.variants[int(bucket(self.salt, [user], self.shares)[0])]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "variants": [v.to_dict() for v in self.variants],
            "shares": [round(float(s), 6) for s in self.shares],
            "traffic": self.traffic,
            "primary_metric": self.primary_metric,
            "alpha": self.alpha,
            "looks": self.looks,
            "planned_users": self.planned_users,
            "created_at": self.created_at,
            "stopped_at": self.stopped_at,
        }


def unit_hash(salt: str, user: str) -> float:
    """A uniform number in [0, 1) from ``salt`` and ``user`` (BLAKE2b, 64 bits)."""
    digest = hashlib.blake2b(f"{salt}|{user}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def bucket(salt: str, users: Sequence[str], shares: Sequence[float] | np.ndarray) -> np.ndarray:
    """Variant index of each user: the bucket of ``unit_hash(salt, user)`` in the cumulative ``shares``."""
    u = np.fromiter((unit_hash(salt, str(x)) for x in users), np.float64, len(users))
    edges = np.cumsum(np.asarray(shares, dtype=np.float64))
    edges[-1] = math.inf
    return np.searchsorted(edges, u, side="right")


def new_salt() -> str:
    return secrets.token_hex(8)


def _variant(i: int, raw: Any, known_versions: set[str] | None) -> Variant:
    where = f"variants[{i}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be an object like {{'name': 'B', 'weight': 1, 'strategy': 'model'}}")
    extra = set(raw) - {"name", "weight", "model_version", "strategy", "config"}
    if extra:
        raise ConfigError(
            f"{where}: unknown field(s) {sorted(extra)}; allowed: name, weight, model_version, strategy, config"
        )
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}.name must be 1-64 letters, digits, '_', '-' or '.', got {name!r}")
    weight = raw.get("weight", 1.0)
    if (
        isinstance(weight, bool)
        or not isinstance(weight, int | float)
        or not math.isfinite(weight)
        or weight <= 0
    ):
        raise ConfigError(f"{where}.weight must be a positive number, got {weight!r}")
    strategy = raw.get("strategy", "model")
    if strategy not in STRATEGIES:
        raise ConfigError(f"{where}.strategy must be one of {STRATEGIES}, got {strategy!r}")
    version = raw.get("model_version")
    if version is not None:
        if not isinstance(version, str) or not version:
            raise ConfigError(f"{where}.model_version must be a version label or null, got {version!r}")
        if known_versions is not None and version not in known_versions:
            raise ConfigError(
                f"{where}.model_version {version!r} is not a stored version of this dataset; "
                f"known: {sorted(known_versions)[-10:]} (train one with POST /v1/admin/retrain)"
            )
    config = raw.get("config") or {}
    if not isinstance(config, Mapping):
        raise ConfigError(f"{where}.config must be an object, got {type(config).__name__}")
    clean: dict[str, Any] = {}
    for key, value in config.items():
        kind = CONFIG_KEYS.get(key)
        if kind is None:
            raise ConfigError(f"{where}.config: unknown setting {key!r}; allowed: {sorted(CONFIG_KEYS)}")
        if kind is bool and not isinstance(value, bool):
            raise ConfigError(f"{where}.config.{key} must be true or false, got {value!r}")
        if kind is float and (
            isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 365
        ):
            raise ConfigError(f"{where}.config.{key} must be a number in (0, 365], got {value!r}")
        clean[key] = kind(value)
    return Variant(name, float(weight), version, strategy, clean)


def experiment_from_spec(
    spec: Mapping[str, Any],
    *,
    experiment_id: str,
    created_at: int,
    known_versions: set[str] | None = None,
    salt: str | None = None,
) -> Experiment:
    """Validate a spec (API body or CLI file) into a running :class:`Experiment`; every problem is named."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"an experiment spec must be a JSON object, got {type(spec).__name__}")
    allowed = {
        "name",
        "description",
        "variants",
        "traffic",
        "primary_metric",
        "alpha",
        "looks",
        "planned_users",
    }
    extra = set(spec) - allowed
    if extra:
        raise ConfigError(f"unknown experiment field(s) {sorted(extra)}; allowed: {sorted(allowed)}")
    name = spec.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 128:
        raise ConfigError(f"name must be a non-empty string of at most 128 characters, got {name!r}")
    raw = spec.get("variants")
    if not isinstance(raw, list) or len(raw) < 2 or len(raw) > 10:
        raise ConfigError("variants must be a list of 2 to 10 variants; the first is the control")
    variants = tuple(_variant(i, v, known_versions) for i, v in enumerate(raw))
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ConfigError(f"variant names must be unique, got {names}")
    traffic = spec.get("traffic", 1.0)
    if isinstance(traffic, bool) or not isinstance(traffic, int | float) or not 0 < traffic <= 1:
        raise ConfigError(f"traffic must be a share in (0, 1], got {traffic!r}")
    metric = spec.get("primary_metric", "click_rate")
    if metric not in METRICS:
        raise ConfigError(f"primary_metric must be one of {METRICS}, got {metric!r}")
    alpha = spec.get("alpha", 0.05)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 0.5:
        raise ConfigError(f"alpha must be in (0, 0.5), got {alpha!r}")
    looks = spec.get("looks", 5)
    if isinstance(looks, bool) or not isinstance(looks, int) or not 1 <= looks <= 20:
        raise ConfigError(f"looks must be an integer from 1 to 20, got {looks!r}")
    planned = spec.get("planned_users")
    if planned is not None and (isinstance(planned, bool) or not isinstance(planned, int) or planned < 10):
        raise ConfigError(
            f"planned_users (users per variant) must be an integer >= 10 or null, got {planned!r}; "
            "see `tuijian abtest sample-size`"
        )
    description = spec.get("description") or ""
    if not isinstance(description, str) or len(description) > 2000:
        raise ConfigError("description must be a string of at most 2000 characters")
    return Experiment(
        id=experiment_id,
        name=name.strip(),
        variants=variants,
        salt=salt or new_salt(),
        traffic=float(traffic),
        primary_metric=metric,
        alpha=float(alpha),
        looks=looks,
        planned_users=planned,
        created_at=created_at,
        description=description,
    )


def experiment_from_dict(data: Mapping[str, Any]) -> Experiment:
    """The inverse of :meth:`Experiment.to_dict` plus ``salt`` (how the store keeps an experiment)."""
    return Experiment(
        id=str(data["id"]),
        name=str(data["name"]),
        variants=tuple(
            Variant(
                str(v["name"]),
                float(v["weight"]),
                v.get("model_version"),
                v.get("strategy", "model"),
                dict(v.get("config") or {}),
            )
            for v in data["variants"]
        ),
        salt=str(data["salt"]),
        traffic=float(data.get("traffic", 1.0)),
        primary_metric=str(data.get("primary_metric", "click_rate")),
        alpha=float(data.get("alpha", 0.05)),
        looks=int(data.get("looks", 5)),
        planned_users=data.get("planned_users"),
        status=str(data.get("status", "running")),
        created_at=int(data.get("created_at") or 0),
        stopped_at=data.get("stopped_at"),
        description=str(data.get("description") or ""),
    )
