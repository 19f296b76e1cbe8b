"""Sizes and weights as part of an item's name (issue 12): "the 50x50 inners", 30厘米的, "not the 250 gram bag".

A made-up catalogue whose items of one kind differ only by a size written in the title ("50x50cm", "30CM",
"250g"): the shopper's size, in any of its spellings (50 x 50, 30厘米, 30cm, 250 gram, 250克), picks the item.
"""

from __future__ import annotations

import pytest

from tests.generate.conftest import made_up_catalogue
from tuijian.generate.assistant import ShopAssistant
from tuijian.generate.assistant_session import Conversation
from tuijian.generate.assistant_vocabulary import dimensions
from tuijian.generate.shop import ShopData

_ROWS = [
    ("CUSHION INNER 40x40cm", 1.50),
    ("CUSHION INNER 50x50cm", 2.25),
    ("CUSHION INNER 60CMx60CM", 3.10),
    ("PILLAR CANDLE IVORY 20CM", 2.00),
    ("PILLAR CANDLE IVORY 30CM", 3.40),
    ("GLITTER JAR 100g GOLD", 1.10),
    ("GLITTER JAR 250g GOLD", 2.20),
    ("GLITTER JAR 250g SILVER", 2.30),
]


@pytest.fixture(scope="module")
def shop() -> ShopAssistant:
    return ShopAssistant(ShopData.from_frames(made_up_catalogue(_ROWS, "S"))).fit()


@pytest.mark.parametrize(
    ("text", "token"),
    [("INNER 60CMx60CM", "60x60"), ("the 50 x 50 ones", "50x50"), ("30厘米的", "30cm"), ("不要250克的", "250g"),
     ("250 grams", "250g"), ("1.5kg", "1.5kg")],
)  # fmt: skip
def test_sizes_are_read_in_one_canonical_spelling(text, token):
    assert [t for t, _ in dimensions(text)] == [token]


def test_prices_ages_and_counts_are_no_sizes():
    assert dimensions("under £1.50 for a 5 year old, set of 3") == []


@pytest.mark.parametrize(
    ("question", "lang", "item"),
    [
        ("how much are the 50x50 cushion inners?", "en", "S001"),
        ("what does the 60 x 60 cushion inner cost", "en", "S002"),
        ("30厘米的象牙色蜡烛多少钱", "zh", "S004"),
        ("price of the 20cm pillar candle?", "en", "S003"),
    ],
)
def test_a_size_picks_the_item_of_that_size(shop, question, lang, item):
    answer = shop.ask(question, language=lang)
    assert answer.fact is not None and answer.fact["item"] == item


def test_a_refused_size_leaves_the_others(shop):
    answer = shop.ask("glitter jars, not the 250 gram ones", language="en", k=10)
    assert answer.citations == ["S005"]


def _after(shop: ShopAssistant, first: str, then: str):
    conv = Conversation()
    shop.ask(first, conversation=conv)
    return shop.ask(then, conversation=conv)


def test_the_biggest_one_is_picked_by_the_size_its_title_names(shop):
    answer = _after(shop, "glitter jars", "how much is the biggest one?")
    assert answer.fact is not None and answer.fact["item"] in ("S006", "S007")
    assert answer.fact["value"] in (2.20, 2.30)


def test_the_smallest_in_chinese_compares_areas(shop):
    answer = _after(shop, "cushion inners", "最小的那个多少钱")
    assert answer.fact == {"item": "S000", "attribute": "price", "value": 1.5}
    answer = _after(shop, "cushion inners", "the largest?")
    assert answer.citations == ["S002"]
