"""The Spark pipeline end to end on the embedded Online Retail sample: its artifacts are the local path's
objects (same interactions, same top lists, item-item similarities), and `tuijian serve`'s app serves them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tuijian.data.cleaning import clean_online_retail, read_online_retail
from tuijian.data.datasets import demo_file
from tuijian.data.interactions import Interactions, WeightConfig
from tuijian.data.schema import EVENT_COLUMNS
from tuijian.models.artifacts import load_model, load_top_lists
from tuijian.models.knn import ItemKNN
from tuijian.models.toplists import precompute_top_lists
from tuijian.spark.logs import write_raw_parquet
from tuijian.spark.pipeline import run_pipeline

ADMIN = "spark-test-admin-key-0123456789"


@pytest.fixture(scope="module")
def built(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("spark-pipeline")
    raw = read_online_retail(demo_file("online-retail-demo"))
    logs = write_raw_parquet(raw, tmp / "raw")
    url = f"sqlite:///{tmp / 'home' / 'tuijian.sqlite'}"
    (tmp / "home").mkdir()
    out = run_pipeline(
        logs, home=tmp / "home", dataset="shop", spark=spark, n_neighbors=20, top_n=50, database_url=url,
        als_params={"n_factors": 16, "n_iterations": 5},
    )  # fmt: skip
    events, _, report = clean_online_retail(raw, dataset="shop")
    local = Interactions.from_events(events[list(EVENT_COLUMNS)], WeightConfig())
    return {"out": out, "home": tmp / "home", "url": url, "local": local, "report": report}


def test_interactions_are_the_local_ones(built: dict[str, Any]) -> None:
    model = load_model(built["home"] / "artifacts" / "shop", "als")
    inter, local = model.interactions_, built["local"]
    assert list(inter.users.ids) == list(local.users.ids)
    assert list(inter.items.ids) == list(local.items.ids)
    assert (inter.matrix != local.matrix).nnz == 0
    assert len(inter.log) == len(local.log)
    assert built["out"]["cleaning"]["kept_rows"] == built["report"].kept_rows


def test_top_lists_are_what_the_model_recommends(built: dict[str, Any]) -> None:
    root = built["home"] / "artifacts" / "shop"
    model = load_model(root, "als")
    stored = load_top_lists(root, "als", model=model)
    assert stored is not None and stored.n == 50
    again = precompute_top_lists(model, 50)
    assert np.array_equal(stored.ids, again.ids)
    assert np.array_equal(stored.scores, again.scores)


def test_item_similarities_are_item_knns(built: dict[str, Any]) -> None:
    spark_knn = load_model(built["home"] / "artifacts" / "shop", "item-knn")
    assert isinstance(spark_knn, ItemKNN)
    local = ItemKNN(n_neighbors=20).fit(built["local"]).similarity_.tocsc()
    ours = spark_knn.similarity_.tocsc()
    assert ours.shape == local.shape and ours.nnz == local.nnz
    for j in range(0, ours.shape[1], 7):  # each target's kept similarities (ties may pick other neighbours)
        a = np.sort(ours.data[ours.indptr[j] : ours.indptr[j + 1]])
        b = np.sort(local.data[local.indptr[j] : local.indptr[j + 1]])
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_the_service_serves_the_spark_version(built: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    from tuijian.service.app import create_app
    from tuijian.service.options import ServiceOptions
    from tuijian.settings import load_settings

    settings = load_settings(
        home=built["home"], database_url=built["url"], dataset="shop", admin_key=ADMIN, env="test"
    )
    options = ServiceOptions(model="als", bootstrap=False, access_log=False, poll_seconds=0.5)
    user = built["local"].users.ids[0]
    with TestClient(create_app(settings, options)) as c:
        c.headers["X-API-Key"] = ADMIN
        r = c.get(f"/v1/users/{user}/recommendations", params={"k": 5})
        assert r.status_code == 200, r.text
        assert r.json()["model_version"] == built["out"]["registered"]["version"] == "als:v0001"
        assert len(r.json()["items"]) == 5
