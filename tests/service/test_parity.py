"""Online = offline, for every registered model.

Every model in ``registry.available()`` is trained by the service's own path (``train_version`` on a real
SQLite store of a generated shop with timestamps, view and purchase events, categories and prices), loaded as
a serving snapshot and asked through :class:`~tuijian.service.engine.Engine`, with and without fresh events
(stored after the model's training cut), for known and unknown users, anonymous sessions, filters and
repeats. Each answer must be exactly what the library gives offline for the same time-ordered history:
``model.recommend(u, k, exclude_seen=False, candidates=..., history=..., sequences=...)`` (the model's items,
in the same order, with the same scores), then the fallback chain's ``recommend`` for what is left. The
reference is built here from the raw events, independently of the service's query code.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tuijian.data.schema import DEFAULT_EVENT_WEIGHTS
from tuijian.models.registry import available, model_class
from tuijian.service.engine import Engine, Filters
from tuijian.service.snapshot import Snapshot
from tuijian.store import open_store

K = 10
N_ITEMS, N_USERS, N_CHAINS = 90, 160, 6
CATEGORIES = ("garden", "kitchen", "toys")
#: small, fast settings (only those the model's constructor takes)
FAST: dict[str, dict[str, Any]] = {
    "als": {"n_factors": 8, "n_iterations": 3},
    "bpr": {"n_factors": 8, "n_iterations": 5},
    "sasrec": {"n_factors": 16, "n_epochs": 2, "max_len": 20, "batch_size": 64},
    "ease": {"reg": 20.0},
    "hybrid": {"ranker": {"n_estimators": 15, "n_rankers": 1, "max_train_users": 400, "n_negatives": 20}},
    "auto": {"ranker": {"n_estimators": 15, "n_rankers": 1, "max_train_users": 400, "n_negatives": 20}},
}


def _params(name: str) -> dict[str, Any]:
    accepted = inspect.signature(model_class(name).__init__).parameters
    return {k: v for k, v in FAST.get(name, {}).items() if k in accepted}


def _shop(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A generated shop: items in chains (item ``c*15 + j`` is often followed by ``c*15 + j + 1``), users
    who browse along them over 60 days, viewing and sometimes buying; a catalog with categories and prices."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2025-03-01", tz="UTC")
    chain_len = N_ITEMS // N_CHAINS
    rows = []
    for u in range(N_USERS):
        start = rng.uniform(0, 50)
        item = int(rng.integers(N_ITEMS))
        for n in range(int(rng.integers(6, 22))):
            if rng.random() < 0.65 and (item + 1) % chain_len:
                item += 1
            else:
                item = int(rng.integers(N_ITEMS))
            ts = t0 + pd.Timedelta(days=start + n * 0.3 + rng.uniform(0, 0.2))
            kind = "purchase" if rng.random() < 0.3 else "view"
            rows.append(
                {"event_id": f"e{u}-{n}", "user": f"u{u}", "item": f"i{item}", "kind": kind, "ts": ts}
            )
    items = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(N_ITEMS)],
            "title": [f"{CATEGORIES[i % 3]} thing {i}" for i in range(N_ITEMS)],
            "category": [[CATEGORIES[i % 3]] for i in range(N_ITEMS)],
            "price": [float(1 + (i * 7) % 20) for i in range(N_ITEMS)],
        }
    )
    return pd.DataFrame(rows), items


def _fresh(user: str, items: list[str], kinds: list[str], tag: str) -> list[dict[str, Any]]:
    ts = pd.Timestamp("2025-05-01", tz="UTC")
    return [
        {"event_id": f"f-{tag}-{user}-{n}", "user": user, "item": it, "kind": kind,
         "ts": ts + pd.Timedelta(minutes=n), "session": f"s-{user}"}
        for n, (it, kind) in enumerate(zip(items, kinds, strict=True))
    ]  # fmt: skip


#: fresh events stored after every model was trained: (user, items, kinds); the order of items matters
FRESH = [
    ("u3", ["i40", "i12", "i77", "i13"], ["view", "purchase", "view", "view"]),
    ("u17", ["i5", "i6"], ["view", "view"]),
    ("new-a", ["i31", "i2", "i60"], ["view", "view", "view"]),
    ("new-b", ["i60", "i2", "i31"], ["view", "view", "view"]),  # the same items, the other way round
    ("new-buyer", ["i20", "i21"], ["purchase", "view"]),
]


#: models served with precomputed top lists of TOP_N items in the fast-path tests
TOP_LIST_MODELS = ("hybrid", "auto", "als")
TOP_N = 20


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A store with the generated shop, every registered model trained on it (one dataset name each), and the
    fresh events added afterwards."""
    from tuijian.service.versions import load_snapshot, train_version

    home = tmp_path_factory.mktemp("parity")
    store = open_store(f"sqlite:///{home / 'tuijian.sqlite'}")
    events, items = _shop()
    store.add_items(items)
    store.add_events(events)
    snaps: dict[str, Snapshot] = {}
    for name in available():  # every request scored in full (no precomputed top lists)
        train_version(store, f"parity-{name}", home / "artifacts", name, _params(name), precompute=False)
        row = store.active_model_version(f"parity-{name}")
        assert row is not None, name
        snaps[name] = load_snapshot(store, row)
    for name in TOP_LIST_MODELS:  # the same models with stored top lists, short enough for filters to miss
        train_version(
            store, f"parity-{name}-top", home / "artifacts", name, _params(name), precompute=True, top_n=TOP_N
        )
        snaps[f"{name}+top"] = load_snapshot(store, store.active_model_version(f"parity-{name}-top"))
    # the hybrid with its own rerankers: MMR diversity and a business rule (nothing above 12); its lists
    # depend on k, so they are never precomputed, even when asked
    rules = {**_params("hybrid"), "diversity": 0.5, "business_rules": {"max_price": 12.0}}
    train_version(store, "parity-hybrid-rules", home / "artifacts", "hybrid", rules, precompute=True)
    snaps["hybrid+rules"] = load_snapshot(store, store.active_model_version("parity-hybrid-rules"))
    for user, its, kinds in FRESH:
        store.add_events(_fresh(user, its, kinds, "a"))
    yield {"store": store, "snaps": snaps, "home": home, "events": store.events_frame()}
    store.close()


