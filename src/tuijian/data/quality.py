"""Data-quality report on four dimensions: completeness, consistency, accuracy and timeliness.

:func:`quality_report` returns a JSON-ready dict. Each check has a figure (``value``), a ``threshold`` text
and a ``status`` of ``pass``, ``warn`` or ``fail``; :func:`write_html` renders a self-contained page with
inline SVG charts (events per day, long tail of item popularity, user activity).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DIMENSIONS: tuple[str, ...] = ("completeness", "consistency", "accuracy", "timeliness")
QUANTITY_KINDS = ("purchase", "add_to_cart")
ROBUST_Z = 3.5  # modified z-score threshold (Iglewicz & Hoaglin)


def _check(
    check_id: str,
    name: str,
    value: float | None,
    *,
    warn: float | None = None,
    fail: float | None = None,
    lower_is_worse: bool = False,
    unit: str = "share",
    display: str | None = None,
    detail: dict[str, Any] | None = None,
    status: str | None = None,
    threshold: str | None = None,
) -> dict[str, Any]:
    if status is None:
        status = "pass"
        if value is not None:

            def worse(limit: float | None) -> bool:
                return limit is not None and (value < limit if lower_is_worse else value > limit)

            status = "fail" if worse(fail) else "warn" if worse(warn) else "pass"
    if threshold is None:
        op = "<" if lower_is_worse else ">"
        fmt = (lambda x: f"{x:.2%}") if unit == "share" else (lambda x: f"{x:g} {unit}".strip())
        parts = [
            f"warn {op} {fmt(warn)}" if warn is not None else "",
            f"fail {op} {fmt(fail)}" if fail is not None else "",
        ]
        threshold = ", ".join(p for p in parts if p) or "informational"
    if display is None:
        display = (
            "n/a" if value is None else f"{value:.2%}" if unit == "share" else f"{value:,.4g} {unit}".strip()
        )
    return {
        "id": check_id,
        "name": name,
        "value": None if value is None else float(value),
        "unit": unit,
        "display": display,
        "threshold": threshold,
        "status": status,
        "detail": detail or {},
    }


def _share(n: int, total: int) -> float:
    return n / total if total else 0.0


def _count_display(n: int, total: int) -> str:
    return f"{_share(n, total):.2%} ({n:,} of {total:,})"


def _on_uniques(s: pd.Series, func: Any) -> pd.Series:
    """Boolean ``func`` (on a string Series) evaluated once per distinct value; missing values give True."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    flags = func(pd.Series(uniques, dtype=object).astype(str)).to_numpy(dtype=bool)
    out = np.ones(len(s), dtype=bool)
    out[codes >= 0] = flags[codes[codes >= 0]]
    return pd.Series(out, index=s.index)


def _blank(s: pd.Series) -> pd.Series:
    return _on_uniques(s, lambda u: u.str.strip().eq(""))


def _anon(s: pd.Series) -> pd.Series:
    return _on_uniques(s, lambda u: u.str.startswith("anon:")) & s.notna()


def _robust_outliers(counts: pd.Series, z: float = ROBUST_Z) -> tuple[pd.Series, float]:
    """Entries whose modified z-score of log(count) exceeds ``z``; returns them and the count threshold."""
    x = np.log(counts[counts > 0].astype(float))
    if len(x) < 3:
        return counts.iloc[:0], float("inf")
    med = float(np.median(x))
    mad = float(np.median(np.abs(x - med)))
    if mad == 0:
        return counts.iloc[:0], float("inf")
    limit = float(np.exp(med + z * mad / 0.6745))
    return counts[counts > limit], limit


def _shape(s: pd.Series) -> pd.Series:
    """Format pattern of ids: digit runs -> 9, letter runs -> A (``85123A`` -> ``9A``)."""
    return s.str.replace(r"[0-9]+", "9", regex=True).str.replace(r"[A-Za-z]+", "A", regex=True)


def _id_format(ids: pd.Series, what: str) -> dict[str, Any]:
    uniq = pd.Series(ids.dropna().astype(str).unique())
    shapes = _shape(uniq).value_counts()
    rare = shapes[shapes < max(1, 0.01 * len(uniq))]
    rare_ids = uniq[_shape(uniq).isin(rare.index)]
    norm = uniq.str.strip().str.upper()
    variants = int(len(uniq) - norm.nunique())
    return _check(
        f"{what}_id_format",
        f"{what.capitalize()} ids in a rare format (shape used by < 1 % of ids)",
        _share(len(rare_ids), len(uniq)),
        warn=0.001,
        fail=0.02,
        display=_count_display(len(rare_ids), len(uniq)),
        detail={
            "top_shapes": {k: int(v) for k, v in shapes.head(5).items()},
            "rare_examples": rare_ids.head(15).tolist(),
            "case_or_space_variants": variants,
        },
    )


