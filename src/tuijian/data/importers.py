"""Import a shop's own behaviour log (CSV, JSONL or Parquet, gzip allowed) with a column mapping.

Files are streamed in chunks (pandas ``chunksize`` for CSV, line iteration for JSONL, ``iter_batches``
for Parquet) with a tqdm progress bar on stderr for big files. Every malformed row is counted by
reason and a sample is kept with its line number; ``valid_rows + malformed_rows == rows_read``.

Example::

    events, report = import_events(
        "events.csv",
        {"user": "visitorid", "item": "itemid", "ts": "timestamp", "kind": "event"},
        kind_map={"addtocart": "add_to_cart", "transaction": "purchase"},
    )

A mapping value starting with ``=`` is a constant (``{"kind": "=purchase"}``). Mapping keys that are not
event columns (for example ``price``) are imported as extra columns; they are returned in
``ImportResult.extras`` aligned with the events.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from tuijian.data.schema import EVENT_COLUMNS, EventKind, empty_events
from tuijian.exceptions import ConfigError, DataError

FileFormat = Literal["csv", "jsonl", "parquet"]
KINDS = frozenset(k.value for k in EventKind)

#: Reasons a row is rejected, in the order they are checked (a row counts once, for the first).
REASONS: tuple[str, ...] = (
    "unparseable JSON line",
    "missing user",
    "unknown kind",
    "missing item",
    "bad timestamp",
    "non-numeric value",
)

#: Column names tried, in order, when a mapping entry is not given.
AUTO_COLUMNS: dict[str, tuple[str, ...]] = {
    "user": (
        "user",
        "user_id",
        "userid",
        "customer_id",
        "customerid",
        "visitorid",
        "visitor_id",
        "client_id",
    ),
    "item": ("item", "item_id", "itemid", "product_id", "productid", "sku", "stockcode", "asin"),
    "kind": ("kind", "event", "event_type", "eventtype", "action", "type"),
    "value": ("value", "quantity", "qty", "rating"),
    "ts": ("ts", "timestamp", "time", "event_time", "datetime", "date", "created_at", "invoicedate"),
    "text": ("text", "query", "review", "review_text"),
    "session": ("session", "session_id", "sessionid", "invoiceno", "order_id"),
}

PROGRESS_MIN_BYTES = 20_000_000


@dataclass
class ImportReport:
    """What an import read: counts, malformed rows by reason and a sample of them."""

    path: str
    format: str
    mapping: dict[str, str]
    rows_read: int = 0
    valid_rows: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
    anonymised: int = 0

    @property
    def malformed_rows(self) -> int:
        return int(sum(self.malformed.values()))

    def check(self) -> None:
        """Raise :class:`DataError` if a row was lost (valid + malformed != read)."""
        if self.valid_rows + self.malformed_rows != self.rows_read:
            raise DataError(
                f"import of {self.path} lost rows: read {self.rows_read}, valid {self.valid_rows}, "
                f"malformed {self.malformed_rows}"
            )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["malformed_rows"] = self.malformed_rows
        return out

    def __str__(self) -> str:
        parts = ", ".join(f"{r}: {n}" for r, n in self.malformed.items() if n)
        return (
            f"{self.path}: read {self.rows_read} rows, {self.valid_rows} valid, "
            f"{self.malformed_rows} malformed" + (f" ({parts})" if parts else "")
        )


@dataclass
class ImportResult:
    """Valid events, their extra mapped columns (same index) and the import report."""

    events: pd.DataFrame
    extras: pd.DataFrame
    report: ImportReport

    def __iter__(self) -> Iterator[Any]:  # allows ``events, report = import_events(...)``
        return iter((self.events, self.report))


def detect_format(path: str | Path) -> FileFormat:
    """``csv``, ``jsonl`` or ``parquet`` from the file name (``.gz`` is looked through)."""
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise ConfigError(
        f"cannot tell the format of {str(path)!r}; expected .csv, .jsonl or .parquet "
        "(optionally .gz), or pass format='csv'|'jsonl'|'parquet'"
    )


def parse_mapping(text: str) -> dict[str, str]:
    """Parse ``"user=customer_id,item=sku,kind==purchase"`` into a mapping dict."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, col = part.partition("=")
        if not sep or not key.strip() or not col.strip():
            raise ConfigError(f"bad mapping entry {part!r}; expected FIELD=COLUMN, e.g. user=customer_id")
        out[key.strip()] = col.strip()
    return out


