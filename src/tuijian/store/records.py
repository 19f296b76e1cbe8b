"""Turning frames and records into database rows (and back), with row-level validation.

Bad rows raise :class:`DataError` naming the row index and the field, so nothing
is dropped silently.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from tuijian.data.schema import Event, Item, User, validate_events_frame
from tuijian.exceptions import DataError

if TYPE_CHECKING:
    from tuijian.privacy.crypto import Keyring

_MAX_ID = 128
#: maps a user id as sent to the id stored (a keyed pseudonym, or the id itself)
UserKey = Callable[[str], str]


def now_us() -> int:
    return time.time_ns() // 1000


#: the microsecond range pandas' nanosecond timestamps can hold (1677-09-22 .. 2262-04-11)
_TS_MIN_US = int(pd.Timestamp.min.value // 1000) + 1
_TS_MAX_US = int(pd.Timestamp.max.value // 1000)


def us_to_datetime(values: Sequence[int] | np.ndarray) -> pd.Series:
    """UTC timestamps from microseconds. Values outside pandas' range (rows stored before ingestion
    bounded timestamps) are clipped to it, with a warning naming the count, so that one such row cannot
    break every reader; the stored value is left as it is."""
    us = np.asarray(values, dtype="int64")
    bad = (us < _TS_MIN_US) | (us > _TS_MAX_US)
    if bad.any():
        logging.getLogger("tuijian.store").warning(
            "stored timestamps outside 1677-2262 clipped when read; fix or delete those rows",
            extra={"rows": int(bad.sum())},
        )
        us = np.clip(us, _TS_MIN_US, _TS_MAX_US)
    return pd.Series(pd.to_datetime(us, unit="us", utc=True))


def format_validation_error(exc: ValidationError, row: int | None = None) -> list[dict[str, Any]]:
    """One entry per bad field: ``{"row": i, "field": "a.b", "error": msg, "input": value}``."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or _field_from_message(str(err.get("msg", "")))
        entry: dict[str, Any] = {"field": loc, "error": err.get("msg", "invalid")}
        if row is not None:
            entry["row"] = row
        if "input" in err and not isinstance(err["input"], dict):
            entry["input"] = err["input"]
        out.append(entry)
    return out


def _field_from_message(msg: str) -> str:
    """Whole-record checks (e.g. "item is required for view events") name their field in the message."""
    words = set(re.findall(r"[a-z_]+", msg.lower()))
    return next((f for f in ("item", "text", "value", "ts", "user") if f in words), "(row)")


