"""EASE: contract, the closed form against a direct solve, and real data (ML-100K u1)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.models._ml100k import topk_metrics
from tests.models.conformance import RecommenderContract
from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError
from tuijian.models.ease import EASE


class TestEASE(RecommenderContract):
    def make_model(self) -> EASE:
        return EASE(reg=1.0)


class TestEASEFloat64(RecommenderContract):
    def make_model(self) -> EASE:
        return EASE(reg=10.0, dtype="float64")


def test_closed_form_solves_constrained_least_squares(ml100k_u1) -> None:
    base, _ = ml100k_u1
    top = base["item"].value_counts().index[:300]  # the 300 most rated films keep the check fast
    inter = Interactions.from_events(base[base["item"].isin(top)].assign(kind="rating"))
    model = EASE(reg=200.0, dtype="float64").fit(inter)
    b = model.weights_
    assert np.allclose(np.diag(b), 0.0)
    # KKT condition of min |X - XB|^2 + reg |B|^2 s.t. diag(B) = 0: (G + reg I) B - G is zero off the diagonal
    x = inter.matrix.toarray().astype(np.float64)
    x[x > 0] = 1.0
    g = x.T @ x
    resid = (g + 200.0 * np.eye(len(g))) @ b - g
    np.fill_diagonal(resid, 0.0)
    assert np.abs(resid).max() < 1e-6 * np.abs(g).max()


def test_bad_params(ml100k_u1_implicit) -> None:
    inter, _ = ml100k_u1_implicit
    with pytest.raises(ConfigError, match="reg"):
        EASE(reg=0).fit(inter)
    with pytest.raises(ConfigError, match="dtype"):
        EASE(dtype="float16").fit(inter)


def test_beats_popularity_on_ml100k(ml100k_u1_implicit, ml100k_u1_popularity) -> None:
    inter, relevant = ml100k_u1_implicit
    got = topk_metrics(EASE().fit(inter), relevant)
    pop = ml100k_u1_popularity
    assert got["hr"] >= pop["hr"] + 0.08, (got, pop)
    assert got["precision"] >= 1.5 * pop["precision"], (got, pop)


class TestEDLAE(RecommenderContract):
    def make_model(self) -> EASE:
        return EASE(reg=1.0, dropout=0.25)


def test_edlae_dropout_is_popularity_scaled_regularisation(ml100k_u1) -> None:
    base, _ = ml100k_u1
    top = base["item"].value_counts().index[:200]
    inter = Interactions.from_events(base[base["item"].isin(top)].assign(kind="rating"))
    p, reg = 0.25, 50.0
    b = EASE(reg=reg, dropout=p, dtype="float64").fit(inter).weights_
    x = inter.matrix.toarray().astype(np.float64)
    x[x > 0] = 1.0
    g = x.T @ x
    lam = np.diag(reg + p / (1 - p) * np.diag(g))
    # same KKT condition as EASE, with the item-specific regulariser Lambda = reg + p/(1-p) diag(G)
    resid = (g + lam) @ b - g
    np.fill_diagonal(resid, 0.0)
    assert np.allclose(np.diag(b), 0.0)
    assert np.abs(resid).max() < 1e-6 * np.abs(g).max()
    assert not np.allclose(b, EASE(reg=reg, dtype="float64").fit(inter).weights_)
    with pytest.raises(ConfigError, match="dropout"):
        EASE(dropout=1.0).fit(inter)
