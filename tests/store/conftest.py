"""Storage fixtures: every test taking ``store_url`` / ``store`` runs on SQLite AND PostgreSQL.

PostgreSQL comes from ``TUIJIAN_TEST_POSTGRES_URL`` (written by scripts/setup-services.sh).
Without it the PostgreSQL cases are skipped, unless ``TUIJIAN_REQUIRE_POSTGRES=1``
(set by scripts/run-tests.sh, i.e. CI) in which case they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tuijian.store import Store, open_store
from tuijian.store import tables as t
from tuijian.store.engine import make_engine, normalize_url, upgrade_schema


def _admin_pg_url() -> str | None:
    url = os.environ.get("TUIJIAN_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("TUIJIAN_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                "TUIJIAN_TEST_POSTGRES_URL is not set but TUIJIAN_REQUIRE_POSTGRES=1: run scripts/setup-services.sh"
            )
        return None
    return url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test session (dropped afterwards)."""
    base = _admin_pg_url()
    if base is None:
        yield None
        return
    name = f"tuijian_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(base), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - turn any connection problem into a loud failure
        pytest.fail(f"cannot create a PostgreSQL test database via {base}: {exc}")
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A URL to an empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    url = request.getfixturevalue("pg_url")
    if url is None:
        pytest.skip(
            "PostgreSQL not configured (set TUIJIAN_TEST_POSTGRES_URL or run scripts/setup-services.sh)"
        )
    engine = make_engine(url)  # not open_store: the last test may have left a pseudonymised database
    upgrade_schema(engine)
    with engine.begin() as conn:
        names = ", ".join(tbl.name for tbl in t.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
        conn.execute(text("DROP TABLE IF EXISTS generated_copy"))
    engine.dispose()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()
