"""A/B experiments and their exposure log (mixed into :class:`~tuijian.store.Store`).

An experiment row keeps the fixed design as JSON (variants, salt, plan); at most one experiment runs per
dataset at a time, so that every request has one answer to "which variant serves this user".
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Engine, insert, select, update

from tuijian.exceptions import ConfigError, UnknownIdError
from tuijian.store import tables as t
from tuijian.store.records import now_us

if TYPE_CHECKING:
    from tuijian.policy.abtest import Experiment

#: exposures per INSERT statement (6 parameters each)
EXPOSURE_CHUNK = 1_000


class ExperimentsMixin:
    """Needs ``engine``, ``_begin()`` and ``_user_key_fn`` from :class:`Store`."""

    engine: Engine
    _begin: Any
    _user_key_fn: Any

    @staticmethod
    def new_experiment_id() -> str:
        return f"exp-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"

    def create_experiment(self, dataset: str, experiment: Experiment) -> dict[str, Any]:
        """Store a running experiment; a :class:`ConfigError` when another one already runs on ``dataset``."""
        spec = {**experiment.to_dict(), "salt": experiment.salt}
        with self._begin() as conn:
            running = conn.execute(
                select(t.experiments.c.id).where(
                    t.experiments.c.dataset == dataset, t.experiments.c.status == "running"
                )
            ).first()
            if running is not None:
                raise ConfigError(
                    f"experiment {running[0]} is already running on {dataset}; stop it first "
                    f"(POST /v1/experiments/{running[0]}/stop or `tuijian abtest stop {running[0]}`)"
                )
            conn.execute(
                insert(t.experiments).values(
                    id=experiment.id,
                    name=experiment.name,
                    dataset=dataset,
                    status="running",
                    spec=json.dumps(spec, ensure_ascii=False),
                    created_at=experiment.created_at,
                    stopped_at=None,
                )
            )
        return self.experiment_record(experiment.id)

    def experiment_record(self, experiment_id: str) -> dict[str, Any]:
        """The stored experiment (its spec with ``salt``, ``status``, ``dataset``); 404 when unknown."""
        with self._begin() as conn:
            row = conn.execute(select(t.experiments).where(t.experiments.c.id == str(experiment_id))).first()
        if row is None:
            raise UnknownIdError(f"no experiment {experiment_id!r}; list them with GET /v1/experiments")
        return _record(row)

    def list_experiments(self, dataset: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        q = select(t.experiments).order_by(t.experiments.c.created_at.desc())
        if dataset is not None:
            q = q.where(t.experiments.c.dataset == dataset)
        if status is not None:
            q = q.where(t.experiments.c.status == status)
        with self._begin() as conn:
            return [_record(r) for r in conn.execute(q).all()]

    def stop_experiment(self, experiment_id: str) -> dict[str, Any]:
        """Stop a running experiment (its users go back to the default serving); idempotent."""
        rec = self.experiment_record(experiment_id)
        if rec["status"] == "running":
            with self._begin() as conn:
                conn.execute(
                    update(t.experiments)
                    .where(t.experiments.c.id == rec["id"], t.experiments.c.status == "running")
                    .values(status="stopped", stopped_at=now_us())
                )
        return self.experiment_record(experiment_id)

    def log_exposures(self, rows: Sequence[tuple[str, str, str | None, str, float, int]]) -> int:
        """Bulk-log ``(experiment_id, variant, user, request_id, propensity, ts_us)`` rows."""
        if not rows:
            return 0
        key = self._user_key_fn
        if key is not None:
            rows = [(r[0], r[1], None if r[2] is None else key(r[2]), *r[3:]) for r in rows]
        mark = "?" if self.engine.dialect.name == "sqlite" else "%s"
        one = f"({', '.join([mark] * 6)})"
        head = "INSERT INTO exposures (experiment_id, variant, user_id, request_id, propensity, ts) VALUES "
        rows = list(rows)
        with self._begin() as conn:
            for start in range(0, len(rows), EXPOSURE_CHUNK):
                chunk = rows[start : start + EXPOSURE_CHUNK]
                conn.exec_driver_sql(head + ", ".join([one] * len(chunk)), tuple(v for r in chunk for v in r))
        return len(rows)

    def experiment_logs(self, experiment_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(exposures, outcomes)`` of an experiment, as :func:`tuijian.policy.abtest_analysis.user_table`
        takes them: exposures ``user, variant, request_id, propensity, ts``; outcomes ``request_id, item,
        position, event, ts, revenue`` (one ``impression`` per served item, from the served lists, then the
        clicks, carts and purchases posted to /v1/feedback; a purchase's revenue is the item's price)."""
        x, f, m, it = t.exposures.c, t.feedback.c, t.impression_lists.c, t.items.c
        ids = select(x.request_id).where(x.experiment_id == str(experiment_id))
        with self._begin() as conn:
            exp = conn.execute(
                select(x.user_id, x.variant, x.request_id, x.propensity, x.ts)
                .where(x.experiment_id == str(experiment_id))
                .order_by(x.id)
            ).all()
            fb = conn.execute(
                select(f.request_id, f.item_id, f.position, f.event, f.ts, it.price)
                .select_from(t.feedback.outerjoin(t.items, f.item_id == it.item_id))
                .where(f.request_id.in_(ids), f.event != "impression")
                .order_by(f.id)
            ).all()
            lists = conn.execute(select(m.request_id, m.ts, m["items"]).where(m.request_id.in_(ids))).all()
        exposures = pd.DataFrame(
            [tuple(r) for r in exp], columns=["user", "variant", "request_id", "propensity", "ts"]
        )
        shown = [
            (rid, str(item), pos, "impression", ts, 0.0)
            for rid, ts, items in lists
            for pos, item in enumerate(json.loads(items))
        ]
        acted = [
            (rid, item, pos, event, ts, float(price or 0.0) if event == "purchase" else 0.0)
            for rid, item, pos, event, ts, price in fb
        ]
        outcomes = pd.DataFrame(
            shown + acted, columns=["request_id", "item", "position", "event", "ts", "revenue"]
        )
        exposures["ts"] = exposures["ts"].astype("int64")
        outcomes["ts"] = outcomes["ts"].astype("int64")
        return exposures, outcomes


def _record(row: Any) -> dict[str, Any]:
    spec = json.loads(row.spec)
    spec.update(status=row.status, stopped_at=row.stopped_at, dataset=row.dataset)
    return spec