def _completeness(ev: pd.DataFrame, items: pd.DataFrame | None, reviews: pd.DataFrame | None) -> list[dict]:
    n = len(ev)
    out = []
    not_search = ev["kind"] != "search"
    for col, label in (("user", "user"), ("item", "item"), ("kind", "kind"), ("ts", "timestamp")):
        miss = _blank(ev[col]) if col != "ts" else ev[col].isna()
        if col == "item":
            miss = miss & not_search
        out.append(
            _check(
                f"missing_{col}",
                f"Events with no {label}",
                _share(int(miss.sum()), n),
                warn=0,
                fail=0.01,
                display=_count_display(int(miss.sum()), n),
            )
        )
    miss_val = int(ev["value"].isna().sum())
    out.append(
        _check(
            "missing_value",
            "Events with no value",
            _share(miss_val, n),
            warn=0,
            fail=0.05,
            display=_count_display(miss_val, n),
        )
    )
    no_sess = int(_blank(ev["session"]).sum())
    out.append(
        _check(
            "missing_session",
            "Events with no session id",
            _share(no_sess, n),
            warn=0.5,
            display=_count_display(no_sess, n),
        )
    )
    anon = _anon(ev["user"])
    out.append(
        _check(
            "anonymous_share",
            "Events by anonymous users (anon:<session>)",
            _share(int(anon.sum()), n),
            warn=0.10,
            fail=0.50,
            display=_count_display(int(anon.sum()), n),
            detail={"anonymous_users": int(ev.loc[anon, "user"].nunique())},
        )
    )
    texty = ev["kind"].isin(["review", "search"])
    if texty.any():
        nt = int((texty & _blank(ev["text"])).sum())
        out.append(
            _check(
                "missing_text",
                "Review/search events with no text",
                _share(nt, int(texty.sum())),
                warn=0.1,
                fail=0.5,
                display=_count_display(nt, int(texty.sum())),
            )
        )
    if items is not None and len(items):
        for col in ("title", "description", "category", "brand", "price"):
            if col in items.columns:
                m = int((items[col].isna() if col == "price" else _blank(items[col])).sum())
                fail = 0.5 if col in ("title", "price") else None  # many shops have no brands/descriptions
                out.append(
                    _check(
                        f"catalog_missing_{col}",
                        f"Catalog items with no {col}",
                        _share(m, len(items)),
                        warn=0.05,
                        fail=fail,
                        display=_count_display(m, len(items)),
                    )
                )
    if reviews is not None and len(reviews):
        col = "text" if "text" in reviews.columns else "review"
        m = int(_blank(reviews[col]).sum())
        out.append(
            _check(
                "reviews_missing_text",
                "Reviews with no text",
                _share(m, len(reviews)),
                warn=0.05,
                fail=0.5,
                display=_count_display(m, len(reviews)),
            )
        )
    return out