# ---------------------------------------------------------------------- the offline reference
def _reference(
    snap: Snapshot,
    events: pd.DataFrame,
    user: str | None,
    session: list[str] | None = None,
    *,
    exclude_purchased: bool = True,
    allowed: np.ndarray | None = None,
    rules: np.ndarray | None = None,
) -> list[tuple[int, float]]:
    """``model.recommend`` for the time-ordered history built from the raw events, then the fallback chain."""
    model, inter = snap.model, snap.model.interactions_
    n = inter.n_items
    index = {iid: k for k, iid in enumerate(inter.items.ids)}
    cut = snap.trained_max_event_id
    if user is not None:
        u = {uid: k for k, uid in enumerate(inter.users.ids)}.get(user, -1)
        mine = events[events["user"] == user].sort_values("id")
        new = mine[(mine["id"] > cut) & mine["item"].isin(index)]
        train_seq = inter.sequences()[u] if u >= 0 else np.zeros(0, np.int64)
        fresh_items = np.asarray([index[i] for i in new["item"]], np.int64)
        seq = np.concatenate([train_seq, fresh_items])
        old = mine[mine["id"] <= cut]
        bought = {index[i] for i, k in zip(old["item"], old["kind"], strict=True) if k == "purchase"}
        bought |= {index[i] for i, k in zip(new["item"], new["kind"], strict=True) if k == "purchase"}
        if len(new) or u < 0:
            w = np.asarray([DEFAULT_EVENT_WEIGHTS[k] for k in new["kind"]], np.float32)
            fresh_row = sp.csr_matrix((w, (np.zeros(len(w), int), fresh_items)), shape=(1, n))
            base = inter.matrix[u] if u >= 0 else sp.csr_matrix((1, n), dtype=np.float32)
            history, sequences = sp.csr_matrix(base + fresh_row), [seq]
        else:
            history, sequences = None, None
        excluded = bought if exclude_purchased else set()
    else:
        u, seq = -1, np.asarray([index[i] for i in session or [] if i in index], np.int64)
        history = sp.csr_matrix((np.ones(len(seq), np.float32), (np.zeros(len(seq), int), seq)), shape=(1, n))
        sequences, excluded = [seq], set(seq.tolist())
    keep = np.ones(n, bool) if allowed is None else allowed.copy()
    keep[list(excluded)] = False
    out: list[tuple[int, float]] = []
    if len(seq):
        ids, scores = model.recommend(
            u, K, exclude_seen=False, candidates=np.flatnonzero(keep), history=history, sequences=sequences
        )
        floor = -np.inf if model.evidence_floor is None else model.evidence_floor
        for i, s in zip(ids.tolist(), scores.tolist(), strict=True):
            if i < 0 or s <= floor:
                break
            out.append((i, s))
    if len(out) < K:  # the fallback chain's own batch code, with the filters and the chosen items excluded
        block = ~keep if rules is None else ~(keep & rules)  # the model's business rules bound the fill too
        block[[i for i, _ in out]] = True
        chain = snap.pipeline.fallback
        ids, reasons = chain.recommend([seq], K - len(out), exclude=sp.csr_matrix(block[None, :]))
        scores_by_step = {s: chain.step_scores(s, [seq])[0] for s in chain.steps}
        for i, r in zip(ids[0].tolist(), reasons[0].tolist(), strict=True):
            if i >= 0:
                out.append((i, float(scores_by_step[r][i])))
    return out


