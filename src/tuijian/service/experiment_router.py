"""Serving an A/B experiment: which variant answers a user's request, and the exposure log.

Each worker keeps an :class:`ExperimentRouter` (in ``state.extras["experiments"]``). A background thread reads
the dataset's running experiment from the store every ``poll_seconds`` (so an experiment created or stopped
through any worker or the CLI reaches every worker within that time), loads the model versions its variants
name (one extra snapshot each, loaded before the experiment starts routing in this worker) and writes the
queued exposures in batches every ``flush_seconds`` (like the impression log: serving never waits for a disk
sync; a crash loses at most the last ``flush_seconds``).

For a request, :func:`experiment_arm` hashes the user into a variant (:meth:`Experiment.assign`, the same in
every worker), applies the variant's request settings, and returns an :class:`Arm` whose ``ranker`` answers
``rank_user`` like :class:`~tuijian.service.engine.Engine` does: the served engine, an engine on another model
version, or a strategy (the fallback chain, or one of the live bandit's strategies). ``Arm.expose`` queues the exposure and gives the
``experiment`` field of the response.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuijian.exceptions import ModelNotFoundError
from tuijian.models.pipeline import Ranked
from tuijian.policy.abtest import Experiment, Variant, experiment_from_dict
from tuijian.service.bandit_strategies import Strategies
from tuijian.service.engine import Engine, Filters, _check_k
from tuijian.service.snapshot import Snapshot
from tuijian.store.records import now_us

log = logging.getLogger("tuijian.service")


class StrategyRanker:
    """``rank_user`` for a non-model strategy: ``fallback`` (the fallback chain alone, from no history) or one
    of the live bandit's list strategies (``sequential``, ``content``, ``trending``, ``popular``), ranked by the
    same code the bandit serves (:class:`~tuijian.service.bandit_strategies.Strategies`) on the user's query.
    ``window_days`` is the ``trending`` window (days before the end of the training log; None = 30)."""

    def __init__(
        self, engine: Engine, strategy: str, strategies: Strategies, window_days: float | None = None
    ) -> None:
        self.engine = engine
        self.strategy = strategy
        self.strategies = strategies
        self.window_days = window_days

    def rank_user(
        self,
        user: str,
        k: int = 10,
        filters: Filters = Filters(),
        *,
        exclude_purchased: bool = True,
        session: str | None = None,
    ) -> tuple[Snapshot, Ranked, str]:
        if self.strategy == "fallback":
            snap = self.engine.snapshot
            _check_k(k)
            ranked = snap.pipeline.fill([], np.zeros(0, np.int64), k, None, filters.mask(snap))
            return snap, ranked, self.strategy
        snap, query = self.engine.user_query(
            user, k, filters, exclude_purchased=exclude_purchased, session=session
        )
        return snap, self.strategies.rank(snap, self.strategy, query, k, self.window_days), self.strategy

    def explain_inputs(self, snap: Snapshot, query: Any) -> dict[str, Any]:
        """The chain and start items that explain :meth:`rank_user`'s list (see ``Strategies.explain_inputs``)."""
        if self.strategy == "fallback":
            return {}
        return self.strategies.explain_inputs(snap, self.strategy, query, self.window_days)


@dataclass(frozen=True)
class Arm:
    """A variant of the running experiment, ready to serve."""

    experiment: Experiment
    variant: Variant
    ranker: Any
    propensity: float
    router: ExperimentRouter

    def expose(self, request_id: str, user: str) -> dict[str, str]:
        """Queue the exposure of ``user`` in ``request_id``; the response's ``experiment`` field."""
        self.router.queue.append(
            (self.experiment.id, self.variant.name, user, request_id, self.propensity, now_us())
        )
        return {"id": self.experiment.id, "variant": self.variant.name}


