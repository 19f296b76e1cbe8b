"""The store's privacy side on SQLite and PostgreSQL: pseudonymous ids, encrypted profiles, key rotation,
the audit log, erasure of one user and retention."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from tuijian.exceptions import ConfigError, DataError, StorageError, UnknownIdError
from tuijian.privacy.crypto import new_key_spec
from tuijian.privacy.settings import PrivacySettings
from tuijian.store import Store, open_store
from tuijian.store.engine import normalize_url

KEY = "pseudonym-key-for-tests-0123456789abcdef"
OTHER_KEY = "another-pseudonym-key-0123456789abcdef!!"
T0 = pd.Timestamp("2024-03-01 12:00:00", tz="UTC")


def _privacy(key: str | None = None, pii: str | None = None) -> PrivacySettings:
    return PrivacySettings(pseudonym_key=key, pii_keys=pii, retention_days=None)


def _events(users: list[str], n_per_user: int = 3, start: pd.Timestamp = T0) -> pd.DataFrame:
    rows = [
        {
            "user": u,
            "item": f"i{(k * 7 + j) % 5}",
            "kind": "purchase",
            "ts": start + pd.Timedelta(minutes=k * 10 + j),
        }
        for k, u in enumerate(users)
        for j in range(n_per_user)
    ]
    return pd.DataFrame(rows)


def _raw(store: Store, sql: str) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql)).all()]


def _all_user_columns(store: Store) -> set[str]:
    out: set[str] = set()
    for table in ("events", "users", "feedback", "impression_lists"):
        out |= {r[0] for r in _raw(store, f"SELECT user_id FROM {table}") if r[0] is not None}
    return out


def test_user_ids_are_pseudonymised_at_ingestion(store_url: str) -> None:
    s = open_store(store_url, privacy=_privacy(KEY))
    s.add_events(_events(["alice", "bob"]))
    s.add_events([{"user": "alice", "item": "i9", "kind": "view"}])  # dicts take the same path
    s.add_users([{"user_id": "alice", "attributes": {"country": "UK"}}])
    s.log_feedback([{"request_id": "r1", "item": "i1", "event": "click", "user": "alice"}])
    s.log_impressions("r1", "alice", ["i1", "i2"], "v1")

    alice = s.user_key("alice")
    assert alice.startswith("ps_") and len(alice) == 35 and alice == s.user_key("alice") != s.user_key("bob")
    stored = _all_user_columns(s)
    assert stored == {alice, s.user_key("bob")}  # never the original ids, in any table
    assert "alice" not in json.dumps(_raw(s, "SELECT * FROM events"))
    assert set(s.events_frame()["user"]) == {alice, s.user_key("bob")}
    # lookups by the original id go through user_key, as the service does
    assert [r[1] for r in s.recent_event_rows(alice)] == ["i0", "i1", "i2", "i9"]
    assert len(s.user_events(alice)) == 4
    assert s.feedback_frame()["user"].unique().tolist() == [alice]
    s.close()

    # another key gives other pseudonyms: refused, as is no key at all
    with pytest.raises(ConfigError, match="not the key"):
        open_store(store_url, privacy=_privacy(OTHER_KEY))
    with pytest.raises(ConfigError, match="set TUIJIAN_PSEUDONYM_KEY"):
        open_store(store_url, privacy=_privacy())
    s = open_store(store_url, privacy=_privacy(KEY))
    assert s.user_key("alice") == alice and len(s.user_events(alice)) == 4
    s.close()


def test_short_pseudonym_key_is_refused() -> None:
    from tuijian.privacy.settings import load_privacy_settings

    with pytest.raises(ConfigError, match="TUIJIAN_PSEUDONYM_KEY: .*at least 32 characters"):
        load_privacy_settings(pseudonym_key="short")


def test_existing_raw_ids_converted_once(store_url: str) -> None:
    pii = new_key_spec("k1")
    raw = open_store(store_url, privacy=_privacy(pii=pii))
    raw.add_events(_events(["alice", "bob"]))
    raw.add_users([{"user_id": "alice", "attributes": {"email": "alice@example.com"}}])
    raw.log_feedback([{"request_id": "r1", "item": "i1", "event": "click", "user": "bob"}])
    raw.close()
    with pytest.raises(ConfigError, match="tuijian privacy pseudonymize"):
        open_store(store_url, privacy=_privacy(KEY, pii))

    from tuijian.store.engine import make_engine
    from tuijian.store.store import Store as RawStore
    from tuijian.store.store import privacy_parts

    conv = RawStore(make_engine(store_url), **privacy_parts(_privacy(KEY, pii)))
    counts = conv.pseudonymize_existing(actor="test")
    assert counts == {"events": 2, "users": 1, "feedback": 1, "impression_lists": 0, "exposures": 0}
    conv.close()
    s = open_store(store_url, privacy=_privacy(KEY, pii))
    assert _all_user_columns(s) == {s.user_key("alice"), s.user_key("bob")}
    assert s.user_profile("alice")["attributes"] == {
        "email": "alice@example.com"
    }  # re-bound to the pseudonym
    assert s.audit_entries(action="pseudonymize")[0]["actor"] == "test"
    s.close()


def test_personal_fields_are_encrypted_at_rest(store: Store, store_url: str) -> None:
    with pytest.raises(DataError, match="attributes.email: personal data is only stored encrypted") as info:
        store.add_users([{"user_id": "u1", "attributes": {"email": "a@example.com", "country": "UK"}}])
    assert info.value.errors[0]["row"] == 0 and store.users_frame().empty

    ring = new_key_spec("k1")
    s = open_store(store_url, privacy=_privacy(pii=ring))
    s.add_users(
        [
            {"user_id": "u1", "attributes": {"email": "ann@example.com", "name": "Ann Lee", "country": "UK"}},
            {
                "user_id": "u2",
                "address": "1 High St, Leeds",
                "attributes": {"country": "FR"},
            },  # top level too
            {"user_id": "u3", "attributes": {"country": "DE"}},
        ]
    )
    rows = dict(_raw(s, "SELECT user_id, pii FROM users"))
    assert rows["u1"].startswith("v1:k1:") and rows["u2"].startswith("v1:k1:") and rows["u3"] is None
    everything = json.dumps(_raw(s, "SELECT * FROM users"))
    for secret in ("ann@example.com", "Ann Lee", "High St", "Leeds"):
        assert secret not in everything  # neither in the pii column nor left in attributes
    # training and side features never see them; the profile (for export) decrypts them
    assert s.users_frame()["attributes"].tolist() == [{"country": "UK"}, {"country": "FR"}, {"country": "DE"}]
    assert s.user_profile("u1")["attributes"] == {
        "country": "UK",
        "email": "ann@example.com",
        "name": "Ann Lee",
    }
    assert s.user_profile("u2")["attributes"] == {"country": "FR", "address": "1 High St, Leeds"}
    assert s.user_profile("nobody") is None
    # a ciphertext moved onto another row does not decrypt (bound to its user id)
    with s.engine.begin() as conn:
        conn.execute(text("UPDATE users SET pii = :p WHERE user_id = 'u3'"), {"p": rows["u1"]})
    with pytest.raises(StorageError, match="does not decrypt"):
        s.user_profile("u3")
    s.close()


def test_key_rotation(store_url: str) -> None:
    k1, k2 = new_key_spec("k1"), new_key_spec("k2")
    s = open_store(store_url, privacy=_privacy(pii=k1))
    s.add_users([{"user_id": f"u{i}", "attributes": {"email": f"u{i}@example.com"}} for i in range(5)])
    s.close()

    s = open_store(store_url, privacy=_privacy(pii=f"{k2},{k1}"))  # new key first, the old one still decrypts
    assert s.user_profile("u0")["attributes"]["email"] == "u0@example.com"
    s.add_users([{"user_id": "u9", "attributes": {"email": "u9@example.com"}}])
    assert s.pii_key_ids() == {"k1": 5, "k2": 1}
    assert s.rotate_pii(actor="ops", batch=2) == {"k1": 5}
    assert s.pii_key_ids() == {"k2": 6}
    entry = s.audit_entries(action="pii_key_rotate")[0]
    assert (
        entry["actor"] == "ops" and entry["target"] == "k2" and entry["detail"] == {"re_encrypted": {"k1": 5}}
    )
    s.close()

    s = open_store(store_url, privacy=_privacy(pii=k2))  # the old key can go
    assert [s.user_profile(f"u{i}")["attributes"]["email"] for i in (0, 4, 9)] == [
        "u0@example.com",
        "u4@example.com",
        "u9@example.com",
    ]
    s.close()
    s = open_store(store_url, privacy=_privacy(pii=k1))
    with pytest.raises(StorageError, match="key 'k2', which is not in TUIJIAN_PII_KEYS"):
        s.user_profile("u0")
    s.close()


def test_audit_log_records_admin_actions(store: Store) -> None:
    key_id, _ = store.create_api_key("read", "shop", actor="key:abc")
    assert store.revoke_api_key(key_id, actor="admin-key")
    assert not store.revoke_api_key(key_id, actor="admin-key")  # nothing revoked: nothing recorded
    store.register_model_version("ds/item-knn:v0001", "item-knn", "ds", "/tmp/x", {}, actor="system")
    store.audit("cli:ops", "backup", "/backups/a", {"bytes": 10})
    entries = store.audit_entries()
    assert [(e["action"], e["actor"], e["target"]) for e in entries] == [
        ("backup", "cli:ops", "/backups/a"),
        ("model_activate", "system", "ds/item-knn:v0001"),
        ("api_key_revoke", "admin-key", key_id),
        ("api_key_create", "key:abc", key_id),
    ]
    assert entries[3]["detail"] == {"name": "shop", "role": "read"}
    assert pd.Timestamp(entries[0]["ts"]) >= pd.Timestamp(entries[3]["ts"])
    assert [e["action"] for e in store.audit_entries(action="api_key_create")] == ["api_key_create"]
    assert len(store.audit_entries(limit=2)) == 2
    with pytest.raises(ConfigError, match="limit"):
        store.audit_entries(limit=0)


def test_forget_user_deletes_everything_about_them(store: Store, store_url: str) -> None:
    from tuijian.generate.cache import SqlCopyStore

    store.add_events(_events(["alice", "bob", "carol"]))
    store.add_events([{"user": "alice", "item": "i3", "kind": "review", "value": 5, "text": "lovely"}])
    store.add_users([{"user_id": u, "attributes": {"n": 1}} for u in ("alice", "bob")])
    store.log_feedback(
        [{"request_id": "r1", "item": "i1", "event": "click", "user": u} for u in ("alice", "bob")]
    )
    store.log_impressions("r1", "alice", ["i1", "i2"], "v1")
    store.log_impressions("r2", "bob", ["i1"], "v1")
    store.log_exposures(
        [("exp1", "b", "alice", "r1", 0.5, 1_700_000_000_000_000), ("exp1", "a", "bob", "r2", 0.5, 1)]
    )
    copy = SqlCopyStore(normalize_url(store_url))
    copy.put_copy("i3|all|en|summary", "reviews say: lovely")
    copy.put_copy("i4|all|en|summary", "untouched")
    exported = store.user_data("alice")
    assert (
        len(exported["events"]) == 4
        and exported["profile"] == {"n": 1}
        and len(exported["served_lists"]) == 1
    )
    assert [
        (x["experiment_id"], x["variant"], x["request_id"]) for x in exported["experiment_exposures"]
    ] == [("exp1", "b", "r1")]
    before = store.events_frame()

    out = store.forget_user("alice", actor="admin-key")
    assert (
        out["events"] == 4 and out["profile"] == 1 and out["feedback"] == 1 and out["impression_lists"] == 1
    )
    assert out["generated_copy"] == 1 and out["first_event_id"] == int(before["id"].min())
    assert "alice" not in _all_user_columns(store) and out["exposures"] == 1
    assert copy.get_copy("i3|all|en|summary") is None and copy.get_copy("i4|all|en|summary") == "untouched"
    after = store.events_frame()
    pd.testing.assert_frame_equal(after, before[before["user"] != "alice"].reset_index(drop=True))
    assert store.users_frame()["user_id"].tolist() == ["bob"]
    assert store.feedback_frame()["user"].tolist() == ["bob", "bob"]  # bob's impression and click
    with pytest.raises(UnknownIdError, match="nothing is stored about user 'alice'"):
        store.user_data("alice")
    entry = store.audit_entries(action="user_delete")[0]
    assert entry["actor"] == "admin-key" and entry["target"] == "alice" and entry["detail"]["events"] == 4
    copy.engine_.dispose()


def test_expire_before_removes_old_behaviour_only(store: Store) -> None:
    old = _events(["a", "b"], start=T0 - pd.Timedelta(days=400))
    new = _events(["a", "c"], start=T0)
    store.add_events(pd.concat([old, new], ignore_index=True))
    t_old = int((T0 - pd.Timedelta(days=400)).value // 1000)
    t_new = int(T0.value // 1000)
    store.log_feedback(
        [{"request_id": "r", "item": "i", "event": "click", "ts_us": t} for t in (t_old, t_new)]
    )
    store.log_impressions("r_old", "a", ["i1"], "v", ts_us=t_old)
    store.log_impressions("r_new", "a", ["i1"], "v", ts_us=t_new)
    cut = int((T0 - pd.Timedelta(days=1)).value // 1000)
    assert store.expire_before(cut, actor="cron") == {
        "events": 6,
        "feedback": 1,
        "impression_lists": 1,
        "exposures": 0,
    }
    left = store.events_frame()
    assert len(left) == 6 and (left["ts"] >= T0).all()
    assert sorted(store.feedback_frame()["request_id"]) == ["r", "r_new"]
    assert store.audit_entries(action="expire")[0]["detail"]["events"] == 6
    assert np.isclose(len(store.events_frame()), 6)


def test_concurrent_first_opens_agree_on_the_key(store_url: str) -> None:
    import threading

    errors: list[Exception] = []

    def open_once() -> None:
        try:
            open_store(store_url, privacy=_privacy(KEY)).close()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_once) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with pytest.raises(ConfigError, match="not the key"):
        open_store(store_url, privacy=_privacy(OTHER_KEY))