def _same(online: list[tuple[int, float, list[str]]], offline: list[tuple[int, float]], what: str) -> None:
    assert [i for i, _, _ in online] == [i for i, _ in offline], what
    np.testing.assert_allclose([s for _, s, _ in online], [s for _, s in offline], rtol=1e-6, err_msg=what)


def _users(snap: Snapshot, n: int = 6) -> list[str]:
    ids = snap.model.interactions_.users.ids
    return [str(ids[k]) for k in np.linspace(0, len(ids) - 1, n).astype(int)]


# ---------------------------------------------------------------------- the tests
@pytest.mark.parametrize("name", available())
def test_service_answers_like_the_library(shop: dict[str, Any], name: str) -> None:
    snap = shop["snaps"][name]
    engine = Engine(shop["store"], snap)
    events = shop["events"]
    garden = Filters(category="garden")
    mask = garden.mask(snap)
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for user in _users(snap):  # sampled known users without fresh events
        cases.append((f"user {user}", {"user": user}, {}))
    for user, _, _ in FRESH:  # known and unknown users with fresh events
        cases.append((f"fresh {user}", {"user": user}, {}))
    cases.append(("filter", {"user": "u3", "allowed": mask}, {"filters": garden}))
    cases.append(("repeats", {"user": "u3", "exclude_purchased": False}, {"exclude_purchased": False}))
    cases.append(("cold", {"user": "nobody-at-all"}, {}))
    for what, ref_kw, eng_kw in cases:
        got_snap, ranked, source = engine.rank_user(ref_kw["user"], K, **eng_kw)
        assert got_snap is snap
        _same(ranked, _reference(snap, events, **ref_kw), f"{name}: {what}")
        assert len(ranked) == K, f"{name}: {what}"
    for items in (["i7", "i8"], ["i50", "i10", "i11", "i52"]):  # anonymous sessions, their order kept
        out = engine.recommend_session(items, K)
        got = [(snap.item_index(e["item_id"]), e["score"], e["reasons"]) for e in out["items"]]
        want = _reference(snap, events, None, items)
        assert [g[0] for g in got] == [w[0] for w in want], f"{name}: session {items}"
        assert out["source"] == "session"


@pytest.mark.parametrize("name", available())
def test_similar_items_for_every_model(shop: dict[str, Any], name: str) -> None:
    """``similar_items`` answers for every model: its own, else item-kNN's; filters apply; fill is popular."""
    snap = shop["snaps"][name]
    engine = Engine(shop["store"], snap)
    out = engine.similar_items("i7", K)
    assert len(out["items"]) == K and all(e["item_id"] != "i7" for e in out["items"])
    own = snap.model if hasattr(snap.model, "similar_items") else snap.pipeline.knn
    ids, _ = own.similar_items(snap.item_index("i7"), K)
    head = [str(snap.item_ids[i]) for i in ids.tolist() if i >= 0]
    assert [e["item_id"] for e in out["items"]][: len(head)] == head
    assert all(e["reasons"] == ["similar_to:i7"] for e in out["items"][: len(head)])
    kitchen = engine.similar_items("i7", 5, Filters(category="kitchen"))
    assert all(e["category"] == ["kitchen"] for e in kitchen["items"]) and len(kitchen["items"]) == 5


def test_the_hybrids_own_rerankers_apply_online(shop: dict[str, Any]) -> None:
    """A hybrid with MMR diversity and a price rule: online lists are the offline ones, the rule holds for
    every item, fill included."""
    snap = shop["snaps"]["hybrid+rules"]
    assert snap.top_lists is None and not (Path(snap.info["path"]) / "toplists.npz").exists()
    engine = Engine(shop["store"], snap)
    price = np.asarray([1 + (int(str(i)[1:]) * 7) % 20 for i in snap.item_ids], float)
    for user in [*_users(snap, 4), "u3", "new-a", "nobody-at-all"]:
        _, ranked, _ = engine.rank_user(user, K)
        _same(ranked, _reference(snap, shop["events"], user, rules=price <= 12), f"rules: {user}")
        assert len(ranked) == K and all(price[i] <= 12 for i, _, _ in ranked), user
    similar = engine.rank_similar("i7", K)[1]
    assert len(similar) == K and all(price[i] <= 12 for i, _, _ in similar)


