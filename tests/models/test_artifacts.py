"""Versioned artifacts: layout, versions, config/metrics, safe formats only, generic state for any model."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest

from tests.models.conformance import checkerboard, checkerboard_catalog
from tuijian.data.interactions import Interactions
from tuijian.exceptions import ModelNotFoundError, StorageError
from tuijian.models.artifacts import (
    list_versions,
    load_model,
    load_npz,
    load_state,
    read_config,
    save_model,
    save_state,
)
from tuijian.models.base import Recommender, ScoringBatch
from tuijian.models.content import ContentRecommender
from tuijian.models.mf import ALS


class _Centroid(Recommender):
    """A tiny model with no save(): the generic state writer must handle it."""

    name: ClassVar[str] = "centroid-test"

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift

    def _fit(self, interactions: Interactions) -> None:
        self.item_mean_ = np.asarray(interactions.matrix.mean(axis=0)).ravel() + self.shift
        self.note_ = {"users": interactions.n_users}

    def _score(self, batch: ScoringBatch) -> np.ndarray:
        return np.tile(self.item_mean_, (len(batch.users), 1))


@pytest.fixture(scope="module")
def als() -> ALS:
    return ALS(n_factors=4, reg=1.0, alpha=5.0, random_state=0, num_threads=1).fit(
        checkerboard().interactions
    )


def test_versions_config_metrics_and_roundtrip(als: ALS, tmp_path) -> None:
    v1 = save_model(als, tmp_path, metrics={"ndcg@10": 0.5}, meta={"dataset": "checkerboard", "protocol": "loo", "note": 1},
                    hyperparameters={"best_params": {"reg": 1.0}})  # fmt: skip
    v2 = save_model(als, tmp_path)
    assert (v1, v2) == ("v0001", "v0002")
    folder = tmp_path / "als" / v1
    assert {p.name for p in folder.iterdir()} == {"config.json", "metrics.json", "model"}
    cfg = read_config(tmp_path, "als", v1)
    assert cfg["name"] == "als" and cfg["dataset"] == "checkerboard" and cfg["protocol"] == "loo"
    assert cfg["params"]["n_factors"] == 4 and cfg["hyperparameters"]["best_params"] == {"reg": 1.0}
    assert cfg["metrics"] == {"ndcg@10": 0.5} and cfg["meta"] == {"note": 1} and cfg["tuijian_version"]
    assert read_config(tmp_path, "als")["version"] == "v0002"  # latest
    loaded = load_model(tmp_path, "als", "v0001")
    assert isinstance(loaded, ALS) and loaded.get_params() == als.get_params()
    users = np.arange(16)
    np.testing.assert_array_equal(loaded.recommend(users, k=5)[0], als.recommend(users, k=5)[0])
    table = list_versions(tmp_path)
    assert table[["name", "version"]].values.tolist() == [["als", "v0001"], ["als", "v0002"]]
    assert table["metrics"].iloc[0] == {"ndcg@10": 0.5}
    # nothing but npz and JSON on disk, and the npz loads without pickle
    suffixes = {p.suffix for p in folder.rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".npz"}
    for npz in folder.rglob("*.npz"):
        assert load_npz(npz)


def test_unknown_name_or_version(als: ALS, tmp_path) -> None:
    with pytest.raises(ModelNotFoundError, match="no saved versions"):
        load_model(tmp_path, "als")
    save_model(als, tmp_path)
    with pytest.raises(ModelNotFoundError, match="v0001"):
        load_model(tmp_path, "als", "v0009")


def test_pickled_arrays_are_refused(tmp_path) -> None:
    np.savez(tmp_path / "evil.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(StorageError, match="pickle"):
        load_npz(tmp_path / "evil.npz")


def test_generic_state_for_model_without_save(tmp_path) -> None:
    data = checkerboard()
    model = _Centroid(shift=0.5).fit(data.interactions)
    save_state(model, tmp_path / "m")
    state = json.loads((tmp_path / "m" / "state.json").read_text())
    assert state["params"] == {"shift": 0.5} and set(state["attributes"]) == {
        "interactions_",
        "item_mean_",
        "note_",
    }
    back = load_state(_Centroid, tmp_path / "m")
    np.testing.assert_allclose(back.item_mean_, model.item_mean_)
    assert back.note_ == {"users": 16} and back.interactions_.items == data.interactions.items
    np.testing.assert_array_equal(back.recommend(3, k=4)[0], model.recommend(3, k=4)[0])
    with pytest.raises(StorageError, match="holds a"):
        load_state(ALS, tmp_path / "m")


def test_unsafe_attribute_is_refused(tmp_path) -> None:
    model = _Centroid().fit(checkerboard().interactions)
    model.callback_ = lambda x: x
    with pytest.raises(StorageError, match="callback_"):
        save_state(model, tmp_path / "m")


def test_content_model_artifact(tmp_path) -> None:
    data = checkerboard()
    model = ContentRecommender().fit(data.interactions, items=checkerboard_catalog())
    version = save_model(model, tmp_path, metrics={"hr@10": 1.0})
    back = load_model(tmp_path, "content", version)
    assert back.terms_ == model.terms_ and back.get_params() == model.get_params()
    np.testing.assert_array_equal(
        back.recommend(np.arange(16), k=3)[0], model.recommend(np.arange(16), k=3)[0]
    )
