"""What a request's words make of its kind (issue 12): a modifier that contradicts an item ("boys" is not the
girls' one), an -ing word that makes another thing of the kind ("sleeping bags" are no bags), a word after
the kind that is the thing asked ("a skittle alley" is no skittles), and a title compound inside a longer
request ("cushion stuffing cubes" are the STUFFING CUBEs, though none says cushion).

Own wording, on a made-up catalogue.
"""

from __future__ import annotations

import pytest

from tests.generate.conftest import made_up_catalogue
from tuijian.generate.assistant import ShopAssistant
from tuijian.generate.shop import ShopData

_ROWS = [
    ("GIRLS DINOSAUR SOCKS", 2.00),
    ("BOYS DINOSAUR SOCKS", 2.10),
    ("SLEEPING OWL NIGHT LIGHT", 6.00),
    ("CANVAS TOTE BAG", 3.00),
    ("JUTE TOTE BAG", 3.50),
    ("WOODEN SKITTLES SET", 8.00),
    ("ALLEY CAT MUG", 2.50),
    ("FOAM STUFFING CUBE 30x30cm", 1.40),
    ("FOAM STUFFING CUBE 40x40cm", 1.90),
    ("VELVET CUSHION COVER", 4.00),
    ("LINEN CUSHION COVER", 4.50),
]


@pytest.fixture(scope="module")
def shop() -> ShopAssistant:
    return ShopAssistant(ShopData.from_frames(made_up_catalogue(_ROWS, "H"))).fit()


@pytest.mark.parametrize(("who", "item"), [("boys", "H001"), ("girls", "H000")])
def test_an_audience_word_in_the_titles_names_that_item(shop, who, item):
    answer = shop.ask(f"how much are the {who} dinosaur socks?", language="en")
    assert answer.fact is not None and answer.fact["item"] == item


def test_an_ing_word_before_the_kind_makes_another_thing(shop):
    assert not shop.ask("any sleeping bags?", language="en").found
    assert shop.ask("any tote bags?", language="en").found


def test_a_title_word_after_the_kind_is_the_thing_asked(shop):
    assert not shop.ask("have you got a skittle alley?", language="en").found
    assert shop.ask("have you got skittles?", language="en").found


def test_a_title_compound_inside_a_longer_request_is_the_head(shop):
    answer = shop.ask("any cushion stuffing cubes under £1.50?", language="en", k=5)
    assert answer.citations == ["H007"]


def test_a_motif_inside_a_design_word_written_as_one_matches():
    # STARBURST is star + burst, both title words here: star cushion covers include it
    rows = [
        ("STARBURST CUSHION COVER", 5.00),
        ("PLAIN CUSHION COVER", 4.00),
        ("STAR WALL STICKER", 1.00),
        ("BURST PIPE REPAIR TAPE", 2.00),
    ]
    assistant = ShopAssistant(ShopData.from_frames(made_up_catalogue(rows, "M"))).fit()
    answer = assistant.ask("cushion covers with stars", language="en", k=5)
    assert answer.citations == ["M000"]
