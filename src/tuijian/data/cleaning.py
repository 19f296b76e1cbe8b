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

from tuijian.data.codes import duplicated_lines, factor, most_common_codes, on_codes, recode
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


_REASONS = ("", *REMOVAL_RULES)
_R = {name: np.int8(i) for i, name in enumerate(_REASONS)}


def _net_cancellations(
    t: np.ndarray, cust: np.ndarray, code: np.ndarray, alive: np.ndarray, is_c: np.ndarray, qty: np.ndarray,
    reason: np.ndarray,
) -> dict[str, Any]:  # fmt: skip
    """Net cancellation lines against earlier purchases in place (``qty`` is reduced, ``reason`` set).
    ``t``: event time (int64 ns); ``cust`` and ``code``: the customer's and the StockCode's codes (-1: no
    customer); ``reason``: :data:`_REASONS` indices."""
    n_codes = int(code.max()) + 2 if len(code) else 1
    key = cust.astype(np.int64) * n_codes + code  # one int per (customer, StockCode); no customer: < 0
    cancels = np.flatnonzero(alive & is_c)
    wanted = np.unique(key[cancels])
    purchases = np.flatnonzero(alive & ~is_c & (qty > 0) & (cust >= 0) & np.isin(key, wanted))
    order = purchases[np.lexsort((purchases, t[purchases]))]
    groups: dict[int, list[int]] = {}
    for i, k in zip(order.tolist(), key[order].tolist(), strict=True):
        groups.setdefault(k, []).append(i)
    gtimes = {k: t[v].tolist() for k, v in groups.items()}
    cancels = cancels[np.lexsort((cancels, t[cancels]))]
    netted_units = unmatched_units = 0
    for c, k in zip(cancels.tolist(), key[cancels].tolist(), strict=True):
        need = int(abs(qty[c]))
        want = need
        if cust[c] >= 0 and k in groups:
            rows, times = groups[k], gtimes[k]
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
            reason[c] = _R["cancellation_netted"]
        elif need == want:
            reason[c] = _R["cancellation_unmatched"]
        else:
            reason[c] = _R["cancellation_partly_netted"]
    zeroed = alive & ~is_c & (qty == 0) & (reason == 0)
    reason[zeroed] = _R["purchase_fully_cancelled"]
    return {"cancelled_units_netted": int(netted_units), "cancelled_units_unmatched": int(unmatched_units)}


