"""How a model holds data out of its own training data to choose its setup on validation.

A self-configuring model (the hybrid, ``auto``) needs a validation split that looks like the
split it will be judged on. :class:`Holdout` describes one, in the terms of an evaluation
protocol, and carves it out of any :class:`~tuijian.data.interactions.Interactions`:

``"last"``    each user's last event (leave-one-out, ``loo``);
``"random"``  a random ``fraction`` of each user's events (RecBole's random ratio split);
``"time"``    every event in the last ``days`` of the log (global time split, ``time``);
``"auto"``    chosen from the data: ``"time"`` when the log spans at least four windows of
              ``days`` and most users come back, else ``"last"``.

The evaluation runner passes the protocol's holdout (:meth:`Holdout.for_protocol`); a shop
that trains on its own log gets ``"auto"``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError

STRATEGIES = ("last", "random", "time", "auto")
DAY = 86400.0


def check_share_and_window(what: str, fraction: float, days: float) -> None:
    """``fraction`` in (0, 1) and ``days`` > 0, or a :class:`ConfigError` naming ``what``."""
    if not 0.0 < float(fraction) < 1.0:
        raise ConfigError(f"{what} fraction must be in (0, 1), got {fraction!r}")
    if not float(days) > 0:
        raise ConfigError(f"{what} days must be > 0, got {days!r}")


@dataclass(frozen=True)
class Holdout:
    """A validation split to carve out of training data (see module docstring)."""

    strategy: str = "auto"
    fraction: float = 0.1
    days: float = 30.0
    repeats: bool = False

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"holdout strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        check_share_and_window("holdout", self.fraction, self.days)

    @classmethod
    def for_protocol(cls, protocol: str, info: dict[str, Any] | None = None) -> Holdout:
        """The holdout that mirrors evaluation protocol ``protocol`` (``loo``, ``recbole``, ``time``,
        ``time-repeats``); ``info`` is the split's info (``window_days`` of the time protocols)."""
        info = info or {}
        if protocol == "loo":
            return cls("last")
        if protocol == "recbole":
            # test is 10 % of all events = 1/9 of train + valid
            return cls("random", fraction=1.0 / 9.0)
        if protocol in ("time", "time-repeats"):
            return cls("time", days=float(info.get("window_days", 30)), repeats=protocol == "time-repeats")
        raise ConfigError(f"no holdout for protocol {protocol!r}; known: loo, recbole, time, time-repeats")

    def resolve(self, inter: Interactions) -> Holdout:
        """This holdout with ``"auto"`` replaced by the concrete strategy chosen from ``inter``."""
        if self.strategy != "auto":
            return self
        log = inter.log
        if len(log) == 0:
            return replace(self, strategy="last")
        ts = log["ts"].to_numpy(np.float64)
        span_days = (ts.max() - ts.min()) / DAY
        if span_days >= 4 * float(self.days):
            cut = ts.max() - float(self.days) * DAY
            u = log["u"].to_numpy(np.int64)
            before = np.zeros(inter.n_users, dtype=bool)
            before[u[ts < cut]] = True
            after_users = np.unique(u[ts >= cut])
            if len(after_users) and before[after_users].mean() >= 0.5:
                return replace(self, strategy="time")
        return replace(self, strategy="last")

    def split(self, inter: Interactions, seed: int = 0) -> tuple[Interactions, sp.csr_matrix]:
        """``(inner, targets)``: the interactions to fit on and a user x item matrix of held-out targets
        (items already in a user's ``inner`` history are dropped unless ``repeats``)."""
        from tuijian.models.hybrid_training import carve_labels

        h = self.resolve(inter)
        return carve_labels(inter, h.strategy, float(h.fraction), float(h.days), seed, repeats=h.repeats)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Holdout:
        unknown = sorted(set(data) - {"strategy", "fraction", "days", "repeats"})
        if unknown:
            raise ConfigError(f"holdout has no field(s) {unknown}; valid: days, fraction, repeats, strategy")
        return cls(**{k: data[k] for k in ("strategy", "fraction", "days", "repeats") if k in data})
