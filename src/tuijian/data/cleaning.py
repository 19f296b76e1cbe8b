"""Cleaning of the UCI Online Retail log with an itemised account of every row.

Each raw row is either kept (possibly changed) or removed for exactly one reason, the first rule in
:data:`REMOVAL_RULES` that applies. :class:`CleaningReport` holds the counts and checks
``input_rows == kept_rows + sum(removed.values())`` (it raises :class:`DataError` otherwise).
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tuijian.data.schema import EVENT_COLUMNS
from tuijian.exceptions import DataError, SchemaError

RAW_COLUMNS: tuple[str, ...] = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)

#: A product StockCode: five digits, optionally followed by one or two letters (after upper-casing).
PRODUCT_CODE = re.compile(r"\d{5}[A-Z]{0,2}")

#: Removal reasons, in the order they are applied, with the rule each implements.
REMOVAL_RULES: dict[str, str] = {
    "malformed_row": "InvoiceNo or StockCode empty, or Quantity/UnitPrice/InvoiceDate not parseable",
    "duplicate": "exact duplicate of an earlier row (all 8 columns equal); the first copy is kept",
    "non_product_code": "StockCode (upper-cased) is not 5 digits + up to 2 letters: POST, DOT, M, C2, D, S, "
    "B, CRUK, PADS, AMAZONFEE, BANK CHARGES, gift_0001_*, DCGS* (fees, postage, discounts, vouchers)",
    "stock_adjustment": "negative Quantity on an invoice that is not a cancellation (no C prefix): "
    "warehouse write-offs ('damaged', 'check', '?'), all with price 0",
    "non_positive_price": "UnitPrice <= 0",
    "cancellation_netted": "cancellation line (C invoice) fully netted against earlier purchases of the "
    "same customer and StockCode (latest purchase first)",
    "cancellation_partly_netted": "cancellation line only partly netted: the earlier purchases did not "
    "cover the cancelled quantity (the rest was bought before the log starts)",
    "cancellation_unmatched": "cancellation line with no earlier purchase of that customer and StockCode "
    "(or with no CustomerID, so it cannot be matched)",
    "purchase_fully_cancelled": "purchase line whose whole quantity was cancelled later",
    "outlier_account": "customer whose line count or distinct-item count is an outlier: modified z-score "
    "0.6745*(log x - median)/MAD > {z} (Iglewicz & Hoaglin) over identified customers",
}

CHANGE_RULES: dict[str, str] = {
    "stock_code_normalised": "StockCode upper-cased/stripped (e.g. 85123a -> 85123A)",
    "quantity_reduced_by_cancellation": "purchase quantity reduced by a later cancellation (partial return)",
    "anonymous_user": "no CustomerID: kept as anonymous user anon:<InvoiceNo> with session = InvoiceNo",
    "description_filled": "empty Description filled with the item's most common description",
}

#: Keyword -> category for Online Retail titles (first matching group wins; whole words).
CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "Christmas": ("CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE", "NATIVITY"),
    "Jewellery": ("NECKLACE", "EARRINGS", "BRACELET", "RING", "CHARM", "BEAD", "BEADS", "DIAMANTE", "BROOCH"),
    "Candles & lighting": (
        "CANDLE",
        "CANDLES",
        "T-LIGHT",
        "T-LIGHTS",
        "LANTERN",
        "LIGHT",
        "LIGHTS",
        "LAMP",
        "INCENSE",
        "NIGHTLIGHT",
    ),
    "Bags": ("BAG", "BAGS", "PURSE", "SHOPPER", "TOTE", "BACKPACK", "RUCKSACK"),
    "Kitchen & dining": (
        "MUG",
        "CUP",
        "CUPS",
        "BOWL",
        "PLATE",
        "PLATES",
        "TEA",
        "COFFEE",
        "CAKE",
        "CUTLERY",
        "JAR",
        "TRAY",
        "LUNCH",
        "DISH",
        "KITCHEN",
        "PANTRY",
        "APRON",
        "BAKING",
        "NAPKINS",
        "TEACUP",
        "SPOON",
        "TEAPOT",
        "JUG",
        "BOTTLE",
        "CAKESTAND",
        "GLASS",
    ),
    "Stationery & cards": (
        "CARD",
        "CARDS",
        "PAPER",
        "WRAP",
        "NOTEBOOK",
        "PEN",
        "PENS",
        "PENCILS",
        "PENCIL",
        "STICKERS",
        "STICKER",
        "TAPE",
        "BOOK",
        "ENVELOPE",
        "CALENDAR",
        "CHALK",
        "ERASER",
    ),
    "Toys & party": (
        "TOY",
        "JIGSAW",
        "PARTY",
        "BALLOON",
        "BALLOONS",
        "DOLLY",
        "GAME",
        "KIT",
        "CHILDRENS",
        "PLAYHOUSE",
        "DOLL",
        "SPACEBOY",
        "SKIPPING",
        "BUNTING",
    ),
    "Garden & outdoor": ("GARDEN", "PARASOL", "UMBRELLA", "PLANT", "WATERING", "BIRD", "FEEDER", "PICNIC"),
    "Home decor": (
        "FRAME",
        "CLOCK",
        "MIRROR",
        "SIGN",
        "CUSHION",
        "DOORMAT",
        "HOOK",
        "HOOKS",
        "GARLAND",
        "DECORATION",
        "DRAWER",
        "CABINET",
        "KNOB",
        "HANGER",
        "HOLDER",
        "WREATH",
        "TILE",
        "VASE",
        "STORAGE",
        "BASKET",
        "BOX",
        "BOXES",
        "TIN",
        "TINS",
        "ORNAMENT",
        "HEART",
        "THROW",
    ),
}


@dataclass
class CleaningReport:
    """Itemised account of a cleaning run: every input row is kept or removed for one reason."""

    dataset: str
    input_rows: int
    kept_rows: int
    removed: dict[str, int]
    changed: dict[str, int]
    rules: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def removed_rows(self) -> int:
        return int(sum(self.removed.values()))

    def check(self) -> None:
        """Raise :class:`DataError` unless every input row is accounted for."""
        if self.input_rows != self.kept_rows + self.removed_rows:
            raise DataError(
                f"cleaning account of {self.dataset} does not balance: input_rows={self.input_rows} but "
                f"kept_rows={self.kept_rows} + removed={self.removed_rows} = {self.kept_rows + self.removed_rows}"
            )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["removed_rows"] = self.removed_rows
        out["balanced"] = self.input_rows == self.kept_rows + self.removed_rows
        return out

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def rows(self) -> list[tuple[str, str, int, str]]:
        """``(action, reason, rows, rule)`` lines for printing the account."""
        out = [("removed", r, n, self.rules.get(r, "")) for r, n in self.removed.items()]
        out += [("changed", r, n, self.rules.get(r, "")) for r, n in self.changed.items()]
        return out


def read_online_retail(path: str | Path) -> pd.DataFrame:
    """Read the raw Online Retail CSV (gzip or not) with every column as text, nothing dropped."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(f"{path}: missing Online Retail column(s) {missing}; got {list(raw.columns)}")
    return raw


