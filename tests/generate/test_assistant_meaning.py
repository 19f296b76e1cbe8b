"""Intents, facts and unknown kinds read by meaning, not by the words of one gold split (issue 12).

Policy intents are vocabularies of the intent (payment methods and card brands, contact channels and complaints,
trade quantities, damage words), facts are read from their verbs ("can it be washed", "meant for kids"), a
catalogue head noun is never an attribute ("paperweight" is no weight question), and a kind the shopper narrows
with a modifier no item has is not answered with the kind's other items. The phrasings and the made-up catalogue
below are written here, none copied from a gold split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.generate.conftest import made_up_catalogue
from tuijian.generate.assistant_catalog import CatalogIndex
from tuijian.generate.assistant_query import read_message


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("do you take discover cards?", "policy:payment"),
        ("can I spread the cost over instalments?", "policy:payment"),
        ("is klarna available at checkout?", "policy:payment"),
        ("可以分期付款吗", "policy:payment"),
        ("能用银联卡吗", "policy:payment"),
        ("how do I make a complaint about my order?", "policy:contact"),
        ("can I text you on whatsapp", "policy:contact"),
        ("我要投诉", "policy:contact"),
        ("能加微信聊吗", "policy:contact"),
        ("my boutique wants 400 candles, do you have trade pricing?", "policy:wholesale"),
        ("we're a retailer, can we open a trade account?", "policy:wholesale"),
        ("我们公司想采购300个杯子", "policy:wholesale"),
        ("the frame arrived bent, what can I do?", "policy:returns"),
        ("one of the mugs came chipped", "policy:returns"),
        ("杯子裂了可以换吗", "policy:returns"),
        ("收到的盒子变形了", "policy:returns"),
    ],
)
def test_policy_intents_by_meaning_class(text: str, policy: str):
    lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
    assert read_message(text, lang).policy == policy


@pytest.mark.parametrize(
    "text",
    [
        "red phone charms under £3",
        "cheapest card holder",
        "有没有卡通贴纸",
        "换成蓝色的呢",
        "a paperweight under £3",
    ],
)
def test_product_questions_are_no_policy(text: str):
    lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
    assert read_message(text, lang).policy is None


@pytest.mark.parametrize(
    ("text", "attribute", "prop"),
    [
        ("can these napkins be washed?", "property", "washable"),
        ("can I wash it at 40?", "property", "washable"),
        ("is the apron machine washable", "property", "washable"),
        ("这个抱枕能不能洗", "property", "washable"),
        ("is the tea set intended for toddlers?", "audience", None),
        ("are the crayons aimed at children?", "audience", None),
        ("这个拼图是给小朋友玩的吗", "audience", None),
        ("is the vase big or small?", "size", None),
        ("这个花瓶是大号还是小号", "size", None),
        ("how heavy is the doorstop?", "property", "weight"),
        ("does it weigh much?", "property", "weight"),
    ],
)
def test_fact_verbs(text: str, attribute: str, prop: str | None):
    lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
    msg = read_message(text, lang)
    assert (msg.attribute, msg.prop) == (attribute, prop)


def test_a_head_noun_that_contains_an_attribute_word_is_no_fact():
    msg = read_message("the cheapest paperweight please", "en")
    assert msg.attribute is None and "paperweight" in msg.positive


_SHED = [
    ("STONE GNOME WITH LANTERN", 8.50),
    ("RESIN GNOME FLOWER POT", 5.25),
    ("GLASS PAPERWEIGHT SEASHELL", 3.95),
    ("GLASS PAPERWEIGHT MOON", 4.50),
    ("PAPER NAPKINS BLUE STRIPE", 0.85),
    ("PEONY ARTIFICIAL FLOWER", 1.45),
    ("TULIP ARTIFICIAL FLOWER", 2.10),
    ("FRESH FLOWER VASE", 6.00),
    ("METAL WALL ART OWL", 7.95),
    ("METAL WALL ART SHIP", 8.95),
    ("BEADED DOOR CURTAIN PINK", 4.95),
    ("STAR BROOCH SILVER", 3.25),
    ("HEART BROOCH GOLD", 3.25),
    ("WOODEN TOY TRAIN", 9.95),
    ("GLASS BIRDHOUSE WREN", 2.95),
]


@pytest.fixture(scope="module")
def shed() -> CatalogIndex:
    items = made_up_catalogue(_SHED, "S")
    return CatalogIndex(items, np.zeros(len(_SHED)))


def _titles(cat: CatalogIndex, text: str, lang: str = "en", **kwargs) -> list[str]:
    reading = cat.vocabulary.read(read_message(text, lang).positive, lang, cat.known)
    assert not reading.unknown and not reading.head_unknown and not reading.modifier_unknown, reading
    return [cat.titles[p] for p in cat.search(reading.concepts, [], k=10, **kwargs).positions]


def test_catalogue_head_nouns_are_product_types(shed: CatalogIndex):
    assert set(_titles(shed, "paperweights")) == {"GLASS PAPERWEIGHT SEASHELL", "GLASS PAPERWEIGHT MOON"}
    assert set(_titles(shed, "a gnome")) >= {"STONE GNOME WITH LANTERN"}


def test_a_place_of_use_gives_way(shed: CatalogIndex):
    # no gnome title says GARDEN: a garden gnome is still a gnome
    assert "STONE GNOME WITH LANTERN" in _titles(shed, "garden gnomes")
    assert _titles(shed, "garden gnomes", price_max=9) == ["STONE GNOME WITH LANTERN"]
    # a motif is no place: a cat brooch is not any brooch
    assert _titles(shed, "cat brooches") == []


def test_synonyms_and_partitives(shed: CatalogIndex):
    assert set(_titles(shed, "faux flowers")) == {"PEONY ARTIFICIAL FLOWER", "TULIP ARTIFICIAL FLOWER"}
    assert set(_titles(shed, "a piece of wall art")) == {"METAL WALL ART OWL", "METAL WALL ART SHIP"}
    assert set(_titles(shed, "a bit of wall art")) == {"METAL WALL ART OWL", "METAL WALL ART SHIP"}


def test_chinese_modifier_the_catalogue_lacks_is_unknown(shed: CatalogIndex):
    reading = shed.vocabulary.read(read_message("有隔音窗帘吗", "zh").positive, "zh", shed.known)
    assert reading.modifier_unknown and any(c.value == "curtain" for c in reading.concepts)
    # a material character that ends an unknown word is that word's head, not the material
    reading = shed.vocabulary.read(read_message("你们卖砂纸吗", "zh").positive, "zh", shed.known)
    assert not any(c.kind == "material" for c in reading.concepts)


def test_chinese_diminutive_is_the_motif_not_a_size(shed: CatalogIndex):
    reading = shed.vocabulary.read(read_message("有小兔子的胸针吗", "zh").positive, "zh", shed.known)
    kinds = {c.kind for c in reading.concepts}
    assert "size" not in kinds and "theme" in kinds


def test_a_phrase_that_ends_inside_a_product_word_is_not_read(shed: CatalogIndex):
    words = shed.vocabulary.chinese_re
    assert read_message("有香皂吗", "zh", words).prop is None  # soap, not "is it scented"
    assert read_message("有电话机吗", "zh", words).policy is None  # a telephone, not the contact policy
    assert read_message("这块香皂有香味吗", "zh", words).prop == "scented"
    assert read_message("买多少钱包邮", "zh", words).policy == "policy:shipping"


def test_chinese_words_cover_the_most_characters(shed: CatalogIndex):
    words = [m.group(0) for m in shed.vocabulary._segment("绿色玻璃小鸟屋")]
    assert words[-1] == "鸟屋"  # a birdhouse, not a bird and an unknown 屋
    reading = shed.vocabulary.read("绿色玻璃小鸟屋", "zh", shed.known)
    assert any(c.kind == "type" and c.value == "birdhouse" for c in reading.concepts) and not reading.unknown


def test_a_material_before_a_product_noun_is_part_of_its_name():
    rows = [("LEAF PRINT PAPER BAG", 0.30), ("BOTANICAL PRINT", 6.50), ("OWL PRINT GLASS JAR", 1.20)]
    items = pd.DataFrame(
        {"item_id": ["P1", "P2", "P3"], "title": [t for t, _ in rows], "price": [p for _, p in rows]}
    )
    cat = CatalogIndex(items, np.zeros(len(rows)))
    assert _titles(cat, "cheapest print", sort="price_asc") == ["BOTANICAL PRINT"]


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("can I pay cash on delivery?", "policy:payment"),
        ("the teapot turned up in pieces", "policy:returns"),
        ("how can I get hold of someone?", "policy:contact"),
        ("is there a discount on big orders?", "policy:wholesale"),
        ("我们想订两千个纸杯", "policy:wholesale"),
        ("how long until my parcel arrives?", "policy:shipping"),
    ],
)
def test_more_policy_phrasings(text: str, policy: str):
    lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
    assert read_message(text, lang).policy == policy


@pytest.mark.parametrize(
    ("text", "attribute", "prop"),
    [
        ("is the tea towel safe to wash?", "property", "washable"),
        ("can the bunting stay out in the rain?", "property", "waterproof"),
        ("is the purse hand-crafted?", "property", "handmade"),
        ("这支蜡烛有味道吗", "property", "scented"),
        ("what are the measurements of the mirror?", "size", None),
        ("who is the rag doll for?", "audience", None),
        ("can toddlers play with the blocks?", "audience", None),
        ("小朋友可以玩吗", "audience", None),
        ("what does the lantern sell for?", "price", None),
    ],
)
def test_more_fact_phrasings(text: str, attribute: str, prop: str | None):
    lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
    msg = read_message(text, lang)
    assert (msg.attribute, msg.prop) == (attribute, prop)
    if lang == "en" and attribute != "property":
        assert msg.positive.split()  # the item's name is left to read


def test_a_title_word_is_no_payment_question():
    assert read_message("rex cash carry shopper", "en").policy is None
