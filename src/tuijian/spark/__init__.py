"""The Spark path: the local pipeline's work (cleaning, interactions, ALS, item-item similarities, batch top
lists) over Parquet logs on Apache Spark, writing artifacts that ``tuijian serve`` loads unchanged.

PySpark is the optional extra ``spark`` (``pip install 'tuijian[spark]'``); nothing here imports it at
module import time, so ``import tuijian.spark`` costs nothing without it. See ``docs/spark.md``.

* :mod:`tuijian.spark.session`: building a :class:`~pyspark.sql.SparkSession` for ``local[N]`` or a cluster;
* :mod:`tuijian.spark.logs`: raw Online Retail-shaped logs as Parquet (with their line numbers);
* :mod:`tuijian.spark.cleaning`: the cleaner of :mod:`tuijian.data.cleaning`, rule for rule, same account;
* :mod:`tuijian.spark.training`: interactions, MLlib ALS, item-item cosine, top lists;
* :mod:`tuijian.spark.pipeline`: the whole run, artifacts and (optionally) activation in the store;
* :mod:`tuijian.spark.parity`: Spark against the local path on the same data and split.
"""