def resolve_mapping(
    columns: list[str], mapping: dict[str, str] | None, kind: str | None, *, strict: bool = True
) -> dict[str, str]:
    """Complete a mapping: explicit entries first, then well-known column names; checks required fields."""
    mapping = dict(mapping or {})
    lower = {c.lower(): c for c in columns}
    for target, names in AUTO_COLUMNS.items():
        if target in mapping or (target == "kind" and kind):
            continue
        for name in names:
            if name in lower and lower[name] not in mapping.values():
                mapping[target] = lower[name]
                break
    if kind:
        mapping["kind"] = "=" + kind
    for required in ("user", "item", "ts", "kind"):
        if required not in mapping:
            hint = "or pass kind=... (a constant kind)" if required == "kind" else ""
            raise ConfigError(
                f"mapping has no {required!r}: none of the columns {columns} was recognised; "
                f"pass {required}=COLUMN in the mapping {hint}".strip()
            )
    absent = [c for c in mapping.values() if not c.startswith("=") and c not in columns]
    if absent and strict:
        raise ConfigError(f"mapped column(s) {absent} not in the file; its columns are {columns}")
    return mapping


class _CountingReader(io.RawIOBase):
    """Wraps a binary file, reporting the bytes read from disk to a tqdm bar."""

    def __init__(self, raw: IO[bytes], bar: Any) -> None:
        self._raw, self._bar, self._last = raw, bar, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._raw.readinto(b)  # type: ignore[attr-defined]
        if self._bar is not None:
            pos = self._raw.tell()
            self._bar.update(pos - self._last)
            self._last = pos
        return n


def _open_binary(path: Path, bar: Any) -> IO[bytes]:
    raw = _CountingReader(open(path, "rb"), bar)  # noqa: SIM115 - closed by the caller
    buffered = io.BufferedReader(raw, buffer_size=1 << 20)
    return gzip.GzipFile(fileobj=buffered) if path.name.lower().endswith(".gz") else buffered  # type: ignore[return-value]


def _csv_chunks(
    path: Path, chunksize: int, bar: Any, sep: str | None
) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    fh = _open_binary(path, bar)
    try:
        sep = sep or ("\t" if path.name.lower().removesuffix(".gz").endswith(".tsv") else ",")
        start = 2  # line 1 is the header
        for chunk in pd.read_csv(
            fh,
            chunksize=chunksize,
            dtype=str,
            keep_default_na=False,
            sep=sep,
            na_values=[""],
            encoding="utf-8",
        ):
            yield chunk, np.arange(start, start + len(chunk))
            start += len(chunk)
    finally:
        fh.close()


def _jsonl_chunks(path: Path, chunksize: int, bar: Any) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    fh = io.TextIOWrapper(_open_binary(path, bar), encoding="utf-8")
    try:
        records: list[dict[str, Any]] = []
        lines: list[int] = []
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not a JSON object")
            except ValueError:
                obj = {"__bad_json__": line.strip()[:200]}
            records.append(obj)
            lines.append(lineno)
            if len(records) >= chunksize:
                yield pd.json_normalize(records), np.asarray(lines)
                records, lines = [], []
        if records:
            yield pd.json_normalize(records), np.asarray(lines)
    finally:
        fh.close()


def _parquet_chunks(path: Path, chunksize: int, bar: Any) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    start = 1
    for batch in pf.iter_batches(batch_size=chunksize):
        df = batch.to_pandas()
        if bar is not None:
            bar.update(len(df))
        yield df, np.arange(start, start + len(df))
        start += len(df)