class ExperimentRouter:
    """The running experiment of this worker, its variants' rankers and the exposure queue."""

    def __init__(self, state: Any, poll_seconds: float = 2.0, flush_seconds: float = 0.25) -> None:
        self.state = state
        self.poll_seconds = poll_seconds
        self.flush_seconds = flush_seconds
        self.queue: deque[tuple[str, str, str | None, str, float, int]] = deque()
        self.arms: dict[str, Arm] = {}
        self.experiment: Experiment | None = None
        self.last_error: str | None = None
        self.written = 0
        self._engines: dict[str, Engine] = {}
        self.strategies = Strategies()  # the strategy variants' chains, fitted once per model version
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tuijian-experiments", daemon=True)

    # ------------------------------------------------------------------ serving
    def arm(self, user: str) -> Arm | None:
        exp, arms = self.experiment, self.arms
        if exp is None:
            return None
        v = exp.assign(user)
        return None if v is None else arms[v.name]

    # ------------------------------------------------------------------ background
    def refresh(self) -> None:
        """Load the dataset's running experiment (or none) from the store."""
        st = self.state
        with self._lock:
            running = st.store.list_experiments(st.dataset, status="running")
            if not running:
                self.experiment, self.arms = None, {}
                return
            rec = running[0]
            if self.experiment is not None and self.experiment.id == rec["id"]:
                return
            exp = experiment_from_dict(rec)
            shares = exp.shares
            arms = {
                v.name: Arm(exp, v, self._ranker(v), float(share), self)
                for v, share in zip(exp.variants, shares, strict=True)
            }
            self.arms, self.experiment = arms, exp
            log.info("experiment routing", extra={"experiment": exp.id, "variants": list(arms)})

    def _ranker(self, v: Variant) -> Any:
        engine = self.state.engine if v.model_version is None else self._engine(v.model_version)
        if v.strategy == "model":
            return engine
        window = v.config.get("window_days")
        return StrategyRanker(engine, v.strategy, self.strategies, None if window is None else float(window))

    def _engine(self, label: str) -> Engine:
        cached = self._engines.get(label)
        if cached is not None:
            return cached
        from tuijian.service.versions import load_snapshot

        st = self.state
        current = st.engine.snapshot if st.engine.ready else None
        if current is not None and current.version == label:
            snap = current
        else:
            rows = [r for r in st.store.list_model_versions(st.dataset) if r["metrics"].get("label") == label]
            if not rows:
                raise ModelNotFoundError(f"model version {label!r} of {st.dataset} is not stored")
            snap = load_snapshot(st.store, rows[0])
        engine = self._engines[label] = Engine(st.store, snap)
        return engine

    def flush(self) -> int:
        batch: list[tuple[str, str, str | None, str, float, int]] = []
        while self.queue and len(batch) < 5_000:
            batch.append(self.queue.popleft())
        if not batch:
            return 0
        try:
            self.state.store.log_exposures(batch)
        except Exception:  # noqa: BLE001 - put them back, retry on the next tick
            self.queue.extendleft(reversed(batch))
            log.exception("exposure flush failed; will retry")
            return 0
        self.written += len(batch)
        return len(batch)

    def start(self) -> None:
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - serve without the experiment; retried by the thread
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("experiment refresh failed")
        self._thread.start()

    def _run(self) -> None:
        waited = 0.0
        while not self._stop.wait(self.flush_seconds):
            self.flush()
            waited += self.flush_seconds
            if waited >= self.poll_seconds:
                waited = 0.0
                try:
                    self.refresh()
                    self.last_error = None
                except Exception as exc:  # noqa: BLE001 - keep the previous state; reported by the API
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("experiment refresh failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        while self.queue and self.flush():
            pass


def experiment_arm(st: Any, user: str, query: dict[str, Any]) -> Arm | None:
    """The user's arm of the running experiment (None: no experiment, or the user is outside its traffic);
    the variant's request settings are applied to ``query`` in place."""
    router = st.extras.get("experiments")
    if router is None:
        return None
    arm: Arm | None = router.arm(user)
    if arm is not None and "exclude_purchased" in arm.variant.config:
        query["exclude_purchased"] = arm.variant.config["exclude_purchased"]
    return arm
