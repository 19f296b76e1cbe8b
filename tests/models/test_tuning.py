"""Hyper-parameter search on the validation split, and the `tuijian train` / `tuijian models` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tuijian.exceptions import ConfigError
from tuijian.models.mf import ALS
from tuijian.models.tuning import parameter_grid, search


@pytest.fixture(scope="module")
def ml100k_split():
    from tuijian.evaluate.protocols import make_protocol

    return make_protocol("recbole", "movielens-100k")


def test_parameter_grid() -> None:
    grid = parameter_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(grid) == 6 and grid[0] == {"a": 1, "b": "x"} and grid[-1] == {"a": 2, "b": "z"}
    assert parameter_grid({}) == [{}]
    with pytest.raises(ConfigError, match="'a'"):
        parameter_grid({"a": []})


def test_grid_search_uses_validation_only(ml100k_split) -> None:
    from tuijian.evaluate.runner import evaluate_model

    space = {"n_factors": [8, 32], "reg": [0.1, 10.0]}
    base = ALS(n_iterations=5, random_state=0, num_threads=1)
    result = search(base, ml100k_split, space, progress=False)
    trials = result.trials
    assert len(trials) == 4 and {"n_factors", "reg", "ndcg@10", "hr@10", "fit_seconds"} <= set(trials.columns)
    best = trials.loc[trials["ndcg@10"].idxmax()]
    assert result.best_params == {"n_factors": int(best["n_factors"]), "reg": float(best["reg"])}
    assert result.best_score == pytest.approx(best["ndcg@10"])
    # each trial's score is the validation stage's (fit on train, score valid), reproducible by hand
    stage = ml100k_split.stage("valid")
    again = base.clone(**result.best_params).fit(stage.fit)
    assert evaluate_model(again, stage, (10,))["ndcg@10"] == pytest.approx(result.best_score, rel=1e-6)
    assert stage.fit.nnz == ml100k_split.train.nnz  # never train+valid, never test
    summary = result.to_dict()
    assert summary["split"] == "valid" and summary["n_trials"] == 4
    json.dumps(summary)


def test_random_search_and_errors(ml100k_split) -> None:
    space = {"n_factors": [8, 16, 32], "reg": [0.1, 1.0]}
    result = search(ALS(n_iterations=3, num_threads=1), ml100k_split, space, method="random", n_trials=2,
                    random_state=1, progress=False)  # fmt: skip
    assert len(result.trials) == 2 and result.method == "random"
    with pytest.raises(ConfigError, match="no_such"):
        search("als", ml100k_split, {"no_such": [1]}, progress=False)
    with pytest.raises(ConfigError, match="metric"):
        search("als", ml100k_split, {"reg": [1.0]}, metric="auc", progress=False)
    with pytest.raises(ConfigError, match="n_trials"):
        search("als", ml100k_split, {"reg": [1.0]}, method="random", progress=False)


def test_cli_train_saves_tuned_artifact_and_models_lists_it(tmp_path) -> None:
    from typer.testing import CliRunner

    from tuijian.cli import app
    from tuijian.models.artifacts import read_config

    runner = CliRunner()
    res = runner.invoke(app, ["train", "--dataset", "movielens-100k", "--model", "als", "--protocol", "recbole",
                              "--param", "n_iterations=5", "--param", "num_threads=1", "--tune",
                              "--grid", "n_factors=8,16", "--out", str(tmp_path), "--no-progress"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "ndcg@10" in res.output and "saved als v0001" in res.output
    cfg = read_config(tmp_path, "als")
    assert cfg["protocol"] == "recbole" and cfg["hyperparameters"]["n_trials"] == 2
    assert cfg["params"]["n_factors"] == cfg["hyperparameters"]["best_params"]["n_factors"]
    assert 0.0 < cfg["metrics"]["ndcg@10"] < 1.0 and np.isfinite(cfg["metrics"]["hr@10"])
    listing = runner.invoke(app, ["models", "--root", str(tmp_path)])
    assert listing.exit_code == 0 and "als" in listing.output and "v0001" in listing.output
    bad = runner.invoke(app, ["train", "--dataset", "movielens-100k", "--model", "als", "--param", "oops"])
    assert bad.exit_code != 0
