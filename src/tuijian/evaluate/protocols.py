"""The offline evaluation protocols: ``loo``, ``recbole``, ``time`` and ``time-repeats``.

A protocol turns a dataset into an :class:`EvalSplit` (train / valid / test
:class:`~tuijian.data.interactions.Interactions` on shared vocabularies) plus
the rules of scoring. :meth:`EvalSplit.stage` gives what one evaluation run
needs:

* ``phase="valid"`` (tuning): fit on train, rank for the validation targets,
  excluding train items;
* ``phase="test"`` (final): fit on train + valid, rank for the test targets,
  excluding train + valid items.

Protocols (see ``docs/evaluation.md`` for the full description):

``loo``
    Leave-one-out in time order (SASRec / S3-Rec on Amazon Beauty): last item
    of each user = test, the one before = validation; full ranking against
    all items; the user's known items are excluded.
``recbole``
    The RecBole ML-1M benchmark: ratings >= 3 as implicit positives, 10-core
    filter on users and items until stable (834,449 interactions, 6,033 users,
    3,123 items), per-user random 8:1:1 split, full ranking, known items excluded.
``time``
    A global time split for a shop log (Online Retail): test = the last
    ``window_days`` (30) days, validation = the 30 days before, train = all
    earlier events. Only known (non-anonymous) customers with training
    history are evaluated; targets are the distinct items they bought in the
    window that they had not bought before, and previously bought items are
    excluded from the ranking.
``time-repeats``
    The same split, but repeat purchases count: nothing is excluded from the
    ranking and targets are all distinct items bought in the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tuijian.data.filters import kcore, min_rating
from tuijian.data.interactions import BINARY, Interactions
from tuijian.data.splits import Split, global_time_split, leave_last_out, random_ratio_split
from tuijian.exceptions import ConfigError

PROTOCOLS: tuple[str, ...] = ("loo", "recbole", "time", "time-repeats")

#: The dataset each protocol was defined for (the CLI's default).
DEFAULT_DATASETS: dict[str, str] = {
    "loo": "amazon-beauty",
    "recbole": "movielens-1m",
    "time": "online-retail",
    "time-repeats": "online-retail",
}

#: Prefix of anonymous (guest-checkout) users in the Online Retail loader.
ANONYMOUS_PREFIX = "anon:"


class DatasetLike(Protocol):
    name: str
    events: pd.DataFrame


@dataclass(frozen=True)
class Stage:
    """One evaluation run: what to fit on, which users to rank for, what is relevant, what to exclude."""

    phase: str
    fit: Interactions
    users: np.ndarray  # user indices evaluated
    targets: sp.csr_matrix  # n_users x n_items, relevant items (binary)
    exclude: sp.csr_matrix | None  # n_users x n_items, items removed from the ranking (None = none)


@dataclass(frozen=True)
class EvalSplit(Split):
    """A :class:`Split` plus the scoring rules of its protocol."""

    protocol: str = ""
    dataset: str = ""
    exclude_seen: bool = True
    eval_user_mask: np.ndarray | None = None  # users allowed in evaluation (None = all)
    counts: dict[str, int] = field(default_factory=dict)

    def stage(self, phase: str = "test", fit_on: str = "train+valid") -> Stage:
        """The evaluation run for ``phase`` ("valid" for tuning, "test" for final numbers).

        ``fit_on`` applies to the test phase: ``"train+valid"`` (default, the
        project's convention) or ``"train"`` (RecBole's own convention: the model
        never sees validation data). Either way the test ranking excludes
        train + valid items when the protocol excludes seen items.
        Evaluated users have at least one target and at least one interaction
        in the data the model is fitted on.
        """
        if phase == "valid":
            fit = self.train
            seen = self.train.matrix
            target_part = self.valid
        elif phase == "test":
            if fit_on not in ("train+valid", "train"):
                raise ConfigError(f"fit_on must be 'train+valid' or 'train', got {fit_on!r}")
            both = self.train_valid()
            fit = both if fit_on == "train+valid" else self.train
            seen = both.matrix
            target_part = self.test
        else:
            raise ConfigError(f"phase must be 'valid' or 'test', got {phase!r}")
        targets = _binary(target_part.matrix)
        if self.exclude_seen:
            targets = _binary(targets - targets.multiply(_binary(seen)))
        has_target = np.diff(targets.indptr) > 0
        has_history = np.diff(fit.matrix.indptr) > 0
        ok = has_target & has_history
        if self.eval_user_mask is not None:
            ok &= self.eval_user_mask
        exclude = _binary(seen) if self.exclude_seen else None
        return Stage(
            phase=phase, fit=fit, users=np.flatnonzero(ok).astype(np.int64), targets=targets, exclude=exclude
        )


def _binary(m: sp.spmatrix) -> sp.csr_matrix:
    out = sp.csr_matrix(m, dtype=np.float32, copy=True)
    out.sum_duplicates()
    out.eliminate_zeros()
    out.data[:] = 1.0
    return out


def _load(dataset: DatasetLike | str, data_dir: str | None) -> DatasetLike:
    if isinstance(dataset, str):
        from tuijian.data.datasets import load_dataset

        return load_dataset(dataset, data_dir=data_dir)
    if not hasattr(dataset, "events"):
        raise ConfigError(f"dataset must be a dataset name or a loaded Dataset, got {type(dataset).__name__}")
    return dataset


def _counts(inter: Interactions) -> dict[str, int]:
    return {
        "n_users": int((np.diff(inter.matrix.indptr) > 0).sum()),
        "n_items": int((np.bincount(inter.matrix.indices, minlength=inter.n_items) > 0).sum()),
        "n_interactions": int(inter.nnz),
        "n_events": len(inter.log),
    }


def make_protocol(
    name: str,
    dataset: DatasetLike | str,
    *,
    data_dir: str | None = None,
    seed: int = 2020,
    window_days: int = 30,
) -> EvalSplit:
    """Build protocol ``name`` on ``dataset`` (a name, loaded via ``load_dataset``, or a loaded Dataset)."""
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}")
    ds = _load(dataset, data_dir)
    ds_name = str(getattr(ds, "name", dataset if isinstance(dataset, str) else ""))
    events = ds.events
    if events is None or len(events) == 0:
        raise ConfigError(f"dataset {ds_name!r} has no events to evaluate on")
    events = events[events["item"].notna()]
    if name == "loo":
        return _loo(events, ds_name)
    if name == "recbole":
        return _recbole(events, ds_name, seed)
    return _time(events, ds_name, window_days, repeats=(name == "time-repeats"))


def _loo(events: pd.DataFrame, ds_name: str) -> EvalSplit:
    inter = Interactions.from_events(events, BINARY)
    sp_ = leave_last_out(inter, n_valid=1, n_test=1)
    return EvalSplit(
        train=sp_.train, valid=sp_.valid, test=sp_.test, info=sp_.info,
        protocol="loo", dataset=ds_name, exclude_seen=True, counts=_counts(inter),
    )  # fmt: skip


def _recbole(events: pd.DataFrame, ds_name: str, seed: int) -> EvalSplit:
    if "value" not in events.columns:
        raise ConfigError(
            f"the recbole protocol needs rating values (column 'value'); dataset {ds_name!r} has none"
        )
    kept = min_rating(events, 3.0, kind=None)
    kept = kcore(kept, user_k=10, item_k=10)
    inter = Interactions.from_events(kept, BINARY)
    sp_ = random_ratio_split(inter, (0.8, 0.1, 0.1), seed=seed)
    info = {**sp_.info, "filters": kept.attrs.get("filters", [])}
    return EvalSplit(
        train=sp_.train, valid=sp_.valid, test=sp_.test, info=info,
        protocol="recbole", dataset=ds_name, exclude_seen=True, counts=_counts(inter),
    )  # fmt: skip


def time_windows(last_ts: pd.Timestamp, window_days: int = 30) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(valid_start, test_start) for the ``time`` protocol.

    ``test_start`` is midnight (UTC) of the last event's day minus
    ``window_days`` days; ``valid_start`` is ``window_days`` before that.
    For Online Retail (last invoice 2011-12-09 12:50) this is valid =
    [2011-10-10, 2011-11-09), test = [2011-11-09, 2011-12-09 end].
    """
    if window_days < 1:
        raise ConfigError(f"window_days must be >= 1, got {window_days}")
    last = pd.Timestamp(last_ts)
    last = last.tz_localize("UTC") if last.tzinfo is None else last.tz_convert("UTC")
    test_start = last.normalize() - pd.Timedelta(days=window_days)
    return test_start - pd.Timedelta(days=window_days), test_start


