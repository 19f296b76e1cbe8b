"""Train / validation / test splits of an :class:`Interactions`.

Every split returns a :class:`Split` whose three parts share the vocabularies of
the input, so a user or item index means the same thing in all of them. Splits
slice the event ``log`` (one row per event), then rebuild each part's matrix with
the requested ``aggregation``.

* :func:`leave_last_out` - per user, in time order: the last ``n_test`` events are
  the test set, the ``n_valid`` before them the validation set (the protocol of
  SASRec / S3-Rec on Amazon Beauty).
* :func:`random_ratio_split` - per user, shuffled, split by ratio with exactly the
  counting rule of RecBole's ``split_by_ratio`` (the ML-1M RecBole protocol).
* :func:`global_time_split` - one calendar cut for everybody (what a shop sees
  when it retrains on the past and serves the future).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from tuijian.data.interactions import Aggregation, Interactions
from tuijian.exceptions import ConfigError

TimeLike: TypeAlias = int | float | str | datetime | date | pd.Timestamp | np.datetime64


@dataclass(frozen=True)
class Split:
    """Three :class:`Interactions` with the same user and item vocabularies."""

    train: Interactions
    valid: Interactions
    test: Interactions
    info: dict[str, Any] = field(default_factory=dict)

    def train_valid(self) -> Interactions:
        """Train and validation together (what a final model is fitted on)."""
        return combine(self.train, self.valid, aggregation=self.info.get("aggregation", "binary"))

    def __repr__(self) -> str:
        return f"Split(train={self.train!r}, valid={self.valid!r}, test={self.test!r})"


def combine(*parts: Interactions, aggregation: Aggregation = "binary") -> Interactions:
    """The union of several parts of one split (same vocabularies), log sorted by user then time."""
    if not parts:
        raise ConfigError("combine() needs at least one Interactions")
    first = parts[0]
    for p in parts[1:]:
        if p.users is not first.users and p.users != first.users:
            raise ConfigError("combine(): parts must share the user vocabulary (use parts of one Split)")
        if p.items is not first.items and p.items != first.items:
            raise ConfigError("combine(): parts must share the item vocabulary (use parts of one Split)")
    log = pd.concat([p.log for p in parts], ignore_index=True)
    log = log.sort_values(["u", "ts"], kind="stable").reset_index(drop=True)
    return Interactions.from_log(log, first.users, first.items, aggregation)


def _sorted_log(inter: Interactions) -> pd.DataFrame:
    log = inter.log
    u = log["u"].to_numpy(np.int64)
    ts = log["ts"].to_numpy(np.int64)
    ordered = len(log) < 2 or bool(np.all((u[1:] > u[:-1]) | ((u[1:] == u[:-1]) & (ts[1:] >= ts[:-1]))))
    if ordered:
        return log
    return log.sort_values(["u", "ts"], kind="stable").reset_index(drop=True)


def _parts(
    log: pd.DataFrame, inter: Interactions, part: np.ndarray, aggregation: Aggregation, info: dict[str, Any]
) -> Split:
    """Build a Split from a part label per log row (0 train, 1 valid, 2 test)."""
    info = {"aggregation": aggregation, **info}
    out = [Interactions.from_log(log[part == p], inter.users, inter.items, aggregation) for p in (0, 1, 2)]
    return Split(train=out[0], valid=out[1], test=out[2], info=info)


def leave_last_out(
    inter: Interactions, n_valid: int = 1, n_test: int = 1, *, aggregation: Aggregation = "binary"
) -> Split:
    """Per-user leave-last-out in time order.

    For every user with at least ``n_valid + n_test + 1`` events, the last
    ``n_test`` events (by ``ts``; ties keep log order) form the test set and the
    ``n_valid`` events before them the validation set; the rest is training.
    Users with fewer events keep all of them in train (they still train the
    model but are not evaluated).
    """
    if not isinstance(n_valid, int | np.integer) or n_valid < 0:
        raise ConfigError(f"n_valid must be an integer >= 0, got {n_valid!r}")
    if not isinstance(n_test, int | np.integer) or n_test < 1:
        raise ConfigError(f"n_test must be an integer >= 1, got {n_test!r}")
    log = _sorted_log(inter)
    u = log["u"].to_numpy(np.int64)
    counts = np.bincount(u, minlength=inter.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(log)) - starts[u]
    from_end = counts[u] - 1 - pos
    eligible = counts[u] >= n_valid + n_test + 1
    part = np.zeros(len(log), dtype=np.int8)
    part[eligible & (from_end < n_test)] = 2
    part[eligible & (from_end >= n_test) & (from_end < n_test + n_valid)] = 1
    info = {
        "split": "leave_last_out",
        "n_valid": int(n_valid),
        "n_test": int(n_test),
        "users_too_short": int(((counts > 0) & (counts < n_valid + n_test + 1)).sum()),
    }
    return _parts(log, inter, part, aggregation, info)


def recbole_split_counts(totals: np.ndarray, ratios: Sequence[float]) -> np.ndarray:
    """Per-group part sizes exactly as RecBole's ``Dataset._calcu_split_ids``.

    For a group of ``tot`` rows: ``cnt[i] = int(ratio[i] * tot)`` for every part
    after the first, the first part gets the rest; then, walking the parts from
    the last backwards while the first part has more than one row, a part whose
    ``ratio * tot`` lies strictly between 0 and 1 is given one row taken from the
    first part. Ratios are normalised to sum to one first. Returns an
    ``(n_groups, n_parts)`` int64 array.
    """
    r = np.asarray(ratios, dtype=np.float64)
    r = r / r.sum()
    tot = np.asarray(totals, dtype=np.int64)
    cnt = np.zeros((len(tot), len(r)), dtype=np.int64)
    for i in range(1, len(r)):
        cnt[:, i] = np.floor(r[i] * tot).astype(np.int64)
    cnt[:, 0] = tot - cnt[:, 1:].sum(axis=1)
    active = np.ones(len(tot), dtype=bool)
    for i in range(1, len(r)):
        active &= cnt[:, 0] > 1
        x = r[-i] * tot
        bump = active & (x > 0) & (x < 1)
        cnt[bump, len(r) - i] += 1
        cnt[bump, 0] -= 1
    return cnt


def random_ratio_split(
    inter: Interactions,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 2020,
    *,
    aggregation: Aggregation = "binary",
) -> Split:
    """Per-user random split by ratio (RecBole ``RS`` with ``group_by: user``, ``order: RO``).

    All events are shuffled with ``numpy.random.default_rng(seed)``, grouped by
    user (keeping the shuffled order) and each user's events are cut into
    train / valid / test sizes given by :func:`recbole_split_counts`. With
    8:1:1 a user with 23 events gets 2 validation, 2 test and 19 training
    events; a user with 5 events gets 1 / 1 / 3.
    """
    if len(ratios) != 3:
        raise ConfigError(f"ratios must have three entries (train, valid, test), got {tuple(ratios)!r}")
    if any((not np.isfinite(r)) or r < 0 for r in ratios) or ratios[0] <= 0:
        raise ConfigError(f"ratios must be finite, >= 0, with a positive train share; got {tuple(ratios)!r}")
    log = inter.log.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(log))
    u = log["u"].to_numpy(np.int64)[perm]
    order = perm[np.argsort(u, kind="stable")]
    u_sorted = log["u"].to_numpy(np.int64)[order]
    counts = np.bincount(u_sorted, minlength=inter.n_users)
    cnt = recbole_split_counts(counts, ratios)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(order)) - starts[u_sorted]
    part_sorted = np.where(
        pos < cnt[u_sorted, 0], 0, np.where(pos < cnt[u_sorted, 0] + cnt[u_sorted, 1], 1, 2)
    )
    part = np.empty(len(log), dtype=np.int8)
    part[order] = part_sorted
    info = {"split": "random_ratio_split", "ratios": [float(x) for x in ratios], "seed": int(seed)}
    return _parts(log, inter, part, aggregation, info)


def to_seconds(t: TimeLike, name: str = "time") -> int:
    """Unix seconds (UTC) of a timestamp given as seconds, ISO string, date or datetime."""
    if isinstance(t, bool):
        raise ConfigError(f"{name} must be a time, got {t!r}")
    if isinstance(t, int | float | np.integer | np.floating):
        return int(t)
    try:
        ts = pd.Timestamp(t)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name} must be unix seconds, an ISO date/time or a datetime; got {t!r}") from exc
    ts = ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)
    return int(ts.value // 10**9)


def global_time_split(
    inter: Interactions,
    valid_start: TimeLike,
    test_start: TimeLike,
    test_end: TimeLike | None = None,
    *,
    aggregation: Aggregation = "binary",
) -> Split:
    """One calendar cut for all users.

    Events with ``ts < valid_start`` are training, ``valid_start <= ts <
    test_start`` validation and ``test_start <= ts`` (``< test_end`` if given)
    test. Times are unix seconds, ISO strings (UTC unless they carry an offset)
    or datetimes. Events at or after ``test_end`` belong to no part and are
    counted in ``info["after_test_end"]``.
    """
    v = to_seconds(valid_start, "valid_start")
    t = to_seconds(test_start, "test_start")
    if v > t:
        raise ConfigError(
            f"valid_start must be <= test_start; got valid_start={valid_start!r}, test_start={test_start!r}"
        )
    e = to_seconds(test_end, "test_end") if test_end is not None else None
    if e is not None and e <= t:
        raise ConfigError(
            f"test_end must be > test_start; got test_start={test_start!r}, test_end={test_end!r}"
        )
    log = _sorted_log(inter)
    ts = log["ts"].to_numpy(np.int64)
    part = np.where(ts < v, 0, np.where(ts < t, 1, 2)).astype(np.int8)
    after = 0
    if e is not None:
        late = ts >= e
        after = int(late.sum())
        part[late] = 3
    info = {
        "split": "global_time_split",
        "valid_start": v,
        "test_start": t,
        "test_end": e,
        "after_test_end": after,
    }
    return _parts(log, inter, part, aggregation, info)
