"""The error hierarchy: DataError carries an itemised ``errors`` list that the service returns in its 422 body."""

from __future__ import annotations

import pickle

import pytest

from tuijian.exceptions import DataError, DatasetNotFoundError, SchemaError, TuijianError


def test_data_error_itemises_errors() -> None:
    rows = [{"row": 3, "field": "ts", "error": "not a time"}]
    exc = DataError("1 bad event row(s)", errors=rows)
    assert str(exc) == "1 bad event row(s)"
    assert exc.errors == rows
    assert exc.errors is not rows  # a copy: the caller's list can change afterwards
    assert isinstance(exc, TuijianError) and isinstance(exc, ValueError)


def test_errors_default_empty_in_every_subclass() -> None:
    for cls in (DataError, SchemaError, DatasetNotFoundError):
        assert cls("x").errors == []
    missing = DatasetNotFoundError("no such dataset")
    assert isinstance(missing, FileNotFoundError) and str(missing) == "no such dataset"


def test_errors_survive_pickling() -> None:
    exc = pickle.loads(
        pickle.dumps(DataError("bad", errors=[{"row": 1, "field": "user", "error": "missing"}]))
    )
    assert exc.errors == [{"row": 1, "field": "user", "error": "missing"}]
    with pytest.raises(DataError, match="bad"):
        raise exc
