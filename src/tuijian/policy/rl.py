"""A REINFORCE reranker trained in the shopper simulator for long-term reward, and its comparison with greedy.

The candidates of a request are the top ``n_candidates`` items of a model fitted on the simulator's *past*
(item-kNN; the most popular items for shoppers without a past), minus what the shopper bought. **Greedy** shows
the first ``k`` of them by model score. The **RL policy** scores each candidate with a small network over
features that a shop has at request time (the model's score and rank, past popularity, recent popularity, the
shopper's history length, visit and step numbers) and samples a list from the Plackett-Luce distribution of
those scores (Gumbel top-k). It is trained with REINFORCE on the reward-to-go: the purchases of the rest of the
shopper's **lifetime** (this visit and every return visit, whose probability grows with purchases), with a
mean baseline per batch. Evaluated, it shows its ``k`` best-scored candidates (no sampling).

:func:`compare` runs greedy, the RL policy and popularity on the same held-out shoppers with the same random
numbers per shopper, and reports the mean lifetime purchases with paired bootstrap and t confidence intervals
of the differences. torch is imported lazily (``pip install tuijian[torch]``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuijian.exceptions import ConfigError
from tuijian.policy.simulator import ShopperSimulator, ShopperState

N_FEATURES = 8


class Candidates:
    """Per request: candidate items and their features, from a model fitted on the simulator's past."""

    def __init__(self, sim: ShopperSimulator, n_candidates: int = 50, recent_days: float = 30.0) -> None:
        from tuijian.models.knn import ItemKNN

        if n_candidates < sim.model.n_positions:
            raise ConfigError(
                f"n_candidates ({n_candidates}) must be >= the list length ({sim.model.n_positions})"
            )
        self.sim = sim
        self.n_candidates = n_candidates
        past = sim.cal.past
        self.model = ItemKNN().fit(past)
        pop = past.item_popularity().astype(np.float64)
        self.log_pop = _z(np.log1p(pop))
        ts = past.log["ts"].to_numpy(np.int64)
        recent = past.log["i"].to_numpy(np.int64)[ts >= ts.max() - recent_days * 86400]
        self.log_recent = _z(np.log1p(np.bincount(recent, minlength=past.n_items).astype(np.float64)))
        self.popular = sim.popular
        self._scores: dict[int, np.ndarray] = {}

    def scores(self, user: int) -> np.ndarray:
        got = self._scores.get(user)
        if got is None:
            got = np.asarray(self.model.score(user), np.float64) if user >= 0 else np.zeros(self.sim.n_items)
            if len(self._scores) > 5000:
                self._scores.clear()
            self._scores[user] = got
        return got

    def __call__(self, state: ShopperState) -> tuple[np.ndarray, np.ndarray]:
        """``(items, features)``: candidates in greedy order and one feature row each."""
        known = len(state.history) > 0
        s = self.scores(state.user) if known else np.zeros(self.sim.n_items)
        seen = np.concatenate([state.history, np.fromiter(state.bought, np.int64, len(state.bought))])
        order = np.lexsort((np.arange(len(s)), -self.log_pop, -s)) if known else self.popular
        n = self.n_candidates
        top = order[: n + len(seen)]
        items = top[~np.isin(top, seen)][:n]
        m = len(items)
        feats = np.empty((m, N_FEATURES), np.float32)
        sc = s[items]
        feats[:, 0] = _z(sc) if known else 0.0
        feats[:, 1] = np.arange(m) / n
        feats[:, 2] = self.log_pop[items]
        feats[:, 3] = self.log_recent[items]
        feats[:, 4] = float(known)
        feats[:, 5] = np.log1p(len(state.history)) / 5.0
        feats[:, 6] = np.log1p(state.visit)
        feats[:, 7] = state.step / 5.0
        return items, feats


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(np.std(x))
    return (x - np.mean(x)) / (sd if sd > 0 else 1.0)