def _raise_row_errors(errors: list[dict[str, Any]], what: str) -> None:
    if errors:
        shown = "; ".join(f"row {e.get('row')}: {e['field']}: {e['error']}" for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise DataError(
            f"{len({e.get('row') for e in errors})} bad {what} row(s): {shown}{more}", errors=errors
        )


def event_rows(
    events: pd.DataFrame | Iterable[Event | dict[str, Any]], user_key: UserKey | None = None
) -> list[dict[str, Any]]:
    """Database rows for ``events`` (a frame with the events columns, or Event models / dicts).

    ``user_key`` maps each user id to the id stored (see :mod:`tuijian.privacy.pseudonym`).
    """
    created = now_us()
    if isinstance(events, pd.DataFrame):
        return _event_rows_frame(events, created, user_key)
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for i, ev in enumerate(events):
        if not isinstance(ev, Event):
            try:
                ev = Event.model_validate(ev)
            except ValidationError as exc:
                errors.extend(format_validation_error(exc, i))
                continue
        rows.append(
            {
                "event_id": ev.event_id,
                "user_id": user_key(ev.user) if user_key is not None else ev.user,
                "item_id": ev.item,
                "kind": ev.kind.value,
                "value": float(ev.value),
                "ts": int(ev.ts.timestamp() * 1_000_000),
                "text": ev.text,
                "session": ev.session,
                "created_at": created,
            }
        )
    _raise_row_errors(errors, "event")
    return rows


def _event_rows_frame(df: pd.DataFrame, created: int, user_key: UserKey | None) -> list[dict[str, Any]]:
    event_ids = df["event_id"] if "event_id" in df.columns else None
    user_missing = pd.isna(df["user"].to_numpy()) if "user" in df.columns else None
    frame = validate_events_frame(df)
    n = len(frame)
    user = frame["user"].to_numpy(dtype=object)
    item = frame["item"].to_numpy(dtype=object)
    kind = frame["kind"].astype(str).to_numpy(dtype=object)
    value = frame["value"].to_numpy(dtype=np.float64)
    ts = frame["ts"].dt.as_unit("us").astype("int64").to_numpy()
    text = frame["text"].to_numpy(dtype=object)
    session = frame["session"].to_numpy(dtype=object)
    eids = event_ids.to_numpy(dtype=object) if event_ids is not None else np.full(n, None, dtype=object)

    item_missing = pd.isna(item) | (item == "")
    bad: list[dict[str, Any]] = []
    for r in np.flatnonzero(item_missing & (kind != "search"))[:100]:
        bad.append({"row": int(r), "field": "item", "error": f"item is required for {kind[r]} events"})
    for r in np.flatnonzero(~np.isfinite(value))[:100]:
        bad.append({"row": int(r), "field": "value", "error": "value must be a finite number"})
    for r in np.flatnonzero(user_missing | (user == ""))[:100]:
        bad.append({"row": int(r), "field": "user", "error": "user is required"})
    for r in np.flatnonzero(pd.isna(frame["ts"].to_numpy()))[:100]:
        bad.append({"row": int(r), "field": "ts", "error": "ts is required"})
    _raise_row_errors(sorted(bad, key=lambda e: e["row"]), "event")

    def clean(a: np.ndarray) -> np.ndarray:
        a = a.copy()
        a[pd.isna(a)] = None
        return a

    item, text, session, eids = clean(item), clean(text), clean(session), clean(eids)
    item[item == ""] = None
    if user_key is not None:
        many = getattr(user_key, "many", None)
        user = many(user) if many is not None else np.asarray([user_key(u) for u in user], dtype=object)
    keys = ("event_id", "user_id", "item_id", "kind", "value", "ts", "text", "session", "created_at")
    cols = (eids, user, item, kind, value.tolist(), ts.tolist(), text, session, [created] * n)
    return [dict(zip(keys, row, strict=True)) for row in zip(*cols, strict=True)]


def _category_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        sep = ">" if ">" in value else "|"  # "A > B" is a path, "a|b" a set of categories
        parts = [p.strip() for p in value.split(sep)]
        return [p for p in parts if p]
    return [str(v) for v in value]


def item_rows(items: pd.DataFrame | Iterable[Item | dict[str, Any]]) -> list[dict[str, Any]]:
    records: Iterable[Any]
    if isinstance(items, pd.DataFrame):
        df = items.rename(columns={"item": "item_id"}) if "item_id" not in items.columns else items
        if "item_id" not in df.columns:
            raise DataError(f"items frame needs an item_id column; got {list(items.columns)}")
        keep = [
            c
            for c in ("item_id", "title", "description", "brand", "category", "price", "attributes")
            if c in df.columns
        ]
        records = df[keep].to_dict("records")
    else:
        records = items
    rows, errors, updated = [], [], now_us()
    for i, rec in enumerate(records):
        if not isinstance(rec, Item):
            rec = dict(rec)
            for key in ("title", "description", "brand"):
                if rec.get(key) is None or (isinstance(rec.get(key), float) and np.isnan(rec[key])):
                    rec[key] = ""
            rec["category"] = _category_list(rec.get("category"))
            if rec.get("price") is not None and isinstance(rec["price"], float) and np.isnan(rec["price"]):
                rec["price"] = None
            if rec.get("attributes") is None:
                rec["attributes"] = {}
            rec["item_id"] = str(rec["item_id"]) if rec.get("item_id") is not None else ""
            try:
                rec = Item.model_validate(rec)
            except ValidationError as exc:
                errors.extend(format_validation_error(exc, i))
                continue
        rows.append(
            {
                "item_id": rec.item_id,
                "title": rec.title,
                "description": rec.description,
                "brand": rec.brand,
                "category": json.dumps(rec.category, ensure_ascii=False),
                "price": rec.price,
                "attributes": json.dumps(rec.attributes, ensure_ascii=False, default=str),
                "updated_at": updated,
            }
        )
    _raise_row_errors(errors, "item")
    return rows


def user_rows(
    users: pd.DataFrame | Iterable[User | dict[str, Any]],
    user_key: UserKey | None = None,
    keyring: Keyring | None = None,
) -> list[dict[str, Any]]:
    """Database rows for user profiles.

    The personal fields (``email``, ``name``, ``address``; in ``attributes`` or beside it) are taken out of
    the attributes and stored encrypted with ``keyring`` in the ``pii`` column, bound to the stored user id.
    Without a keyring a profile carrying them is refused (:class:`DataError`): they are never stored in clear.
    """
    from tuijian.privacy.crypto import PII_FIELDS, split_pii

    if isinstance(users, pd.DataFrame):
        df = users.rename(columns={"user": "user_id"}) if "user_id" not in users.columns else users
        if "user_id" not in df.columns:
            raise DataError(f"users frame needs a user_id column; got {list(users.columns)}")
        extra = [c for c in df.columns if c not in ("user_id", "attributes")]
        records: Iterable[Any] = [
            {"user_id": str(r["user_id"]), "attributes": r.get("attributes") or {k: r[k] for k in extra}}
            for r in df.to_dict("records")
        ]
    else:
        records = users
    rows, errors, updated = [], [], now_us()
    for i, rec in enumerate(records):
        top: dict[str, Any] = {}
        if not isinstance(rec, User):
            if isinstance(rec, dict):
                top = {k: rec[k] for k in PII_FIELDS if k in rec}
                rec = {k: v for k, v in rec.items() if k not in PII_FIELDS}
            try:
                rec = User.model_validate(rec)
            except ValidationError as exc:
                errors.extend(format_validation_error(exc, i))
                continue
        attributes, pii = split_pii({**rec.attributes, **top})
        stored_id = user_key(rec.user_id) if user_key is not None else rec.user_id
        token = None
        if pii:
            if keyring is None:
                errors.extend(
                    {
                        "row": i,
                        "field": f"attributes.{name}",
                        "error": "personal data is only stored encrypted: set TUIJIAN_PII_KEYS "
                        "(`tuijian privacy new-key`) or leave the field out",
                    }
                    for name in pii
                )
                continue
            plain = json.dumps(pii, ensure_ascii=False, default=str).encode()
            token = keyring.encrypt(plain, pii_associated_data(stored_id))
        rows.append(
            {
                "user_id": stored_id,
                "attributes": json.dumps(attributes, default=str),
                "updated_at": updated,
                "pii": token,
            }
        )
    _raise_row_errors(errors, "user")
    return rows


def pii_associated_data(stored_user_id: str) -> bytes:
    """What a profile's encrypted personal fields are bound to: the table, column and stored user id."""
    return b"tuijian/users.pii/" + stored_user_id.encode("utf-8", "surrogatepass")


def events_frame_from_rows(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Frame with ``id, event_id, user, item, kind, value, ts, text, session`` from selected rows."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * 9
    return pd.DataFrame(
        {
            "id": np.asarray(cols[0], dtype=np.int64),
            "event_id": pd.Series(cols[1], dtype=object),
            "user": pd.Series(cols[2], dtype=object),
            "item": pd.Series(cols[3], dtype=object),
            "kind": pd.Series(cols[4], dtype=object),
            "value": np.asarray(cols[5], dtype=np.float64),
            "ts": us_to_datetime(cols[6]) if rows else pd.Series([], dtype="datetime64[ns, UTC]"),
            "text": pd.Series(cols[7], dtype=object),
            "session": pd.Series(cols[8], dtype=object),
        }
    )
