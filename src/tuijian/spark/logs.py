"""Raw logs as Parquet: the eight Online Retail columns as text plus ``row``, the line's place in the log.

The cleaner's rules depend on order (the first copy of a duplicate is kept, cancellations net against the
latest earlier purchase, ties broken by line), and Spark reads files in no fixed order, so the line number
travels with every row. Both paths read the same files: Spark with :func:`read_raw`, the local cleaner with
:func:`read_raw_pandas`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tuijian.data.cleaning import RAW_COLUMNS
from tuijian.exceptions import ConfigError, SchemaError

#: the column holding each raw line's 0-based position in the original log
ROW = "row"


def write_raw_parquet(raw: pd.DataFrame, path: str | Path, *, rows_per_file: int = 2_000_000) -> Path:
    """Write raw Online Retail lines (text columns, as :func:`~tuijian.data.cleaning.read_online_retail`
    gives them) to a Parquet folder, ``row`` = their order in ``raw``; returns the folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(f"raw log lacks Online Retail column(s) {missing}; got {list(raw.columns)}")
    if rows_per_file < 1:
        raise ConfigError(f"rows_per_file must be >= 1, got {rows_per_file}")
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.parquet"):
        old.unlink()
    schema = pa.schema([(c, pa.string()) for c in RAW_COLUMNS] + [(ROW, pa.int64())])
    base = int(raw[ROW].iloc[0]) if ROW in raw.columns and len(raw) else 0
    for n, start in enumerate(range(0, max(len(raw), 1), rows_per_file)):
        part = raw.iloc[start : start + rows_per_file]
        cols = {c: part[c].astype(object).where(part[c].notna(), None) for c in RAW_COLUMNS}
        cols[ROW] = (
            part[ROW] if ROW in part.columns else pd.Series(range(base + start, base + start + len(part)))
        )
        table = pa.table({c: pa.array(list(v), type=schema.field(c).type) for c, v in cols.items()}, schema)
        pq.write_table(table, out / f"part-{n:05d}.parquet", row_group_size=500_000)
    return out


def read_raw(spark: Any, path: str | Path) -> Any:
    """The raw log at ``path`` (Parquet file or folder, local or any Hadoop URL) as a Spark DataFrame."""
    df = spark.read.parquet(str(path))
    _check_columns(list(df.columns), path)
    return df.select(*RAW_COLUMNS, ROW)


def read_raw_pandas(path: str | Path) -> pd.DataFrame:
    """The same log for the local cleaner: the text columns in ``row`` order (index 0..n-1), read one column
    at a time as a dictionary-encoded (``category``) column, so each distinct text is one Python string, a
    line costs a 1-4 byte code per column, and the read holds one column's Arrow copy at a time (Arrow's
    freed memory is handed back to the system after each; :func:`~tuijian.data.cleaning.clean_online_retail`
    takes the columns as they are)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_columns(list(pq.ParquetDataset(str(path)).schema.names), path)
    pool = pa.default_memory_pool()
    rows = pq.read_table(str(path), columns=[ROW]).column(ROW).to_numpy()
    order = None if bool(np.all(rows[1:] > rows[:-1])) else np.argsort(rows, kind="stable")
    del rows
    columns: dict[str, pd.Series] = {}
    for c in RAW_COLUMNS:
        table = pq.read_table(str(path), columns=[c], read_dictionary=[c])
        col = table.column(c).to_pandas()
        del table
        pool.release_unused()
        columns[c] = col if order is None else col.take(order).reset_index(drop=True)
    return pd.DataFrame(columns)


def _check_columns(columns: list[str], path: str | Path) -> None:
    missing = [c for c in (*RAW_COLUMNS, ROW) if c not in columns]
    if missing:
        hint = (
            f" ('{ROW}' is each line's position in the original log: write the file with "
            "`tuijian spark prepare`, or add it yourself)"
            if ROW in missing
            else ""
        )
        raise SchemaError(f"{path}: raw log lacks column(s) {missing}{hint}; got {columns}")
