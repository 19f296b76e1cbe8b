"""Feedback log, API keys and model versions: the service's bookkeeping tables (mixed into :class:`Store`)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert, select, update

from tuijian.exceptions import ConfigError
from tuijian.store import keys as keylib
from tuijian.store import tables as t
from tuijian.store.records import now_us, us_to_datetime

FEEDBACK_EVENTS = ("impression", "click", "add_to_cart", "purchase")
#: served lists per INSERT statement (5 parameters each, well under SQLite's 32,766-parameter limit)
IMPRESSION_CHUNK = 1_000


class BookkeepingMixin:
    """Needs ``self.engine`` and ``self._begin()`` (a transaction context manager) from :class:`Store`."""

    engine: Engine
    _begin: Any
    _user_key_fn: Any
    audit: Any

    # ------------------------------------------------------------------ feedback loop
    def log_impressions(
        self,
        request_id: str,
        user: str | None,
        items: Sequence[str],
        model_version: str | None,
        ts_us: int | None = None,
    ) -> int:
        """Log one served list (``items`` in position order); returns the number of impressions."""
        items = [str(it) for it in items]
        if items:
            self.log_impression_lists(
                [(request_id, user, model_version, ts_us or now_us(), json.dumps(items, ensure_ascii=False))]
            )
        return len(items)

    def log_impression_lists(
        self,
        rows: Sequence[
            tuple[str, str | None, str | None, int, str]
            | tuple[str, str | None, str | None, int, str, float | None]
        ],
    ) -> int:
        """Bulk-log served lists: ``(request_id, user, model_version, ts_us, items as a JSON array)`` each,
        optionally with a sixth field, the logging policy's propensity for the list (NULL when absent).

        One multi-row ``INSERT … VALUES (…), (…), …`` per chunk of lists, through the plain DBAPI: the
        service logs every response, SQLAlchemy's per-row rendering cost more CPU than the recommendation
        itself, and ``executemany`` would hand the interpreter lock back and forth with the serving thread
        once per row (SQLite releases it around every statement step).
        """
        if not rows:
            return 0
        key = self._user_key_fn
        if key is not None:
            rows = [(r[0], None if r[1] is None else key(r[1]), *r[2:]) for r in rows]
        mark = "?" if self.engine.dialect.name == "sqlite" else "%s"
        one = f"({', '.join([mark] * 6)})"
        head = (
            "INSERT INTO impression_lists (request_id, user_id, model_version, ts, items, propensity) VALUES "
        )
        rows = [r if len(r) == 6 else (*r, None) for r in rows]
        with self._begin() as conn:
            for start in range(0, len(rows), IMPRESSION_CHUNK):
                chunk = rows[start : start + IMPRESSION_CHUNK]
                params = tuple(v for row in chunk for v in row)
                conn.exec_driver_sql(head + ", ".join([one] * len(chunk)), params)
        return len(rows)

    def log_feedback(self, records: Iterable[dict[str, Any]]) -> int:
        """Clicks / purchases / impressions against a ``request_id``; each record needs ``request_id``, ``item``, ``event``."""
        rows = []
        key = self._user_key_fn
        for i, r in enumerate(records):
            if r.get("event") not in FEEDBACK_EVENTS:
                raise ConfigError(
                    f"feedback row {i}: event must be one of {FEEDBACK_EVENTS}, got {r.get('event')!r}"
                )
            if not r.get("request_id") or not r.get("item"):
                raise ConfigError(f"feedback row {i}: request_id and item are required, got {r!r}")
            rows.append(
                (
                    str(r["request_id"]),
                    key(str(r["user"])) if key is not None and r.get("user") is not None else r.get("user"),
                    str(r["item"]),
                    r.get("position"),
                    r["event"],
                    r.get("model_version"),
                    int(r.get("ts_us") or now_us()),
                )
            )
        if rows:
            # plain DBAPI executemany: impressions arrive at ~10 rows per served request, and
            # SQLAlchemy's per-row insert rendering cost more CPU than the recommendation itself
            mark = "?" if self.engine.dialect.name == "sqlite" else "%s"
            sql = (
                "INSERT INTO feedback (request_id, user_id, item_id, position, event, model_version, ts) "
                f"VALUES ({', '.join([mark] * 7)})"
            )
            with self._begin() as conn:
                conn.exec_driver_sql(sql, rows)
        return len(rows)

    def feedback_frame(self, request_id: str | None = None) -> pd.DataFrame:
        """Every impression (one row per served item, from the impression lists) and every click,
        add-to-cart and purchase logged against a request id, oldest first."""
        f, m = t.feedback.c, t.impression_lists.c
        q = select(
            f.id, f.request_id, f.user_id, f.item_id, f.position, f.event, f.model_version, f.ts
        ).order_by(f.id)
        ql = select(m.id, m.request_id, m.user_id, m.model_version, m.ts, m["items"]).order_by(m.id)
        if request_id is not None:
            q = q.where(f.request_id == request_id)
            ql = ql.where(m.request_id == request_id)
        with self._begin() as conn:
            rows = [tuple(r) for r in conn.execute(q).all()]
            lists = conn.execute(ql).all()
        shown = [
            (lid, rid, user, str(item), pos, "impression", version, ts)
            for lid, rid, user, version, ts, items in lists
            for pos, item in enumerate(json.loads(items))
        ]
        cols = ["id", "request_id", "user", "item", "position", "event", "model_version", "ts"]
        df = pd.DataFrame(shown + rows, columns=cols)
        if len(df):
            # impressions first within a timestamp: a list is shown before anything on it is clicked
            df["_order"] = (df["event"] != "impression").astype(int)
            df = df.sort_values(["ts", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
        df["ts"] = (
            us_to_datetime(df["ts"].to_numpy()) if len(df) else pd.Series([], dtype="datetime64[ns, UTC]")
        )
        return df

    # ------------------------------------------------------------------ API keys
    def create_api_key(self, role: str, name: str = "", *, actor: str = "system") -> tuple[str, str]:
        """A new key with ``role``; returns ``(key_id, plaintext_key)``. Only a salted hash is stored.

        Recorded in the audit log (``api_key_create``, by ``actor``) in the same transaction.
        """
        if role not in keylib.ROLES:
            raise ConfigError(f"role must be one of {keylib.ROLES}, got {role!r}")
        key_id, secret, plaintext = keylib.new_key()
        salt = secrets.token_hex(16)
        with self._begin() as conn:
            conn.execute(
                insert(t.api_keys).values(
                    key_id=key_id,
                    name=name,
                    role=role,
                    salt=salt,
                    key_hash=keylib.hash_secret(secret, salt),
                    created_at=now_us(),
                )
            )
            self.audit(actor, "api_key_create", key_id, {"role": role, "name": name}, conn=conn)
        return key_id, plaintext

    def verify_api_key(self, key: str) -> str | None:
        """The key's role, or None if the key is unknown, malformed or revoked."""
        parts = keylib.split_key(key)
        if parts is None:
            return None
        key_id, secret = parts
        a = t.api_keys.c
        with self._begin() as conn:
            row = conn.execute(
                select(a.role, a.salt, a.key_hash, a.revoked_at).where(a.key_id == key_id)
            ).first()
        if (
            row is None
            or row.revoked_at is not None
            or not keylib.check_secret(secret, row.salt, row.key_hash)
        ):
            return None
        return str(row.role)

    def list_api_keys(self) -> list[dict[str, Any]]:
        a = t.api_keys.c
        with self._begin() as conn:
            rows = conn.execute(
                select(a.key_id, a.name, a.role, a.created_at, a.revoked_at).order_by(a.created_at)
            ).all()
        return [
            {
                "key_id": r.key_id,
                "name": r.name,
                "role": r.role,
                "created_at": r.created_at,
                "revoked": r.revoked_at is not None,
            }
            for r in rows
        ]

    def revoke_api_key(self, key_id: str, *, actor: str = "system") -> bool:
        """Revoke by public ``key_id`` (or full key); True if a live key was revoked (audited as ``api_key_revoke``)."""
        parts = keylib.split_key(key_id)
        kid = parts[0] if parts else key_id
        with self._begin() as conn:
            res = conn.execute(
                update(t.api_keys)
                .where(t.api_keys.c.key_id == kid, t.api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now_us())
            )
            if res.rowcount:
                self.audit(actor, "api_key_revoke", kid, {}, conn=conn)
        return bool(res.rowcount)

    # ------------------------------------------------------------------ model versions
    def register_model_version(
        self,
        version: str,
        model: str,
        dataset: str,
        path: str,
        metrics: dict[str, Any] | None = None,
        activate: bool = True,
        *,
        actor: str = "system",
    ) -> None:
        """Record a trained artifact; with ``activate`` it becomes the one every worker serves for ``dataset``
        (every worker hot-swaps to it; audited as ``model_activate``)."""
        m = t.model_versions.c
        with self._begin() as conn:
            if activate:
                conn.execute(update(t.model_versions).where(m.dataset == dataset).values(active=False))
            conn.execute(
                insert(t.model_versions).values(
                    version=version,
                    model=model,
                    dataset=dataset,
                    path=path,
                    metrics=json.dumps(metrics or {}),
                    created_at=now_us(),
                    active=activate,
                )
            )
            if activate:
                self.audit(actor, "model_activate", version, {"model": model, "dataset": dataset}, conn=conn)

    def active_model_version(self, dataset: str) -> dict[str, Any] | None:
        m = t.model_versions.c
        with self._begin() as conn:
            row = conn.execute(
                select(t.model_versions)
                .where(m.dataset == dataset, m.active.is_(True))
                .order_by(m.created_at.desc())
                .limit(1)
            ).first()
        return _version_dict(row) if row is not None else None

    def list_model_versions(self, dataset: str | None = None) -> list[dict[str, Any]]:
        m = t.model_versions.c
        q = select(t.model_versions).order_by(m.created_at.desc())
        if dataset is not None:
            q = q.where(m.dataset == dataset)
        with self._begin() as conn:
            return [_version_dict(r) for r in conn.execute(q).all()]


def _version_dict(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["metrics"] = json.loads(d["metrics"])
    d["active"] = bool(d["active"])
    return d
