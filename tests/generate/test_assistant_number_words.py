"""Prices written in English number words (issue 12): "under six quid", "between two and five pounds",
"less than twenty-five quid", read like their digits; number words that are no price are left alone."""

from __future__ import annotations

import pytest

from tuijian.generate.assistant_query import read_message


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("kites under six quid", None, 6.0),
        ("anything below nine pounds?", None, 9.0),
        ("between two and five pounds", 2.0, 5.0),
        ("less than twenty-five quid", None, 25.0),
        ("over twelve pounds please", 12.0, None),
        ("under one pound", None, 1.0),
    ],
)
def test_price_number_words(text, low, high):
    msg = read_message(text, "en")
    assert (msg.price_min, msg.price_max) == (low, high)


@pytest.mark.parametrize("text", ["one of the two kites", "a set of six napkins", "the three little pigs"])
def test_number_words_that_are_no_price(text):
    msg = read_message(text, "en")
    assert msg.price_min is None and msg.price_max is None