def _most_common(keys: pd.Series, values: pd.Series) -> pd.Series:
    """For each key, the most frequent non-null value (ties: the first seen)."""
    pairs = pd.DataFrame({"k": keys.to_numpy(), "v": values.to_numpy()}).dropna()
    if pairs.empty:
        return pd.Series(dtype=object)
    counts = pairs.groupby(["k", "v"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates("k")
    return counts.set_index("k")["v"]


def derive_category(title: str) -> str:
    """Category of an Online Retail title by keyword (see :data:`CATEGORY_KEYWORDS`); '' when none match."""
    words = set(re.split(r"[\s,/+&]+", str(title).upper()))
    for category, keys in CATEGORY_KEYWORDS.items():
        if words.intersection(keys):
            return category
    return ""


def _on_uniques(s: pd.Series, func: Any) -> pd.Series:
    """Apply a string transform to the distinct values only (ids repeat a lot); '' becomes NaN."""
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    done = func(pd.Series(uniques, dtype=object).astype(str)).to_numpy(dtype=object)
    done[done == ""] = np.nan
    out = np.full(len(s), np.nan, dtype=object)
    out[codes >= 0] = done[codes[codes >= 0]]
    return pd.Series(out, index=s.index, dtype=object)


def _parse_dates(s: pd.Series) -> pd.Series:
    """Parse InvoiceDate: the file's own format first (fast), then any other format row by row."""
    ts = pd.to_datetime(s, errors="coerce", format="%Y-%m-%d %H:%M:%S", utc=True)
    retry = ts.isna() & s.notna()
    if retry.any():
        ts[retry] = pd.to_datetime(s[retry], errors="coerce", format="mixed", utc=True)
    return ts


def _modified_z(x: np.ndarray) -> np.ndarray:
    med = np.median(x)
    mad = np.median(np.abs(x - med))
    if mad == 0:
        return np.zeros_like(x)
    return 0.6745 * (x - med) / mad


def _net_cancellations(
    df: pd.DataFrame, alive: np.ndarray, is_c: np.ndarray, qty: np.ndarray, reason: np.ndarray
) -> dict[str, Any]:
    """Net cancellation lines against earlier purchases in place (``qty`` is reduced, ``reason`` set)."""
    t = df["_ts"].dt.tz_localize(None).to_numpy().astype("int64")
    cust = df["CustomerID"].to_numpy()
    code = df["_code"].to_numpy()
    cancels = np.flatnonzero(alive & is_c)
    key = (
        pd.Series(cust, dtype=object).fillna("").astype(str) + "|" + pd.Series(code, dtype=object).astype(str)
    )
    wanted = key.iloc[cancels].unique()
    purchases = np.flatnonzero(alive & ~is_c & (qty > 0) & pd.notna(cust) & key.isin(wanted).to_numpy())
    order = purchases[np.lexsort((purchases, t[purchases]))]
    groups: dict[tuple[str, str], list[int]] = {}
    for i in order:
        groups.setdefault((cust[i], code[i]), []).append(int(i))
    gtimes = {k: [t[i] for i in v] for k, v in groups.items()}
    cancels = cancels[np.lexsort((cancels, t[cancels]))]
    netted_units = unmatched_units = 0
    for c in cancels:
        need = int(abs(qty[c]))
        want = need
        key = (cust[c], code[c])
        if pd.notna(cust[c]) and key in groups:
            rows, times = groups[key], gtimes[key]
            j = bisect.bisect_right(times, t[c]) - 1
            while need > 0 and j >= 0:
                p = rows[j]
                take = min(need, int(qty[p]))
                qty[p] -= take
                need -= take
                j -= 1
        netted_units += want - need
        unmatched_units += need
        if need == 0:
            reason[c] = "cancellation_netted"
        elif need == want:
            reason[c] = "cancellation_unmatched"
        else:
            reason[c] = "cancellation_partly_netted"
    zeroed = alive & ~is_c & (qty == 0) & (reason == "")
    reason[zeroed] = "purchase_fully_cancelled"
    return {"cancelled_units_netted": int(netted_units), "cancelled_units_unmatched": int(unmatched_units)}


def clean_online_retail(
    raw: pd.DataFrame, *, outlier_z: float | None = 3.5, dataset: str = "online-retail"
) -> tuple[pd.DataFrame, pd.DataFrame, CleaningReport]:
    """Clean the raw Online Retail lines into purchase events and an item catalog.

    Returns ``(events, items, report)``. ``events`` also carries the helper columns ``price``, ``country``
    and ``raw_row`` (index into ``raw``) after the schema columns; :func:`online_retail_dataset` splits
    them off. ``outlier_z=None`` disables the outlier-account rule.
    """
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(f"raw Online Retail frame lacks column(s) {missing}; got {list(raw.columns)}")
    df = raw[list(RAW_COLUMNS)].reset_index(drop=True).copy()
    for col in RAW_COLUMNS:  # a columnar read's category columns: the same values as objects (strings shared)
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    n = len(df)
    reason = np.full(n, "", dtype=object)
    details: dict[str, Any] = {}

    df["InvoiceNo"] = _on_uniques(df["InvoiceNo"], lambda u: u.str.strip())
    df["_code"] = _on_uniques(df["StockCode"], lambda u: u.str.strip().str.upper())
    df["CustomerID"] = _on_uniques(
        df["CustomerID"], lambda u: u.str.strip().str.replace(r"\.0$", "", regex=True)
    )
    df["_qty"] = pd.to_numeric(df["Quantity"], errors="coerce")
    df["_price"] = pd.to_numeric(df["UnitPrice"], errors="coerce")
    df["_ts"] = _parse_dates(df["InvoiceDate"])
    bad = (
        df["InvoiceNo"].isna()
        | df["_code"].isna()
        | (df["_code"] == "")
        | df["_qty"].isna()
        | df["_price"].isna()
        | df["_ts"].isna()
    ).to_numpy()
    reason[bad] = "malformed_row"
    df.loc[bad, "_ts"] = pd.Timestamp(0, tz="UTC")
    df["_qty"] = df["_qty"].fillna(0)

    dup = raw[list(RAW_COLUMNS)].reset_index(drop=True).duplicated(keep="first").to_numpy()
    reason[dup & (reason == "")] = "duplicate"

    alive = reason == ""
    is_product = _on_uniques(df["_code"], lambda u: u.str.fullmatch(PRODUCT_CODE.pattern).map(str))
    is_product = (is_product == "True").to_numpy()
    nonprod = alive & ~is_product
    reason[nonprod] = "non_product_code"
    details["non_product_codes"] = df.loc[nonprod, "_code"].value_counts().to_dict()

    is_c = _on_uniques(df["InvoiceNo"], lambda u: u.str.upper().str.startswith("C").map(str)) == "True"
    is_c = is_c.to_numpy()
    qty = df["_qty"].to_numpy().astype("int64")
    alive = reason == ""
    reason[alive & ~is_c & (qty <= 0)] = "stock_adjustment"
    alive = reason == ""
    reason[alive & (df["_price"].to_numpy() <= 0)] = "non_positive_price"

    alive = reason == ""
    details.update(_net_cancellations(df, alive, is_c, qty, reason))

    alive = reason == ""
    details["outlier_rule"] = {"modified_z_threshold": outlier_z, "accounts": {}}
    if outlier_z is not None:
        ident = df.loc[alive & df["CustomerID"].notna().to_numpy()]
        stats = ident.groupby("CustomerID").agg(lines=("_code", "size"), items=("_code", "nunique"))
        if len(stats) >= 3:
            z_lines = _modified_z(np.log(stats["lines"].to_numpy(dtype=float)))
            z_items = _modified_z(np.log(stats["items"].to_numpy(dtype=float)))
            flagged = stats[(z_lines > outlier_z) | (z_items > outlier_z)]
            details["outlier_rule"]["accounts"] = {
                str(c): {"lines": int(r["lines"]), "distinct_items": int(r["items"])}
                for c, r in flagged.iterrows()
            }
            reason[alive & df["CustomerID"].isin(flagged.index).to_numpy()] = "outlier_account"

    keep = reason == ""
    removed = {r: int((reason == r).sum()) for r in REMOVAL_RULES}
    kept = df.loc[keep].copy()
    kept["_net"] = qty[keep]
    anon = kept["CustomerID"].isna()
    kept["_user"] = kept["CustomerID"].where(~anon, "anon:" + kept["InvoiceNo"].astype(str))

    titles = _most_common(kept["_code"], kept["Description"])
    fallback = _most_common(df.loc[df["_price"] > 0, "_code"], df.loc[df["_price"] > 0, "Description"])
    titles = titles.combine_first(fallback)
    no_desc = kept["Description"].isna()
    kept.loc[no_desc, "Description"] = kept.loc[no_desc, "_code"].map(titles)
    changed = {
        "stock_code_normalised": int((kept["_code"] != kept["StockCode"]).sum()),
        "quantity_reduced_by_cancellation": int((kept["_net"] < kept["_qty"]).sum()),
        "anonymous_user": int(anon.sum()),
        "description_filled": int((no_desc & kept["Description"].notna()).sum()),
    }
    rules = {**REMOVAL_RULES, **CHANGE_RULES}
    rules["outlier_account"] = rules["outlier_account"].format(z=outlier_z)

    kept["_row"] = kept.index
    kept = kept.sort_values(["_ts", "_row"], kind="stable")
    events = pd.DataFrame(
        {
            "user": kept["_user"].astype(str).to_numpy(dtype=object),
            "item": kept["_code"].to_numpy(dtype=object),
            "kind": "purchase",
            "value": kept["_net"].to_numpy(dtype="float64"),
            "ts": kept["_ts"].array,
            "text": None,
            "session": kept["InvoiceNo"].to_numpy(dtype=object),
            "price": kept["_price"].to_numpy(dtype="float64"),
            "country": kept["Country"].to_numpy(dtype=object),
            "raw_row": kept["_row"].to_numpy(dtype="int64"),
        }
    )
    events["ts"] = events["ts"].dt.tz_convert("UTC")
    items = pd.DataFrame({"item_id": sorted(kept["_code"].unique())})
    items["title"] = items["item_id"].map(titles).fillna("").str.strip()
    items["description"] = ""
    items["brand"] = ""
    items["category"] = items["title"].map(derive_category)
    items["price"] = items["item_id"].map(kept.groupby("_code")["_price"].median()).astype("float64")
    items["n_lines"] = items["item_id"].map(kept["_code"].value_counts()).astype("int64")
    details["kept"] = {
        "customers": int(kept.loc[~anon, "CustomerID"].nunique()),
        "anonymous_sessions": int(kept.loc[anon, "InvoiceNo"].nunique()),
        "items": len(items),
        "items_without_category": int((items["category"] == "").sum()),
        "units": int(kept["_net"].sum()),
    }
    report = CleaningReport(dataset, n, int(keep.sum()), removed, changed, rules, details)
    report.check()
    return events, items, report


def online_retail_dataset(raw: pd.DataFrame, name: str, *, source: str = "", **kwargs: Any) -> Any:
    """Clean raw Online Retail lines into a :class:`~tuijian.data.datasets.Dataset` with ``.report``."""
    from tuijian.data.datasets import Dataset

    cleaned, items, report = clean_online_retail(raw, dataset=name, **kwargs)
    events = cleaned[list(EVENT_COLUMNS)].copy()
    attrs = cleaned[["price", "country", "raw_row"]].copy()
    users = cleaned.groupby("user", sort=True)["session"].nunique().rename("n_invoices").reset_index()
    users = users.rename(columns={"user": "user_id"})
    users.insert(1, "country", users["user_id"].map(_most_common(cleaned["user"], cleaned["country"])))
    users["anonymous"] = users["user_id"].str.startswith("anon:")
    return Dataset(
        name,
        events,
        items=items,
        users=users,
        report=report,
        event_attrs=attrs,
        meta={
            "synthetic_ts": False,
            "source": source,
            "licence": "CC BY 4.0; Chen, D. (2015). Online Retail. UCI Machine Learning Repository",
            "note": "InvoiceDate is UK local time, stored as UTC",
        },
    )
