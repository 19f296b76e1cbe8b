"""The strategies a live bandit chooses among, each answering the same user :class:`RecQuery`.

``model``       the served model through its pipeline (exactly the default response);
``sequential``  what follows the user's last few items (transitions and co-occurrence of the training
                sequences, the fallback chain's ``session`` step), newest weighing most;
``content``     items whose title and category text is closest to the user's last few items (TF-IDF);
``trending``    the items most bought in the last 30 days of the training log;
``popular``     the items most users bought.

The same strategies serve A/B experiment variants (``strategy`` of a variant,
:class:`tuijian.service.experiment_router.StrategyRanker`), so a strategy means one thing in both.

Every strategy keeps the request's exclusions, filters and the model's business rules, never returns an item
of the user's history, and is completed from popularity when it cannot justify ``k`` items. The chains behind
them are fitted once per served model version, when a strategy is first asked for.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from tuijian.exceptions import ConfigError
from tuijian.models.pipeline import Ranked
from tuijian.models.query import RecQuery

STRATEGIES: tuple[str, ...] = ("model", "sequential", "content", "trending", "popular")
#: the user's most recent items a sequential or content strategy starts from
RECENT_ITEMS = 5
_STEPS = {
    "sequential": ("session", "popular"),
    "content": ("content", "popular"),
    "trending": ("trending", "popular"),
    "popular": ("popular",),
}


def parse_strategies(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"model,popular"`` (or a list) as a checked tuple of strategy names."""
    names = [s.strip() for s in (value.split(",") if isinstance(value, str) else value) if s.strip()]
    bad = [s for s in names if s not in STRATEGIES]
    if bad or not names or len(set(names)) != len(names):
        raise ConfigError(
            f"bandit strategies must be distinct names from {list(STRATEGIES)}, got {value!r}"
            + (f" (unknown: {bad})" if bad else "")
        )
    return tuple(names)


class Strategies:
    """Ranks a user query with a named strategy (see module docstring); thread-safe."""

    def __init__(self) -> None:
        self._chains: dict[tuple[str, str, float | None], Any] = {}
        self._lock = threading.Lock()

    def chain(self, snap: Any, strategy: str, recent_days: float | None = None) -> Any:
        """The fitted chain of ``strategy`` on ``snap``'s model version (``recent_days``: the ``trending``
        window, days before the end of the training log; None = the chain's default)."""
        key = (snap.version, strategy, recent_days)
        got = self._chains.get(key)
        if got is None:
            with self._lock:
                got = self._chains.get(key)
                if got is None:
                    got = self._fit(snap, strategy, recent_days)
                    self._chains = {k: v for k, v in self._chains.items() if k[0] == snap.version}
                    self._chains[key] = got
        return got

    def _fit(self, snap: Any, strategy: str, recent_days: float | None = None) -> Any:
        from tuijian.models.fallback import FallbackChain

        inter = snap.model.interactions_
        content = item_text_vectors(snap) if strategy == "content" else None
        chain = FallbackChain(steps=_STEPS[strategy])
        if recent_days is not None:
            chain.recent_days = float(recent_days)
        return chain.fit(inter, content)

    def rank(
        self, snap: Any, strategy: str, query: RecQuery, k: int, recent_days: float | None = None
    ) -> Ranked:
        """The top ``k`` of ``strategy`` for ``query`` (``recent_days``: see :meth:`chain`)."""
        pipe = snap.pipeline
        if strategy == "model":
            return pipe.recommend(query, k)
        if strategy not in _STEPS:
            raise ConfigError(f"unknown strategy {strategy!r}; expected one of {list(STRATEGIES)}")
        history = np.asarray(query.sequence, np.int64)
        recent = history[-RECENT_ITEMS:] if strategy in ("sequential", "content") else history
        exclude = np.unique(np.concatenate([query.exclude, history]))
        allowed = query.allowed
        if pipe.rules is not None:
            allowed = pipe.rules if allowed is None else allowed & pipe.rules
        extra = self.chain(snap, strategy, recent_days).fill(recent, k, exclude, allowed)
        return [(i, float(s), [reason]) for i, s, reason in extra]

    def explain_inputs(
        self, snap: Any, strategy: str, query: RecQuery, recent_days: float | None = None
    ) -> dict[str, Any]:
        """What :func:`tuijian.explain.pipeline.explain_ranked` needs to explain a list :meth:`rank` gave: the
        strategy's chain and the items it started from (none for ``model``: the pipeline explains it)."""
        if strategy not in _STEPS:
            return {}
        history = np.asarray(query.sequence, np.int64)
        recent = history[-RECENT_ITEMS:] if strategy in ("sequential", "content") else history
        return {"fallback": self.chain(snap, strategy, recent_days), "sequence": recent}


def item_text_vectors(snap: Any) -> Any:
    """TF-IDF rows of each item's title and categories (an all-zero row for an item without text)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    cat = snap.catalog
    docs = [f"{t or ''} {' '.join(c)}" for t, c in zip(cat.title.tolist(), cat.categories, strict=True)]
    if not any(d.strip() for d in docs):
        raise ConfigError("the content strategy needs item titles or categories; this catalogue has none")
    return TfidfVectorizer(min_df=1, sublinear_tf=True).fit_transform(docs).tocsr()