def _time(events: pd.DataFrame, ds_name: str, window_days: int, repeats: bool) -> EvalSplit:
    if "kind" in events.columns and (events["kind"] == "purchase").any():
        events = events[events["kind"] == "purchase"]
    inter = Interactions.from_events(events, BINARY)
    valid_start, test_start = time_windows(pd.to_datetime(events["ts"], utc=True).max(), window_days)
    sp_ = global_time_split(inter, valid_start, test_start)
    if sp_.train.nnz == 0 or sp_.test.nnz == 0:
        ts = pd.to_datetime(events["ts"], utc=True)
        span = (ts.max() - ts.min()).days
        raise ConfigError(
            f"dataset {ds_name!r} spans {span} days ({ts.min():%Y-%m-%d} to {ts.max():%Y-%m-%d}); the "
            f"{'time-repeats' if repeats else 'time'} protocol holds out the last {window_days} days for test "
            f"and the {window_days} before for validation, so it needs events before {valid_start:%Y-%m-%d}. "
            "Use --protocol loo (each user's last item) for a shorter log"
        )
    known = ~pd.Series(inter.users.ids).astype(str).str.startswith(ANONYMOUS_PREFIX).to_numpy()
    info: dict[str, Any] = {
        **sp_.info,
        "valid_start": valid_start.isoformat(),
        "test_start": test_start.isoformat(),
        "window_days": window_days,
        "repeats": repeats,
        "known_users": int(known.sum()),
    }
    return EvalSplit(
        train=sp_.train, valid=sp_.valid, test=sp_.test, info=info,
        protocol="time-repeats" if repeats else "time", dataset=ds_name,
        exclude_seen=not repeats, eval_user_mask=known, counts=_counts(inter),
    )  # fmt: skip