@dataclass
class TrainReport:
    iterations: int
    lifetimes: int
    seconds: float
    mean_reward_first: float
    mean_reward_last: float


class ReinforceReranker:
    """Plackett-Luce reranker trained with REINFORCE on lifetime purchases (see module docstring).

    Parameters
    ----------
    hidden: width of the scoring network's hidden layer.
    learning_rate: Adam step size.
    batch_lifetimes: simulated lifetimes per gradient step.
    iterations: gradient steps.
    entropy: weight of an entropy bonus that keeps the policy exploring early on.
    seed: torch and sampling seed.
    """

    def __init__(
        self,
        hidden: int = 32,
        learning_rate: float = 0.01,
        batch_lifetimes: int = 32,
        iterations: int = 100,
        entropy: float = 0.01,
        seed: int = 0,
    ) -> None:
        self.hidden = hidden
        self.learning_rate = learning_rate
        self.batch_lifetimes = batch_lifetimes
        self.iterations = iterations
        self.entropy = entropy
        self.seed = seed

    def _net(self) -> Any:
        import torch

        torch.manual_seed(self.seed)
        return torch.nn.Sequential(
            torch.nn.Linear(N_FEATURES, self.hidden), torch.nn.Tanh(), torch.nn.Linear(self.hidden, 1)
        )

    def fit(self, sim: ShopperSimulator, candidates: Candidates, shoppers: np.ndarray) -> ReinforceReranker:
        """Train on lifetimes of ``shoppers`` (indices into the simulator's pool)."""
        import torch

        torch.set_num_threads(1)
        if len(shoppers) == 0:
            raise ConfigError("fit needs at least one shopper to simulate")
        net = self._net()
        opt = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
        rng = np.random.default_rng(self.seed)
        k = sim.model.n_positions
        history: list[float] = []
        t0 = time.perf_counter()
        for _ in range(self.iterations):
            logps: list[Any] = []
            ents: list[Any] = []
            returns: list[float] = []
            batch_rewards = []
            for s in rng.choice(shoppers, self.batch_lifetimes):
                steps: list[tuple[Any, Any, int]] = []

                def policy(
                    state: ShopperState, r: np.random.Generator, steps: list[Any] = steps
                ) -> tuple[np.ndarray, float | None]:
                    items, feats = candidates(state)
                    logits = net(torch.from_numpy(feats)).squeeze(-1)
                    g = r.gumbel(size=len(items))
                    with torch.no_grad():
                        order = np.argsort(-(logits.numpy() + g), kind="stable")[:k]
                    lp = _plackett_luce_logp(logits, torch.from_numpy(order.copy()))
                    probs = torch.softmax(logits, 0)
                    steps.append((lp, -(probs * torch.log(probs + 1e-12)).sum(), 0))
                    return items[order], None

                log_rewards: list[int] = []
                state_rng = np.random.default_rng(rng.integers(1 << 62))
                _lifetime_with_rewards(sim, policy, int(s), state_rng, log_rewards)
                togo = np.cumsum(log_rewards[::-1])[::-1] if log_rewards else np.zeros(0)
                for (lp, ent, _), g in zip(steps, togo, strict=True):
                    logps.append(lp)
                    ents.append(ent)
                    returns.append(float(g))
                batch_rewards.append(float(sum(log_rewards)))
            history.append(float(np.mean(batch_rewards)))
            if not logps:
                continue
            ret = torch.tensor(returns, dtype=torch.float32)
            adv = ret - ret.mean()
            loss = -(torch.stack(logps) * adv).mean() - self.entropy * torch.stack(ents).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.net_ = net
        self.candidates_ = candidates
        self.k_ = k
        n = max(1, len(history) // 5)
        self.report_ = TrainReport(
            iterations=self.iterations,
            lifetimes=self.iterations * self.batch_lifetimes,
            seconds=round(time.perf_counter() - t0, 1),
            mean_reward_first=round(float(np.mean(history[:n])), 4),
            mean_reward_last=round(float(np.mean(history[-n:])), 4),
        )
        return self

    def policy(self, state: ShopperState, rng: np.random.Generator) -> tuple[np.ndarray, float | None]:
        """The trained policy, deterministic: the ``k`` best-scored candidates."""
        import torch

        if not hasattr(self, "net_"):
            from tuijian.exceptions import NotFittedError

            raise NotFittedError("ReinforceReranker is not fitted; call fit(sim, candidates, shoppers) first")
        items, feats = self.candidates_(state)
        with torch.no_grad():
            s = self.net_(torch.from_numpy(feats)).squeeze(-1).numpy()
        return items[np.argsort(-s, kind="stable")[: self.k_]], None


def _plackett_luce_logp(logits: Any, order: Any) -> Any:
    """log P(order) of a Plackett-Luce ranking of the first ``len(order)`` places (vectorised)."""
    import torch

    m = logits.max().detach()
    e = torch.exp(logits - m)
    chosen = e[order]
    before = torch.cumsum(chosen, 0) - chosen  # mass of the items already placed
    remaining = (e.sum() - before).clamp_min(1e-30)
    return (logits[order] - m - torch.log(remaining)).sum()


def _lifetime_with_rewards(
    sim: ShopperSimulator, policy: Any, shopper: int, rng: np.random.Generator, rewards: list[int]
) -> None:
    """A lifetime (as :meth:`ShopperSimulator.lifetime`) that records the purchases of each list."""
    state = sim.state(shopper)
    for visit in range(sim.model.max_visits):
        state.visit, state.visit_purchases = visit, 0
        for step in range(sim.lists_in_visit(rng)):
            state.step = step
            items, _ = policy(state, rng)
            rewards.append(int(sim.respond(state, items, rng).purchases.sum()))
        if rng.random() >= sim.return_probability(shopper, state.visit_purchases):
            break


def greedy_policy(candidates: Candidates) -> Any:
    """The first ``k`` candidates by model score."""
    k = candidates.sim.model.n_positions

    def policy(state: ShopperState, rng: np.random.Generator) -> tuple[np.ndarray, float | None]:
        return candidates(state)[0][:k], None

    return policy


def paired_ci(diff: np.ndarray, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Mean of paired differences with a 95 % t interval and a 95 % percentile bootstrap interval."""
    from scipy import stats

    d = np.asarray(diff, np.float64)
    n = len(d)
    se = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    t = float(stats.t.ppf(0.975, max(n - 1, 1)))
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, n, (n_boot, n))].mean(axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    m = float(d.mean())
    return {
        "mean": round(m, 4),
        "t95": [round(m - t * se, 4), round(m + t * se, 4)],
        "bootstrap95": [round(float(lo), 4), round(float(hi), 4)],
    }


def compare(
    sim: ShopperSimulator, policies: dict[str, Any], shoppers: np.ndarray, seed: int = 0
) -> dict[str, Any]:
    """Lifetime purchases and clicks of each policy on the same ``shoppers`` and random numbers, and the
    paired differences of every policy against the first one."""
    out: dict[str, Any] = {"shoppers": len(shoppers), "policies": {}}
    per: dict[str, np.ndarray] = {}
    for name, policy in policies.items():
        lives = [
            sim.lifetime(policy, int(s), np.random.default_rng([seed, j])) for j, s in enumerate(shoppers)
        ]
        buys = np.array([x["purchases"] for x in lives], np.float64)
        per[name] = buys
        out["policies"][name] = {
            "purchases_per_lifetime": round(float(buys.mean()), 4),
            "clicks_per_lifetime": round(float(np.mean([x["clicks"] for x in lives])), 4),
            "visits_per_lifetime": round(float(np.mean([x["visits"] for x in lives])), 4),
        }
    base = next(iter(policies))
    out["baseline"] = base
    out["difference_vs_baseline"] = {
        name: paired_ci(per[name] - per[base]) for name in policies if name != base
    }
    return out