def _consistency(
    ev: pd.DataFrame, items: pd.DataFrame | None, prices: pd.Series | None, reviews: pd.DataFrame | None
) -> list[dict]:
    n = len(ev)
    out = []
    dup = int(ev.duplicated().sum())
    out.append(
        _check(
            "duplicate_events",
            "Exact duplicate events",
            _share(dup, n),
            warn=0,
            fail=0.01,
            display=_count_display(dup, n),
        )
    )
    out.append(_id_format(ev["user"][~_anon(ev["user"])], "user"))
    out.append(_id_format(ev["item"], "item"))
    ts = ev["ts"].array.asi8  # int64 ns; to_numpy() of tz-aware data makes slow Timestamp objects
    same_user = ev["user"].to_numpy()[1:] == ev["user"].to_numpy()[:-1]
    back = int((same_user & (ts[1:] < ts[:-1])).sum()) if n > 1 else 0
    out.append(
        _check(
            "event_order",
            "Events earlier than the previous event of the same user (as stored)",
            _share(back, max(1, int(same_user.sum()))),
            warn=0,
            fail=0.5,
            display=_count_display(back, int(same_user.sum())),
        )
    )
    if items is not None:
        catalog = set(items["item_id"].astype(str))
        used = pd.Series(ev["item"].dropna().astype(str).unique())
        missing = used[~used.isin(catalog)]
        out.append(
            _check(
                "items_not_in_catalog",
                "Items in events but not in the catalog",
                _share(len(missing), len(used)),
                warn=0,
                fail=0.01,
                display=_count_display(len(missing), len(used)),
                detail={"examples": missing.head(10).tolist()},
            )
        )
        unused = len(catalog - set(used))
        out.append(
            _check(
                "catalog_items_without_events",
                "Catalog items with no events",
                _share(unused, len(catalog)),
                warn=0.5,
                display=_count_display(unused, len(catalog)),
            )
        )
        dups = int(items["item_id"].astype(str).duplicated().sum())
        out.append(
            _check(
                "duplicate_catalog_ids",
                "Duplicate item ids in the catalog",
                float(dups),
                warn=0,
                fail=0,
                unit="items",
                display=f"{dups:,}",
            )
        )
    if prices is not None and prices.notna().any():
        frame = pd.DataFrame({"item": ev["item"].to_numpy(), "price": prices.to_numpy()})
        frame = frame[frame["price"] > 0]
        g = frame.groupby("item")["price"].agg(["min", "max", "median", "nunique"])
        ratio = g["max"] / g["min"]
        bad = ratio[ratio > 2].sort_values(ascending=False)
        out.append(
            _check(
                "price_disagreement",
                "Items whose unit price varies more than 2x across events",
                _share(len(bad), len(g)),
                warn=0.05,
                fail=0.25,
                display=_count_display(len(bad), len(g)),
                detail={
                    "items_with_several_prices": int((g["nunique"] > 1).sum()),
                    "worst": {k: round(float(v), 2) for k, v in bad.head(10).items()},
                },
            )
        )
    if reviews is not None and len(reviews):
        col = "text" if "text" in reviews.columns else "review"
        txt = reviews[col][~_blank(reviews[col])]
        d = int(txt.duplicated().sum())
        out.append(
            _check(
                "reviews_duplicate_text",
                "Reviews whose text repeats an earlier review",
                _share(d, len(txt)),
                warn=0.01,
                fail=0.1,
                display=_count_display(d, len(txt)),
            )
        )
    return out


def _accuracy(
    ev: pd.DataFrame,
    items: pd.DataFrame | None,
    prices: pd.Series | None,
    synthetic_ts: bool,
    as_of: pd.Timestamp,
) -> list[dict]:
    n = len(ev)
    out = []
    val = ev["value"].astype(float)
    nonfinite = int((~np.isfinite(val.fillna(0))).sum())
    out.append(
        _check(
            "non_finite_values",
            "Non-finite values (inf)",
            _share(nonfinite, n),
            warn=0,
            fail=0,
            display=_count_display(nonfinite, n),
        )
    )
    rating = ev["kind"] == "rating"
    if rating.any():
        bad = int((rating & ((val < 1) | (val > 5))).sum())
        out.append(
            _check(
                "rating_out_of_range",
                "Ratings outside 1..5",
                _share(bad, int(rating.sum())),
                warn=0,
                fail=0.01,
                display=_count_display(bad, int(rating.sum())),
                detail={
                    "distribution": {
                        str(k): int(v) for k, v in val[rating].value_counts().sort_index().items()
                    }
                },
            )
        )
    qty = ev["kind"].isin(QUANTITY_KINDS)
    if qty.any():
        nq = int(qty.sum())
        bad = int((qty & (val <= 0)).sum())
        out.append(
            _check(
                "non_positive_quantity",
                "Purchase/cart events with quantity <= 0",
                _share(bad, nq),
                warn=0,
                fail=0.01,
                display=_count_display(bad, nq),
            )
        )
        outl, limit = _robust_outliers(val[qty & (val > 0)])
        out.append(
            _check(
                "quantity_outliers",
                f"Quantities above the robust limit ({limit:,.0f})",
                _share(len(outl), nq),
                warn=0.01,
                fail=0.05,
                display=_count_display(len(outl), nq),
                detail={
                    "limit": round(limit, 2),
                    "max": float(val[qty].max()),
                    "top": sorted(map(float, outl.nlargest(5)), reverse=True),
                },
            )
        )
    for label, series in (
        ("catalog", items["price"] if items is not None and "price" in items else None),
        ("event", prices),
    ):
        if series is not None and series.notna().any():
            s = series.dropna()
            bad = int((s <= 0).sum())
            out.append(
                _check(
                    f"non_positive_{label}_price",
                    f"Non-positive {label} prices",
                    _share(bad, len(s)),
                    warn=0,
                    fail=0.01,
                    display=_count_display(bad, len(s)),
                )
            )
    if n:
        per_user = ev.loc[~_anon(ev["user"]), "user"].value_counts()
        heavy, limit = _robust_outliers(per_user)
        ev_share = _share(int(heavy.sum()), n)
        out.append(
            _check(
                "user_activity_outliers",
                f"Events from outlier users (> {limit:,.0f} events each)",
                ev_share,
                warn=0.05,
                fail=0.2,
                display=f"{ev_share:.2%} of events, {len(heavy):,} users",
                detail={
                    "users": {str(k): int(v) for k, v in heavy.head(10).items()},
                    "limit": round(limit, 1),
                },
            )
        )
    if not synthetic_ts and n:
        lo, hi = pd.Timestamp("1995-01-01", tz="UTC"), as_of + pd.Timedelta(days=1)
        bad = int(((ev["ts"] < lo) | (ev["ts"] > hi)).sum())
        out.append(
            _check(
                "implausible_timestamps",
                "Timestamps before 1995 or in the future",
                _share(bad, n),
                warn=0,
                fail=0.001,
                display=_count_display(bad, n),
            )
        )
    return out


