"""The :class:`Store`: events, catalog, users, API keys, feedback and model versions in one SQL database."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from tuijian.data.schema import Event, Item, User
from tuijian.exceptions import ConfigError, StorageError
from tuijian.store import tables as t
from tuijian.store.bookkeeping import BookkeepingMixin
from tuijian.store.engine import make_engine, upgrade_schema
from tuijian.store.experiments import ExperimentsMixin
from tuijian.store.privacy_ops import PrivacyMixin
from tuijian.store.records import (
    event_rows,
    events_frame_from_rows,
    item_rows,
    user_rows,
)

if TYPE_CHECKING:
    from tuijian.privacy.crypto import Keyring
    from tuijian.privacy.pseudonym import Pseudonymizer
    from tuijian.privacy.settings import PrivacySettings

_EVENT_COLS = (
    t.events.c.id,
    t.events.c.event_id,
    t.events.c.user_id,
    t.events.c.item_id,
    t.events.c.kind,
    t.events.c.value,
    t.events.c.ts,
    t.events.c.text,
    t.events.c.session,
)


@dataclass(frozen=True)
class InsertResult:
    """Outcome of a batch insert: rows written and rows skipped because their ``event_id`` was already stored."""

    inserted: int
    duplicates: int


class Store(BookkeepingMixin, PrivacyMixin, ExperimentsMixin):
    """SQL storage opened by URL (see :func:`open_store`). Thread-safe; one instance per process.

    User ids: methods that **write** (``add_events``, ``add_users``, ``log_feedback``, impressions,
    ``forget_user``, ``user_profile``) take the id as the shop sends it and store ``user_key(id)``: a keyed
    pseudonym when ``pseudonymizer`` is enabled, else the id itself. Methods that **read** by user
    (``user_events``, ``recent_event_rows``) and every frame they return use the stored id; the service
    maps an incoming id once with :meth:`user_key`. Personal profile fields are encrypted with ``keyring``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        pseudonymizer: Pseudonymizer | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        from tuijian.privacy.pseudonym import Pseudonymizer

        self.engine = engine
        self.pseudonymizer = pseudonymizer or Pseudonymizer(None)
        self.keyring = keyring
        self.dialect = engine.dialect.name
        self._local = threading.local()
        mark = "?" if self.dialect == "sqlite" else "%s"
        self._sql_recent = (
            f"SELECT id, item_id, kind, ts FROM events WHERE user_id = {mark} AND id > {mark} "
            f"ORDER BY id DESC LIMIT {mark}"
        )
        self._sql_after = (
            f"SELECT id, user_id, item_id, kind, ts FROM events WHERE id > {mark} ORDER BY id LIMIT {mark}"
        )
        #: committed ``add_events`` calls in this process (a cheap change signal for in-process caches)
        self.event_writes = 0

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ plumbing
    @contextlib.contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except DBAPIError as exc:
            raise StorageError(f"database error on {self.url}: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"database error on {self.url}: {exc}") from exc

    def _insert(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert

            return postgresql_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    def _upsert(self, conn: Connection, table: Any, key: str, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[key], set_={c: stmt.excluded[c] for c in rows[0] if c != key}
        )
        conn.execute(stmt, rows)
        return len(rows)

    # ------------------------------------------------------------------ events
    def add_events(self, events: pd.DataFrame | Iterable[Event | dict[str, Any]]) -> InsertResult:
        """Insert a batch in one transaction; rows whose ``event_id`` is already stored are skipped.

        Durable when this returns (SQLite ``synchronous=FULL``; PostgreSQL commit).
        Raises :class:`DataError` naming bad rows before anything is written.
        """
        rows = event_rows(events, self._user_key_fn)
        if not rows:
            return InsertResult(0, 0)
        stmt = self._insert(t.events).on_conflict_do_nothing(index_elements=["event_id"])
        with self._begin() as conn:
            if self.dialect == "postgresql":  # rowcount of a batched executemany is not the total there
                inserted = len(conn.execute(stmt.returning(t.events.c.id), rows).all())
            else:  # sqlite3's executemany rowcount is exact, and faster than RETURNING
                inserted = conn.execute(stmt, rows).rowcount
        self.event_writes += 1  # committed: in-process readers (service.fresh) look again at once
        return InsertResult(inserted=int(inserted), duplicates=len(rows) - int(inserted))

    def events_frame(self, since_id: int | None = None, until_id: int | None = None) -> pd.DataFrame:
        """All events (or those with ``since_id < id <= until_id``) in insertion order.

        Columns ``id, event_id, user, item, kind, value, ts, text, session``.
        """
        q = select(*_EVENT_COLS).order_by(t.events.c.id)
        if since_id is not None:
            q = q.where(t.events.c.id > since_id)
        if until_id is not None:
            q = q.where(t.events.c.id <= until_id)
        with self._begin() as conn:
            rows = conn.execute(q).all()
        return events_frame_from_rows(rows)

    def user_events(self, user: str, limit: int = 100, since_id: int | None = None) -> pd.DataFrame:
        """The user's most recent ``limit`` events (after ``since_id``), oldest first."""
        return events_frame_from_rows(self._event_rows(user, limit, since_id, _EVENT_COLS))

    def _event_rows(
        self, user: str, limit: int, since_id: int | None, columns: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        if limit < 1:
            raise ConfigError(f"limit must be >= 1, got {limit}")
        q = (
            select(*columns)
            .where(t.events.c.user_id == str(user))
            .order_by(t.events.c.id.desc())
            .limit(limit)
        )
        if since_id is not None:
            q = q.where(t.events.c.id > since_id)
        with self._begin() as conn:
            rows = conn.execute(q).all()
        return [tuple(r) for r in reversed(rows)]

    def recent_event_rows(
        self, user: str, limit: int = 100, since_id: int | None = None
    ) -> list[tuple[Any, ...]]:
        """``(id, item, kind, ts_us)`` of the user's latest events after ``since_id``, oldest first.

        This is the serving hot path: it runs plain SQL on a per-thread DBAPI connection
        (autocommit, so every call sees every committed event) instead of SQLAlchemy Core,
        which costs ~40x more per call.
        """
        if limit < 1:
            raise ConfigError(f"limit must be >= 1, got {limit}")
        sql = self._sql_recent
        params = (str(user), -1 if since_id is None else int(since_id), int(limit))
        for attempt in (0, 1):
            cur = self._hot_cursor()
            try:
                cur.execute(sql, params)
                rows = cur.fetchall()
                break
            except Exception as exc:  # noqa: BLE001 - a dropped connection: reconnect once
                self._local.__dict__.pop("cur", None)
                if attempt:
                    raise StorageError(f"database error on {self.url}: {exc}") from exc
        return [tuple(r) for r in reversed(rows)]

    def session_items(self, session: str, limit: int = 50) -> list[str]:
        """Items of a session's latest events, oldest first."""
        q = (
            select(t.events.c.item_id)
            .where(t.events.c.session == str(session), t.events.c.item_id.is_not(None))
            .order_by(t.events.c.id.desc())
            .limit(limit)
        )
        with self._begin() as conn:
            return [r[0] for r in reversed(conn.execute(q).all())]

    def item_counts_since(self, ts_us: int, limit: int) -> list[tuple[str, int]]:
        """``(item, n_events)`` of events with ``ts >= ts_us``, most frequent first (for trending)."""
        e = t.events.c
        n = func.count().label("n")
        q = (
            select(e.item_id, n)
            .where(e.ts >= ts_us, e.item_id.is_not(None))
            .group_by(e.item_id)
            .order_by(n.desc(), e.item_id)
            .limit(limit)
        )
        with self._begin() as conn:
            return [(r[0], int(r[1])) for r in conn.execute(q).all()]

    def max_event_ts(self) -> int | None:
        with self._begin() as conn:
            v = conn.execute(select(func.max(t.events.c.ts))).scalar_one()
        return None if v is None else int(v)

    def events_after(self, after_id: int, limit: int = 50_000) -> list[tuple[Any, ...]]:
        """``(id, user, item, kind, ts_us)`` of up to ``limit`` events with ``id > after_id``, by id."""
        cur = self._hot_cursor()
        try:
            cur.execute(self._sql_after, (int(after_id), int(limit)))
            return [tuple(r) for r in cur.fetchall()]
        except Exception as exc:  # noqa: BLE001 - a dropped connection: reconnect on the next call
            self._local.__dict__.pop("cur", None)
            raise StorageError(f"database error on {self.url}: {exc}") from exc

    def _hot_cursor(self) -> Any:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            raw = self.engine.raw_connection()
            driver = raw.driver_connection
            if driver is None:  # only for a connection the pool has already invalidated
                raw.close()
                raise StorageError(f"database error on {self.url}: the pooled connection was invalidated")
            if self.dialect == "postgresql":
                driver.autocommit = True
            self._local.raw = raw  # keep the pool proxy alive for this thread
            cur = self._local.cur = driver.cursor()
        return cur

    def max_event_id(self) -> int:
        """Largest event row id (0 when empty): a cursor for incremental reads."""
        with self._begin() as conn:
            return int(conn.execute(select(func.coalesce(func.max(t.events.c.id), 0))).scalar_one())

    def count_events(self) -> int:
        with self._begin() as conn:
            return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())

    # ------------------------------------------------------------------ catalog and users
    def add_items(self, items: pd.DataFrame | Iterable[Item | dict[str, Any]]) -> int:
        """Insert or update items (by ``item_id``) in one transaction; returns the number written."""
        rows = item_rows(items)
        with self._begin() as conn:
            return self._upsert(conn, t.items, "item_id", rows)

    def items_frame(self) -> pd.DataFrame:
        """Catalog: ``item_id, title, description, brand, category (list), price, attributes (dict)``."""
        q = select(
            t.items.c.item_id,
            t.items.c.title,
            t.items.c.description,
            t.items.c.brand,
            t.items.c.category,
            t.items.c.price,
            t.items.c.attributes,
        ).order_by(t.items.c.item_id)
        with self._begin() as conn:
            rows = conn.execute(q).all()
        df = pd.DataFrame(
            rows, columns=["item_id", "title", "description", "brand", "category", "price", "attributes"]
        )
        df["category"] = [json.loads(c) for c in df["category"]]
        df["attributes"] = [json.loads(a) for a in df["attributes"]]
        df["price"] = df["price"].astype("float64")
        return df

    def add_users(self, users: pd.DataFrame | Iterable[User | dict[str, Any]]) -> int:
        """Insert or update user profiles; ``email``, ``name`` and ``address`` are stored encrypted."""
        rows = user_rows(users, self._user_key_fn, self.keyring)
        with self._begin() as conn:
            return self._upsert(conn, t.users, "user_id", rows)

    def users_frame(self) -> pd.DataFrame:
        """``user_id`` (stored id) and ``attributes``; personal fields are not included (see ``user_profile``)."""
        with self._begin() as conn:
            rows = conn.execute(
                select(t.users.c.user_id, t.users.c.attributes).order_by(t.users.c.user_id)
            ).all()
        return pd.DataFrame({"user_id": [r[0] for r in rows], "attributes": [json.loads(r[1]) for r in rows]})


def open_store(url: str, *, migrate: bool = True, privacy: PrivacySettings | None = None) -> Store:
    """Open (and by default migrate to the latest schema) the database at ``url``.

    ``sqlite:///path`` or ``postgresql://user:pass@host:port/db``. ``privacy`` (default: from the
    ``TUIJIAN_*`` environment, see :mod:`tuijian.privacy.settings`) sets the pseudonym key and the
    keyring; a database written under another pseudonym key (or under none) is refused.
    """
    from tuijian.privacy.settings import load_privacy_settings

    privacy = privacy if privacy is not None else load_privacy_settings()
    engine = make_engine(url)
    if migrate:
        try:
            upgrade_schema(engine)
        except DBAPIError as exc:
            engine.dispose()
            raise StorageError(
                f"cannot open database {engine.url.render_as_string(hide_password=True)}: {exc.orig}"
            ) from exc
    store = Store(engine, **privacy_parts(privacy))
    try:
        store.check_pseudonym_key()
    except Exception:
        store.close()
        raise
    return store


def privacy_parts(privacy: PrivacySettings) -> dict[str, Any]:
    """``pseudonymizer`` and ``keyring`` keyword arguments of :class:`Store` from privacy settings."""
    from tuijian.privacy.crypto import Keyring
    from tuijian.privacy.pseudonym import Pseudonymizer

    key = privacy.pseudonym_key.get_secret_value() if privacy.pseudonym_key is not None else None
    ring = privacy.pii_keys.get_secret_value() if privacy.pii_keys is not None else None
    return {"pseudonymizer": Pseudonymizer(key), "keyring": Keyring.parse(ring) if ring else None}
