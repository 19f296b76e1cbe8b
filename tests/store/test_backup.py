"""Online backup and verified restore on SQLite (backup API) and PostgreSQL (pg_dump/pg_restore)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from tuijian.exceptions import ConfigError, StorageError
from tuijian.privacy.crypto import new_key_spec
from tuijian.privacy.settings import PrivacySettings
from tuijian.store import Store, open_store
from tuijian.store.backup import backup, database_manifest, manifest_path, restore, verify_backup
from tuijian.store.engine import normalize_url

T0 = pd.Timestamp("2024-03-01 12:00:00", tz="UTC")
PII = new_key_spec("k1")
PRIVACY = PrivacySettings(pii_keys=PII, pseudonym_key=None, retention_days=None)


@pytest.fixture
def target_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same backend to restore into."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'store.sqlite'}"
        return
    base = os.environ["TUIJIAN_TEST_POSTGRES_URL"]
    name = f"tuijian_r_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _fill(store: Store, n: int = 2_000) -> None:
    rng = np.random.default_rng(0)
    store.add_events(
        pd.DataFrame(
            {
                "event_id": [f"e{i}" for i in range(n)],
                "user": [f"u{i}" for i in rng.integers(0, 50, n)],
                "item": [f"i{i}" for i in rng.integers(0, 80, n)],
                "kind": rng.choice(["view", "purchase", "add_to_cart"], n),
                "value": rng.random(n).round(6) + 1,
                "ts": T0 + pd.to_timedelta(np.arange(n), unit="s"),
                "text": [f"商品 {i} review" if i % 97 == 0 else None for i in range(n)],
            }
        )
    )
    store.add_items(
        [
            {"item_id": f"i{i}", "title": f"Item {i}", "category": ["A", f"B{i % 3}"], "price": i + 0.5}
            for i in range(80)
        ]
    )
    store.add_users(
        [
            {"user_id": f"u{i}", "attributes": {"country": "UK", "email": f"u{i}@example.com"}}
            for i in range(50)
        ]
    )
    store.create_api_key("read", "shop", actor="test")
    store.log_feedback(
        [{"request_id": f"r{i}", "item": f"i{i}", "event": "click", "user": f"u{i}"} for i in range(20)]
    )
    store.log_impression_lists(
        [(f"r{i}", f"u{i}", "v1", 1_700_000_000_000_000 + i, '["i1", "i2"]') for i in range(30)]
    )
    store.register_model_version(
        "ds/item-knn:v0001", "item-knn", "ds", "/tmp/a", {"max_event_id": n}, actor="test"
    )


def _queries(store: Store) -> dict[str, Any]:
    """What the service reads, as plain data."""
    return {
        "events": store.events_frame(),
        "items": store.items_frame(),
        "users": store.users_frame(),
        "profiles": [store.user_profile(f"u{i}") for i in range(50)],
        "feedback": store.feedback_frame(),
        "keys": store.list_api_keys(),
        "versions": store.list_model_versions(),
        "audit": store.audit_entries(limit=1000),
        "recent": store.recent_event_rows("u3", 10),
        "trending": store.item_counts_since(0, 20),
    }


def _assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        if isinstance(a[name], pd.DataFrame):
            pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
        else:
            assert a[name] == b[name], name


def test_round_trip_gives_identical_query_results(store_url: str, target_url: str, tmp_path: Path) -> None:
    src = open_store(store_url, privacy=PRIVACY)
    _fill(src)
    before = _queries(src)
    out = tmp_path / "backups" / "tuijian.backup"
    manifest = backup(store_url, out)
    assert out.is_file() and manifest_path(out).is_file()
    assert manifest["tables"]["events"]["rows"] == 2_000 and manifest["schema_revision"] == "0004"
    assert verify_backup(out)["file_sha256"] == manifest["file_sha256"]

    # restore into an empty database: every query answers the same
    report = restore(out, target_url)
    assert report["tables"] == manifest["tables"]
    dst = open_store(target_url, privacy=PRIVACY)
    _assert_same(before, _queries(dst))
    # and ids keep counting from where they were
    dst.add_events([{"user": "u1", "item": "i1", "kind": "view"}])
    assert dst.max_event_id() == 2_001
    dst.close()

    # restore over a database that changed since: back to the backup, exactly
    src.add_events([{"user": "new", "item": "i1", "kind": "view"}])
    src.forget_user("u3")
    src.close()
    restore(out, store_url)
    src = open_store(store_url, privacy=PRIVACY)
    _assert_same(before, _queries(src))
    assert database_manifest(store_url)["tables"] == manifest["tables"]
    src.close()


def test_backup_while_writing(store_url: str, target_url: str, tmp_path: Path) -> None:
    """Online: a writer keeps committing during the backup; the copy is one consistent snapshot."""
    src = open_store(store_url)
    _fill_events = pd.DataFrame(
        {
            "user": [f"u{i % 40}" for i in range(5_000)],
            "item": [f"i{i % 70}" for i in range(5_000)],
            "kind": "view",
            "ts": T0 + pd.to_timedelta(np.arange(5_000), unit="s"),
        }
    )
    src.add_events(_fill_events)
    stop, written = threading.Event(), []

    def writer() -> None:
        w = open_store(store_url)
        k = 0
        while not stop.is_set():
            w.add_events(
                [{"event_id": f"w{k}-{j}", "user": f"w{k}", "item": "i1", "kind": "view"} for j in range(5)]
            )
            written.append(k)
            k += 1
        w.close()

    th = threading.Thread(target=writer)
    th.start()
    try:
        while len(written) < 5:
            threading.Event().wait(0.01)
        manifest = backup(store_url, tmp_path / "online.backup")
        n_during = len(written)
    finally:
        stop.set()
        th.join()
    assert n_during > 5 and len(written) > n_during - 1  # the writer was busy throughout
    restore(tmp_path / "online.backup", target_url)
    dst = open_store(target_url)
    got = dst.events_frame()
    n = manifest["tables"]["events"]["rows"]
    assert len(got) == n and 5_000 < n < src.count_events()
    assert n % 5 == 0  # whole transactions only
    pd.testing.assert_frame_equal(got, src.events_frame().iloc[:n])  # a prefix of the source: nothing torn
    dst.close()
    src.close()


def test_damaged_or_unverified_backups_are_refused(store_url: str, target_url: str, tmp_path: Path) -> None:
    s = open_store(store_url)
    s.add_events([{"user": "a", "item": "b", "kind": "view"}])
    s.close()
    out = tmp_path / "b.backup"
    backup(store_url, out)
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(bytes(data))
    manifest_path(damaged).write_text(manifest_path(out).read_text())
    with pytest.raises(StorageError, match="damaged or was altered"):
        restore(damaged, target_url)
    lonely = tmp_path / "lonely.backup"
    lonely.write_bytes(out.read_bytes())
    with pytest.raises(ConfigError, match="manifest .* is missing"):
        restore(lonely, target_url)
    other = (
        "sqlite:///" + str(tmp_path / "x.sqlite")
        if store_url.startswith("postgresql")
        else "postgresql://u@h/db"
    )
    with pytest.raises(ConfigError, match="cannot be restored into"):
        restore(out, other)
    with pytest.raises(ConfigError, match="is a folder"):
        backup(store_url, tmp_path)
