"""Online Retail cleaning: every raw row is accounted for, each rule does what it says."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tuijian.data.cleaning import RAW_COLUMNS, CleaningReport, clean_online_retail, derive_category
from tuijian.exceptions import DataError, SchemaError


def _raw(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(RAW_COLUMNS)).astype(object)


D1, D2, D3 = "2011-01-05 10:00:00", "2011-01-06 10:00:00", "2011-01-07 10:00:00"


def _toy() -> pd.DataFrame:
    rows = [
        ("500001", "85123A", "HEART HOLDER", "10", D1, "2.55", "100", "United Kingdom"),  # 0 reduced 10 -> 6
        ("500001", "85123A", "HEART HOLDER", "10", D1, "2.55", "100", "United Kingdom"),  # 1 duplicate
        ("500001", "POST", "POSTAGE", "1", D1, "18.00", "100", "United Kingdom"),  # 2 non-product
        ("500002", "22423", "CAKESTAND", "3", D1, "12.75", "100", "United Kingdom"),  # 3 fully cancelled
        ("C500003", "85123A", "HEART HOLDER", "-4", D2, "2.55", "100", "United Kingdom"),  # 4 netted
        ("C500003", "22423", "CAKESTAND", "-3", D2, "12.75", "100", "United Kingdom"),  # 5 netted
        ("C500004", "21212", "CASES", "-5", D2, "0.55", "100", "United Kingdom"),  # 6 unmatched
        ("500005", "21212", "CASES", "2", D3, "0.55", "100", "United Kingdom"),  # 7 kept (after the cancel)
        ("500006", "21213", "CASES B", "2", D1, "0.55", "101", "France"),  # 8 reduced 2 -> 0: removed
        ("C500007", "21213", "CASES B", "-6", D2, "0.55", "101", "France"),  # 9 partly netted
        ("500008", "21214", None, "-20", D2, "0", None, "United Kingdom"),  # 10 stock adjustment
        ("500009", "21215", "FREE GIFT", "1", D2, "0", "101", "France"),  # 11 non-positive price
        ("500010", "85123a", None, "1", D3, "2.95", None, "United Kingdom"),  # 12 anon, lower case, no desc
        ("500011", "85123A", "HEART HOLDER", "2", "not a date", "2.55", "102", "Spain"),  # 13 malformed
        ("500012", "84029G", "HOT WATER BOTTLE", "6", D3, "3.39", "102.0", "Spain"),  # 14 kept, id 102
    ]
    return _raw(rows)


def test_each_rule_on_known_rows():
    events, items, rep = clean_online_retail(_toy(), outlier_z=None)
    assert rep.input_rows == 15 and rep.kept_rows == 4
    assert rep.removed == {
        "malformed_row": 1,
        "duplicate": 1,
        "non_product_code": 1,
        "stock_adjustment": 1,
        "non_positive_price": 1,
        "cancellation_netted": 2,
        "cancellation_partly_netted": 1,
        "cancellation_unmatched": 1,
        "purchase_fully_cancelled": 2,
        "outlier_account": 0,
    }
    assert rep.changed == {
        "stock_code_normalised": 1,
        "quantity_reduced_by_cancellation": 1,
        "anonymous_user": 1,
        "description_filled": 1,
    }
    assert sorted(events["raw_row"]) == [0, 7, 12, 14]
    by_row = events.set_index("raw_row")
    assert by_row.loc[0, "value"] == 6.0  # 10 bought, 4 returned
    assert by_row.loc[7, "value"] == 2.0  # a cancellation cannot undo a later purchase
    assert by_row.loc[12, "user"] == "anon:500010" and by_row.loc[12, "session"] == "500010"
    assert by_row.loc[12, "item"] == "85123A"
    assert by_row.loc[14, "user"] == "102"
    assert set(events["kind"]) == {"purchase"}
    assert events["ts"].dt.tz is not None and events["ts"].is_monotonic_increasing
    assert rep.details["cancelled_units_netted"] == 4 + 3 + 2
    assert rep.details["cancelled_units_unmatched"] == 5 + 4
    cat = items.set_index("item_id")
    assert cat.loc["85123A", "title"] == "HEART HOLDER" and cat.loc["85123A", "price"] == pytest.approx(2.75)
    assert (
        cat.loc["85123A", "category"] == "Home decor" and cat.loc["84029G", "category"] == "Kitchen & dining"
    )


def test_outlier_account_rule():
    rows = []
    for c in range(30):  # 30 ordinary customers with 2..6 lines
        for j in range(2 + c % 5):
            rows.append((f"6{c:05d}", f"{20000 + j}", "ITEM", "1", D1, "1.0", str(1000 + c), "UK"))
    for j in range(400):  # one account with 400 lines of distinct items
        rows.append(("699999", f"{30000 + j}", "ITEM", "1", D1, "1.0", "9999", "UK"))
    _, _, rep = clean_online_retail(_raw(rows), outlier_z=3.5)
    assert rep.removed["outlier_account"] == 400
    assert list(rep.details["outlier_rule"]["accounts"]) == ["9999"]
    _, _, rep = clean_online_retail(_raw(rows), outlier_z=None)
    assert rep.removed["outlier_account"] == 0 and rep.kept_rows == len(rows)


def test_report_balance_check_and_json(tmp_path):
    rep = CleaningReport("x", 10, 7, {"duplicate": 2}, {})
    with pytest.raises(DataError, match="does not balance"):
        rep.check()
    _, _, good = clean_online_retail(_toy())
    good.check()
    data = json.loads(good.to_json(tmp_path / "r.json"))
    assert data == json.loads((tmp_path / "r.json").read_text())
    assert data["balanced"] and data["input_rows"] == data["kept_rows"] + data["removed_rows"]


def test_missing_column_is_a_schema_error():
    with pytest.raises(SchemaError, match="CustomerID"):
        clean_online_retail(_toy().drop(columns=["CustomerID"]))


def test_derive_category():
    assert derive_category("WHITE HANGING HEART T-LIGHT HOLDER") == "Candles & lighting"
    assert derive_category("JUMBO BAG RED RETROSPOT") == "Bags"
    assert derive_category("PAPER CHAIN KIT 50'S CHRISTMAS") == "Christmas"
    assert derive_category("ASSORTED COLOURS SILK FAN") == ""


def test_full_online_retail_account(online_retail, online_retail_raw):
    rep = online_retail.report
    raw = online_retail_raw
    assert rep.input_rows == len(raw) == 541_909
    assert rep.input_rows == rep.kept_rows + sum(rep.removed.values())
    assert rep.kept_rows == online_retail.n_events
    # independent counts from the raw file
    assert rep.removed["duplicate"] == int(raw.duplicated().sum()) == 5_268
    assert rep.removed["malformed_row"] == 0
    assert rep.changed["anonymous_user"] == int(online_retail.events["user"].str.startswith("anon:").sum())
    # the figures recorded in docs/data.md
    assert rep.removed == {
        "malformed_row": 0,
        "duplicate": 5_268,
        "non_product_code": 2_989,
        "stock_adjustment": 1_324,
        "non_positive_price": 1_156,
        "cancellation_netted": 7_398,
        "cancellation_partly_netted": 56,
        "cancellation_unmatched": 1_214,
        "purchase_fully_cancelled": 2_768,
        "outlier_account": 22_517,
    }
    assert rep.kept_rows == 497_219
    assert set(rep.details["outlier_rule"]["accounts"]) == {"12748", "14096", "14911", "17841"}
    ev, attrs = online_retail.events, online_retail.event_attrs
    assert (ev["value"] > 0).all() and (attrs["price"] > 0).all()
    assert ev["item"].str.fullmatch(r"\d{5}[A-Z]{0,2}").all()
    assert not ev["session"].str.startswith("C").any()
    # quantities: kept lines' raw quantities minus what cancellations took back
    raw_qty = pd.to_numeric(raw["Quantity"]).to_numpy()[attrs["raw_row"].to_numpy()]
    assert (ev["value"].to_numpy() <= raw_qty).all()
    assert int(ev["value"].sum()) == rep.details["kept"]["units"]
    anon = ev["user"].str.startswith("anon:")
    assert (ev.loc[anon, "user"] == "anon:" + ev.loc[anon, "session"]).all()
    assert np.array_equal(np.sort(attrs["raw_row"].to_numpy()), np.unique(attrs["raw_row"].to_numpy()))


def test_clean_cli_demo(tmp_path):
    from tuijian.cli import app

    out = tmp_path / "account.json"
    result = CliRunner().invoke(app, ["clean", "online-retail-demo", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "balanced" in result.output and "cancellation_netted" in result.output
    data = json.loads(out.read_text())
    assert data["input_rows"] == 93_740 and data["balanced"]
    bad = CliRunner().invoke(app, ["clean", "movielens-1m"])
    assert bad.exit_code != 0


def _noisy(n: int, seed: int) -> pd.DataFrame:
    """Random lines with every kind of dirt, few distinct values so that duplicates and netting happen."""
    rng = np.random.default_rng(seed)
    pick = lambda values: np.asarray(values, dtype=object)[rng.integers(0, len(values), n)]  # noqa: E731
    raw = pd.DataFrame(
        {
            "InvoiceNo": pick(["500001", "500002", " 500003", "C500004", "c500005", "C500001", None, ""]),
            "StockCode": pick(["85123A", "85123a ", "22423", "POST", "21212", None, "M", "84029G"]),
            "Description": pick(["HEART", "CAKESTAND", None, "CASES", "HEART"]),
            "Quantity": pick(["1", "2", "-1", "-3", "x", "6", "12", "2.5"]),
            "InvoiceDate": pick([D1, D2, D3, "not a date", "2011-02-01 08:00:00", None]),
            "UnitPrice": pick(["2.55", "0", "1.25", "-1", "abc", "3.39"]),
            "CustomerID": pick(["100", "101", "101.0", None, "102", " 103"]),
            "Country": pick(["United Kingdom", "France", None]),
        }
    )
    return raw


def _duplicated_reference(raw: pd.DataFrame) -> np.ndarray:
    return raw[list(RAW_COLUMNS)].duplicated(keep="first").to_numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_duplicates_by_packed_codes_equal_pandas(seed):
    from tuijian.data.codes import duplicated_lines, factor

    raw = _noisy(3000, seed)
    assert np.array_equal(duplicated_lines([factor(raw[c]) for c in RAW_COLUMNS]), _duplicated_reference(raw))
    # many distinct values: the codes spill over several int64 words
    wide = pd.DataFrame({c: [f"{c}{x}" for x in np.random.default_rng(seed).integers(0, 40, 3000)]
                         for c in RAW_COLUMNS})  # fmt: skip
    wide.iloc[::7] = wide.iloc[::7].where(np.random.default_rng(seed).random((len(wide.iloc[::7]), 8)) < 0.5)
    wide = pd.concat([wide, wide.sample(500, random_state=seed)], ignore_index=True)
    assert np.array_equal(
        duplicated_lines([factor(wide[c]) for c in RAW_COLUMNS]), _duplicated_reference(wide)
    )


@pytest.mark.parametrize("seed", [3, 4])
def test_category_columns_clean_like_text_columns(seed):
    """A columnar read gives ``category`` columns; the account and the events are those of plain text."""
    raw = _noisy(4000, seed)
    ev_text, it_text, rep_text = clean_online_retail(raw, outlier_z=None)
    ev_cat, it_cat, rep_cat = clean_online_retail(raw.astype("category"), outlier_z=None)
    assert rep_text.to_dict() == rep_cat.to_dict()
    assert rep_text.kept_rows == len(ev_text) > 0
    assert sum(rep_text.removed.values()) > 0 and rep_text.removed["duplicate"] > 0
    assert rep_text.removed["cancellation_netted"] + rep_text.removed["cancellation_partly_netted"] > 0
    pd.testing.assert_frame_equal(ev_text, ev_cat)
    pd.testing.assert_frame_equal(it_text, it_cat)
    # every kept line is a raw line that is not malformed, and the events come in time order
    assert ev_text["raw_row"].is_unique and ev_text["ts"].is_monotonic_increasing
    assert set(ev_text["item"]) <= {"85123A", "22423", "21212", "84029G"}
    assert not ev_text["user"].str.contains(r"\.0$").any()


def test_parquet_read_in_row_order_from_unordered_files(tmp_path):
    from tuijian.spark.logs import read_raw_pandas, write_raw_parquet

    raw = _noisy(500, 5)
    raw["row"] = np.arange(len(raw))
    shuffled = raw.sample(frac=1.0, random_state=0)
    write_raw_parquet(shuffled, tmp_path / "log", rows_per_file=120)
    back = read_raw_pandas(tmp_path / "log")
    assert all(isinstance(back[c].dtype, pd.CategoricalDtype) for c in RAW_COLUMNS)
    pd.testing.assert_frame_equal(
        back.astype(object).where(back.notna(), None), raw[list(RAW_COLUMNS)].where(raw.notna(), None)
    )
