"""Exposure and popularity-bias audit of recommendation lists (issue 14).

Who gets shown? Over a set of top-k lists (offline: one per evaluated user; online: the logged impression
lists of a model version or an experiment variant):

* ``coverage``: distinct items shown / catalogue size;
* ``gini``: the Gini index of how often each catalogue item is shown (0: all equally, near 1: a few items
  take all exposure; :func:`tuijian.evaluate.metrics.gini_index`);
* ``long_tail_share``: the share of shown slots that go to long-tail items, the items outside the *head*,
  the most popular items that together hold ``head_share`` (80 %) of all interactions (Abdollahpouri et al.,
  "Managing popularity bias", 2017);
* ``arp``: average recommendation popularity, the mean training popularity (distinct users) of shown items;
* ``popularity_lift``: ``arp`` relative to the mean popularity of the items users interacted with
  (``arp / profile_popularity - 1``): above 0 the lists are more popular than what shoppers actually chose,
  i.e. popularity bias amplified (Abdollahpouri et al., "The unfairness of popularity bias", 2019);
* for plots, :func:`exposure_profile` adds the Lorenz curve of exposure and the share of exposure per
  popularity decile of the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tuijian.exceptions import ConfigError

HEAD_SHARE = 0.8


def long_tail_mask(popularity: np.ndarray, head_share: float = HEAD_SHARE) -> np.ndarray:
    """Per item, True when it is in the long tail: not among the most popular items that together hold
    ``head_share`` of all interactions (ties by lower index first)."""
    if not 0.0 < head_share < 1.0:
        raise ConfigError(f"head_share must be in (0, 1), got {head_share!r}")
    pop = np.asarray(popularity, dtype=np.float64)
    total = pop.sum()
    tail = np.ones(len(pop), dtype=bool)
    if total <= 0:
        return tail
    order = np.lexsort((np.arange(len(pop)), -pop))
    cum = np.cumsum(pop[order]) / total
    n_head = int(np.searchsorted(cum, head_share) + 1)
    tail[order[:n_head]] = False
    return tail


def _counts(lists: Iterable[Iterable[int]], n_items: int) -> tuple[np.ndarray, int]:
    flat = [int(i) for lst in lists for i in lst if 0 <= int(i) < n_items]
    counts = np.bincount(np.asarray(flat, dtype=np.int64), minlength=n_items).astype(np.float64)
    return counts, len(flat)


def exposure_metrics(
    lists: Iterable[Iterable[int]],
    popularity: np.ndarray,
    profile_popularity: float | None = None,
    head_share: float = HEAD_SHARE,
) -> dict[str, float]:
    """``coverage, gini, long_tail_share, arp, popularity_lift`` of a set of item-index lists (see module
    docstring). ``popularity``: per item, distinct users in training; ``profile_popularity``: the mean
    popularity of the interacted items (default: over all interactions, ``sum(pop^2) / sum(pop)``)."""
    pop = np.asarray(popularity, dtype=np.float64)
    n_items = len(pop)
    if n_items < 1:
        raise ConfigError("popularity must have one entry per catalogue item (got none)")
    counts, n_slots = _counts(lists, n_items)
    if n_slots == 0:
        nan = float("nan")
        return {"coverage": 0.0, "gini": nan, "long_tail_share": nan, "arp": nan, "popularity_lift": nan}
    x = np.sort(counts)
    idx = np.arange(1, n_items + 1, dtype=np.float64)
    gini = float(((2 * idx - n_items - 1) * x).sum() / (n_items * counts.sum()))
    tail = long_tail_mask(pop, head_share)
    arp = float((counts * pop).sum() / n_slots)
    if profile_popularity is None:
        profile_popularity = float((pop * pop).sum() / pop.sum()) if pop.sum() > 0 else float("nan")
    return {
        "coverage": float((counts > 0).sum() / n_items),
        "gini": gini,
        "long_tail_share": float(counts[tail].sum() / n_slots),
        "arp": arp,
        "popularity_lift": arp / profile_popularity - 1.0 if profile_popularity else float("nan"),
    }


def exposure_profile(
    lists: Iterable[Iterable[int]], popularity: np.ndarray, n_points: int = 21, head_share: float = HEAD_SHARE
) -> dict[str, Any]:
    """:func:`exposure_metrics` plus what a dashboard plots: the Lorenz curve of exposure (``lorenz``: share
    of all exposure held by the least-shown ``x`` share of items, ``n_points`` points) and per popularity
    decile of the catalogue (decile 1 = least popular tenth) the share of exposure it gets and the share of
    interactions it had (``deciles``)."""
    lists = [list(lst) for lst in lists]
    pop = np.asarray(popularity, dtype=np.float64)
    n_items = len(pop)
    out: dict[str, Any] = exposure_metrics(lists, pop, head_share=head_share)
    counts, n_slots = _counts(lists, n_items)
    out["n_lists"] = len(lists)
    out["n_slots"] = n_slots
    x = np.linspace(0.0, 1.0, n_points)
    if n_slots:
        cum = np.concatenate([[0.0], np.cumsum(np.sort(counts)) / counts.sum()])
        out["lorenz"] = {
            "x": x.round(4).tolist(),
            "y": np.interp(x * n_items, np.arange(n_items + 1), cum).round(4).tolist(),
        }
    else:
        out["lorenz"] = {"x": x.round(4).tolist(), "y": [0.0] * n_points}
    order = np.lexsort((np.arange(n_items), pop))  # least popular first
    decile = np.empty(n_items, dtype=np.int64)
    decile[order] = np.minimum(np.arange(n_items) * 10 // max(n_items, 1), 9)
    exp_share = np.bincount(decile, weights=counts, minlength=10) / max(n_slots, 1)
    pop_share = np.bincount(decile, weights=pop, minlength=10) / max(pop.sum(), 1e-12)
    out["deciles"] = {"exposure": exp_share.round(4).tolist(), "interactions": pop_share.round(4).tolist()}
    return out
