"""Off-policy evaluation on the service's own logs (``tuijian ope``).

One logged decision per served list (``impression_lists``): its **action** is the experiment variant that served
it (from ``exposures``) or else the model version; its **propensity** is the variant's share of the experiment
(the probability that the hash put a user in it) or the list's logged ``propensity``, where NULL means a
deterministic policy (1.0). The **reward** is whether the list got a click (``click``), a purchase
(``purchase``), or the price of what was bought from it (``revenue``), from ``POST /v1/feedback``.

The target policy is a distribution over actions (``{"popular": 1.0}``: always serve the ``popular`` variant);
the context-free reward model of the DR estimate is the per-action mean reward, cross-fitted on two folds.

Without a stochastic logging policy only the logged policy itself can be evaluated: a target that puts
probability on an action the logs never took (or took with propensity 1 while the target mixes) is refused with
the reason. The live bandit (issue 13 item 2) keeps its choices with their exact propensities in its own decision
log (``<home>/run/bandit.sqlite``); ``decisions_frame(..., bandit_log=path)`` reads them
(``tuijian ope --bandit-log``). ``impression_lists.propensity`` is there for a logging policy that writes it.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from tuijian.exceptions import ConfigError, DataError
from tuijian.policy import ope
from tuijian.store import tables as t

REWARDS = ("click", "purchase", "revenue")


def decisions_frame(
    store: Any, experiment_id: str | None = None, reward: str = "click", bandit_log: str | Path | None = None
) -> pd.DataFrame:
    """One row per served list: ``request_id, action, propensity, reward`` (see module docstring).

    With ``bandit_log`` (the live bandit's decision file, ``<home>/run/bandit.sqlite``) only the bandit's
    decisions count: the action is the strategy it drew, with its exact propensity, and a ``context`` column
    holds its context vector (the DR reward model's features).
    """
    if reward not in REWARDS:
        raise ConfigError(f"reward must be one of {REWARDS}, got {reward!r}")
    m, x, f, it = t.impression_lists.c, t.exposures.c, t.feedback.c, t.items.c
    q = select(
        m.request_id, m.model_version, m.propensity, x.variant, x.propensity, x.experiment_id
    ).select_from(t.impression_lists.outerjoin(t.exposures, x.request_id == m.request_id))
    if experiment_id is not None:
        store.experiment_record(experiment_id)  # 404 when unknown
        q = q.where(x.experiment_id == experiment_id)
    fq = select(f.request_id, f.event, it.price).select_from(
        t.feedback.outerjoin(t.items, f.item_id == it.item_id)
    )
    fq = fq.where(f.event.in_(("click", "purchase")))
    with store._begin() as conn:
        lists = conn.execute(q).all()
        feedback = conn.execute(fq).all()
    rows = []
    for rid, version, list_p, variant, exp_p, _exp in lists:
        if variant is not None:
            rows.append((rid, str(variant), float(exp_p)))
        else:
            rows.append((rid, str(version or "unknown"), 1.0 if list_p is None else float(list_p)))
    frame = pd.DataFrame(rows, columns=["request_id", "action", "propensity"]).drop_duplicates("request_id")
    fb = pd.DataFrame([tuple(r) for r in feedback], columns=["request_id", "event", "price"])
    if reward == "revenue":
        got = fb[fb["event"] == "purchase"].groupby("request_id")["price"].sum()
    else:
        got = fb[fb["event"] == reward].groupby("request_id").size().clip(upper=1)
    frame["reward"] = frame["request_id"].map(got).fillna(0.0).astype(np.float64)
    if bandit_log is not None:
        frame = _with_bandit_choices(frame, Path(bandit_log))
    return frame.reset_index(drop=True)


def _with_bandit_choices(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    import sqlite3

    if not path.is_file():
        raise ConfigError(
            f"bandit decision log {path} does not exist (TUIJIAN_BANDIT_STATE, default <home>/run/bandit.sqlite)"
        )
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT request_id, strategy, propensity, context FROM choices ORDER BY id"
        ).fetchall()
    choices = pd.DataFrame(rows, columns=["request_id", "strategy", "bandit_propensity", "context"])
    choices = choices.drop_duplicates("request_id")
    out = frame.merge(choices, on="request_id", how="inner")
    out["action"], out["propensity"] = out["strategy"], out["bandit_propensity"].astype(np.float64)
    out["context"] = [json.loads(c) for c in out["context"]]
    return out[["request_id", "action", "propensity", "reward", "context"]]


def parse_target(text: str) -> dict[str, float]:
    """``"popular"`` -> ``{"popular": 1.0}``; ``"a=0.5,b=0.5"`` -> a distribution (must sum to 1)."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise ConfigError("target must name an action, e.g. 'popular' or 'control=0.5,popular=0.5'")
    if len(parts) == 1 and "=" not in parts[0]:
        return {parts[0]: 1.0}
    out: dict[str, float] = {}
    for p in parts:
        name, _, value = p.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"target part {p!r} must be action=probability") from None
    if any(v < 0 for v in out.values()) or abs(sum(out.values()) - 1) > 1e-6:
        raise ConfigError(f"target probabilities must be >= 0 and sum to 1, got {out}")
    return out


def evaluate_logs(frame: pd.DataFrame, target: dict[str, float], alpha: float = 0.05) -> dict[str, Any]:
    """IPS, SNIPS and DR of ``target`` on a :func:`decisions_frame`, with the logged policy's own value."""
    if len(frame) < 2:
        raise DataError(f"the logs hold {len(frame)} served list(s); off-policy evaluation needs more")
    actions = sorted(frame["action"].unique())
    counts = frame["action"].value_counts()
    missing = [a for a, p in target.items() if p > 0 and a not in counts]
    if missing:
        raise ConfigError(
            f"no served list in the logs was chosen by {missing}; logged actions are {actions}. Off-policy "
            "evaluation needs a stochastic logging policy that takes every target action with positive "
            "probability (an A/B experiment's split, or the bandit's exploration)"
        )
    deterministic = frame.loc[frame["propensity"] >= 1.0, "action"].unique()
    mixed = [a for a in deterministic if 0 < target.get(a, 0.0) < 1]
    if mixed:
        raise ConfigError(
            f"actions {mixed} were logged by a deterministic policy (propensity 1), which cannot support a target "
            "that takes them only sometimes"
        )
    index = {a: i for i, a in enumerate(actions)}
    a = frame["action"].map(index).to_numpy()
    r = frame["reward"].to_numpy(dtype=np.float64)
    p = frame["propensity"].to_numpy(dtype=np.float64)
    pi = np.array([target.get(x, 0.0) for x in actions])
    folds = 2 if len(frame) >= 4 else len(frame)
    if "context" in frame:  # the bandit's context vectors: a ridge reward model per action
        x, reg = np.asarray(frame["context"].tolist(), dtype=np.float64), 1.0
    else:  # no context: the per-action mean reward
        x, reg = np.zeros((len(r), 0)), 0.0
    q = ope.fit_reward_model(x, a, r, len(actions), folds=folds, reg=reg)
    rows = np.arange(len(r))
    estimates = ope.evaluate(r, p, pi[a], reward_logged=q[rows, a], reward_target=q @ pi, alpha=alpha)
    return {
        "target": target,
        "decisions": len(frame),
        "logged_actions": {str(k): int(v) for k, v in counts.items()},
        "logged_policy_value": float(r.mean()),
        "estimates": estimates,
    }


def describe(result: dict[str, Any]) -> str:
    """A short text table of :func:`evaluate_logs`'s result."""
    lines = [
        f"target {json.dumps(result['target'])} on {result['decisions']} served lists "
        f"(logged policy value {result['logged_policy_value']:.4f})"
    ]
    for name, e in result["estimates"].items():
        lines.append(
            f"  {name:6s} {e['value']:.4f}  [{e['ci_low']:.4f}, {e['ci_high']:.4f}]  ess {e['effective_sample_size']:.0f}"
        )
    return "\n".join(lines)
