"""One Spark session (``local[2]``, as CI runs it) for every test of the Spark path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from tuijian.spark.session import spark_session

    session = spark_session("local[2]", app_name="tuijian-tests", shuffle_partitions=4)
    yield session
    session.stop()
