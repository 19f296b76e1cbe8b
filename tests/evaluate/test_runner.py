"""Runner, reports and the ``tuijian evaluate`` command (on the embedded Online Retail demo data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tuijian.cli import eval_cmds
from tuijian.evaluate.report import markdown_table, plot_results
from tuijian.evaluate.runner import evaluate_models, parse_model_specs
from tuijian.exceptions import ConfigError, DatasetNotFoundError, ModelNotFoundError


def test_parse_model_specs() -> None:
    specs = parse_model_specs("popularity, ease:reg=500,item-knn:n_neighbors=50;shrinkage=10.5,binary=False")
    assert specs == [
        ("popularity", "popularity", {}),
        ("ease:reg=500", "ease", {"reg": 500}),
        ("item-knn:n_neighbors=50;shrinkage=10.5;binary=False", "item-knn",
         {"n_neighbors": 50, "shrinkage": 10.5, "binary": False}),
    ]  # fmt: skip
    assert parse_model_specs(["recent-popularity:window_days=7"])[0][2] == {"window_days": 7}
    with pytest.raises(ConfigError, match="before any model"):
        parse_model_specs("reg=5,ease")
    with pytest.raises(ConfigError, match="name=value"):
        parse_model_specs("ease:reg")
    with pytest.raises(ConfigError, match="no model names"):
        parse_model_specs(" , ")


def test_unknown_model_fails_before_loading_data() -> None:
    with pytest.raises(ModelNotFoundError, match="unknown model 'nope'"):
        evaluate_models("no-such-dataset", "time", ["popularity", "nope"])


@pytest.fixture(scope="module")
def demo_result() -> dict:
    return evaluate_models(
        "online-retail-demo", "time-repeats", ["popularity", "item-knn:n_neighbors=20"], ks=(5, 10), progress=False,
        params={"popularity": {"weighting": "users"}},
    )  # fmt: skip


def test_evaluate_models_result_shape(demo_result: dict) -> None:
    r = demo_result
    assert (r["dataset"], r["protocol"], r["phase"], r["ks"]) == (
        "online-retail-demo",
        "time-repeats",
        "test",
        [5, 10],
    )
    assert set(r["results"]) == {"popularity", "item-knn:n_neighbors=20"}
    knn = r["results"]["item-knn:n_neighbors=20"]
    for key in ("ndcg", "hr", "recall", "precision", "map", "mrr", "coverage", "novelty", "gini"):
        assert knn[f"{key}@10"] >= 0.0 and (key == "novelty" or knn[f"{key}@10"] <= 1.0)
    assert knn["hr@10"] >= knn["hr@5"] and knn["recall@10"] >= knn["recall@5"]
    assert knn["params"]["n_neighbors"] == 20 and knn["fit_seconds"] >= 0 and knn["peak_mb"] > 0
    assert knn["n_users_evaluated"] == r["split"]["users_evaluated"] > 50


def test_reports(demo_result: dict, tmp_path: Path) -> None:
    md = markdown_table(demo_result)
    assert md.splitlines()[0].startswith("| model | ndcg@5 | hr@5 | recall@5 | ndcg@10")
    assert "| popularity |" in md
    png = plot_results(demo_result, tmp_path / "plot.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root so that `evaluate` stays a sub-command."""

    eval_cmds.register(app)
    return app


def test_cli_evaluate_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "res.json"
    res = CliRunner().invoke(
        _app(),
        ["evaluate", "--dataset", "online-retail-demo", "--protocol", "time", "--models", "popularity,recent-popularity",
         "--k", "10", "--json", str(out), "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "ndcg@10" in res.output and "recent-popularity" in res.output
    data = json.loads(out.read_text())
    assert data["protocol"] == "time" and set(data["results"]) == {"popularity", "recent-popularity"}
    assert {"ndcg@10", "hr@10", "recall@10", "fit_seconds"} <= set(data["results"]["popularity"])


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (["--protocol", "kfold", "--models", "popularity"], ConfigError, "--protocol must be one of"),
        (
            ["--protocol", "loo", "--dataset", "nope", "--models", "popularity"],
            DatasetNotFoundError,
            "unknown dataset",
        ),
        (["--protocol", "loo", "--models", "popularity", "--k", "ten"], ConfigError, "--k must be"),
        (["--protocol", "loo", "--models", "popularity", "--phase", "final"], ConfigError, "--phase"),
    ],
)
def test_cli_errors(args: list[str], error: type[Exception], match: str) -> None:
    res = CliRunner().invoke(_app(), ["evaluate", *args])
    assert isinstance(res.exception, error) and match in str(res.exception)


# ----------------------------------------------------------------------------- side information
from tuijian.evaluate.runner import side_info_kwargs  # noqa: E402
from tuijian.models.popularity import Popularity  # noqa: E402


class SideInfoSpy(Popularity):
    """Popularity whose ``fit`` takes every side-information keyword and records what it got."""

    calls: list[dict] = []

    def fit(self, interactions, valid=None, *, items=None, users=None, holdout=None):  # type: ignore[no-untyped-def, override]
        SideInfoSpy.calls.append({"items": items, "users": users, "holdout": holdout})
        return super().fit(interactions)


def test_side_info_kwargs_follow_the_fit_signature() -> None:
    from tuijian.models.content import ContentRecommender
    from tuijian.models.holdout import Holdout

    items, users, holdout = object(), object(), Holdout("last")
    assert side_info_kwargs(Popularity(), items=items, users=users, holdout=holdout) == {}
    assert side_info_kwargs(ContentRecommender(), items=items, users=users, holdout=holdout) == {
        "items": items
    }
    assert side_info_kwargs(SideInfoSpy(), items=items, users=users, holdout=holdout) == {
        "items": items, "users": users, "holdout": holdout,
    }  # fmt: skip


def test_runner_passes_catalog_users_and_the_protocols_holdout(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from tuijian.data.datasets import load_dataset
    from tuijian.models import registry
    from tuijian.models.holdout import Holdout

    monkeypatch.setitem(registry._REGISTRY, "side-info-spy", f"{SideInfoSpy.__module__}:SideInfoSpy")
    ds = load_dataset("online-retail-demo")
    ds.users = pd.DataFrame({"user_id": ["12347"], "segment": ["a"]})
    SideInfoSpy.calls.clear()
    res = evaluate_models("online-retail-demo", "time", ["side-info-spy", "content"], ks=(10,), progress=False,
                          dataset=ds)  # fmt: skip
    (call,) = SideInfoSpy.calls
    assert call["items"] is ds.items and call["users"] is ds.users
    assert call["holdout"] == Holdout("time", days=30.0, repeats=False)
    # content learns from the catalog passed with the data (no dataset name inside the model)
    assert res["results"]["content"]["ndcg@10"] > 0.0