def _timeliness(ev: pd.DataFrame, synthetic_ts: bool, as_of: pd.Timestamp) -> tuple[list[dict], dict]:
    if synthetic_ts:
        return [
            _check(
                "real_timestamps",
                "Events carry real timestamps",
                None,
                status="warn",
                display="no: ts is the position in each sequence",
                threshold="real time needed",
                detail={"note": "timeliness checks need real timestamps"},
            )
        ], {}
    ts = ev["ts"].dropna()
    if ts.empty:
        return [], {}
    days = ts.dt.floor("D").value_counts().sort_index()
    full = days.reindex(pd.date_range(days.index.min(), days.index.max(), freq="D"), fill_value=0)
    first, last = ts.min(), ts.max()
    span = (last - first).total_seconds() / 86400
    empty = full == 0
    runs = (empty != empty.shift()).cumsum()[empty]
    longest, gap_from, gap_to = 0, None, None
    if len(runs):
        sizes = runs.value_counts()
        longest = int(sizes.max())
        block = full.index[empty][runs == sizes.idxmax()]
        gap_from, gap_to = str(block[0].date()), str(block[-1].date())
    active = full[full > 0]
    fresh = (as_of - last).total_seconds() / 86400
    last_cov = float(active.iloc[-1] / active.median()) if len(active) else 0.0
    out = [
        _check(
            "date_range",
            "Span of the log",
            span,
            warn=30,
            lower_is_worse=True,
            unit="days",
            display=f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} ({span:,.1f} days)",
        ),
        _check(
            "events_per_day",
            "Median events per active day",
            float(active.median()),
            warn=1,
            lower_is_worse=True,
            unit="events",
            detail={
                "mean": round(float(active.mean()), 1),
                "min": int(active.min()),
                "max": int(active.max()),
                "active_days": len(active),
            },
        ),
        _check(
            "days_without_events",
            "Calendar days with no events",
            _share(int(empty.sum()), len(full)),
            warn=0.1,
            fail=0.5,
            display=_count_display(int(empty.sum()), len(full)),
        ),
        _check(
            "longest_gap",
            "Longest run of days with no events",
            float(longest),
            warn=3,
            fail=14,
            unit="days",
            detail={"from": gap_from, "to": gap_to},
        ),
        _check(
            "freshness",
            "Age of the newest event",
            fresh,
            warn=1,
            fail=7,
            unit="days",
            display=f"{fresh:,.1f} days before {as_of:%Y-%m-%d %H:%M} UTC",
        ),
        _check(
            "last_day_coverage",
            "Events on the last day / median active day (lag, truncated day)",
            last_cov,
            warn=0.5,
            fail=0.1,
            lower_is_worse=True,
            unit="ratio",
        ),
    ]
    series = {"dates": [str(d.date()) for d in full.index], "counts": [int(c) for c in full.to_numpy()]}
    return out, series


def _downsample_rank(counts: np.ndarray, max_points: int = 2000) -> dict[str, list]:
    ranks = np.arange(1, len(counts) + 1)
    if len(counts) > max_points:
        idx = np.unique(np.geomspace(1, len(counts), max_points).astype(int) - 1)
        return {"rank": ranks[idx].tolist(), "count": counts[idx].tolist()}
    return {"rank": ranks.tolist(), "count": counts.tolist()}