def test_sequential_model_follows_the_order_of_fresh_events(shop: dict[str, Any]) -> None:
    """Two new users with the same fresh items in opposite orders: session-transitions answers differently,
    each time exactly as offline for that order."""
    snap = shop["snaps"]["session-transitions"]
    engine = Engine(shop["store"], snap)
    lists = {}
    for user in ("new-a", "new-b"):
        _, ranked, source = engine.rank_user(user, K)
        assert source == "history"
        _same(ranked, _reference(snap, shop["events"], user), f"order of {user}")
        lists[user] = [i for i, _, _ in ranked]
    assert lists["new-a"] != lists["new-b"]
    # the latest item weighs most: each list starts with what follows that user's last item (i60 / i31)
    assert lists["new-a"][0] == snap.item_index("i61") and lists["new-b"][0] == snap.item_index("i32")


def test_fresh_events_through_http(shop: dict[str, Any]) -> None:
    """Through the HTTP app (hot path and FastAPI route alike): the served list is the library's."""
    from fastapi.testclient import TestClient

    from tests.service.conftest import ADMIN, make_options
    from tuijian.service.app import create_app
    from tuijian.settings import load_settings

    home: Path = shop["home"]
    for name in ("session-transitions", "hybrid"):
        settings = load_settings(
            home=home,
            database_url=f"sqlite:///{home / 'tuijian.sqlite'}",
            dataset=f"parity-{name}",
            admin_key=ADMIN,
            env="test",
        )
        snap = shop["snaps"][name]
        for hot in (True, False):
            with TestClient(create_app(settings, make_options(bootstrap=False, hot_path=hot))) as client:
                for user in ("u3", "new-b"):
                    r = client.get(
                        f"/v1/users/{user}/recommendations", params={"k": K}, headers={"X-API-Key": ADMIN}
                    )
                    assert r.status_code == 200, r.text
                    body = r.json()
                    assert body["model_version"] == snap.version
                    want = _reference(snap, shop["events"], user)
                    assert [e["item_id"] for e in body["items"]] == [str(snap.item_ids[i]) for i, _ in want]
                    assert [e["score"] for e in body["items"]] == pytest.approx(
                        [s for _, s in want], abs=1e-6
                    )


@pytest.mark.parametrize("name", TOP_LIST_MODELS)
def test_stored_top_lists_answer_exactly_like_the_library(shop: dict[str, Any], name: str) -> None:
    """The fast path: a known user without fresh events is answered from the version's stored top list, and
    the answer is bit for bit ``model.recommend`` (items, order, scores); a filter that leaves fewer than k
    stored items, fresh events and unknown users are scored in full, again exactly as offline."""
    from tuijian.models.artifacts import read_config

    snap, full = shop["snaps"][f"{name}+top"], shop["snaps"][name]
    assert full.top_lists is None and not (Path(full.info["path"]) / "toplists.npz").exists()
    folder = Path(snap.info["path"])
    config = read_config(folder.parent.parent, folder.parent.name, folder.name)
    # the hybrid's ranker (hybrid, auto) stores every candidate and the tail rule: its lists answer any
    # filter; others store their top TOP_N
    tail = name in ("hybrid", "auto")
    assert config["top_lists"]["file"] == "toplists.npz"
    assert config["top_lists"]["scored"] == ("tail" if tail else "batch") or (
        not tail and config["top_lists"]["scored"] == "per-user"
    )
    top = snap.top_lists
    assert top is not None and top.n_users == snap.model.interactions_.n_users
    assert config["top_lists"]["n"] == top.n and config["metrics"]["top_lists_n"] == top.n
    assert top.n >= TOP_N if tail else top.n == TOP_N
    model, pipe, engine, events = snap.model, snap.pipeline, Engine(shop["store"], snap), shop["events"]
    cheap = Filters(price_max=18.0)  # keeps 90% of the items: k of them stay inside the stored 20
    garden = Filters(category="garden")  # a third of the items: often fewer than k of the stored 20
    used = {"stored": 0, "scored": 0}
    for user in [*_users(snap, 12), "u3", "u17", "new-a", "nobody-at-all"]:
        for filters in (Filters(), cheap, garden):
            mask = filters.mask(snap)
            u = snap.user_index(user)
            fresh = any(user == f[0] for f in FRESH)
            _, ranked, _ = engine.rank_user(user, K, filters)
            _same(ranked, _reference(snap, events, user, allowed=mask), f"{name}: {user} {filters}")
            query = pipe.user_query(u, None, allowed=mask)
            stored = top.answer(query, K)
            if u < 0 or fresh:
                continue  # the engine built a query with fresh events or none at all: scored in full
            used["stored" if stored is not None else "scored"] += 1
            if stored is None:
                continue
            keep = query.candidate_mask(model.n_items)
            cand = None if keep is None else np.flatnonzero(keep)
            want_ids, want_scores = model.recommend(u, K, exclude_seen=False, candidates=cand)
            np.testing.assert_array_equal(stored[0], want_ids, err_msg=f"{name}: {user} {filters}")
            np.testing.assert_array_equal(stored[1], want_scores, err_msg=f"{name}: {user} {filters}")
    if tail:  # every known user without fresh events, under every filter
        assert used["stored"] >= 12 and used["scored"] == 0, used
    else:
        assert used["stored"] >= 12 and used["scored"] >= 1, used  # both paths were taken


