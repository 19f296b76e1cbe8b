"""The live strategy bandit: per request it picks a strategy, and it learns from ``POST /v1/feedback`` in
every worker within about a second.

Turned on by ``TUIJIAN_BANDIT=1`` (off by default). Per personalised request (``GET
/v1/users/{id}/recommendations``, when no A/B experiment claims the user) the worker builds the user's query,
computes a small context (:func:`context`: history length, known user, fresh events, time of day), and a
:class:`~tuijian.policy.bandit.LinearBandit` (Thompson sampling or LinUCB over
:mod:`~tuijian.service.bandit_strategies`) draws the strategy with a bounded exploration probability. The
response says ``strategy``, ``exploration`` and ``propensity``; items of an exploration pick carry the reason
code ``exploration``. The draw is seeded by the request id, so it is reproducible.

Sharing what is learned between workers (and restarts): every choice ``(request_id, strategy, context,
propensity, explored)`` is appended to a small SQLite file (``<home>/run/bandit.sqlite`` unless
``TUIJIAN_BANDIT_STATE`` names another) by a background thread every 0.1 s: the decision log, with
propensities, for off-policy evaluation. Every ``bandit_sync_seconds`` (1 s) each worker reads the choices it
has not seen yet (``A += x x^T``) and the new rows of the store's feedback table (``b += reward * x`` for the
request's choice, reward weights per event from the settings). All workers read the same two logs in the same
order, so they hold the same model; feedback for a choice not yet visible is retried for a minute.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request

from tuijian.policy.bandit import LinearBandit
from tuijian.service.auth import requires
from tuijian.service.bandit_strategies import Strategies, parse_strategies
from tuijian.store.records import now_us

log = logging.getLogger("tuijian.service")

#: context length (see :func:`context`)
N_CONTEXT = 6
#: choices remembered per worker to match feedback to (older feedback is not learned from)
MAX_REMEMBERED = 500_000
#: seconds that feedback for a not-yet-seen choice is retried
PENDING_SECONDS = 60.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS choices (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, "
    "user_id TEXT, strategy TEXT NOT NULL, context TEXT NOT NULL, propensity REAL NOT NULL, "
    "explored INTEGER NOT NULL, ts INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_choices_request ON choices (request_id)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def context(query: Any, hour: float | None = None) -> np.ndarray:
    """``[1, log history length, known user, has fresh events, sin(hour), cos(hour)]`` of a user query."""
    if hour is None:
        t = time.gmtime()
        hour = t.tm_hour + t.tm_min / 60.0
    n = len(query.history)
    angle = 2 * math.pi * hour / 24.0
    return np.array(
        [
            1.0,
            math.log1p(n) / math.log(201.0),
            float(query.user >= 0),
            float(query.n_fresh > 0),
            0.5 * math.sin(angle),
            0.5 * math.cos(angle),
        ]
    )


def _seed(request_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(request_id.encode(), digest_size=8).digest(), "little")


class BanditService:
    """One worker's bandit (see module docstring). ``start()`` opens the shared state, ``close()`` flushes."""

    def __init__(self, engine: Any, store: Any, settings: Any) -> None:
        self.engine = engine
        self.store = store
        self.arms = parse_strategies(settings.bandit_strategies)
        self.bandit = LinearBandit(
            self.arms,
            N_CONTEXT,
            algorithm=settings.bandit_algorithm,
            alpha=settings.bandit_alpha,
            max_exploration=settings.bandit_max_exploration,
            min_propensity=settings.bandit_min_propensity if len(self.arms) > 1 else 0.0,
        )
        from tuijian.exceptions import ConfigError
        from tuijian.store.bookkeeping import FEEDBACK_EVENTS

        bad = [k for k in settings.bandit_rewards if k not in FEEDBACK_EVENTS]
        if bad:
            raise ConfigError(f"bandit_rewards keys must be feedback events {FEEDBACK_EVENTS}, got {bad}")
        self.rewards = {k: float(v) for k, v in settings.bandit_rewards.items() if float(v) != 0.0}
        if not self.rewards:
            raise ConfigError(
                "bandit_rewards gives every feedback event a reward of 0: nothing to learn from"
            )
        self.sync_seconds = settings.bandit_sync_seconds
        self.path = Path(settings.bandit_state or settings.home / "run" / "bandit.sqlite")
        self.strategies = Strategies()
        self._index = {a: i for i, a in enumerate(self.arms)}
        self._lock = threading.Lock()
        self._queue: deque[tuple[Any, ...]] = deque()
        self._recent: OrderedDict[str, tuple[int, np.ndarray]] = OrderedDict()
        self._pending: list[tuple[str, float, float]] = []
        self._last_choice = 0
        self._last_feedback = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tuijian-bandit", daemon=True)
        self._db: sqlite3.Connection | None = None
        self.synced_at = 0.0
        self.rewards_seen = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        for sql in _SCHEMA:
            db.execute(sql)
        # Data minimisation: the choice log keys on request ids only. It lives beside the store, so a user id
        # here would escape `DELETE /v1/users/{id}`, the export and retention; clear any an older version wrote.
        db.execute("UPDATE choices SET user_id = NULL WHERE user_id IS NOT NULL")
        # feedback older than the state file belongs to no choice of it: start reading after it
        db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('feedback_start', ?)",
            (str(self._max_feedback_id()),),
        )
        self._last_feedback = int(
            db.execute("SELECT value FROM meta WHERE key='feedback_start'").fetchone()[0]
        )
        self._db = db
        self.sync()
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._flush()
        if self._db is not None:
            self._db.close()
            self._db = None

    # ------------------------------------------------------------------ serving
    def rank_user(
        self,
        request_id: str,
        user: str,
        k: int,
        filters: Any,
        *,
        exclude_purchased: bool = True,
        session: str | None = None,
    ) -> tuple[Any, list[tuple[int, float, list[str]]], str, dict[str, Any]]:
        """``(snapshot, ranked, source, head fields)`` of the strategy the bandit draws for this request."""
        snap, query = self.engine.user_query(
            user, k, filters, exclude_purchased=exclude_purchased, session=session
        )
        x = context(query)
        with self._lock:
            choice = self.bandit.choose(x, np.random.default_rng(_seed(request_id)))
        ranked = self.strategies.rank(snap, choice.arm, query, k)
        if choice.explored:
            ranked = [(i, s, [*r, "exploration"]) for i, s, r in ranked]
        self._queue.append(  # no user id: the choice log is outside the store's erasure and export (below)
            (
                request_id,
                choice.arm,
                json.dumps(x.round(6).tolist()),
                choice.propensity,
                choice.explored,
            )
        )
        head = {
            "strategy": choice.arm,
            "exploration": choice.explored,
            "propensity": round(choice.propensity, 6),
        }
        return snap, ranked, query.source, head

    def state(self) -> dict[str, Any]:
        """What this worker has learned: per strategy, choices, reward, and the greedy strategy by context."""
        with self._lock:
            theta = self.bandit.theta()
            n, r = self.bandit.n_choices_.tolist(), self.bandit.rewards_.tolist()
        known = context(_Q(30, 0, 0), 12.0) @ theta.T
        cold = context(_Q(0, -1, 0), 12.0) @ theta.T
        return {
            "worker_pid": os.getpid(),
            "algorithm": self.bandit.algorithm,
            "max_exploration": self.bandit.max_exploration,
            "strategies": {
                a: {"choices": int(n[j]), "reward": round(float(r[j]), 3)} for j, a in enumerate(self.arms)
            },
            "greedy_known_user": self.arms[int(np.argmax(known))],
            "greedy_new_user": self.arms[int(np.argmax(cold))],
            "rewards_seen": self.rewards_seen,
            "synced_seconds_ago": round(time.monotonic() - self.synced_at, 3),
        }

    # ------------------------------------------------------------------ sharing
    def _run(self) -> None:
        next_sync = time.monotonic() + self.sync_seconds
        while not self._stop.wait(0.1):
            try:
                self._flush()
                if time.monotonic() >= next_sync:
                    next_sync = time.monotonic() + self.sync_seconds
                    self.sync()
            except Exception:  # noqa: BLE001 - keep serving; retry on the next tick
                log.exception("bandit state sync failed; will retry")

    def _flush(self) -> int:
        if self._db is None or not self._queue:
            return 0
        rows = []
        ts = now_us()
        while self._queue:
            rid, arm, x, p, explored = self._queue.popleft()
            rows.append((rid, None, arm, x, p, int(explored), ts))
        self._db.executemany(
            "INSERT INTO choices (request_id, user_id, strategy, context, propensity, explored, ts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return len(rows)

    def sync(self) -> None:
        """Learn the choices and feedback that arrived since the last sync (see module docstring)."""
        if self._db is None:
            return
        choices = self._db.execute(
            "SELECT id, request_id, strategy, context FROM choices WHERE id > ? ORDER BY id LIMIT 200000",
            (self._last_choice,),
        ).fetchall()
        feedback = self._feedback_after(self._last_feedback)
        now = time.monotonic()
        with self._lock:
            for cid, rid, arm, ctx in choices:
                self._last_choice = cid
                j = self._index.get(arm)
                if j is None:  # a strategy no longer configured
                    continue
                x = np.asarray(json.loads(ctx), np.float64)
                self.bandit.observe_choice(j, x)
                self._recent[rid] = (j, x)
            while len(self._recent) > MAX_REMEMBERED:
                self._recent.popitem(last=False)
            todo = self._pending + [(rid, self.rewards[ev], now) for _, rid, ev in feedback]
            self._pending = []
            for rid, w, seen in todo:
                hit = self._recent.get(rid)
                if hit is not None:
                    self.bandit.observe_reward(hit[0], hit[1], w)
                    self.rewards_seen += 1
                elif now - seen < PENDING_SECONDS:
                    self._pending.append((rid, w, seen))
        if feedback:
            self._last_feedback = int(feedback[-1][0])
        self.synced_at = now

    def _feedback_after(self, after: int) -> list[tuple[int, str, str]]:
        from sqlalchemy import select

        from tuijian.store import tables as t

        f = t.feedback.c
        q = (
            select(f.id, f.request_id, f.event)
            .where(f.id > after)
            .where(f.event.in_(list(self.rewards)))
            .order_by(f.id)
            .limit(200_000)
        )
        with self.store.engine.connect() as conn:
            return [(int(a), str(b), str(c)) for a, b, c in conn.execute(q).all()]

    def _max_feedback_id(self) -> int:
        from sqlalchemy import func, select

        from tuijian.store import tables as t

        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(t.feedback.c.id), 0))).scalar_one())


class _Q:
    """A stand-in query for :meth:`BanditService.state` (history length, user index, fresh events)."""

    def __init__(self, n: int, user: int, fresh: int) -> None:
        self.history, self.user, self.n_fresh = range(n), user, fresh


router = APIRouter(prefix="/v1", tags=["recommendations"])


@router.get("/bandit", summary="What this worker's strategy bandit has learned (role read)")
async def bandit_state(request: Request, _role: str = Depends(requires("read"))) -> dict[str, Any]:
    from tuijian.exceptions import ConfigError

    st = request.app.state.tuijian
    bandit = st.extras.get("bandit")
    if bandit is None:
        raise ConfigError("the strategy bandit is off; start the service with TUIJIAN_BANDIT=1")
    state: dict[str, Any] = bandit.state()
    return state


def start_bandit(state: Any) -> BanditService | None:
    """The worker's :class:`BanditService` when the settings turn it on (stored in ``state.extras``)."""
    if not state.settings.bandit:
        return None
    service = BanditService(state.engine, state.store, state.settings)
    service.start()
    state.extras["bandit"] = service
    return service
