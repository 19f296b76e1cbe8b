"""Online backup and verified restore of the store.

* **SQLite**: the ``sqlite3`` backup API copies the database in one step inside one read transaction, so
  the copy is a consistent snapshot while the service keeps writing (WAL: readers never block writers).
  The copy is switched to a rollback journal (a single self-contained file) and checked with
  ``PRAGMA integrity_check``.
* **PostgreSQL**: ``pg_dump --format=custom`` of a snapshot exported from a ``REPEATABLE READ`` transaction
  (``pg_export_snapshot``); the manifest is computed in that same transaction, so it describes exactly what
  the dump holds. Restore is ``pg_restore --clean --if-exists --single-transaction``.

Every backup ``FILE`` gets a manifest ``FILE.manifest.json``: per table, the row count and a SHA-256 over its
rows in primary-key order, plus the SHA-256 of the file. Restore checks the file against the manifest first,
then the restored database against it, table by table; any difference is an error.

Stop the service before a restore: it replaces the whole database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from tuijian.exceptions import ConfigError, StorageError
from tuijian.store.engine import SQLITE_BUSY_TIMEOUT_MS, normalize_url, sqlite_path

FORMAT = "tuijian-backup/1"
MANIFEST_SUFFIX = ".manifest.json"


def manifest_path(backup_file: str | Path) -> Path:
    p = Path(backup_file)
    return p.with_name(p.name + MANIFEST_SUFFIX)


# ---------------------------------------------------------------------------------------------- manifests
def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def _table_digest(cursor: Any, table: str, order: list[str]) -> dict[str, Any]:
    quoted = ", ".join(f'"{c}"' for c in order)
    cursor.execute(f'SELECT * FROM "{table}" ORDER BY {quoted}')
    digest, n = hashlib.sha256(), 0
    while True:
        rows = cursor.fetchmany(10_000)
        if not rows:
            break
        for row in rows:
            digest.update(json.dumps(list(row), default=_encode, ensure_ascii=False).encode())
            digest.update(b"\n")
        n += len(rows)
    return {"rows": n, "sha256": digest.hexdigest()}


def _sqlite_tables(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    cur = conn.cursor()
    names = [
        r[0]
        for r in cur.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
    ]
    out = {}
    for name in names:
        info = cur.execute(f'PRAGMA table_info("{name}")').fetchall()  # cid, name, type, notnull, dflt, pk
        pk = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
        out[name] = _table_digest(cur, name, pk or [r[1] for r in info])
    return out


def _pg_tables(cursor: Any) -> dict[str, dict[str, Any]]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
    names = [r[0] for r in cursor.fetchall()]
    out = {}
    for name in names:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary "
            "ORDER BY array_position(i.indkey, a.attnum)",
            (f'"{name}"',),
        )
        pk = [r[0] for r in cursor.fetchall()]
        if not pk:
            cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s ORDER BY ordinal_position",
                (name,),
            )
            pk = [r[0] for r in cursor.fetchall()]
        out[name] = _table_digest(cursor, name, pk)
    return out


def database_manifest(url: str) -> dict[str, Any]:
    """Row counts and checksums of every table of the database at ``url`` (one consistent read)."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        path = _existing_sqlite(url)
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute("BEGIN")
            return _manifest("sqlite", conn.cursor(), _sqlite_tables(conn))
        finally:
            conn.close()
    import psycopg

    dsn, env = _libpq(url)
    with psycopg.connect(dsn, **_pg_kwargs(env)) as pg:
        pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _manifest("postgresql", pg.cursor(), _pg_tables(pg.cursor()))