@pytest.mark.parametrize("name", TOP_LIST_MODELS)
def test_stored_explanations_are_what_a_request_explains(shop: dict[str, Any], name: str) -> None:
    """Training for serving also explains every trained user's default request (``explanations.npz`` beside
    the lists, :mod:`tuijian.explain.stored`); an explained request reads them, and its items, sentences and
    attributions are those of the same pipeline explaining every item per request."""
    import dataclasses

    from tuijian.explain.render import explained_items
    from tuijian.models.artifacts import read_config
    from tuijian.models.pipeline import Pipeline

    snap = shop["snaps"][f"{name}+top"]
    folder = Path(snap.info["path"])
    config = read_config(folder.parent.parent, folder.parent.name, folder.name)
    top = snap.top_lists
    assert top is not None and top.explained is not None, name  # hybrid, auto and ALS all explain
    assert config["top_lists"]["explained"] == "explanations.npz" and (folder / "explanations.npz").is_file()
    assert config["metrics"]["explanations_per_user"] == K and config["metrics"]["explanations_mb"] >= 0
    plain = Pipeline(snap.model, top_lists=dataclasses.replace(top, explained=None))
    records = snap.catalog.records
    for user in _users(snap, 16):
        u = snap.user_index(user)
        for lang in ("en", "zh"):
            served, again = snap.pipeline.user_query(u), plain.user_query(u)
            got = explained_items(snap.pipeline, records, served, snap.pipeline.recommend(served, K), lang)
            want = explained_items(plain, records, again, plain.recommend(again, K), lang)
            assert got == want, (name, user, lang)
            assert top.explained.lookup(u, [snap.item_index(e["item_id"]) for e in got])


@pytest.mark.parametrize("name", ["hybrid", "auto"])
def test_stored_candidates_explain_a_filtered_request_as_rows_built_per_request(
    shop: dict[str, Any], name: str
) -> None:
    """A ranker's lists get every stored candidate explained at training (so their feature rows,
    ``toplist_rows.npy``, are not kept): explained requests that reach past the default request's items (a
    category filter, a larger k) read them, and answer exactly what the same pipeline answers building every
    row per request."""
    import dataclasses

    from tuijian.explain.render import explained_items
    from tuijian.models.artifacts import read_config
    from tuijian.models.pipeline import Pipeline
    from tuijian.models.toplists import ROWS_FILE

    snap = shop["snaps"][f"{name}+top"]
    top = snap.top_lists
    assert top is not None
    folder = Path(snap.info["path"])
    metrics = read_config(folder.parent.parent, folder.parent.name, folder.name)["metrics"]
    assert top.ranks is not None  # both serve their ranker here (a gate serving one retriever keeps none)
    assert top.explained is not None and top.explained.every_candidate and metrics["explanations_every_candidate"]
    assert top.rows is None and metrics["top_lists_rows_mb"] == 0 and not (folder / ROWS_FILE).exists()
    plain = Pipeline(snap.model, top_lists=dataclasses.replace(top, explained=None, rows=None, row_ptr=None))
    records = snap.catalog.records
    categories = sorted(snap.catalog.category_index)
    checked = 0
    for n, user in enumerate(_users(snap, 16)):
        u = snap.user_index(user)
        allowed = snap.catalog.category_index[categories[n % len(categories)]]
        for k, mask in ((K, allowed), (2 * K, None)):
            served = snap.pipeline.user_query(u, allowed=mask)
            again = plain.user_query(u, allowed=mask)
            got = explained_items(snap.pipeline, records, served, snap.pipeline.recommend(served, k), "en")
            want = explained_items(plain, records, again, plain.recommend(again, k), "en")
            assert got == want, (name, user, k)
            checked += len(got)
    assert checked > 0
