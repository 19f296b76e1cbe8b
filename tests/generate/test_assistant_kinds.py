"""What counts as the asked kind, measure words, policy phrasings and motif follow-ups (issue 12, heldout9 causes).

Every example is phrased here, not copied from a gold split; each checks the real Online Retail catalogue and
could fail: the catalogue has a cheaper or dearer look-alike that the old reading picked.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tuijian.generate.assistant_query import read_message
from tuijian.generate.assistant_session import Conversation

_ACCESSORY_TITLE = r"HOLDER|STAND|STICK|PLATE|BOWL|SPIKE|\bPOT\b|BASE|FOR CANDLE"


def _lang(question: str) -> str:
    return "zh" if re.search(r"[\u4e00-\u9fff]", question) else "en"


def _titles(retail_shop, citations):
    return [retail_shop.items.loc[i, "title"] for i in citations]


@pytest.mark.parametrize(
    "question", ["what is the lowest priced candle?", "最便宜的蜡烛是哪根", "cheapest candles please"]
)
def test_the_cheapest_of_a_kind_is_not_an_accessory_for_it(assistant, retail_shop, question):
    items = retail_shop.items
    answer = assistant.ask(question)
    first = items.loc[answer.citations[0], "title"]
    assert "CANDLE" in first and not re.search(_ACCESSORY_TITLE, first), (question, first)
    # the look-alike is there and cheaper: the answer was not right by luck
    lookalikes = items[items["title"].str.contains(r"FOR CANDLE|BASE FOR", regex=True)]
    assert lookalikes["price"].min() < items.loc[answer.citations[0], "price"]


def test_the_cheapest_mirror_is_not_a_mirror_magnet(assistant, retail_shop):
    # BIRD MIRROR MAGNETS are magnets: "mirror" before another thing's name only says what they look like
    first = retail_shop.items.loc[assistant.ask("which mirror is the least expensive?").citations[0], "title"]
    assert "MIRROR" in first and "MAGNET" not in first, first


def test_an_accessory_is_still_found_when_it_is_what_is_asked(assistant, retail_shop):
    for question, pattern in [
        ("candle holders", r"CANDLE ?HOLDER"),
        ("coat racks", r"COAT RACK"),
        ("cheapest cake stand", r"CAKE ?STAND"),
        ("cookie cutters", r"COOKIE CUTTER"),
    ]:
        titles = _titles(retail_shop, assistant.ask(question).citations)
        assert titles and all(re.search(pattern, t) for t in titles), (question, titles)


def test_accessory_mask_reads_the_word_order_of_the_title(assistant):
    cat = assistant.catalog_
    candle = cat.vocabulary.english[("candle",)]
    extra = cat.accessory(candle, cat.mask(candle))
    flagged = {cat.titles[i] for i in np.flatnonzero(extra)}
    assert "BLUE STONES ON WIRE FOR CANDLE" in flagged and "FLUTED ANTIQUE CANDLE HOLDER" in flagged
    assert "FENG SHUI PILLAR CANDLE" not in flagged
    assert "FAIRY CAKE BIRTHDAY CANDLE SET" not in flagged  # a set is the candles themselves
    # an accessory named in the question is not held against the item ("candle" + "holder" asked)
    named = cat.accessory(candle, cat.mask(candle), frozenset({"holder"}))
    assert "FLUTED ANTIQUE CANDLE HOLDER" not in {cat.titles[i] for i in np.flatnonzero(named)}


@pytest.mark.parametrize("question", ["most expensive fairy lights", "给我看看灯串", "灯串有便宜点的吗"])
def test_string_lights_are_not_lamps_night_lights_or_tea_lights(assistant, retail_shop, question):
    titles = _titles(retail_shop, assistant.ask(question).citations)
    assert titles, question
    for t in titles:
        assert re.search(r"\bLIGHTS\b|LIGHT CHAIN|LIGHT GARLAND|FAIRY LIGHT|LIGHT DECORATION", t), (
            question,
            t,
        )
        assert not re.search(r"LAMP|T-LIGHT|TEA LIGHT|NIGHT LIGHT|TABLE LIGHT|BEDSIDE", t), (question, t)


def test_frying_pan_is_not_a_milk_pan(assistant, retail_shop):
    titles = _titles(retail_shop, assistant.ask("煎锅哪个最贵").citations)
    assert titles and all("FRYING PAN" in t or "EGG PAN" in t for t in titles), titles
    milk = retail_shop.items[retail_shop.items["title"].str.contains("MILK PAN")]
    assert milk["price"].max() > retail_shop.items.loc[assistant.ask("最贵的煎锅").citations[0], "price"]


def test_ves_plurals_fold_to_their_f_singular(assistant, retail_shop):
    from tuijian.generate.retrieval import index_tokens

    assert index_tokens("wooden shelves and knives") == index_tokens("wooden shelf and knife")
    assert index_tokens("gloves sleeves") == ["glove", "sleeve"]  # -ves words whose singular keeps the e
    titles = _titles(retail_shop, assistant.ask("do you have any shelves?").citations)
    assert titles and all(re.search(r"\bSHELF\b|\bSHELVES\b", t) for t in titles), titles


@pytest.mark.parametrize(
    ("question", "pattern"),
    [
        ("最贵的镜子是哪面", r"MIRROR"),
        ("最便宜的伞是哪一把", r"UMBRELLA|PARASOL"),
        ("哪本笔记本最便宜", r"NOTEBOOK"),
    ],
)
def test_a_chinese_measure_word_is_not_the_thing_asked(assistant, retail_shop, question, pattern):
    answer = assistant.ask(question)
    assert answer.found and answer.intent == "sort", (question, answer.text)
    assert re.search(pattern, retail_shop.items.loc[answer.citations[0], "title"]), question


@pytest.mark.parametrize(
    ("question", "policy"),
    [
        ("可以寄到澳大利亚吗", "policy:shipping"),
        ("你们发不发加拿大", "policy:shipping"),
        ("能邮到法国吗", "policy:shipping"),
        ("can you send the order to Norway?", "policy:shipping"),
        ("can I send these two mugs back?", "policy:returns"),
        ("what if my niece doesn't like the doll?", "policy:returns"),
        ("could I take the lamp back next week?", "policy:returns"),
    ],
)
def test_shipping_to_a_place_and_sending_a_named_thing_back_are_policies(question, policy):
    lang = _lang(question)
    assert read_message(question, lang).policy == policy


@pytest.mark.parametrize(
    "question", ["有中国风的杯子吗", "发夹有哪些", "可以发电子邮件吗", "a mug to send to my mum"]
)
def test_place_and_send_words_in_a_product_question_are_not_shipping(question):
    lang = _lang(question)
    assert read_message(question, lang).policy != "policy:shipping"


@pytest.mark.parametrize(
    ("first", "follow", "wanted"),
    [
        ("soft toys", "any with owls?", (r"OWL", r"SOFT TOY")),
        ("jumbo bags", "有猫头鹰图案的吗", (r"OWL", r"JUMBO|BAG")),
        ("fridge magnets", "有蛋糕的吗", (r"CAKE", r"MAGNET")),
    ],
)
def test_a_motif_follow_up_keeps_the_earlier_kind(assistant, retail_shop, first, follow, wanted):
    # owl is also a product type (SPACE OWL): after soft toys it is the motif of a soft toy, not any owl
    conversation = Conversation()
    assistant.ask(first, conversation=conversation)
    titles = _titles(retail_shop, assistant.ask(follow, conversation=conversation).citations)
    assert titles and all(all(re.search(p, t) for p in wanted) for t in titles), (follow, titles)


def test_a_refinement_widens_a_narrow_earlier_kind_before_giving_up(assistant, retail_shop):
    # cat magnets are titled CAT MAGNETS, not FRIDGE MAGNETS: "kittens?" after fridge magnets still finds them
    conversation = Conversation()
    assistant.ask("fridge magnets please", conversation=conversation)
    answer = assistant.ask("and ones with a cat?", conversation=conversation)
    titles = _titles(retail_shop, answer.citations)
    assert titles and all("CAT" in t and "MAGNET" in t for t in titles), titles
    assert not any("FRIDGE" in t for t in titles)  # found only by widening


@pytest.mark.parametrize(
    ("question", "pattern"),
    [
        ("套娃笔记本", r"BABUSHKA.*NOTEBOOK"),
        ("纸杯蛋糕围裙", r"FAIRY CAKE.*APRON"),
        ("橡皮鸭体重秤", r"RUBBER DUCK"),
    ],
)
def test_newly_added_chinese_motifs(assistant, retail_shop, question, pattern):
    titles = _titles(retail_shop, assistant.ask(question).citations)
    assert titles and all(re.search(pattern, t) for t in titles), (question, titles)


@pytest.mark.parametrize("question", ["lowest priced t-light?", "cheapest t lights"])
def test_a_one_letter_prefix_stays_on_its_word(assistant, retail_shop, question):
    # T-LIGHT was read as LIGHT (a lone letter is no token): LIGHT PINK FLOCK GLASS CANDLEHOLDER was the answer
    first = retail_shop.items.loc[assistant.ask(question).citations[0], "title"]
    assert "T-LIGHT" in first and not re.search(r"HOLDER|\bHOLD\b|LIGHT PINK", first), (question, first)
    holders = _titles(retail_shop, assistant.ask("t light holders").citations)
    assert holders and all("T-LIGHT HOLDER" in t for t in holders), holders


@pytest.mark.parametrize(
    ("question", "wanted", "lookalike"),
    [
        ("which doll is the least expensive?", r"\bDOLL\b", r"DOORSTOP"),
        ("最便宜的布娃娃是哪个", r"\bDOLL\b", r"DOORSTOP"),
        ("lowest priced parasols", r"PARASOL", r"COCKTAIL"),
        ("最便宜的遮阳伞", r"PARASOL", r"COCKTAIL"),
        ("cheapest plant pot", r"PLANTERS?\b|PLANT POT", r"CANDLE"),
        ("最便宜的花盆", r"PLANTERS?\b|PLANT POT", r"CANDLE"),
        ("最便宜的置物架", r"\bSHELF\b", r"RACK"),
    ],
)
def test_a_kind_word_in_another_things_name_is_not_the_cheapest_of_the_kind(
    assistant, retail_shop, question, wanted, lookalike
):
    # BLOND DOLL DOORSTOP, COCKTAIL PARASOLS, POT PLANT CANDLE and racks are cheaper than every real one
    items = retail_shop.items
    answer = assistant.ask(question)
    assert answer.citations, question
    first = items.loc[answer.citations[0], "title"]
    assert re.search(wanted, first) and not re.search(lookalike, first), (question, first)
    cheaper = items[items["title"].str.contains(lookalike) & (items["price"] > 0)]
    assert cheaper["price"].min() < items.loc[answer.citations[0], "price"]


@pytest.mark.parametrize("question", ["which tape measure is the dearest?", "最贵的卷尺是哪个"])
def test_a_tape_measure_is_also_a_measuring_tape(assistant, retail_shop, question):
    # MEASURING TAPE BABUSHKA RED/BLUE (£2.95) cost more than every MINI TAPE MEASURE
    first = retail_shop.items.loc[assistant.ask(question).citations[0], "title"]
    assert "MEASURING TAPE" in first, (question, first)


@pytest.mark.parametrize("question", ["布娃娃有哪些", "三镑以下的布娃娃"])
def test_bu_wawa_is_a_doll(assistant, retail_shop, question):
    titles = _titles(retail_shop, assistant.ask(question).citations)
    assert titles and all(re.search(r"\bDOLL\b", t) and "DOORSTOP" not in t for t in titles), titles


@pytest.mark.parametrize(
    ("question", "policy"),
    [
        ("when would it arrive in Germany if I order now?", "policy:shipping"),
        ("when does the order get to Lyon?", "policy:shipping"),
        ("能用借记卡付吗", "policy:payment"),
        ("可以刷visa吗", "policy:payment"),
        ("有事情应该找谁", "policy:contact"),
        ("who do I ask about a problem with my order?", "policy:contact"),
    ],
)
def test_arrival_card_and_who_to_ask_phrasings_are_policies(question, policy):
    lang = _lang(question)
    assert read_message(question, lang).policy == policy


@pytest.mark.parametrize(
    "turns", [("dolls please", "less than £3", "got any monkeys?"), ("布娃娃", "三镑以下的", "有猴子的吗")]
)
def test_a_motif_follow_up_after_a_price_turn_keeps_kind_and_price(assistant, retail_shop, turns):
    conversation = Conversation()
    for turn in turns[:-1]:
        assistant.ask(turn, conversation=conversation)
    answer = assistant.ask(turns[-1], conversation=conversation)
    items = retail_shop.items
    assert answer.citations, turns
    for item in answer.citations:
        title = items.loc[item, "title"]
        assert "MONKEY" in title and re.search(r"\bDOLL\b", title) and items.loc[item, "price"] <= 3, title


def test_any_motif_as_a_first_message_is_a_new_search(assistant, retail_shop):
    # with nothing earlier to narrow, "any monkeys?" finds monkey things of every kind
    titles = _titles(retail_shop, assistant.ask("any monkeys?").citations)
    assert titles and all("MONKEY" in t for t in titles)
    assert any(not re.search(r"\bDOLL\b", t) for t in titles), titles
