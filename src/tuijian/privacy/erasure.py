"""The right to be forgotten and retention: delete the data, then remove its influence on the served model.

Deleting a user (:meth:`Store.forget_user <tuijian.store.Store.forget_user>`) removes their events,
profile, feedback, served lists and the cached copy of items they reviewed. Their influence on the model
goes by **refit**: :func:`refit_without` trains the active version's model again on the remaining events
(exactly what training from scratch on a database that never held them would give, for deterministic
models), activates it (every worker hot-swaps within its poll interval) and purges the older versions that
were trained on their events, artifacts (and their precomputed top lists) included.

Retention (:func:`expire`) deletes behaviour records older than ``TUIJIAN_RETENTION_DAYS`` and refits
the same way.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuijian.exceptions import ConfigError

log = logging.getLogger("tuijian.privacy")

#: ``train(model_name) -> version label``: trains, registers and activates a version (the service passes
#: its Retrainer, which also swaps it in at once)
Trainer = Callable[[str], str]


def refit_without(
    store: Any,
    dataset: str,
    artifacts_root: Path,
    *,
    actor: str,
    first_event_id: int | None,
    train: Trainer | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """Retrain the served model of ``dataset`` on the stored events, activate it, purge tainted versions.

    ``first_event_id``: the smallest id of the deleted events; every other version trained on events from
    there on (``max_event_id >= first_event_id``) is purged. None (only a profile was deleted, or retention)
    purges every inactive version. Returns ``{"model", "model_version", "purged", "kept_files"}``.
    """
    active = store.active_model_version(dataset)
    if active is None:
        return {"model": None, "model_version": None, "purged": [], "kept_files": []}
    name = model or str(active["model"])
    if train is None:
        from tuijian.service.versions import train_version

        def train(m: str) -> str:
            return train_version(store, dataset, artifacts_root, m)

    label = train(name)
    purged, kept = purge_versions(store, dataset, artifacts_root, first_event_id, actor=actor)
    result = {"model": name, "model_version": label, "purged": purged, "kept_files": kept}
    store.audit(actor, "refit", dataset, result)
    return result


def purge_versions(
    store: Any, dataset: str, artifacts_root: Path, first_event_id: int | None, *, actor: str
) -> tuple[list[str], list[str]]:
    """Delete the inactive versions of ``dataset`` trained on events with id >= ``first_event_id`` (all
    inactive ones when None): their rows, and their artifact folders when those lie under ``artifacts_root``.
    Returns ``(purged versions, folders left in place because they are outside artifacts_root)``."""
    root = Path(artifacts_root).resolve()
    doomed, kept = [], []
    for row in store.list_model_versions(dataset):
        if row["active"]:
            continue
        trained_to = int(row["metrics"].get("max_event_id", 0) or 0)
        if first_event_id is not None and trained_to < first_event_id:
            continue
        doomed.append(row["version"])
        folder = Path(row["path"]).resolve()
        if folder.is_relative_to(root) and folder != root:
            shutil.rmtree(folder, ignore_errors=True)
        elif folder.exists():
            kept.append(str(folder))
    store.delete_model_versions(doomed, actor=actor)
    return doomed, kept


def forget(
    store: Any,
    user_id: str,
    *,
    actor: str,
    dataset: str,
    artifacts_root: Path,
    refit: bool = True,
    train: Trainer | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """Delete a user's data and (``refit``) their influence on the served model; the full report."""
    deleted = store.forget_user(user_id, actor=actor)
    report: dict[str, Any] = {"user_id": user_id, "deleted": deleted, "refit": None}
    if refit:
        report["refit"] = refit_without(
            store,
            dataset,
            artifacts_root,
            actor=actor,
            first_event_id=deleted["first_event_id"],
            train=train,
            model=model,
        )
    return report


def erasures_since(store: Any, since_us: int) -> list[str]:
    """Stored ids of the users deleted at or after ``since_us`` (from the audit log), oldest first."""
    entries = store.audit_entries(limit=10_000, action="user_delete", since_us=since_us)
    return list(dict.fromkeys(e["target"] for e in reversed(entries) if e["target"]))


def reapply_erasures(store: Any, stored_ids: list[str], *, actor: str) -> list[str]:
    """Delete again the users in ``stored_ids`` that a restored backup brought back; returns those deleted.

    A backup taken before an erasure still holds the user: ``tuijian restore`` reads the erasures recorded
    after the backup from the database it replaces and applies them to the restored one.
    """
    from tuijian.exceptions import UnknownIdError

    done = []
    for key in stored_ids:
        try:
            store.forget_user(key, actor=actor, stored_id=True)
        except UnknownIdError:
            continue
        done.append(key)
    return done


def retention_cutoff_us(days: float, now: float | None = None) -> int:
    """Microseconds since the epoch ``days`` before ``now`` (default: the current time)."""
    if not days > 0:
        raise ConfigError(f"retention days must be > 0, got {days}")
    return int(((time.time() if now is None else now) - days * 86_400) * 1_000_000)


def expire(
    store: Any,
    days: float | None = None,
    *,
    actor: str,
    dataset: str | None = None,
    artifacts_root: Path | None = None,
    refit: bool = False,
    train: Trainer | None = None,
) -> dict[str, Any]:
    """Delete events, feedback and served lists older than ``days`` (default ``TUIJIAN_RETENTION_DAYS``);
    with ``refit``, retrain and purge every older version of ``dataset`` as for a deleted user."""
    if days is None:
        from tuijian.privacy.settings import load_privacy_settings

        days = load_privacy_settings().retention_days
        if days is None:
            raise ConfigError("no retention period: set TUIJIAN_RETENTION_DAYS or pass the number of days")
    counts = store.expire_before(retention_cutoff_us(days), actor=actor)
    report: dict[str, Any] = {"days": days, "deleted": counts, "refit": None}
    if refit and counts["events"]:
        if dataset is None or artifacts_root is None:
            raise ConfigError("refitting after expiry needs the dataset and the artifacts folder")
        report["refit"] = refit_without(
            store, dataset, artifacts_root, actor=actor, first_event_id=None, train=train
        )
    return report
