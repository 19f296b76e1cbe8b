"""The storage layer on SQLite and PostgreSQL: events, idempotency, catalog, keys, feedback, versions."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from tuijian.data.schema import Event
from tuijian.exceptions import ConfigError, DataError, SchemaError
from tuijian.store import Store, open_store

T0 = pd.Timestamp("2024-03-01 12:00:00", tz="UTC")


def _events(n: int, prefix: str = "e", users: int = 7, items: int = 11) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": [f"{prefix}{i}" for i in range(n)],
            "user": [f"u{i % users}" for i in range(n)],
            "item": [f"i{(i * 3) % items}" for i in range(n)],
            "kind": ["purchase" if i % 4 == 0 else "view" for i in range(n)],
            "value": np.arange(n, dtype=float) + 1,
            "ts": T0 + pd.to_timedelta(np.arange(n), unit="s"),
        }
    )


def test_add_events_roundtrip(store: Store) -> None:
    df = _events(50)
    res = store.add_events(df)
    assert (res.inserted, res.duplicates) == (50, 0)
    out = store.events_frame()
    assert len(out) == 50 and store.max_event_id() == 50 and store.count_events() == 50
    assert list(out.columns) == ["id", "event_id", "user", "item", "kind", "value", "ts", "text", "session"]
    assert out["ts"].dtype == "datetime64[ns, UTC]"
    pd.testing.assert_series_equal(out["ts"], df["ts"].astype("datetime64[ns, UTC]"), check_names=False)
    assert out["user"].tolist() == df["user"].tolist()
    assert out["value"].tolist() == df["value"].tolist()
    assert out["id"].is_monotonic_increasing


def test_idempotent_by_event_id(store: Store) -> None:
    assert store.add_events(_events(20)).inserted == 20
    res = store.add_events(_events(30))  # first 20 ids repeat
    assert (res.inserted, res.duplicates) == (10, 20)
    assert store.count_events() == 30
    # duplicates inside one batch count too; events without event_id are never deduplicated
    batch = [
        Event(event_id="x1", user="a", item="b", kind="view"),
        Event(event_id="x1", user="a", item="b", kind="view"),
        Event(user="a", item="b", kind="view"),
        Event(user="a", item="b", kind="view"),
    ]
    res = store.add_events(batch)
    assert (res.inserted, res.duplicates) == (3, 1)


def test_bad_rows_are_named_and_nothing_written(store: Store) -> None:
    rows = [
        {"user": "u1", "item": "i1", "kind": "view"},
        {"user": "u1", "kind": "purchase"},  # no item
        {"user": "u1", "item": "i1", "kind": "teleport"},
        {"user": "u1", "item": "i1", "kind": "view", "value": "abc"},
    ]
    with pytest.raises(DataError) as info:
        store.add_events(rows)
    msg = str(info.value)
    assert "3 bad event row(s)" in msg and "row 1" in msg and "row 2: kind" in msg and "row 3: value" in msg
    assert [e["row"] for e in info.value.errors] == [1, 2, 3]
    assert store.count_events() == 0

    df = _events(5)
    df.loc[2, "item"] = None
    with pytest.raises(DataError, match="row 2: item"):
        store.add_events(df)
    df = _events(5)
    df.loc[1, "kind"] = "jump"
    with pytest.raises(SchemaError, match="jump"):
        store.add_events(df)
    assert store.count_events() == 0


def test_events_frame_since_and_user_events(store: Store) -> None:
    store.add_events(_events(70))
    assert store.events_frame(since_id=60)["id"].tolist() == list(range(61, 71))
    assert store.events_frame(since_id=10, until_id=12)["id"].tolist() == [11, 12]
    ue = store.user_events("u3", limit=4)
    ids = [i for i in range(70) if i % 7 == 3]
    assert ue["event_id"].tolist() == [f"e{i}" for i in ids[-4:]]  # the latest four, oldest first
    assert ue["ts"].is_monotonic_increasing
    assert len(store.user_events("u3", limit=100, since_id=60)) == sum(1 for i in ids if i + 1 > 60)
    assert store.user_events("nobody").empty
    rows = store.recent_event_rows("u3", limit=2)
    assert [r[1] for r in rows] == [f"i{(i * 3) % 11}" for i in ids[-2:]]
    with pytest.raises(ConfigError):
        store.recent_event_rows("u3", limit=0)


def test_search_events_and_text(store: Store) -> None:
    store.add_events(
        [
            {"user": "u", "kind": "search", "text": "红茶 tea", "session": "s1"},
            {"user": "u", "item": "i", "kind": "review", "text": "很好", "value": 5},
        ]
    )
    out = store.events_frame()
    assert out["item"].tolist()[0] is None and out["text"].tolist() == ["红茶 tea", "很好"]
    assert out["session"].tolist()[0] == "s1"


def test_items_upsert_and_users(store: Store) -> None:
    items = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "title": ["Mug", "Tea"],
            "description": ["", None],
            "brand": ["X", "Y"],
            "category": [["Home", "Kitchen"], "Food > Drinks"],
            "price": [3.5, np.nan],
        }
    )
    assert store.add_items(items) == 2
    store.add_items([{"item_id": "a", "title": "Big mug", "price": 4.0, "category": ["Home"]}])
    df = store.items_frame().set_index("item_id")
    assert df.loc["a", "title"] == "Big mug" and df.loc["a", "price"] == 4.0
    assert df.loc["b", "category"] == ["Food", "Drinks"] and np.isnan(df.loc["b", "price"])
    with pytest.raises(DataError, match="row 0: price"):
        store.add_items([{"item_id": "c", "price": -1}])
    store.add_users([{"user_id": "u1", "attributes": {"country": "UK"}}])
    store.add_users(pd.DataFrame({"user_id": ["u2"], "country": ["FR"]}))
    assert store.users_frame()["attributes"].tolist() == [{"country": "UK"}, {"country": "FR"}]


def test_api_keys_hashed_and_revocable(store: Store) -> None:
    key_id, key = store.create_api_key("ingest", name="etl")
    assert store.verify_api_key(key) == "ingest"
    assert store.verify_api_key(key + "x") is None and store.verify_api_key("garbage") is None
    with store.engine.connect() as conn:
        dump = str(conn.exec_driver_sql("SELECT * FROM api_keys").all())
    assert key.split("_", 2)[2] not in dump  # only the salted hash is stored
    assert [k["role"] for k in store.list_api_keys()] == ["ingest"]
    assert store.revoke_api_key(key_id) and not store.revoke_api_key(key_id)
    assert store.verify_api_key(key) is None and store.list_api_keys()[0]["revoked"]
    with pytest.raises(ConfigError, match="role"):
        store.create_api_key("root")


def test_feedback_log(store: Store) -> None:
    assert store.log_impressions("r1", "u1", ["a", "b", "c"], "v1") == 3
    store.log_feedback([{"request_id": "r1", "user": "u1", "item": "b", "event": "click"}])
    fb = store.feedback_frame("r1")
    assert fb["event"].tolist() == ["impression"] * 3 + ["click"]
    assert fb["position"].tolist()[:3] == [0, 1, 2] and fb["model_version"].tolist()[0] == "v1"
    with pytest.raises(ConfigError, match="event must be one of"):
        store.log_feedback([{"request_id": "r1", "item": "b", "event": "like"}])


def test_model_versions(store: Store) -> None:
    store.register_model_version("v1", "item-knn", "demo", "/a/v1", {"ndcg": 0.1})
    store.register_model_version("v2", "item-knn", "demo", "/a/v2")
    store.register_model_version("w1", "ease", "other", "/a/w1")
    assert store.active_model_version("demo")["version"] == "v2"
    assert [v["version"] for v in store.list_model_versions("demo")] == ["v2", "v1"]
    assert store.list_model_versions("demo")[1]["metrics"] == {"ndcg": 0.1}
    assert store.active_model_version("none") is None


def test_concurrent_writers_from_threads(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(3)]
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for b in range(5):
                stores[k].add_events(_events(40, prefix=f"t{k}b{b}-"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert stores[0].count_events() == 3 * 5 * 40
    for s in stores:
        s.close()


def test_schema_matches_migrations(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from tuijian.store.engine import current_revision
    from tuijian.store.tables import metadata

    assert current_revision(store.engine) == "0004"
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_bad_urls() -> None:
    with pytest.raises(ConfigError, match="unsupported database URL"):
        open_store("mysql://x")
    with pytest.raises(ConfigError, match="in-memory"):
        open_store("sqlite://")


def test_a_stored_out_of_range_timestamp_does_not_break_readers(store: Store) -> None:
    """Rows written before ingestion bounded timestamps (year 9999) are read clipped, not raised on."""
    import sqlalchemy as sa

    from tuijian.store import tables as t

    store.add_events(_events(5))
    year_9999_us = 253402300799 * 1_000_000
    with store.engine.begin() as conn:
        conn.execute(sa.update(t.events).where(t.events.c.event_id == "e0").values(ts=year_9999_us))
    out = store.events_frame()
    assert len(out) == 5
    assert out.loc[out["event_id"] == "e0", "ts"].iloc[0].year == 2262
    assert out["ts"].dtype == "datetime64[ns, UTC]"
