"""``tuijian privacy ...``, ``tuijian backup`` and ``tuijian restore`` on the demo home."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tuijian.cli import app
from tuijian.privacy.crypto import Keyring
from tuijian.store import open_store

runner = CliRunner()


def _url(home: Path) -> str:
    return f"sqlite:///{home / 'tuijian.sqlite'}"


def _run(home: Path, *args: str) -> str:
    res = runner.invoke(app, list(args), env={"TUIJIAN_HOME": str(home)}, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_forget_export_and_audit_commands(home: Path) -> None:
    store = open_store(_url(home))
    user = str(store.events_frame()["user"].value_counts().index[3])
    n = int((store.events_frame()["user"] == user).sum())
    old = store.active_model_version("online-retail-demo")
    store.close()

    exported = json.loads(_run(home, "privacy", "export", user))
    assert exported["user_id"] == user and len(exported["events"]) == n
    report = json.loads(_run(home, "privacy", "forget", user))
    assert report["deleted"]["events"] == n and report["refit"]["purged"] == [old["version"]]

    store = open_store(_url(home))
    assert (
        store.user_events(user).empty
        and store.active_model_version("online-retail-demo")["version"] != old["version"]
    )
    store.close()
    lines = _run(home, "privacy", "audit", "--limit", "6").strip().splitlines()
    actions = [line.split("\t")[2] for line in lines]
    assert actions[:3] == ["refit", "model_purge", "model_activate"] and "user_delete" in actions
    assert "user_export" in actions and all(
        line.split("\t")[1].startswith(("cli:", "system")) for line in lines
    )
    entries = json.loads(_run(home, "privacy", "audit", "--action", "user_delete", "--json"))
    assert entries[0]["detail"]["events"] == n


def test_backup_and_restore_commands(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "b" / "tuijian.backup"
    assert "verified" in _run(home, "backup", "--out", str(out))
    store = open_store(_url(home))
    before = store.events_frame()
    users = store.users_frame()
    gone = str(before["user"].iloc[0])
    store.add_events([{"user": "late", "item": "i1", "kind": "view"}])  # after the backup: not restored
    store.forget_user(gone)  # erased after the backup: erased again after the restore
    store.close()

    output = _run(home, "restore", str(out), "--yes")
    assert "identical to the backup" in output and "deleted again 1 user(s)" in output
    store = open_store(_url(home))
    pd.testing.assert_frame_equal(store.events_frame(), before[before["user"] != gone].reset_index(drop=True))
    pd.testing.assert_frame_equal(store.users_frame(), users[users["user_id"] != gone].reset_index(drop=True))
    entries = store.audit_entries(limit=2)
    # the backup's own entry came after its snapshot; the restore and the repeated erasure are recorded
    assert [e["action"] for e in entries] == ["restore", "user_delete"]
    assert entries[0]["detail"]["erasures_reapplied"] == 1 and entries[1]["target"] == gone
    store.close()


def test_key_commands_and_rotation(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    k1 = _run(home, "privacy", "new-key", "--kid", "k1").strip()
    k2 = _run(home, "privacy", "new-key", "--kid", "k2").strip()
    assert Keyring.parse(f"{k2},{k1}").ids == ("k2", "k1")
    assert len(_run(home, "privacy", "new-key", "--pseudonym").strip()) >= 32

    monkeypatch.setenv("TUIJIAN_PII_KEYS", k1)
    store = open_store(_url(home))
    store.add_users([{"user_id": "vip", "attributes": {"email": "vip@example.com", "name": "V. I. P."}}])
    store.close()
    monkeypatch.setenv("TUIJIAN_PII_KEYS", f"{k2},{k1}")
    status = json.loads(_run(home, "privacy", "status"))
    assert status["pii_keyring"] == ["k2", "k1"] and status["pii_profiles_by_key"] == {"k1": 1}
    assert json.loads(_run(home, "privacy", "rotate-key"))["profiles_by_key"] == {"k2": 1}
    monkeypatch.setenv("TUIJIAN_PII_KEYS", k2)
    assert json.loads(_run(home, "privacy", "export", "vip"))["profile"]["email"] == "vip@example.com"


def test_pseudonymize_command_converts_an_existing_database(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(_url(home))
    user = str(store.events_frame()["user"].iloc[0])
    n_users = store.events_frame()["user"].nunique()
    store.close()
    monkeypatch.setenv("TUIJIAN_PSEUDONYM_KEY", "p" * 40)
    with pytest.raises(Exception, match="tuijian privacy pseudonymize"):
        open_store(_url(home))
    out = json.loads(_run(home, "privacy", "pseudonymize"))
    assert out["distinct_ids_converted"]["events"] == n_users
    store = open_store(_url(home))
    ev = store.events_frame()
    assert ev["user"].str.startswith("ps_").all() and ev["user"].nunique() == n_users
    assert len(store.user_events(store.user_key(user))) > 0
    store.close()
