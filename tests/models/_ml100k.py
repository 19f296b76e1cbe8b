"""Real-data helpers for the model tests: the official MovieLens-100K folds and simple top-k metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tuijian.data.interactions import Interactions
from tuijian.models.base import Recommender

ML100K_COLUMNS = ["user", "item", "value", "ts"]


def ml100k_dir() -> Path:
    """``movielens_100k`` under the dataset root (the data helper's resolver when available)."""
    try:
        from tuijian.data.datasets import resolve_data_dir

        root = Path(resolve_data_dir())
    except ImportError:
        root = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
    return root / "movielens_100k"


def read_ml100k_fold(fold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The official ``u{fold}.base`` / ``u{fold}.test`` files as frames (user, item, value, ts, ...)."""
    try:
        from tuijian.data.datasets import load_movielens_100k_folds
    except ImportError:
        d = ml100k_dir()
        frames = [
            pd.read_csv(
                d / f"u{fold}.{part}", sep="\t", names=ML100K_COLUMNS, dtype={"user": str, "item": str}
            )
            for part in ("base", "test")
        ]
        return frames[0], frames[1]
    return load_movielens_100k_folds()[fold - 1]


def implicit_split(base: pd.DataFrame, test: pd.DataFrame) -> tuple[Interactions, dict[int, set[int]]]:
    """``base`` as binary implicit interactions; ``test`` ratings >= 4 of known users/items as relevant items."""
    inter = Interactions.from_events(base.assign(kind="rating"))
    test = test[
        (test["value"] >= 4) & test["user"].isin(inter.users.ids) & test["item"].isin(inter.items.ids)
    ]
    u = inter.users.lookup(test["user"].to_numpy())
    i = inter.items.lookup(test["item"].to_numpy())
    relevant: dict[int, set[int]] = {}
    for uu, ii in zip(u.tolist(), i.tolist(), strict=True):
        relevant.setdefault(uu, set()).add(ii)
    return inter, relevant


def topk_metrics(model: Recommender, relevant: dict[int, set[int]], k: int = 10) -> dict[str, float]:
    """Hit rate and precision @k over the users with relevant test items (seen items excluded)."""
    users = np.array(sorted(relevant), dtype=np.int64)
    ids, _ = model.recommend(users, k=k)
    hits = np.array(
        [[i in relevant[u] for i in row] for u, row in zip(users.tolist(), ids.tolist(), strict=True)]
    )
    return {"hr": float(hits.any(axis=1).mean()), "precision": float(hits.mean())}
