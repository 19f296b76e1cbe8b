"""The per-worker fresh-event index returns what the per-request query would, and stays current."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import ADMIN
from tuijian.service.fresh import FreshEvents
from tuijian.service.snapshot import HISTORY_LIMIT
from tuijian.store import Store, open_store


def _events(user: str, items: list[str], kind: str = "view", prefix: str = "") -> list[dict[str, Any]]:
    return [
        {"event_id": f"{prefix}{user}-{n}-{it}", "user": user, "item": it, "kind": kind}
        for n, it in enumerate(items)
    ]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    yield s
    s.close()


def _same(index: FreshEvents, store: Store, users: list[str], cut: int) -> None:
    for u in users:
        assert index.rows(u, cut) == store.recent_event_rows(u, limit=HISTORY_LIMIT, since_id=cut), u


def test_index_matches_the_per_request_query(store: Store) -> None:
    store.add_events(_events("a", ["x", "y", "z"]) + _events("b", ["x"]))
    cut = store.max_event_id()
    store.add_events(_events("a", ["p", "q"], "purchase") + _events("c", ["y"], "add_to_cart"))
    store.add_events(_events("b", [f"i{n}" for n in range(2 * HISTORY_LIMIT + 7)], prefix="long-"))
    index = FreshEvents(store)
    assert index.enabled
    _same(index, store, ["a", "b", "c", "nobody"], cut)
    assert [r[1] for r in index.rows("a", cut)] == ["p", "q"] and len(index.rows("b", cut)) == HISTORY_LIMIT
    _same(index, store, ["a", "b", "c"], 0)  # another model's cut: rebuilt from there


def test_writes_in_this_process_are_visible_at_once(store: Store) -> None:
    index = FreshEvents(store, sync_seconds=3600)
    assert index.rows("a", 0) == []
    store.add_events(_events("a", ["x"], "purchase"))
    assert [r[1:3] for r in index.rows("a", 0)] == [("x", "purchase")]


def test_writes_of_other_processes_arrive_within_the_sync_interval(store: Store, tmp_path: Path) -> None:
    other = open_store(f"sqlite:///{tmp_path / 'fresh.sqlite'}")  # another worker's connection
    try:
        index = FreshEvents(store, sync_seconds=0.05)
        assert index.rows("a", 0) == []
        other.add_events(_events("a", ["x"]))
        deadline = time.monotonic() + 1.0
        while not index.rows("a", 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [r[1] for r in index.rows("a", 0)] == ["x"]
    finally:
        other.close()


def test_over_its_limit_the_index_falls_back_to_queries(store: Store) -> None:
    store.add_events(_events("a", [f"i{n}" for n in range(30)]) + _events("b", ["x", "y"]))
    index = FreshEvents(store, max_events=10)
    _same(index, store, ["a", "b"], 0)
    assert index.overflowed and index.size == 0
    store.add_events(_events("b", ["z"], prefix="later-"))
    _same(index, store, ["a", "b"], 0)
    _same(index, store, ["a", "b"], 25)  # a new model: the index tries again (and fits this time)
    assert not index.overflowed


def test_an_event_from_another_worker_changes_the_next_responses(client: Any, home: Path) -> None:
    """Through the service: a purchase stored by a different process is excluded within 1 s."""
    user = "12347"
    before = client.get(f"/v1/users/{user}/recommendations", params={"k": 5}).json()
    top = before["items"][0]["item_id"]
    other = open_store(f"sqlite:///{home / 'tuijian.sqlite'}")
    try:
        t0 = time.monotonic()
        other.add_events([{"event_id": "other-worker-1", "user": user, "item": top, "kind": "purchase"}])
        while True:
            after = client.get(
                f"/v1/users/{user}/recommendations", params={"k": 5}, headers={"X-API-Key": ADMIN}
            )
            if top not in [e["item_id"] for e in after.json()["items"]] or time.monotonic() - t0 > 1.0:
                break
            time.sleep(0.01)
    finally:
        other.close()
    assert top not in [e["item_id"] for e in after.json()["items"]]
    assert time.monotonic() - t0 < 1.0
