"""The Spark session helpers: the storage level setting."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tuijian.exceptions import ConfigError
from tuijian.spark.cleaning import _median
from tuijian.spark.session import STORAGE_LEVEL_CONF, storage_level


def test_storage_level_comes_from_the_session_setting(spark: Any) -> None:
    from pyspark import StorageLevel

    assert storage_level(spark) == StorageLevel.MEMORY_AND_DISK
    spark.conf.set(STORAGE_LEVEL_CONF, "DISK_ONLY")
    try:
        assert storage_level(spark) == StorageLevel.DISK_ONLY
        spark.conf.set(STORAGE_LEVEL_CONF, "ON_THE_MOON")
        with pytest.raises(ConfigError, match="ON_THE_MOON"):
            storage_level(spark)
    finally:
        spark.conf.unset(STORAGE_LEVEL_CONF)


def test_median_from_value_counts_is_numpys() -> None:
    rng = np.random.default_rng(7)
    for _ in range(500):
        values = np.unique(np.round(rng.lognormal(0, 1, rng.integers(1, 6)), 2))
        counts = rng.integers(1, 5, len(values))
        assert _median(values, counts) == np.median(np.repeat(values, counts))
    assert np.isnan(_median(np.array([1.0]), np.array([0])))
