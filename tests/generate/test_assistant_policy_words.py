"""Policy intents in words the earlier rounds did not list (issue 12): damage said as a noun or on arrival,
the currency one is charged in and vouchers spent on an order, a number to ring, how many days until it comes.

Own wording, on a made-up catalogue that sells rings, vases and gift vouchers, so that a product word inside
a policy question ("a number I can ring", 礼品卡) must not turn it into a search, and a product question with
the same words must not turn into a policy.
"""

from __future__ import annotations

import pytest

from tests.generate.conftest import made_up_catalogue
from tuijian.generate.assistant import ShopAssistant
from tuijian.generate.shop import ShopData

_ROWS = [
    ("SILVER STACKING RING", 4.50),
    ("GOLD STACKING RING", 5.50),
    ("CRACKLE GLAZE VASE", 7.95),
    ("GIFT VOUCHER 10 POUNDS", 10.00),
    ("ENAMEL TEAPOT BLUE", 12.50),
]


@pytest.fixture(scope="module")
def shop() -> ShopAssistant:
    return ShopAssistant(ShopData.from_frames(made_up_catalogue(_ROWS, "P"))).fit()


@pytest.mark.parametrize(
    ("question", "policy"),
    [
        ("the teapot came with a crack in the spout, what now?", "policy:returns"),
        ("my vase turned up damaged", "policy:returns"),
        ("there's a dent on the lid of my teapot", "policy:returns"),
        ("花瓶收到的时候就裂了", "policy:returns"),
        ("茶壶到货就凹了一块", "policy:returns"),
        ("can I pay in euros?", "policy:payment"),
        ("what exchange rate do you use for my card?", "policy:payment"),
        ("can I redeem a gift voucher against my order?", "policy:payment"),
        ("能用优惠券吗", "policy:payment"),
        ("礼券可以抵吗", "policy:payment"),
        ("is there a number to call if something goes wrong?", "policy:contact"),
        ("is there a number we could phone?", "policy:contact"),
        ("how soon will I receive my things?", "policy:shipping"),
        ("付款后多久能到手", "policy:shipping"),
        ("一般几天能送到", "policy:shipping"),
        ("do you do next-day delivery?", "policy:shipping"),
        ("可以当日达吗", "policy:shipping"),
        ("is somebody available on sundays?", "policy:contact"),
        ("周末有人在吗", "policy:contact"),
        ("can I pay with american express", "policy:payment"),
    ],
)
def test_policy_questions_in_new_words(shop, question, policy):
    answer = shop.ask(question)
    assert answer.intent == "policy" and answer.citations == [policy]


@pytest.mark.parametrize(
    ("question", "item"),
    [
        ("the cheapest ring?", "P000"),
        ("how much is the crackle glaze vase?", "P002"),
        ("gift voucher price", "P003"),
    ],
)
def test_product_questions_with_the_same_words_stay_product_questions(shop, question, item):
    answer = shop.ask(question)
    assert answer.intent != "policy" and answer.citations[:1] == [item]
