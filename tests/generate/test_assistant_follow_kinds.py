"""Follow-ups that keep the earlier kind and motif (issue 12): "the lamb ones" after "spring decorations" are the
lamb spring decorations (not every lamb), 金色的 (gold ones) after 圣诞树 (christmas trees) reaches the gold raffia
tree whose title leaves out "christmas", and "is it for children?" in Chinese answers yes or no.

Own wording, on a made-up catalogue.
"""

from __future__ import annotations

import pytest

from tests.generate.conftest import made_up_catalogue
from tuijian.generate.assistant import ShopAssistant
from tuijian.generate.assistant_session import Conversation
from tuijian.generate.shop import ShopData

_ROWS = [
    ("SPRING DECORATION LAMB", 0.85),
    ("SPRING DECORATION DUCKLING", 0.95),
    ("HANGING LAMB SPRING DECORATION", 1.45),
    ("LAMB SOFT TOY", 4.50),
    ("FELT LAMB", 0.60),
    ("DUCKLING BATH TOY", 2.10),
    ("GREEN RAFFIA CHRISTMAS TREE", 3.00),
    ("SILVER RAFFIA CHRISTMAS TREE", 3.20),
    ("GOLD RAFFIA TREE 40CM", 1.50),
    ("KIDS PAINT SET", 3.95),
]


@pytest.fixture(scope="module")
def shop() -> ShopAssistant:
    return ShopAssistant(ShopData.from_frames(made_up_catalogue(_ROWS, "F"))).fit()


def _ask(assistant: ShopAssistant, *turns: str, k: int = 10):
    conv = Conversation()
    answer = None
    for text in turns:
        answer = assistant.ask(text, k=k, conversation=conv)
    assert answer is not None
    return answer


def _titles(assistant: ShopAssistant, answer) -> list[str]:
    cat = assistant.catalog_
    return [cat.titles[cat.position[i]] for i in answer.citations]


@pytest.mark.parametrize("pointer", ["the lamb ones", "just the lamb one", "those lamb ones please"])
def test_the_x_ones_narrows_the_earlier_kind(shop, pointer):
    got = _titles(shop, _ask(shop, "spring decorations", pointer))
    assert got and all("SPRING DECORATION" in t and "LAMB" in t for t in got)
    cheap = _titles(shop, _ask(shop, "spring decorations", pointer, "anything under £1?"))
    assert cheap == ["SPRING DECORATION LAMB"]


def test_the_chinese_pointer_narrows_the_earlier_kind(shop):
    got = _titles(shop, _ask(shop, "spring decorations", "小羊那款"))
    assert got and all("SPRING DECORATION" in t and "LAMB" in t for t in got)


def test_a_new_attribute_reaches_the_compound_kinds_head_when_nothing_else_matches(shop):
    got = _titles(shop, _ask(shop, "圣诞树", "金色的"))
    assert got == ["GOLD RAFFIA TREE 40CM"]


def test_any_cheaper_does_not_widen_the_kind(shop):
    answer = _ask(shop, "圣诞树", "银色的", "便宜一点的呢")
    assert "GOLD RAFFIA TREE 40CM" not in _titles(shop, answer)


def test_a_chinese_yes_no_audience_question_answers_yes(shop):
    answer = _ask(shop, "how much is the kids paint set?", "是给小孩用的吗")
    assert answer.fact is not None and answer.fact["value"] == "yes"
