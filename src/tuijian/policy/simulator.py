"""A shopper simulator calibrated on a real purchase log (Online Retail, Amazon Beauty, ...).

What is measured on the real log (:func:`calibrate`):

* a **time cut**: events before it are the *past* (what a served model may be trained on), events after it the
  *future*. Real timestamps give one global cut (the last ``future_fraction`` of the time span); datasets with
  positional timestamps (Beauty) are cut per user (the last ``future_fraction`` of each user's events);
* the **shoppers**: every (identified) user with at least one future event; their true preference is their
  held-out future behaviour plus a taste model (item-kNN) fitted on past *and* future, which no served model sees;
* **visits**: the number of lines per visit (distinct items per invoice; one per event without sessions) and
  the number of visits per user, hence the **return rate** (share of users with a second visit);
* **item popularity** of the future period (what the simulated purchases are compared with).

What is assumed (:class:`ShopperModel`, documented in ``docs/simulator.md``): position-based examination
``P(examine position k) = (1 / (k + 1)) ** eta``; a click on an examined item with probability
``sigmoid(bias + taste_weight * z_taste + future_boost * [item in the future])`` where ``bias`` is calibrated so
that a popularity list gets ``target_ctr`` clicks per examined slot; a purchase after a click with probability
``purchase_future`` / ``purchase_other``; a return visit with probability ``sigmoid(logit(1 - 1 / v) +
satisfaction * (purchases - reference purchases))``, where ``v`` is the shopper's own real number of visits (a
geometric number of visits with mean ``v`` at the reference purchase rate). Items bought in a visit are not bought again in it.

Every shown list is logged with the policy's propensity and the examination probabilities of its positions
(:class:`SimLog`), so that policies can be trained and evaluated offline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError

#: a policy: ``(state, rng) -> (item indices in position order, propensity of that list or None)``
Policy = Callable[["ShopperState", np.random.Generator], tuple[np.ndarray, float | None]]


def _sigmoid(x: np.ndarray | float) -> Any:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


@dataclass(frozen=True)
class ShopperModel:
    """The assumed parts of the shopper (see module docstring); ``click_bias=None`` is calibrated."""

    n_positions: int = 10
    examination_eta: float = 1.0
    taste_weight: float = 1.0
    future_boost: float = 3.0
    click_bias: float | None = None
    target_ctr: float = 0.03
    purchase_future: float = 0.5
    purchase_other: float = 0.1
    satisfaction: float = 0.5
    max_lists_per_visit: int = 5
    max_visits: int = 30

    def __post_init__(self) -> None:
        if self.n_positions < 1 or self.max_lists_per_visit < 1 or self.max_visits < 1:
            raise ConfigError("n_positions, max_lists_per_visit and max_visits must be >= 1")
        for name in ("target_ctr", "purchase_future", "purchase_other"):
            v = getattr(self, name)
            if not 0 < v < 1:
                raise ConfigError(f"ShopperModel.{name} must be in (0, 1), got {v!r}")

    def examination(self, n: int | None = None) -> np.ndarray:
        """Examination probability of each position (position-based model)."""
        k = np.arange(n or self.n_positions, dtype=np.float64)
        return (1.0 / (k + 1.0)) ** self.examination_eta


@dataclass
class Calibration:
    """What :func:`calibrate` measured on the real log (indices follow ``past``'s vocabularies)."""

    dataset: str
    past: Interactions
    pool: np.ndarray  # user indices of the simulated shoppers
    future: list[np.ndarray]  # per pool user: the items of their future events
    known: np.ndarray  # per pool user: has past events
    lines_per_visit: np.ndarray  # empirical, one value per real visit
    visits_per_user: np.ndarray  # empirical, one value per real user
    pool_visits: np.ndarray  # per pool user: their own real number of visits
    future_counts: np.ndarray  # per item: future events (the real popularity to compare with)
    taste: Any  # a recommender fitted on past + future (the shoppers' taste)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def return_rate(self) -> float:
        """Share of real users with a second visit."""
        return float(np.mean(self.visits_per_user >= 2))

    @property
    def item_ids(self) -> np.ndarray:
        return np.asarray(self.past.items.ids)


def calibrate(
    dataset: str,
    data_dir: str | None = None,
    *,
    future_fraction: float = 0.2,
    max_users: int | None = None,
    seed: int = 0,
) -> Calibration:
    """Measure a real dataset (loaded with :func:`tuijian.data.datasets.load_dataset`) for the simulator."""
    from tuijian.data.datasets import load_dataset

    if not 0 < future_fraction < 1:
        raise ConfigError(f"future_fraction must be in (0, 1), got {future_fraction!r}")
    ds = load_dataset(dataset, data_dir)
    ev = ds.events[ds.events["item"].notna()].copy()
    ev = ev[~ev["user"].astype(str).str.startswith("anon:")]  # no customer id: not one shopper
    full = Interactions.from_events(ev)
    log = full.log
    if ds.meta.get("synthetic_ts"):  # positional time: the last fraction of each user's events
        rank = log.groupby("u").cumcount().to_numpy()
        size = log.groupby("u")["i"].transform("size").to_numpy()
        is_future = rank >= size - np.maximum(1, np.round(size * future_fraction)).astype(int)
        cut = None
    else:
        ts = log["ts"].to_numpy(np.int64)
        cut = int(ts.min() + (1 - future_fraction) * (ts.max() - ts.min()))
        is_future = ts >= cut
    past = full.subset(~is_future)
    fut = log[is_future]
    fut_items = fut.groupby("u")["i"].unique()
    pool = fut_items.index.to_numpy(np.int64)
    rng = np.random.default_rng(seed)
    if max_users is not None and len(pool) > max_users:
        pool = np.sort(rng.choice(pool, max_users, replace=False))
    future = [np.asarray(fut_items[u], np.int64) for u in pool]
    past_counts = np.bincount(past.log["u"].to_numpy(np.int64), minlength=full.n_users)
    # visits: invoices when the log has sessions, else one visit per event
    sess = ev["session"]
    if sess.notna().any():
        visits = ev.assign(session=sess.fillna(ev["ts"].astype(str)))
        per_visit = visits.groupby(["user", "session"])["item"].nunique()
        lines = per_visit.to_numpy(np.int64)
        per_user = per_visit.groupby(level=0).size()
    else:
        lines = np.ones(len(ev), np.int64)
        per_user = ev.groupby("user").size()
    pool_visits = per_user.reindex(np.asarray(full.users.ids)[pool].astype(str)).fillna(1).to_numpy(np.int64)
    from tuijian.models.knn import ItemKNN

    taste = ItemKNN(n_neighbors=100).fit(full)
    return Calibration(
        dataset=dataset,
        past=past,
        pool=pool,
        future=future,
        known=past_counts[pool] > 0,
        lines_per_visit=lines,
        visits_per_user=per_user.to_numpy(np.int64),
        pool_visits=pool_visits,
        future_counts=np.bincount(fut["i"].to_numpy(np.int64), minlength=full.n_items),
        taste=taste,
        info={"cut_ts": cut, "future_fraction": future_fraction, "events": len(log)},
    )


@dataclass
class ShopperState:
    """One simulated shopper during a request: who, what they did before, and where they are."""

    shopper: int  # index into Calibration.pool
    user: int  # user index (past vocabulary)
    history: np.ndarray  # past items, oldest first
    bought: set[int]  # items bought in this lifetime (earlier visits and this one)
    visit: int = 0
    step: int = 0
    visit_purchases: int = 0


@dataclass
class Outcome:
    """What a shopper did with one list."""

    examined: np.ndarray
    clicks: np.ndarray
    purchases: np.ndarray

    @property
    def reward(self) -> float:
        return float(self.clicks.sum() + self.purchases.sum())


@dataclass
class SimLog:
    """Every shown list: who, which items, the policy's propensity and the examination probabilities."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, state: ShopperState, items: np.ndarray, propensity: float | None, out: Outcome) -> None:
        self.rows.append(
            {
                "shopper": state.shopper,
                "user": state.user,
                "visit": state.visit,
                "step": state.step,
                "items": items.tolist(),
                "propensity": 1.0 if propensity is None else float(propensity),
                "examination": out.examined.tolist(),
                "clicks": out.clicks.astype(int).tolist(),
                "purchases": out.purchases.astype(int).tolist(),
            }
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)


class ShopperSimulator:
    """Simulated shoppers of a :class:`Calibration` under a :class:`ShopperModel` (see module docstring)."""

    def __init__(self, calibration: Calibration, model: ShopperModel = ShopperModel(), seed: int = 0) -> None:
        self.cal = calibration
        self.model = model
        self.seed = seed
        self.n_items = calibration.past.n_items
        self._seqs = calibration.past.sequences()
        self._cache: dict[int, np.ndarray] = {}
        self.popular = np.argsort(-calibration.past.item_popularity(), kind="stable")
        self.bias = model.click_bias if model.click_bias is not None else self._calibrate_bias()
        self.reference_purchases = self._reference_purchases()

    # ------------------------------------------------------------------ shoppers
    @property
    def n_shoppers(self) -> int:
        return len(self.cal.pool)

    def state(self, shopper: int) -> ShopperState:
        u = int(self.cal.pool[shopper])
        return ShopperState(shopper=shopper, user=u, history=self._seqs[u], bought=set())

    def utility(self, shopper: int) -> np.ndarray:
        """Per item: ``taste_weight * z(taste score) + future_boost * [item in the shopper's future]``."""
        got = self._cache.get(shopper)
        if got is None:
            s = np.asarray(self.cal.taste.score(int(self.cal.pool[shopper])), np.float64)
            sd = s.std()
            z = np.clip((s - s.mean()) / (sd if sd > 0 else 1.0), -3.0, 6.0)
            got = self.model.taste_weight * z
            got[self.cal.future[shopper]] += self.model.future_boost
            if len(self._cache) > 20_000:
                self._cache.clear()
            self._cache[shopper] = got
        return got

    def click_probability(self, shopper: int, items: np.ndarray) -> np.ndarray:
        return np.asarray(_sigmoid(self.bias + self.utility(shopper)[items]))

    # ------------------------------------------------------------------ one list
    def respond(self, state: ShopperState, items: np.ndarray, rng: np.random.Generator) -> Outcome:
        """Examine, click and buy on ``items`` (position order); updates ``state``'s purchases."""
        items = np.asarray(items, np.int64)[: self.model.n_positions]
        n = len(items)
        u = rng.random((3, max(n, 1)))[:, :n]  # fixed draws per slot: common random numbers across policies
        exam = self.model.examination(n)
        examined = u[0] < exam
        p_click = self.click_probability(state.shopper, items)
        if state.bought:
            p_click = np.where(np.isin(items, list(state.bought)), 0.0, p_click)
        clicks = examined & (u[1] < p_click)
        fut = np.isin(items, self.cal.future[state.shopper])
        p_buy = np.where(fut, self.model.purchase_future, self.model.purchase_other)
        buys = clicks & (u[2] < p_buy)
        for i in items[buys].tolist():
            state.bought.add(int(i))
        state.visit_purchases += int(buys.sum())
        return Outcome(examined=exam, clicks=clicks, purchases=buys)

    # ------------------------------------------------------------------ visits and lifetimes
    def lists_in_visit(self, rng: np.random.Generator) -> int:
        """Lists a visit sees: a real visit's line count, capped at ``max_lists_per_visit``."""
        return int(min(rng.choice(self.cal.lines_per_visit), self.model.max_lists_per_visit))

    def return_probability(self, shopper: int, purchases: int) -> float:
        """``sigmoid(logit(1 - 1 / real visits of the shopper) + satisfaction * (purchases - reference))``:
        with reference purchases a shopper makes, on average, as many visits as they really made."""
        v = float(self.cal.pool_visits[shopper])
        base = _logit(1.0 - 1.0 / max(v, 1.0))
        return float(_sigmoid(base + self.model.satisfaction * (purchases - self.reference_purchases)))

    def lifetime(
        self, policy: Policy, shopper: int, rng: np.random.Generator, log: SimLog | None = None
    ) -> dict[str, float]:
        """Visits until the shopper does not return: total clicks, purchases, visits and lists."""
        state = self.state(shopper)
        clicks = purchases = lists = 0
        for visit in range(self.model.max_visits):
            state.visit, state.visit_purchases = visit, 0
            for step in range(self.lists_in_visit(rng)):
                state.step = step
                items, prop = policy(state, rng)
                out = self.respond(state, items, rng)
                if log is not None:
                    log.add(state, np.asarray(items), prop, out)
                clicks += int(out.clicks.sum())
                purchases += int(out.purchases.sum())
                lists += 1
            if rng.random() >= self.return_probability(shopper, state.visit_purchases):
                break
        return {"clicks": clicks, "purchases": purchases, "visits": state.visit + 1, "lists": lists}

    # ------------------------------------------------------------------ calibration of the assumed parts
    def popular_policy(self, state: ShopperState, rng: np.random.Generator) -> tuple[np.ndarray, None]:
        """The most popular past items the shopper has not bought: the reference policy."""
        k = self.model.n_positions
        top = self.popular[: k + len(state.bought) + len(state.history)]
        seen = np.concatenate([state.history, np.fromiter(state.bought, np.int64, len(state.bought))])
        return top[~np.isin(top, seen)][:k], None

    def _sample(self, n: int = 300) -> np.ndarray:
        rng = np.random.default_rng(self.seed + 1)
        return rng.choice(self.n_shoppers, min(n, self.n_shoppers), replace=False)

    def _calibrate_bias(self) -> float:
        """``click_bias`` such that a popularity list gets ``target_ctr`` clicks per examined slot."""
        rng = np.random.default_rng(self.seed)
        exam = self.model.examination()
        utils = []
        for s in self._sample():
            items, _ = self.popular_policy(self.state(int(s)), rng)
            utils.append(self.utility(int(s))[items][: len(exam)])
        u = np.stack([np.pad(x, (0, len(exam) - len(x)), constant_values=-50) for x in utils])
        lo, hi = -15.0, 5.0
        for _ in range(60):
            mid = (lo + hi) / 2
            ctr = float((_sigmoid(mid + u) * exam).sum() / (exam.sum() * len(u)))
            lo, hi = (mid, hi) if ctr < self.model.target_ctr else (lo, mid)
        return (lo + hi) / 2

    def _reference_purchases(self) -> float:
        """Expected purchases per visit under the popularity policy (the return model's reference point)."""
        rng = np.random.default_rng(self.seed + 2)
        total = visits = 0
        for s in self._sample(200):
            state = self.state(int(s))
            for step in range(self.lists_in_visit(rng)):
                state.step = step
                total += int(self.respond(state, self.popular_policy(state, rng)[0], rng).purchases.sum())
            visits += 1
        return total / max(visits, 1)