def clean_online_retail(
    raw: pd.DataFrame, *, outlier_z: float | None = 3.5, dataset: str = "online-retail"
) -> tuple[pd.DataFrame, pd.DataFrame, CleaningReport]:
    """Clean the raw Online Retail lines into purchase events and an item catalog.

    Returns ``(events, items, report)``. ``events`` also carries the helper columns ``price``, ``country``
    and ``raw_row`` (index into ``raw``) after the schema columns; :func:`online_retail_dataset` splits
    them off. ``outlier_z=None`` disables the outlier-account rule.

    Every column is held as codes into its distinct values (int32 per line; a columnar read's ``category``
    columns as they come), and every text rule runs once per distinct value, so a line costs tens of bytes
    rather than a Python object per field: the local path's memory at millions of lines.
    """
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(f"raw Online Retail frame lacks column(s) {missing}; got {list(raw.columns)}")
    factors = {c: factor(raw[c]) for c in RAW_COLUMNS}
    n = len(raw)
    reason = np.zeros(n, dtype=np.int8)  # index into _REASONS; 0: kept so far
    details: dict[str, Any] = {}

    inv, inv_u = recode(*factors["InvoiceNo"], lambda u: u.str.strip())
    code, code_u = recode(*factors["StockCode"], lambda u: u.str.strip().str.upper())
    cust, cust_u = recode(
        *factors["CustomerID"], lambda u: u.str.strip().str.replace(r"\.0$", "", regex=True)
    )
    q_codes, q_u = factors["Quantity"]
    qty_f = on_codes(
        q_codes, pd.to_numeric(pd.Series(q_u, dtype=object), errors="coerce").to_numpy(float), np.nan
    )
    p_codes, p_u = factors["UnitPrice"]
    price = on_codes(
        p_codes, pd.to_numeric(pd.Series(p_u, dtype=object), errors="coerce").to_numpy(float), np.nan
    )
    d_codes, d_u = factors["InvoiceDate"]
    d_parsed = (
        _parse_dates(pd.Series(d_u, dtype=object)) if len(d_u) else pd.Series([], dtype="datetime64[ns, UTC]")
    )
    d_ns = d_parsed.dt.tz_localize(None).to_numpy().astype("int64")  # NaT: int64 min
    d_ok = d_parsed.notna().to_numpy()
    bad = (inv < 0) | (code < 0) | np.isnan(qty_f) | np.isnan(price) | ~on_codes(d_codes, d_ok, False)
    reason[bad] = _R["malformed_row"]
    t = np.where(bad, 0, on_codes(d_codes, d_ns, 0)).astype(np.int64)  # malformed lines: the epoch
    qty_f[np.isnan(qty_f)] = 0

    dup = duplicated_lines([factors[c] for c in RAW_COLUMNS])
    reason[dup & (reason == 0)] = _R["duplicate"]

    alive = reason == 0
    is_product = (
        pd.Series(code_u, dtype=object).astype(str).str.fullmatch(PRODUCT_CODE.pattern).to_numpy(bool)
    )
    nonprod = alive & ~on_codes(code, is_product, True)
    reason[nonprod] = _R["non_product_code"]
    details["non_product_codes"] = pd.Series(code_u[code[nonprod]], dtype=object).value_counts().to_dict()

    is_c = on_codes(
        inv, pd.Series(inv_u, dtype=object).astype(str).str.upper().str.startswith("C").to_numpy(bool), False
    )
    qty = qty_f.astype("int64")  # qty_f stays: a fractional quantity cut to an int counts as reduced
    alive = reason == 0
    reason[alive & ~is_c & (qty <= 0)] = _R["stock_adjustment"]
    alive = reason == 0
    reason[alive & (price <= 0)] = _R["non_positive_price"]

    alive = reason == 0
    details.update(_net_cancellations(t, cust, code, alive, is_c, qty, reason))

    alive = reason == 0
    details["outlier_rule"] = {"modified_z_threshold": outlier_z, "accounts": {}}
    if outlier_z is not None:
        ident = np.flatnonzero(alive & (cust >= 0))
        lines = np.bincount(cust[ident], minlength=len(cust_u))
        pairs = np.unique(cust[ident].astype(np.int64) * (len(code_u) + 1) + code[ident])
        distinct = np.bincount((pairs // (len(code_u) + 1)).astype(np.int64), minlength=len(cust_u))
        present = np.flatnonzero(lines > 0)
        stats = pd.DataFrame(
            {"lines": lines[present], "items": distinct[present], "c": present},
            index=pd.Index(cust_u[present], dtype=object, name="CustomerID"),
        ).sort_index()  # as a groupby on the customer's text orders them
        if len(stats) >= 3:
            z_lines = _modified_z(np.log(stats["lines"].to_numpy(dtype=float)))
            z_items = _modified_z(np.log(stats["items"].to_numpy(dtype=float)))
            flagged = stats[(z_lines > outlier_z) | (z_items > outlier_z)]
            details["outlier_rule"]["accounts"] = {
                str(c): {"lines": int(r["lines"]), "distinct_items": int(r["items"])}
                for c, r in flagged.iterrows()
            }
            hit = np.zeros(len(cust_u) + 1, dtype=bool)
            hit[flagged["c"].to_numpy()] = True
            reason[alive & hit[cust]] = _R["outlier_account"]  # cust -1: hit[-1], always False

    keep = reason == 0
    removed = {r: int((reason == _R[r]).sum()) for r in REMOVAL_RULES}
    del alive, bad, dup, nonprod
    rows = np.flatnonzero(keep)
    k_code, k_cust, k_inv = code[rows], cust[rows], inv[rows]
    k_net, k_price = qty[rows], price[rows]
    anon = k_cust < 0
    desc_codes, desc_u = factors["Description"]
    k_desc = desc_codes[rows]

    own = most_common_codes(k_code, k_desc)
    priced = price > 0
    fallback = most_common_codes(code[priced], desc_codes[priced])
    titles = pd.Series(desc_u[own.to_numpy()], index=code_u[own.index.to_numpy()], dtype=object)
    titles = titles.combine_first(
        pd.Series(desc_u[fallback.to_numpy()], index=code_u[fallback.index.to_numpy()], dtype=object)
    )
    desc_text = on_codes(k_desc, desc_u, None)
    no_desc = k_desc < 0
    filled = pd.Series(code_u[k_code[no_desc]], dtype=object).map(titles).to_numpy(dtype=object)
    desc_text[no_desc] = filled
    sc_codes, sc_u = factors["StockCode"]
    sc_text = pd.Series(sc_u, dtype=object)
    normalised = on_codes(sc_codes[rows], (sc_text.str.strip().str.upper() != sc_text).to_numpy(bool), True)
    changed = {
        "stock_code_normalised": int(normalised.sum()),
        "quantity_reduced_by_cancellation": int((k_net < qty_f[rows]).sum()),
        "anonymous_user": int(anon.sum()),
        "description_filled": int((no_desc & pd.notna(desc_text)).sum()),
    }
    rules = {**REMOVAL_RULES, **CHANGE_RULES}
    rules["outlier_account"] = rules["outlier_account"].format(z=outlier_z)

    order = np.lexsort((rows, t[rows]))  # by time, then by line
    o_rows = rows[order]
    c_codes, c_u = factors["Country"]
    o_date, o_country = d_codes[o_rows], c_codes[o_rows]
    del factors, code, cust, inv, qty, qty_f, price, t, reason, is_c, keep, rows, d_codes, c_codes
    o_cust, o_inv, o_anon = k_cust[order], k_inv[order], anon[order]
    anon_user = np.array([f"anon:{x}" for x in inv_u], dtype=object)
    # the events frame column by column: no block of all the text columns at once (a copy of them all)
    events = pd.DataFrame(index=pd.RangeIndex(len(o_rows)))
    events["user"] = np.where(o_anon, on_codes(o_inv, anon_user, None), on_codes(o_cust, cust_u, None))
    del o_cust, o_anon
    events["item"] = code_u[k_code[order]]
    events["kind"] = "purchase"
    events["value"] = k_net[order].astype("float64")
    events["ts"] = (
        pd.DatetimeIndex(d_parsed.array.take(o_date)) if len(o_rows) else pd.DatetimeIndex([], tz="UTC")
    )
    del o_date
    events["text"] = None
    events["session"] = inv_u[o_inv]
    del o_inv
    events["price"] = k_price[order].astype("float64")
    events["country"] = on_codes(o_country, c_u, None).astype(object)
    events["raw_row"] = o_rows.astype("int64")
    del o_rows, o_country
    events["ts"] = events["ts"].dt.tz_convert("UTC")
    item_codes = np.unique(k_code)
    items = pd.DataFrame({"item_id": code_u[item_codes]}).sort_values("item_id", kind="stable")
    items = items.reset_index(drop=True)
    items["title"] = items["item_id"].map(titles).fillna("").str.strip()
    items["description"] = ""
    items["brand"] = ""
    items["category"] = items["title"].map(derive_category)
    by_item = pd.Series(k_price).groupby(k_code)
    medians = pd.Series(by_item.median().to_numpy(), index=code_u[by_item.median().index.to_numpy()])
    counts = pd.Series(np.bincount(k_code)[item_codes], index=code_u[item_codes])
    items["price"] = items["item_id"].map(medians).astype("float64")
    items["n_lines"] = items["item_id"].map(counts).astype("int64")
    details["kept"] = {
        "customers": len(np.unique(k_cust[~anon])),
        "anonymous_sessions": len(np.unique(k_inv[anon])),
        "items": len(items),
        "items_without_category": int((items["category"] == "").sum()),
        "units": int(k_net.sum()),
    }
    report = CleaningReport(dataset, n, len(events), removed, changed, rules, details)
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
