"""The ``augment`` model: the contract suite, the choice on the holdout, scoring from augmented histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.augment.test_cfgan import planted
from tests.models.conformance import RecommenderContract, checkerboard
from tuijian.augment.cfgan import CFGAN, CFGANConfig
from tuijian.augment.compare import per_user_metrics
from tuijian.augment.model import AugmentedRecommender
from tuijian.augment.pseudo import augment_interactions
from tuijian.data.interactions import Interactions
from tuijian.exceptions import ConfigError, ModelNotFoundError
from tuijian.models.ease import EASE
from tuijian.models.holdout import Holdout
from tuijian.models.knn import ItemKNN

FAST_GAN = {
    "epochs": 40,
    "hidden": 16,
    "n_negatives": 20,
    "batch_size": 8,
    "n_valid_users": 0,
    "learning_rate": 1e-2,
}


class TestAugmentOn(RecommenderContract):
    """Every checkerboard user (7 items) counts as sparse, so every row is augmented."""

    def make_model(self) -> AugmentedRecommender:
        return AugmentedRecommender(
            base="ease", base_params={"reg": 1.0}, mode="on", max_history=7, n_pseudo=2, gan=FAST_GAN
        )


class TestAugmentOff(RecommenderContract):
    def make_model(self) -> AugmentedRecommender:
        return AugmentedRecommender(base="item-knn", mode="off")


class TestAugmentAuto(RecommenderContract):
    def make_model(self) -> AugmentedRecommender:
        return AugmentedRecommender(base="ease", base_params={"reg": 1.0}, gan=FAST_GAN)


def test_off_is_exactly_the_base_model() -> None:
    inter = checkerboard().interactions
    users = np.arange(inter.n_users)
    ids, scores = (
        AugmentedRecommender(base="ease", base_params={"reg": 1.0}, mode="off").fit(inter).recommend(users, 5)
    )
    want_ids, want_scores = EASE(reg=1.0).fit(inter).recommend(users, 5)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-6)


def test_on_scores_from_the_augmented_matrix() -> None:
    """The base model is fitted on the augmented matrix (weights kept: binary=False) and a training user is
    scored from the augmented row it was trained on; exclusion still uses only the real history."""
    inter = checkerboard().interactions
    model = AugmentedRecommender(
        base="ease", base_params={"reg": 1.0}, mode="on", max_history=7, n_pseudo=2, gan=FAST_GAN
    ).fit(inter)
    aug = augment_interactions(inter, model.gan_, max_history=7, n_pseudo=2, pseudo_weight=0.3)
    assert model.base_.get_params()["binary"] is False
    np.testing.assert_allclose(model.base_.interactions_.matrix.toarray(), aug.matrix.toarray())
    direct = EASE(reg=1.0, binary=False).fit(aug)
    np.testing.assert_allclose(model.score(np.arange(16)), direct.score(np.arange(16)), rtol=1e-5, atol=1e-6)
    pseudo_items = set((aug.matrix[0] - inter.matrix[0]).indices.tolist())
    assert len(pseudo_items) == 2
    ids, _ = model.recommend(0, k=13)  # 20 items - 7 real = 13 eligible: pseudo items are among them
    assert pseudo_items <= set(ids.tolist())


def test_auto_keeps_augmentation_off_without_sparse_users() -> None:
    model = AugmentedRecommender(base="ease", base_params={"reg": 1.0}, gan=FAST_GAN).fit(
        checkerboard().interactions, holdout=Holdout("last")
    )
    assert model.augmented_ is False and model.gan_ is None
    assert model.selection_["sparse_users"] == 0 and model.selection_["augment"] is False


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"mode": "maybe"}, "mode"),
        ({"base": "augment"}, "base"),
        ({"pseudo_weight": 1.0}, "pseudo_weight"),
        ({"pseudo_weight": 0.0}, "pseudo_weight"),
        ({"max_history": 0}, "max_history"),
        ({"n_pseudo": 0}, "n_pseudo"),
        ({"gan": {"epochs": 0}}, "epochs"),
        ({"gan": {"no_such": 1}}, "no_such"),
        ({"base_params": "reg=1"}, "base_params"),
    ],
)
def test_bad_params_are_named(params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        AugmentedRecommender(**params).fit(checkerboard().interactions)


def test_unknown_base_names_the_available_models() -> None:
    with pytest.raises(ModelNotFoundError, match="no-such-model.*available: .*ease"):
        AugmentedRecommender(base="no-such-model").fit(checkerboard().interactions)


def test_from_fitted_matches_fit() -> None:
    inter = checkerboard().interactions
    gan = CFGAN(CFGANConfig(**FAST_GAN)).fit(inter.matrix)
    aug = augment_interactions(inter, gan, max_history=7, n_pseudo=2, pseudo_weight=0.3)
    parts = AugmentedRecommender.from_fitted(
        EASE(reg=1.0, binary=False).fit(aug), gan, inter, max_history=7, n_pseudo=2
    )
    whole = AugmentedRecommender(
        base="ease", base_params={"reg": 1.0}, mode="on", max_history=7, n_pseudo=2, gan=FAST_GAN
    ).fit(inter)
    np.testing.assert_allclose(parts.score(np.arange(16)), whole.score(np.arange(16)), rtol=1e-5, atol=1e-6)


def _planted_interactions() -> Interactions:
    m, _, _ = planted()
    coo = m.tocoo()
    events = pd.DataFrame(
        {
            "user": [f"u{u:03d}" for u in coo.row],
            "item": [f"i{i:03d}" for i in coo.col],
            "ts": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(len(coo.row)), unit="h"),
        }
    )
    return Interactions.from_events(events)


def test_auto_decides_on_the_holdout_and_records_why() -> None:
    """On planted blocks (most users have <= 5 items) ``auto`` compares plain and augmented item-kNN on the
    sparse users of its holdout; the recorded plain figure is what plain item-kNN fitted on the holdout's
    inner part scores, and the decision follows the interval rule."""
    inter = _planted_interactions()
    gan = {**FAST_GAN, "epochs": 20, "hidden": 32, "n_negatives": 40, "batch_size": 32}
    model = AugmentedRecommender(base="item-knn", gan=gan).fit(inter, holdout=Holdout("last"))
    sel = model.selection_
    assert sel["holdout"] == "last" and sel["sparse_users"] >= 30
    inner, targets = Holdout("last").split(inter)
    counts = np.diff(inner.matrix.indptr)
    users = np.flatnonzero((counts <= 5) & (np.diff(targets.indptr) > 0))
    assert len(users) == sel["sparse_users"]
    plain = per_user_metrics(ItemKNN().fit(inner), users, targets, inner.matrix)
    assert sel["ndcg@10"]["before"] == pytest.approx(float(plain["ndcg@10"].mean()))
    assert (
        sel["augment"] == (sel["ndcg@10"]["diff_ci"][0] > 0) == model.augmented_ == (model.gan_ is not None)
    )
    assert sel["chosen"] == ("augmented" if sel["augment"] else "plain")
    assert set(sel["validation"]) == {"plain", "augmented"}
