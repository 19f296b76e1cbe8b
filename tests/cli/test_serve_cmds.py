"""``tuijian serve``: which model it serves and whether it trains first."""

from __future__ import annotations

from pathlib import Path

from tuijian.cli.serve_cmds import serving_model


def test_serve_keeps_the_active_version_unless_told_otherwise(tmp_path: Path) -> None:
    active = {"model": "item-knn", "path": str(tmp_path)}
    # no --model: the active version keeps serving (an admin's activation is not replaced by a retrain)
    assert serving_model(active, None, new_events=False) == ("item-knn", False)
    # a named model other than the active one is trained and activated; the same one is not
    assert serving_model(active, "auto", new_events=False) == ("auto", True)
    assert serving_model(active, "item-knn", new_events=False) == ("item-knn", False)
    # new rows from --events retrain whatever serves
    assert serving_model(active, None, new_events=True) == ("item-knn", True)
    # a new home (or an active version whose artifacts are gone) gets auto, bootstrapped, not retrained here
    assert serving_model(None, None, new_events=False) == ("auto", False)
    gone = {"model": "ease", "path": str(tmp_path / "missing")}
    assert serving_model(gone, None, new_events=False) == ("auto", False)
