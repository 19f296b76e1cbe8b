"""The store's privacy side (mixed into :class:`~tuijian.store.Store`): pseudonymous ids, encrypted profiles,
the audit log, erasure of one user, retention, key rotation.

The policy around these (refitting the model, purging old versions, settings) is in :mod:`tuijian.privacy`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, delete, func, insert, inspect, select, update

from tuijian.exceptions import ConfigError, StorageError, UnknownIdError
from tuijian.store import tables as t
from tuijian.store.records import now_us, pii_associated_data, us_to_datetime

if TYPE_CHECKING:
    from tuijian.privacy.crypto import Keyring
    from tuijian.privacy.pseudonym import Pseudonymizer

_PSEUDONYM_CHECK = "pseudonym_key_check"
_UNSET = "none"
#: tables and columns holding a user id (the ones erasure, retention and pseudonymisation touch)
USER_COLUMNS: tuple[tuple[Any, Any], ...] = (
    (t.events, t.events.c.user_id),
    (t.users, t.users.c.user_id),
    (t.feedback, t.feedback.c.user_id),
    (t.impression_lists, t.impression_lists.c.user_id),
    (t.exposures, t.exposures.c.user_id),
)


class PrivacyMixin:
    """Needs ``engine``, ``_begin()``, ``pseudonymizer`` and ``keyring`` from :class:`Store`."""

    engine: Engine
    _begin: Any
    _insert: Any
    pseudonymizer: Pseudonymizer
    keyring: Keyring | None

    # ------------------------------------------------------------------ ids
    @property
    def _user_key_fn(self) -> Callable[[str], str] | None:
        return self.pseudonymizer if self.pseudonymizer.enabled else None

    def user_key(self, user_id: str) -> str:
        """The id stored for ``user_id``: its keyed pseudonym when pseudonymisation is on, else itself."""
        return self.pseudonymizer(str(user_id))

    def check_pseudonym_key(self) -> None:
        """Refuse a pseudonym key other than the one the stored ids were written with (or a missing one).

        An empty database records the current setting; one that already holds users under raw ids needs
        ``tuijian privacy pseudonymize`` before a key is set.
        """
        mine = self.pseudonymizer.fingerprint() or _UNSET
        for attempt in range(3):  # several workers may open an empty database at once
            try:
                stored = self._read_or_record_check(mine)
                break
            except StorageError:
                if attempt == 2:
                    raise
        if stored == mine:
            return
        if stored == _UNSET:
            raise ConfigError(
                "TUIJIAN_PSEUDONYM_KEY is set but this database holds user ids stored as sent; convert them "
                "once with `tuijian privacy pseudonymize` (one-way), or unset the key"
            )
        if mine == _UNSET:
            raise ConfigError(
                "this database holds pseudonymised user ids: set TUIJIAN_PSEUDONYM_KEY to the key they "
                "were written with"
            )
        raise ConfigError(
            "TUIJIAN_PSEUDONYM_KEY is not the key this database's user ids were pseudonymised with; "
            "set the original key (a new key would split every user in two)"
        )

    def _read_or_record_check(self, mine: str) -> str:
        """The stored key check; a database without one and without user ids records ``mine`` first."""
        query = select(t.privacy_meta.c.value).where(t.privacy_meta.c.name == _PSEUDONYM_CHECK)
        with self._begin() as conn:
            stored = conn.execute(query).scalar()
            if stored is not None:
                return str(stored)
            if self._holds_user_ids(conn):
                return _UNSET  # written before pseudonymisation existed: raw ids
            stmt = self._insert(t.privacy_meta).on_conflict_do_nothing(index_elements=["name"])
            conn.execute(stmt.values(name=_PSEUDONYM_CHECK, value=mine))
        with self._begin() as conn:  # another process may have recorded its own first
            return str(conn.execute(query).scalar_one())

    def _holds_user_ids(self, conn: Connection) -> bool:
        return any(conn.execute(select(col).limit(1)).first() is not None for _, col in USER_COLUMNS)

    def _set_meta(self, conn: Connection, name: str, value: str) -> None:
        m = t.privacy_meta
        conn.execute(delete(m).where(m.c.name == name))
        conn.execute(insert(m).values(name=name, value=value))

    def pseudonymize_existing(self, *, actor: str = "system") -> dict[str, int]:
        """Replace every stored raw user id by its pseudonym (one-way), re-encrypting profiles to match.

        Needs pseudonymisation on and a database still marked as holding raw ids.
        """
        if not self.pseudonymizer.enabled:
            raise ConfigError("set TUIJIAN_PSEUDONYM_KEY first: it is the key the ids are converted with")
        counts: dict[str, int] = {}
        with self._begin() as conn:
            stored = conn.execute(
                select(t.privacy_meta.c.value).where(t.privacy_meta.c.name == _PSEUDONYM_CHECK)
            ).scalar()
            if stored not in (None, _UNSET):
                raise ConfigError("this database's user ids are pseudonymised already")
            for table, col in USER_COLUMNS:
                ids = [r[0] for r in conn.execute(select(col).where(col.is_not(None)).distinct()).all()]
                pairs = [{"new": self.pseudonymizer(u), "old": u} for u in ids]
                if table is t.users:
                    self._rekey_profiles(conn, pairs)
                elif pairs:
                    from sqlalchemy import bindparam

                    conn.execute(
                        update(table).where(col == bindparam("old")).values({col.name: bindparam("new")}),
                        pairs,
                    )
                counts[table.name] = len(ids)
            self._set_meta(conn, _PSEUDONYM_CHECK, self.pseudonymizer.fingerprint() or _UNSET)
            self.audit(actor, "pseudonymize", None, {"distinct_ids": counts}, conn=conn)
        return counts

    def _rekey_profiles(self, conn: Connection, pairs: list[dict[str, str]]) -> None:
        u = t.users.c
        for pair in pairs:
            row = conn.execute(select(u.pii).where(u.user_id == pair["old"])).first()
            pii = row.pii if row is not None else None
            if pii is not None:
                plain = self._keyring().decrypt(pii, pii_associated_data(pair["old"]))
                pii = self._keyring().encrypt(plain, pii_associated_data(pair["new"]))
            conn.execute(update(t.users).where(u.user_id == pair["old"]).values(user_id=pair["new"], pii=pii))

    # ------------------------------------------------------------------ audit log
    def audit(
        self,
        actor: str,
        action: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> None:
        """Append one audit entry (in ``conn``'s transaction when given)."""
        if not action:
            raise ConfigError("an audit entry needs an action, e.g. 'user_delete'")
        values = {
            "ts": now_us(),
            "actor": str(actor or "unknown")[:128],
            "action": str(action)[:64],
            "target": None if target is None else str(target)[:256],
            "detail": json.dumps(detail or {}, ensure_ascii=False, default=str, sort_keys=True),
        }
        if conn is not None:
            conn.execute(insert(t.audit_log).values(**values))
            return
        with self._begin() as own:
            own.execute(insert(t.audit_log).values(**values))

    def audit_entries(
        self, limit: int = 100, action: str | None = None, since_us: int | None = None
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` audit entries (of ``action``, at or after ``since_us``), newest first."""
        if not 1 <= limit <= 10_000:
            raise ConfigError(f"limit must be between 1 and 10000, got {limit}")
        a = t.audit_log.c
        q = select(a.id, a.ts, a.actor, a.action, a.target, a.detail).order_by(a.id.desc()).limit(limit)
        if action is not None:
            q = q.where(a.action == action)
        if since_us is not None:
            q = q.where(a.ts >= since_us)
        with self._begin() as conn:
            rows = conn.execute(q).all()
        return [
            {
                "id": int(r.id),
                "ts": us_to_datetime([r.ts])[0].isoformat(),
                "actor": r.actor,
                "action": r.action,
                "target": r.target,
                "detail": json.loads(r.detail),
            }
            for r in rows
        ]

    # ------------------------------------------------------------------ encrypted profiles
    def _keyring(self) -> Keyring:
        if self.keyring is None:
            raise ConfigError(
                "stored personal data is encrypted: set TUIJIAN_PII_KEYS to the keyring it was written with"
            )
        return self.keyring

    def user_profile(self, user_id: str) -> dict[str, Any] | None:
        """A user's profile with the personal fields decrypted (None when there is no profile)."""
        key = self.user_key(user_id)
        u = t.users.c
        with self._begin() as conn:
            row = conn.execute(select(u.attributes, u.pii, u.updated_at).where(u.user_id == key)).first()
        if row is None:
            return None
        attributes = json.loads(row.attributes)
        if row.pii is not None:
            attributes.update(json.loads(self._keyring().decrypt(row.pii, pii_associated_data(key))))
        return {"user_id": key, "attributes": attributes, "updated_at": us_to_datetime([row.updated_at])[0]}

    def pii_key_ids(self) -> dict[str, int]:
        """How many stored profiles are encrypted with each key id."""
        from tuijian.privacy.crypto import key_id_of

        counts: dict[str, int] = {}
        with self._begin() as conn:
            for (pii,) in conn.execute(select(t.users.c.pii).where(t.users.c.pii.is_not(None))):
                kid = key_id_of(pii)
                counts[kid] = counts.get(kid, 0) + 1
        return counts

    def rotate_pii(self, *, actor: str = "system", batch: int = 1_000) -> dict[str, int]:
        """Re-encrypt every profile not under the keyring's current key; returns ``{old key id: n}``."""
        from tuijian.privacy.crypto import key_id_of

        ring = self._keyring()
        u = t.users.c
        rotated: dict[str, int] = {}
        after = ""
        while True:
            with self._begin() as conn:
                rows = conn.execute(
                    select(u.user_id, u.pii)
                    .where(u.pii.is_not(None), u.user_id > after)
                    .order_by(u.user_id)
                    .limit(batch)
                ).all()
                for user_id, pii in rows:
                    kid = key_id_of(pii)
                    if kid == ring.current_id:
                        continue
                    aad = pii_associated_data(user_id)
                    token = ring.encrypt(ring.decrypt(pii, aad), aad)
                    conn.execute(update(t.users).where(u.user_id == user_id).values(pii=token))
                    rotated[kid] = rotated.get(kid, 0) + 1
            if len(rows) < batch:
                break
            after = rows[-1][0]
        self.audit(actor, "pii_key_rotate", ring.current_id, {"re_encrypted": rotated})
        return rotated

    # ------------------------------------------------------------------ export, erasure, retention
    def user_data(self, user_id: str) -> dict[str, Any]:
        """Everything stored about one user (profile decrypted, events, feedback, served lists, A/B exposures)
        as JSON-ready data. :class:`UnknownIdError` when nothing is stored."""
        key = self.user_key(user_id)
        e, f, m, x = t.events.c, t.feedback.c, t.impression_lists.c, t.exposures.c
        with self._begin() as conn:
            events = conn.execute(
                select(e.event_id, e.item_id, e.kind, e.value, e.ts, e.text, e.session)
                .where(e.user_id == key)
                .order_by(e.id)
            ).all()
            feedback = conn.execute(
                select(f.request_id, f.item_id, f.position, f.event, f.model_version, f.ts)
                .where(f.user_id == key)
                .order_by(f.id)
            ).all()
            lists = conn.execute(
                select(m.request_id, m.model_version, m.ts, m["items"]).where(m.user_id == key).order_by(m.id)
            ).all()
            exposures = conn.execute(
                select(x.experiment_id, x.variant, x.request_id, x.propensity, x.ts)
                .where(x.user_id == key)
                .order_by(x.id)
            ).all()
        profile = self.user_profile(user_id)
        if profile is None and not events and not feedback and not lists and not exposures:
            raise UnknownIdError(f"nothing is stored about user {user_id!r}")

        def iso(us: int) -> str:
            return str(us_to_datetime([us])[0].isoformat())

        return {
            "user_id": user_id,
            "stored_id": key,
            "profile": None if profile is None else profile["attributes"],
            "events": [
                {
                    "event_id": r[0],
                    "item": r[1],
                    "kind": r[2],
                    "value": r[3],
                    "ts": iso(r[4]),
                    "text": r[5],
                    "session": r[6],
                }
                for r in events
            ],
            "feedback": [
                {
                    "request_id": r[0],
                    "item": r[1],
                    "position": r[2],
                    "event": r[3],
                    "model_version": r[4],
                    "ts": iso(r[5]),
                }
                for r in feedback
            ],
            "served_lists": [
                {"request_id": r[0], "model_version": r[1], "ts": iso(r[2]), "items": json.loads(r[3])}
                for r in lists
            ],
            "experiment_exposures": [
                {
                    "experiment_id": r[0],
                    "variant": r[1],
                    "request_id": r[2],
                    "propensity": r[3],
                    "ts": iso(r[4]),
                }
                for r in exposures
            ],
        }

    def forget_user(self, user_id: str, *, actor: str = "system", stored_id: bool = False) -> dict[str, Any]:
        """Delete everything stored about ``user_id`` in one transaction: events, profile, feedback, served
        lists, and cached generated copy of the items they reviewed. Audited as ``user_delete``.

        ``stored_id``: ``user_id`` is already the stored id (e.g. an audit entry's target), not the shop's.
        Returns the counts and ``first_event_id`` (the smallest id of their deleted events, or None): model
        versions trained on events from there on learned from them (see :mod:`tuijian.privacy.erasure`).
        :class:`UnknownIdError` when nothing is stored about them.
        """
        key = str(user_id) if stored_id else self.user_key(user_id)
        e = t.events.c
        with self._begin() as conn:
            first = conn.execute(select(func.min(e.id)).where(e.user_id == key)).scalar()
            reviewed = [
                r[0]
                for r in conn.execute(
                    select(e.item_id)
                    .where(e.user_id == key, e.kind == "review", e.item_id.is_not(None))
                    .distinct()
                ).all()
            ]
            counts: dict[str, Any] = {}
            for name, (table, col) in zip(
                ("events", "profile", "feedback", "impression_lists", "exposures"), USER_COLUMNS, strict=True
            ):
                counts[name] = int(conn.execute(delete(table).where(col == key)).rowcount)
            if not any(counts.values()):
                raise UnknownIdError(f"nothing is stored about user {user_id!r}")
            counts["generated_copy"] = _delete_copy(conn, reviewed)
            counts["first_event_id"] = None if first is None else int(first)
            self.audit(actor, "user_delete", key, counts, conn=conn)
        return {"user_id": user_id, "stored_id": key, **counts}

    def expire_before(self, ts_us: int, *, actor: str = "system") -> dict[str, int]:
        """Delete events, feedback and served lists with ``ts < ts_us`` (retention); audited as ``expire``."""
        counts = {}
        with self._begin() as conn:
            for table in (t.events, t.feedback, t.impression_lists, t.exposures):
                counts[table.name] = int(conn.execute(delete(table).where(table.c.ts < int(ts_us))).rowcount)
            detail = {**counts, "before": str(us_to_datetime([ts_us])[0].isoformat())}
            self.audit(actor, "expire", None, detail, conn=conn)
        return counts

    def delete_model_versions(self, versions: list[str], *, actor: str = "system") -> int:
        """Remove version rows (never an active one); audited as ``model_purge``."""
        if not versions:
            return 0
        mv = t.model_versions.c
        with self._begin() as conn:
            n = conn.execute(
                delete(t.model_versions).where(mv.version.in_(versions), mv.active.is_(False))
            ).rowcount
            self.audit(actor, "model_purge", None, {"versions": versions}, conn=conn)
        return int(n)


def _delete_copy(conn: Connection, items: list[str]) -> int:
    """Cached generated copy (``generated_copy`` rows keyed ``item|segment|language|task``) of ``items``."""
    if not items or not inspect(conn).has_table("generated_copy"):
        return 0
    from sqlalchemy import column, table

    copy = table("generated_copy", column("key"))
    prefixes = tuple(f"{item}|" for item in items)
    keys = [k for (k,) in conn.execute(select(copy.c.key)).all() if str(k).startswith(prefixes)]
    if keys:
        conn.execute(delete(copy).where(copy.c.key.in_(keys)))
    return len(keys)
