"""Serving options beyond :class:`tuijian.settings.Settings` (read from ``TUIJIAN_*`` variables too)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env(name: str, default: str) -> str:
    return os.environ.get(f"TUIJIAN_{name}", default)


@dataclass
class ServiceOptions:
    """``model``: the serving model (registry name; default ``auto``, the self-configuring hybrid, as in
    ``tuijian serve``); ``poll_seconds``: how often a worker checks for a new active version; ``bootstrap``:
    load the dataset and train on start when nothing is there yet; ``retrain_every_minutes``: in-process
    scheduled retraining (0 = off; ``tuijian serve`` runs the schedule in the supervisor process instead);
    ``access_log``: one JSON line per request; ``hot_path``: answer the two busiest GET routes in a lean ASGI
    layer (:mod:`tuijian.service.hotpath`) instead of FastAPI's router."""

    model: str = "auto"
    poll_seconds: float = 2.0
    bootstrap: bool = True
    retrain_every_minutes: float = 0.0
    access_log: bool = True
    impression_flush_seconds: float = 0.25
    key_cache_seconds: float = 10.0
    hot_path: bool = True

    @classmethod
    def from_env(cls) -> ServiceOptions:
        return cls(
            model=_env("SERVING_MODEL", "auto"),
            poll_seconds=float(_env("POLL_SECONDS", "2.0")),
            bootstrap=_env("BOOTSTRAP", "1") not in ("0", "false", "no"),
            retrain_every_minutes=float(_env("RETRAIN_EVERY", "0")),
            access_log=_env("ACCESS_LOG", "1") not in ("0", "false", "no"),
            hot_path=_env("HOT_PATH", "1") not in ("0", "false", "no"),
        )