def _manifest(dialect: str, cursor: Any, tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    revision = None
    if "alembic_version" in tables:
        cursor.execute("SELECT version_num FROM alembic_version")
        row = cursor.fetchone()
        revision = None if row is None else str(row[0])
    return {
        "format": FORMAT,
        "dialect": dialect,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "schema_revision": revision,
        "tables": tables,
    }


def compare_tables(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Differences between two manifests' tables, one line each (empty: identical)."""
    problems = []
    for name in sorted(set(expected) | set(actual)):
        e, a = expected.get(name), actual.get(name)
        if e is None:
            problems.append(f"table {name}: not in the backup")
        elif a is None:
            problems.append(f"table {name}: missing after restore")
        elif e != a:
            problems.append(
                f"table {name}: {a['rows']} rows (sha256 {a['sha256'][:12]}) where the backup has "
                f"{e['rows']} (sha256 {e['sha256'][:12]})"
            )
    return problems


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------- backup
def backup(url: str, out: str | Path) -> dict[str, Any]:
    """Back up the database at ``url`` (online) to ``out`` and write ``out.manifest.json``; the manifest."""
    url = normalize_url(url)
    out = Path(out)
    if out.is_dir():
        raise ConfigError(
            f"--out {out} is a folder; give the backup file's name, e.g. {out / 'tuijian.backup'}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    tmp.unlink(missing_ok=True)
    started, started_us = time.perf_counter(), time.time_ns() // 1000
    try:
        if make_url(url).get_backend_name() == "sqlite":
            manifest = _backup_sqlite(url, tmp)
        else:
            manifest = _backup_postgres(url, tmp)
        manifest["started_us"] = started_us  # changes committed after this may be missing from the backup
        manifest["file_sha256"] = _file_sha256(tmp)
        manifest["bytes"] = tmp.stat().st_size
        manifest["seconds"] = round(time.perf_counter() - started, 3)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    _write_json(manifest_path(out), manifest)
    return manifest


def _existing_sqlite(url: str) -> Path:
    path = sqlite_path(url)
    if path is None or not path.is_file():
        raise ConfigError(f"no SQLite database at {url}: check --database-url / TUIJIAN_DATABASE_URL")
    return path


def _check_integrity(conn: sqlite3.Connection, what: str) -> None:
    result = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if result != ["ok"]:
        raise StorageError(f"{what} fails PRAGMA integrity_check: {'; '.join(map(str, result[:5]))}")


def _backup_sqlite(url: str, tmp: Path) -> dict[str, Any]:
    src = sqlite3.connect(_existing_sqlite(url), timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)  # one step: the whole database from one read transaction
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        _check_integrity(dst, f"the backup {tmp}")
        return _manifest("sqlite", dst.cursor(), _sqlite_tables(dst))
    finally:
        dst.close()
        src.close()


def _backup_postgres(url: str, tmp: Path) -> dict[str, Any]:
    import psycopg

    dsn, env = _libpq(url)
    with psycopg.connect(dsn, **_pg_kwargs(env)) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
        manifest = _manifest("postgresql", conn.cursor(), _pg_tables(conn.cursor()))
        _run(
            [
                _pg_tool("pg_dump"),
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={tmp}",
                f"--dbname={dsn}",
            ],
            env,
        )
    return manifest


# ---------------------------------------------------------------------------------------------- restore
def verify_backup(backup_file: str | Path) -> dict[str, Any]:
    """Check a backup file against its manifest (file checksum; SQLite: integrity and every table;
    PostgreSQL: the archive's table of contents). Returns the manifest."""
    path = Path(backup_file)
    if not path.is_file():
        raise ConfigError(f"no backup file at {path}")
    mpath = manifest_path(path)
    if not mpath.is_file():
        raise ConfigError(
            f"the backup's manifest {mpath} is missing; a backup is only restored when verified"
        )
    manifest = json.loads(mpath.read_text())
    if manifest.get("format") != FORMAT:
        raise ConfigError(f"{mpath} is not a {FORMAT} manifest")
    if _file_sha256(path) != manifest["file_sha256"]:
        raise StorageError(
            f"{path} does not match its manifest's SHA-256: the file is damaged or was altered"
        )
    if manifest["dialect"] == "sqlite":
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            _check_integrity(conn, f"the backup {path}")
            problems = compare_tables(manifest["tables"], _sqlite_tables(conn))
        finally:
            conn.close()
        if problems:
            raise StorageError(f"the backup {path} differs from its manifest: {'; '.join(problems)}")
    else:
        _run([_pg_tool("pg_restore"), "--list", str(path)], dict(os.environ))
    return manifest


def restore(backup_file: str | Path, url: str) -> dict[str, Any]:
    """Replace the database at ``url`` by a verified backup, then check it table by table against the
    manifest. Returns ``{"manifest", "tables", "seconds"}``. Stop the service first."""
    url = normalize_url(url)
    started = time.perf_counter()
    manifest = verify_backup(backup_file)
    dialect = "sqlite" if make_url(url).get_backend_name() == "sqlite" else "postgresql"
    if manifest["dialect"] != dialect:
        raise ConfigError(f"a {manifest['dialect']} backup cannot be restored into a {dialect} database")
    if dialect == "sqlite":
        path = sqlite_path(url)
        if path is None:
            raise ConfigError(f"cannot restore into {url}: give a sqlite:///<file> URL")
        path.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{Path(backup_file)}?mode=ro&immutable=1", uri=True)
        dst = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")  # as the service runs it
        finally:
            dst.close()
            src.close()
    else:
        dsn, env = _libpq(url)
        _run(
            [
                _pg_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={dsn}",
                str(backup_file),
            ],
            env,
        )
    restored = database_manifest(url)
    problems = compare_tables(manifest["tables"], restored["tables"])
    if problems:
        raise StorageError(f"the restored database differs from the backup: {'; '.join(problems)}")
    return {
        "manifest": manifest,
        "tables": restored["tables"],
        "seconds": round(time.perf_counter() - started, 3),
    }


# ---------------------------------------------------------------------------------------------- PostgreSQL
def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and an environment carrying it (never on a command line)."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    plain = u.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_kwargs(env: dict[str, str]) -> dict[str, Any]:
    return {"password": env["PGPASSWORD"]} if "PGPASSWORD" in env else {}


def _pg_tool(name: str) -> str:
    found = shutil.which(name, path=_pg_path())
    if found is None:
        raise ConfigError(
            f"{name} not found: install the PostgreSQL client tools (the server's major version or newer), "
            "or set TUIJIAN_PG_BIN to their folder"
        )
    return found


def _pg_path() -> str:
    extra = os.environ.get("TUIJIAN_PG_BIN")
    return os.pathsep.join(p for p in (extra, os.environ.get("PATH", "")) if p)


def _run(cmd: list[str], env: dict[str, str]) -> None:
    with tempfile.TemporaryFile() as err:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, check=False)  # noqa: S603
        if proc.returncode != 0:
            err.seek(0)
            text = err.read().decode(errors="replace").strip()
            raise StorageError(f"{Path(cmd[0]).name} failed (exit {proc.returncode}): {text[-2000:]}")