def quality_report(
    data: Any,
    items: pd.DataFrame | None = None,
    *,
    prices: pd.Series | None = None,
    reviews: pd.DataFrame | None = None,
    name: str | None = None,
    as_of: datetime | None = None,
    synthetic_ts: bool | None = None,
) -> dict[str, Any]:
    """Quality report of a :class:`~tuijian.data.datasets.Dataset` or of an events frame (plus catalog).

    ``prices`` (per-event unit prices, aligned with the events) enables the price checks; for a Dataset it
    is taken from ``event_attrs["price"]``. ``as_of`` (default now) is the reference for freshness.
    """
    report_obj = None
    if hasattr(data, "events"):
        ds = data
        events, items = ds.events, items if items is not None else ds.items
        reviews = reviews if reviews is not None else ds.reviews
        if prices is None and ds.event_attrs is not None and "price" in ds.event_attrs:
            prices = ds.event_attrs["price"]
        name = name or ds.name
        synthetic_ts = ds.meta.get("synthetic_ts", False) if synthetic_ts is None else synthetic_ts
        report_obj = ds.report
    else:
        events = data
    if not isinstance(events, pd.DataFrame):
        from tuijian.exceptions import ConfigError

        raise ConfigError(
            f"quality_report expects a Dataset or an events DataFrame, got {type(data).__name__}"
        )
    from tuijian.data.schema import validate_events_frame

    ev = validate_events_frame(events).reset_index(drop=True)
    if prices is not None:
        prices = pd.Series(np.asarray(prices, dtype=float))
    now = pd.Timestamp(as_of or datetime.now(UTC))
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    synthetic = bool(synthetic_ts)
    dims: dict[str, list[dict]] = {d: [] for d in DIMENSIONS}
    series: dict[str, Any] = {}
    if len(ev):
        dims["completeness"] = _completeness(ev, items, reviews)
        dims["consistency"] = _consistency(ev, items, prices, reviews)
        dims["accuracy"] = _accuracy(ev, items, prices, synthetic, now)
        dims["timeliness"], per_day = _timeliness(ev, synthetic, now)
        if per_day:
            series["events_per_day"] = per_day
        pop = ev["item"].value_counts().to_numpy()
        series["item_popularity"] = _downsample_rank(pop)
        series["user_activity"] = ev["user"].value_counts().to_numpy().tolist()[:50000]
    elif reviews is not None:
        dims["completeness"] = [c for c in _completeness(ev, None, reviews) if c["id"].startswith("reviews")]
        dims["consistency"] = [
            c for c in _consistency(ev, None, None, reviews) if c["id"].startswith("reviews")
        ]
    counts = {s: sum(c["status"] == s for d in dims.values() for c in d) for s in ("pass", "warn", "fail")}
    overview: dict[str, Any] = {
        "events": len(ev),
        "users": int(ev["user"].nunique()),
        "items": int(ev["item"].nunique()),
        "kinds": {str(k): int(v) for k, v in ev["kind"].value_counts().items()},
        "catalog_items": None if items is None else len(items),
        "reviews": None if reviews is None else len(reviews),
        "first_event": None if ev.empty else str(ev["ts"].min()),
        "last_event": None if ev.empty else str(ev["ts"].max()),
        "synthetic_timestamps": synthetic,
    }
    if len(ev):
        pop = ev["item"].value_counts()
        top = max(1, int(np.ceil(0.2 * len(pop))))
        overview["share_of_events_on_top_20pct_items"] = round(float(pop.iloc[:top].sum() / len(ev)), 4)
        overview["density"] = round(len(ev) / max(1, overview["users"] * overview["items"]), 6)
    if reviews is not None and len(reviews):
        for col in ("rating", "label", "cat"):
            if col in reviews.columns:
                overview[f"reviews_by_{col}"] = {
                    str(k): int(v) for k, v in reviews[col].value_counts().sort_index().items()
                }
    status = "fail" if counts["fail"] else "warn" if counts["warn"] else "pass"
    return {
        "dataset": name or "events",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "as_of": now.isoformat(),
        "status": status,
        "summary": counts,
        "overview": overview,
        "dimensions": dims,
        "series": series,
        "cleaning": report_obj.to_dict()
        if report_obj is not None and hasattr(report_obj, "to_dict")
        else None,
    }


def write_json(report: dict[str, Any], path: str | Path) -> Path:
    """Write the report as JSON (UTF-8, indented)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


# Rendering lives in quality_html; re-exported here so callers need one import.
from tuijian.data.quality_html import charts, write_html  # noqa: E402

__all__ = ["DIMENSIONS", "charts", "quality_report", "write_html", "write_json"]
