"""Opening a database by URL and bringing its schema up to date.

* ``sqlite:///path/to/file.sqlite`` (the default): WAL journal, ``synchronous=FULL``
  (a committed transaction is on disk before the call returns, so a 2xx answer means
  durable) and a busy timeout so several worker processes can write.
* ``postgresql://user:pass@host:port/db`` (or ``postgres://``): mapped to SQLAlchemy's
  psycopg 3 driver, ``postgresql+psycopg://``.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tuijian.exceptions import ConfigError

#: how long a SQLite writer waits for another process's lock before failing (ms)
SQLITE_BUSY_TIMEOUT_MS = 30_000
_PG_MIGRATION_LOCK = 727_411_001  # arbitrary advisory-lock key for schema upgrades


def normalize_url(url: str) -> str:
    """Map user-facing URLs to SQLAlchemy URLs with the driver Tuijian uses."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(
            f"database URL must be a non-empty string like sqlite:///var/tuijian.sqlite, got {url!r}"
        )
    url = url.strip()
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith(("sqlite://", "postgresql+psycopg://")):
        return url
    raise ConfigError(
        f"unsupported database URL {url!r}; expected sqlite:///<path> or postgresql://user:pass@host:port/dbname"
    )


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for in-memory or non-SQLite URLs)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url`` with Tuijian's durability settings."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"cannot parse database URL {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is None:
            raise ConfigError(
                "in-memory SQLite is not supported (every connection would see its own database); use sqlite:///<file>"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=8, max_overflow=16, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA mmap_size=268435456")  # reads through the page cache, no pread per page
            cur.close()

        return engine
    return create_engine(url, pool_size=8, max_overflow=16, pool_pre_ping=True)


def upgrade_schema(engine: Engine) -> None:
    """Run the packaged Alembic migrations up to ``head`` (safe from several processes at once)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with _migration_lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """For SQLite, an exclusive file lock beside the database (PostgreSQL uses an advisory lock)."""
    path = sqlite_path(str(engine.url)) if engine.dialect.name == "sqlite" else None
    if path is None:
        yield
        return
    lock_path = path.with_name(path.name + ".migrate.lock")
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
