"""Building the Spark session: ``local[N]`` on one machine, or any cluster by its master URL.

PySpark is imported here, lazily, and a missing install is a :class:`~tuijian.exceptions.ConfigError`
that says how to install it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

from tuijian.exceptions import ConfigError

#: the master used when none is given: two local cores (what CI runs)
DEFAULT_MASTER = "local[2]"


def require_pyspark() -> Any:
    """The ``pyspark`` module, or a clear error naming the extra to install."""
    try:
        import pyspark
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "the Spark path needs PySpark and Java 17+: pip install 'tuijian[spark]' "
            "(or `pip install -c requirements/lock.txt pyspark`)"
        ) from exc
    return pyspark


def spark_session(
    master: str | None = None,
    *,
    app_name: str = "tuijian",
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    conf: Mapping[str, str] | None = None,
) -> Any:
    """A :class:`pyspark.sql.SparkSession` for ``master`` (default ``local[2]``; ``spark://host:7077``,
    ``yarn``, ``k8s://...`` for a cluster).

    Sessions run in UTC with ANSI casts off (a value that does not parse becomes null, as in pandas'
    ``errors="coerce"``) and Arrow for pandas exchange. ``shuffle_partitions`` defaults to 4 per local core
    and to Spark's own default on a cluster. Under ``spark-submit`` the master and memory come from the
    submit command and are not overridden here. ``conf`` adds any other Spark setting.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # set by spark-submit for its Python driver
    # the executors' Python must be this one (tuijian and numpy installed) unless the cluster says otherwise
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    master = master or (None if submitted else DEFAULT_MASTER)
    if master:
        builder = builder.master(master)
    local_cores = _local_cores(master)
    if shuffle_partitions is None and local_cores:
        shuffle_partitions = max(2, 4 * local_cores)
    settings: dict[str, str] = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executorEnv.OPENBLAS_NUM_THREADS": "1",
    }
    if shuffle_partitions:
        settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    if driver_memory:
        settings["spark.driver.memory"] = driver_memory
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if not spark.sparkContext.getCheckpointDir():
        spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="tuijian-spark-ckpt-"))
    return spark


#: the Spark setting naming the storage level of the frames the pipeline persists (a ``StorageLevel`` name);
#: ``DISK_ONLY`` keeps cached rows out of a small driver heap (``local[N]`` runs the executor in it)
STORAGE_LEVEL_CONF = "spark.tuijian.storageLevel"


def storage_level(spark: Any) -> Any:
    """The :class:`pyspark.StorageLevel` to persist intermediate frames with (:data:`STORAGE_LEVEL_CONF`,
    default ``MEMORY_AND_DISK``)."""
    from pyspark import StorageLevel

    name = spark.conf.get(STORAGE_LEVEL_CONF, "MEMORY_AND_DISK")
    level = getattr(StorageLevel, str(name), None)
    if not isinstance(level, StorageLevel):
        raise ConfigError(
            f"{STORAGE_LEVEL_CONF}={name!r} is not a StorageLevel name (MEMORY_AND_DISK, DISK_ONLY, ...)"
        )
    return level


def _local_cores(master: str | None) -> int | None:
    """N of ``local[N]`` (``local`` = 1, ``local[*]`` = this machine's cores); ``None`` for a cluster."""
    if not master or not master.startswith("local"):
        return None
    if master == "local":
        return 1
    inner = master[master.find("[") + 1 : master.find("]")].split(",")[0]
    if inner == "*":
        return os.cpu_count() or 1
    try:
        return max(1, int(inner))
    except ValueError:
        raise ConfigError(f"master {master!r} is not local, local[N] or local[*]") from None
