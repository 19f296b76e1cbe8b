"""``tuijian abtest ...`` and ``tuijian ope`` end to end on a SQLite file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tuijian.cli import app

runner = CliRunner()


def test_simulate_writes_the_acceptance_json(tmp_path) -> None:
    out = tmp_path / "out.json"
    r = runner.invoke(
        app,
        [
            "abtest",
            "simulate",
            "--aa",
            "--runs",
            "60",
            "--users",
            "800",
            "--baseline",
            "0.2",
            "--json",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data["runs"] == 60 and 0 <= data["false_positive_rate"] <= 1
    assert "false_positive_rate" in r.output and "stop rule" in r.output


def test_sample_size() -> None:
    r = runner.invoke(app, ["abtest", "sample-size", "--baseline", "0.05", "--lift", "0.1"])
    assert r.exit_code == 0 and r.output.startswith("31234 users per variant")


def test_experiment_commands_and_ope(tmp_path) -> None:
    from tuijian.store import open_store

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps({"name": "cli", "variants": [{"name": "A"}, {"name": "B", "strategy": "trending"}]})
    )
    args = ["--database-url", url]
    r = runner.invoke(app, ["abtest", "create", str(spec), "--dataset", "demo", *args])
    assert r.exit_code == 0, r.output
    eid = json.loads(r.output)["id"]
    assert eid in runner.invoke(app, ["abtest", "list", "--dataset", "demo", *args]).output
    assigned = runner.invoke(app, ["abtest", "assign", eid, "u1", "u2", *args]).output.splitlines()
    assert [line.split("\t")[0] for line in assigned] == ["u1", "u2"]
    variant = {line.split("\t")[0]: line.split("\t")[1] for line in assigned}
    store = open_store(url)
    store.log_impression_lists([(f"r{i}", f"u{i % 2 + 1}", "m:1", i, '["a", "b"]') for i in range(1, 21)])
    store.log_exposures(
        [(eid, variant[f"u{i % 2 + 1}"], f"u{i % 2 + 1}", f"r{i}", 0.5, i) for i in range(1, 21)]
    )
    store.log_feedback([{"request_id": "r1", "item": "a", "event": "click"}])
    store.close()
    report = tmp_path / "report.json"
    r = runner.invoke(app, ["abtest", "report", eid, "--bootstrap", "0", "--json", str(report), *args])
    assert r.exit_code == 0, r.output
    assert json.loads(report.read_text())["users"] == 2 and "SRM" in r.output
    r = runner.invoke(app, ["ope", "--experiment", eid, "--target", variant["u1"], *args])
    assert r.exit_code == 0, r.output
    assert "snips" in r.output
    assert "stopped" in runner.invoke(app, ["abtest", "stop", eid, *args]).output
    bad = runner.invoke(app, ["abtest", "report", "exp-none", *args])
    assert bad.exit_code != 0
