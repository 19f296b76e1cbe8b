"""Models by name. Entries are ``"module:Class"`` strings so that nothing heavy is imported until used."""

from __future__ import annotations

import importlib
from typing import Any

from tuijian.exceptions import ModelNotFoundError
from tuijian.models.base import Recommender

_REGISTRY: dict[str, str] = {
    "popularity": "tuijian.models.popularity:Popularity",
    "recent-popularity": "tuijian.models.popularity:RecentPopularity",
    "item-knn": "tuijian.models.knn:ItemKNN",
    "user-knn": "tuijian.models.knn:UserKNN",
    "ease": "tuijian.models.ease:EASE",
    "rp3beta": "tuijian.models.rp3beta:RP3beta",
    "hybrid": "tuijian.models.hybrid:HybridRecommender",
    "auto": "tuijian.models.hybrid:AutoRecommender",
    "repeat-popular": "tuijian.models.fallback:RepeatThenPopular",
    "als": "tuijian.models.mf:ALS",
    "bpr": "tuijian.models.mf:BPR",
    "content": "tuijian.models.content:ContentRecommender",
    "sasrec": "tuijian.models.sasrec:SASRec",
    "session-transitions": "tuijian.models.session:SessionTransitions",
    "augment": "tuijian.augment.model:AugmentedRecommender",
}


def register(name: str, target: str) -> None:
    """Register ``"module:Class"`` under ``name`` (plugins call this)."""
    _REGISTRY[name] = target


def available() -> list[str]:
    return sorted(_REGISTRY)


def model_class(name: str) -> type[Recommender]:
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ModelNotFoundError(f"unknown model {name!r}; available: {', '.join(available())}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def create(name: str, **params: Any) -> Recommender:
    """A new, unfitted model by registry name."""
    return model_class(name)(**params)
