"""Right to be forgotten, end to end on real data: after ``forget`` (delete + refit + purge) the served model
answers exactly as a model trained from scratch on a database that never held the user.

Tolerance (documented in docs/privacy.md): for the deterministic models item-kNN and EASE, the top-10 item
ids of every remaining user are identical and every score agrees within 1e-9 (absolute); similar-item lists
likewise. The test also checks that the user's deletion changed some lists, so it can fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tuijian.privacy.erasure import expire, forget
from tuijian.service.versions import bootstrap_dataset, load_snapshot, train_version, version_key
from tuijian.store import Store, open_store

from .conftest import DATASET

ATOL = 1e-9


def _served_model(store: Store) -> Any:
    row = store.active_model_version(DATASET)
    assert row is not None
    return load_snapshot(store, row).model


def _top10(model: Any) -> dict[str, tuple[list[str], np.ndarray]]:
    inter = model.interactions_
    ids, scores = model.recommend(np.arange(inter.n_users), 10)
    items = inter.items.ids
    return {
        str(u): ([str(items[j]) for j in row if j >= 0], s[row >= 0])
        for u, row, s in zip(inter.users.ids, ids, scores, strict=True)
    }


def _similar(model: Any, items: list[str]) -> dict[str, list[str]]:
    pos = {str(i): k for k, i in enumerate(model.interactions_.items.ids)}
    out = {}
    for it in items:
        ids, _ = model.similar_items(pos[it], 10)
        out[it] = [str(model.interactions_.items.ids[j]) for j in np.atleast_1d(ids) if j >= 0]
    return out


@pytest.mark.parametrize("model_name", ["item-knn", "ease"])
def test_refit_matches_a_model_trained_without_the_user(model_name: str, demo: Any, tmp_path: Path) -> None:
    served = open_store(f"sqlite:///{tmp_path / 'served.sqlite'}")
    bootstrap_dataset(served, DATASET)
    first = train_version(served, DATASET, tmp_path / "art", model_name)
    before = _served_model(served)
    counts = demo.events["user"].value_counts()
    user = str(counts.index[0])  # the heaviest buyer: the most influence to remove
    n_user = int(counts.iloc[0])

    report = forget(served, user, actor="test", dataset=DATASET, artifacts_root=tmp_path / "art")
    assert report["deleted"]["events"] == n_user and report["deleted"]["profile"] == 1
    refit = report["refit"]
    assert refit["model"] == model_name and refit["model_version"] != first
    assert refit["purged"] == [version_key(DATASET, first)]  # the version that learned from them is gone
    assert not (tmp_path / "art" / DATASET / model_name / first.split(":")[1]).exists()
    assert [v["version"] for v in served.list_model_versions(DATASET)] == [
        version_key(DATASET, refit["model_version"])
    ]
    after = _served_model(served)

    # a database that never held the user
    scratch = open_store(f"sqlite:///{tmp_path / 'scratch.sqlite'}")
    scratch.add_items(demo.items)
    scratch.add_users(demo.users[demo.users["user_id"].astype(str) != user])
    kept = demo.events[demo.events["user"].astype(str) != user]
    for start in range(0, len(kept), 50_000):
        scratch.add_events(kept.iloc[start : start + 50_000])
    train_version(scratch, DATASET, tmp_path / "scratch-art", model_name)
    reference = _served_model(scratch)

    assert user not in set(map(str, after.interactions_.users.ids))
    assert set(map(str, after.interactions_.items.ids)) == set(map(str, reference.interactions_.items.ids))
    got, want = _top10(after), _top10(reference)
    assert got.keys() == want.keys() and len(got) == demo.events["user"].nunique() - 1
    for u in want:
        assert got[u][0] == want[u][0], u
        np.testing.assert_allclose(got[u][1], want[u][1], rtol=0, atol=ATOL)
    sample = [str(i) for i in pd.Series(kept["item"].unique()).sample(50, random_state=0)]
    assert _similar(after, sample) == _similar(reference, sample)

    # the deletion mattered: the model before it answered differently for some users
    old = _top10(before)
    assert sum(old[u][0] != want[u][0] for u in want) > 0
    served.close()
    scratch.close()


def test_retention_expires_old_events_and_refits(demo: Any, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    bootstrap_dataset(store, DATASET)
    first = train_version(store, DATASET, tmp_path / "art", "item-knn")
    newest = demo.events["ts"].max()
    days = float((pd.Timestamp.now(tz="UTC") - newest).days + 30)  # keeps the last month of the data
    cut = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=days)
    expected_left = int((demo.events["ts"] >= cut).sum())
    assert 0 < expected_left < len(demo.events)

    report = expire(store, days, actor="cron", dataset=DATASET, artifacts_root=tmp_path / "art", refit=True)
    assert report["deleted"]["events"] == len(demo.events) - expected_left
    assert store.count_events() == expected_left and (store.events_frame()["ts"] >= cut).all()
    assert report["refit"]["purged"] == [version_key(DATASET, first)]
    row = store.active_model_version(DATASET)
    assert row is not None and row["metrics"]["label"] == report["refit"]["model_version"]
    assert [e["action"] for e in store.audit_entries(limit=3)] == ["refit", "model_purge", "model_activate"]
    store.close()