def _parse_ts(col: pd.Series, ts_unit: str | None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(col):
        return col.dt.tz_localize("UTC") if col.dt.tz is None else col.dt.tz_convert("UTC")
    num = pd.to_numeric(col, errors="coerce")
    if col.notna().any() and num.notna().sum() >= 0.9 * col.notna().sum():  # a numeric (epoch) column
        unit = ts_unit or ("ms" if num.abs().max() > 1e11 else "s")
        return pd.to_datetime(num, unit=unit, utc=True, errors="coerce")
    text = col.astype(object).where(col.notna(), None)
    ts = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    retry = ts.isna() & col.notna()
    if retry.any():
        ts[retry] = pd.to_datetime(text[retry], utc=True, errors="coerce", format="mixed")
    return ts


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | s.astype(str).str.strip().eq("")


def _convert_chunk(
    df: pd.DataFrame,
    lines: np.ndarray,
    mapping: dict[str, str],
    kind_map: dict[str, str],
    missing_user: str,
    ts_unit: str | None,
    report: ImportReport,
    sample_size: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(df)

    def col(name: str) -> pd.Series:
        src = mapping.get(name)
        if src is None:
            return pd.Series([None] * n, index=df.index, dtype=object)
        if src.startswith("="):
            return pd.Series([src[1:]] * n, index=df.index, dtype=object)
        return df[src] if src in df.columns else pd.Series([None] * n, index=df.index, dtype=object)

    reason = pd.Series("", index=df.index, dtype=object)
    if "__bad_json__" in df.columns:
        reason[df["__bad_json__"].notna()] = "unparseable JSON line"

    user = col("user").astype(object)
    session = col("session").astype(object)
    no_user = _blank(user)
    if missing_user == "anonymous":
        can = no_user & ~_blank(session)
        user = user.where(~can, "anon:" + session.astype(str))
        report.anonymised += int((can & reason.eq("")).sum())
        no_user = no_user & ~can
    reason[(reason == "") & no_user] = "missing user"

    raw_kind = col("kind").astype(object).where(lambda s: s.notna(), None)
    kind = raw_kind.astype(str).str.strip().map(lambda k: kind_map.get(k, kind_map.get(k.lower(), k.lower())))
    reason[(reason == "") & ~kind.isin(KINDS)] = "unknown kind"

    item = col("item").astype(object)
    text = col("text").astype(object)
    search_ok = kind.eq("search") & ~_blank(text)
    reason[(reason == "") & _blank(item) & ~search_ok] = "missing item"

    ts_raw = col("ts")
    ts = _parse_ts(ts_raw, ts_unit)
    reason[(reason == "") & ts.isna()] = "bad timestamp"

    value_raw = col("value")
    value = pd.to_numeric(value_raw, errors="coerce")
    value = value.where(np.isfinite(value.astype(float)), np.nan)
    reason[(reason == "") & value.isna() & ~_blank(value_raw)] = "non-numeric value"
    value = value.fillna(1.0)

    bad = reason != ""
    for r, cnt in reason[bad].value_counts().items():
        report.malformed[r] = report.malformed.get(r, 0) + int(cnt)
    if bad.any() and len(report.samples) < sample_size:
        for idx in reason.index[bad][: sample_size - len(report.samples)]:
            raw = {k: v for k, v in df.loc[idx].items() if pd.notna(v)}
            report.samples.append(
                {
                    "line": int(lines[df.index.get_loc(idx)]),
                    "reason": reason[idx],
                    "row": {k: str(v)[:200] for k, v in raw.items()},
                }
            )
    ok = ~bad
    events = pd.DataFrame(
        {
            "user": user[ok].astype(str).str.strip(),
            "item": item[ok]
            .where(~_blank(item[ok]), None)
            .map(lambda v: None if v is None else str(v).strip()),
            "kind": kind[ok],
            "value": value[ok].astype("float64"),
            "ts": ts[ok],
            "text": text[ok].where(text[ok].notna(), None),
            "session": session[ok]
            .where(session[ok].notna(), None)
            .map(lambda v: None if v is None else str(v)),
        }
    )[list(EVENT_COLUMNS)]
    extra_keys = [k for k in mapping if k not in EVENT_COLUMNS]
    extras = pd.DataFrame({k: col(k)[ok] for k in extra_keys}, index=events.index)
    for k in extra_keys:
        num = pd.to_numeric(extras[k], errors="coerce")
        if num.notna().sum() == extras[k].notna().sum():
            extras[k] = num
    return events, extras


def import_events(
    path: str | os.PathLike[str],
    mapping: dict[str, str] | None = None,
    *,
    kind: str | None = None,
    kind_map: dict[str, str] | None = None,
    format: FileFormat | None = None,
    chunksize: int = 100_000,
    missing_user: Literal["reject", "anonymous"] = "reject",
    ts_unit: str | None = None,
    sep: str | None = None,
    progress: bool | None = None,
    sample_size: int = 20,
) -> ImportResult:
    """Stream ``path`` into an events frame; see the module docstring.

    ``kind`` sets a constant event kind; ``kind_map`` renames the file's kind values (``{"transaction":
    "purchase"}``); ``missing_user="anonymous"`` keeps rows without a user as ``anon:<session>`` when they
    have a session. Empty ``value`` cells default to 1. Numeric timestamps are unix seconds, or
    milliseconds when larger than 1e11 (override with ``ts_unit``). ``progress=None`` shows a bar for
    files over 20 MB.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {str(path)!r}")
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"kind={kind!r} is not an event kind; expected one of {sorted(KINDS)}")
    if missing_user not in ("reject", "anonymous"):
        raise ConfigError(f"missing_user={missing_user!r}; expected 'reject' or 'anonymous'")
    if chunksize < 1:
        raise ConfigError(f"chunksize must be >= 1, got {chunksize}")
    fmt = format or detect_format(path)
    kind_map = {str(k): str(v) for k, v in (kind_map or {}).items()}
    bad_targets = sorted(set(kind_map.values()) - KINDS)
    if bad_targets:
        raise ConfigError(f"kind_map targets {bad_targets} are not event kinds; expected {sorted(KINDS)}")

    show = progress if progress is not None else path.stat().st_size > PROGRESS_MIN_BYTES
    bar = None
    if show:
        from tqdm import tqdm

        total = path.stat().st_size if fmt != "parquet" else None
        if fmt == "parquet":
            import pyarrow.parquet as pq

            total = pq.ParquetFile(path).metadata.num_rows
        bar = tqdm(
            total=total,
            unit="B" if fmt != "parquet" else "rows",
            unit_scale=True,
            desc=f"import {path.name}",
            file=sys.stderr,
        )
    chunks = {
        "csv": lambda: _csv_chunks(path, chunksize, bar, sep),
        "jsonl": lambda: _jsonl_chunks(path, chunksize, bar),
        "parquet": lambda: _parquet_chunks(path, chunksize, bar),
    }[fmt]()

    report = ImportReport(str(path), fmt, dict(mapping or {}))
    parts: list[pd.DataFrame] = []
    extra_parts: list[pd.DataFrame] = []
    start = time.perf_counter()
    resolved: dict[str, str] | None = None
    try:
        for df, lines in chunks:
            if resolved is None:
                cols = [c for c in df.columns if c != "__bad_json__"]
                resolved = resolve_mapping(cols, mapping, kind, strict=fmt != "jsonl")
                report.mapping = resolved
            report.rows_read += len(df)
            report.chunks += 1
            ev, ex = _convert_chunk(
                df.reset_index(drop=True),
                lines,
                resolved,
                kind_map,
                missing_user,
                ts_unit,
                report,
                sample_size,
            )
            parts.append(ev)
            extra_parts.append(ex)
    finally:
        if bar is not None:
            bar.close()
    report.malformed = {r: report.malformed[r] for r in REASONS if r in report.malformed}
    events = pd.concat(parts, ignore_index=True) if parts else empty_events()
    extras = pd.concat(extra_parts, ignore_index=True) if extra_parts else pd.DataFrame(index=events.index)
    report.valid_rows = len(events)
    report.seconds = round(time.perf_counter() - start, 3)
    report.check()
    if len(events):
        events["ts"] = pd.to_datetime(events["ts"], utc=True)
    return ImportResult(events, extras, report)


# ----------------------------------------------------------------------------- catalogs
#: Catalog columns and the file column names tried, in order, when a catalog mapping entry is not given.
CATALOG_COLUMNS: dict[str, tuple[str, ...]] = {
    "item_id": ("item_id", "itemid", "item", "sku", "product_id", "productid", "stockcode", "asin", "id"),
    "title": ("title", "name", "product_name", "item_name"),
    "description": ("description", "desc", "details", "product_description"),
    "brand": ("brand", "manufacturer", "maker"),
    "category": ("category", "categories", "category_path", "department"),
    "price": ("price", "unit_price", "unitprice", "list_price"),
}

#: Reasons a catalog row is rejected, in the order they are checked.
CATALOG_REASONS: tuple[str, ...] = ("missing item id", "non-numeric price", "duplicate item id")


def _read_table(path: Path, fmt: FileFormat, sep: str | None) -> pd.DataFrame:
    """A whole (small) table as strings where the format allows it; gzip is looked through."""
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "jsonl":
        frames = [df for df, _ in _jsonl_chunks(path, 1_000_000, None)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frames = [df for df, _ in _csv_chunks(path, 1_000_000, None, sep)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def import_catalog(
    path: str | os.PathLike[str],
    mapping: dict[str, str] | None = None,
    *,
    format: FileFormat | None = None,
    sep: str | None = None,
    sample_size: int = 20,
) -> tuple[pd.DataFrame, ImportReport]:
    """Read an item catalog (CSV, JSONL or Parquet, gzip allowed) into the catalog schema.

    Returns ``(items, report)``: ``items`` has ``item_id, title, description, brand, category, price``
    (missing columns empty) plus the file's other columns; ``mapping`` maps those fields to file
    columns (``{"item_id": "sku", "title": "name"}``; ``"=..."`` is a constant) and fields not given
    are guessed from common column names. A row without an item id or with a price that is not a
    number is malformed, and so is a repeated item id (the first row is kept); each is counted by
    reason in the report, never dropped silently.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such catalog file: {str(path)!r}")
    fmt = format or detect_format(path)
    raw = _read_table(path, fmt, sep).reset_index(drop=True)
    columns = [str(c) for c in raw.columns if c != "__bad_json__"]
    given = dict(mapping or {})
    unknown = sorted(set(given) - set(CATALOG_COLUMNS))
    extra_fields = unknown  # mapped fields that are not catalog columns become extra columns
    resolved = dict(given)
    lower = {c.lower(): c for c in columns}
    for target, names in CATALOG_COLUMNS.items():
        if target in resolved:
            continue
        for name in names:
            if name in lower and lower[name] not in resolved.values():
                resolved[target] = lower[name]
                break
    if "item_id" not in resolved:
        raise ConfigError(
            f"catalog {str(path)!r}: no item id column among {columns}; "
            "pass item_id=COLUMN in the catalog mapping (e.g. --catalog-map item_id=sku)"
        )
    absent = [c for c in resolved.values() if not c.startswith("=") and c not in columns]
    if absent:
        raise ConfigError(
            f"catalog {str(path)!r}: mapped column(s) {absent} not in the file; its columns are {columns}"
        )
    report = ImportReport(str(path), fmt, resolved, rows_read=len(raw), chunks=1)
    start = time.perf_counter()

    def col(name: str) -> pd.Series:
        src = resolved.get(name)
        if src is None:
            return pd.Series([None] * len(raw), index=raw.index, dtype=object)
        if src.startswith("="):
            return pd.Series([src[1:]] * len(raw), index=raw.index, dtype=object)
        return raw[src]

    reason = pd.Series("", index=raw.index, dtype=object)
    if "__bad_json__" in raw.columns:
        reason[raw["__bad_json__"].notna()] = "unparseable JSON line"
    item_id = col("item_id").map(lambda v: None if v is None or pd.isna(v) else str(v).strip())
    reason[(reason == "") & (item_id.isna() | item_id.eq(""))] = "missing item id"
    price_raw = col("price")
    price = pd.to_numeric(price_raw, errors="coerce").astype("float64")
    price = price.where(np.isfinite(price), np.nan)
    reason[(reason == "") & price.isna() & ~_blank(price_raw)] = "non-numeric price"
    pending = reason == ""
    reason[pending & item_id.where(pending).duplicated(keep="first")] = "duplicate item id"
    bad = reason != ""
    for r, cnt in reason[bad].value_counts().items():
        report.malformed[str(r)] = report.malformed.get(str(r), 0) + int(cnt)
    for idx in reason.index[bad][:sample_size]:
        row = {k: str(v)[:200] for k, v in raw.loc[idx].items() if pd.notna(v)}
        line = int(idx) + (2 if fmt == "csv" else 1)
        report.samples.append({"line": line, "reason": reason[idx], "row": row})
    order = ("unparseable JSON line", *CATALOG_REASONS)
    report.malformed = {r: report.malformed[r] for r in order if r in report.malformed}
    ok = ~bad
    items = pd.DataFrame({"item_id": item_id[ok].astype(str)})
    for field_name in ("title", "description", "brand", "category"):
        items[field_name] = col(field_name)[ok].map(lambda v: "" if v is None or pd.isna(v) else str(v))
    items["price"] = price[ok]
    used = {c for c in resolved.values() if not c.startswith("=")}
    for k in extra_fields:
        items[k] = col(k)[ok]
    for c in columns:
        if c not in used and c not in items.columns:
            items[c] = raw.loc[ok, c]
    report.valid_rows = len(items)
    report.seconds = round(time.perf_counter() - start, 3)
    report.check()
    return items.reset_index(drop=True), report
