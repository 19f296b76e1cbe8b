from __future__ import annotations

import pytest

from tuijian.exceptions import ConfigError, NotFittedError
from tuijian.nlp.aspects import aspect_opinions, aspect_scores
from tuijian.nlp.attributes import extract_attributes
from tuijian.nlp.keywords import TfidfKeywords, textrank_keywords
from tuijian.nlp.tokenize import detect_language, tokenize


def test_tokenize_english_and_chinese():
    assert tokenize("WHITE HANGING HEART T-LIGHT HOLDER") == [
        "white",
        "hanging",
        "heart",
        "t-light",
        "holder",
    ]
    zh = tokenize("这件衣服质量很好，物流也快")
    assert "质量" in zh and "物流" in zh
    assert "的" not in tokenize("质量的问题", remove_stopwords=True)
    assert tokenize("iPad屏幕很清晰")[0] == "ipad"
    assert detect_language("面料很舒服") == "zh" and detect_language("soft fabric") == "en"
    with pytest.raises(ConfigError, match="language"):
        tokenize("x", language="fr")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "WHITE HANGING HEART T-LIGHT HOLDER",
            {"product_type": "t-light holder", "colour": ["white"], "pattern": ["heart"]},
        ),
        ("SET OF 3 CAKE TINS PANTRY DESIGN", {"product_type": "cake tin", "pack_count": 3}),
        (
            "KNITTED UNION FLAG HOT WATER BOTTLE",
            {"product_type": "hot water bottle", "material": ["knit"], "pattern": ["union flag"]},
        ),
        (
            "PACK OF 72 RETROSPOT CAKE CASES",
            {"product_type": "cake case", "pack_count": 72, "pattern": ["polka dot"]},
        ),
        (
            "JUMBO BAG RED RETROSPOT",
            {"product_type": "jumbo bag", "colour": ["red"], "pattern": ["polka dot"]},
        ),
        ("DINOSAUR LUNCH BOX WITH CUTLERY", {"product_type": "lunch box", "pattern": ["dinosaur"]}),
        (
            "BIC Round Stic Ball Pen, Fine Point, 0.8mm, Black, 12 Pens (GSF11-Blk)",
            {"product_type": "ball pen", "colour": ["black"], "pack_count": 12, "dimensions": ["0.8mm"]},
        ),
        (
            "VTECH CS6114 DECT 6.0 Cordless Phone, White/Grey, 1 Handset",
            {"product_type": "cordless phone", "colour": ["white", "grey"]},
        ),
        (
            "红色纯棉连衣裙 3件套",
            {"product_type": "dress", "colour": ["red"], "material": ["cotton"], "pack_count": 3},
        ),
    ],
)
def test_attributes(title, expected):
    got = extract_attributes(title).to_dict()
    for key, value in expected.items():
        assert got[key] == value, (key, got)


def test_brand_is_not_read_as_material():
    title = "Paper Mate InkJoy 300 RT Retractable Ballpoint Pens, Assorted Colors, 8 Pack"
    assert "paper" not in extract_attributes(title).material  # the product reader knows Amazon brands
    a = extract_attributes(title, brand="Paper Mate")
    assert a.material == [] and a.colour == ["multicolour"] and a.pack_count == 8


def test_aspects_english_with_negation_and_contrast():
    ops = aspect_opinions(
        "Love this dress! The fabric is soft but it runs small. Not comfortable at all. Great price."
    )
    got = {(o.aspect, o.polarity) for o in ops}
    assert {("fabric", 1), ("size", -1), ("comfort", -1), ("price", 1)} <= got


def test_aspects_chinese():
    ops = aspect_opinions("衣服质量很好，但是尺码偏小，物流很快，价格便宜")
    assert {(o.aspect, o.polarity) for o in ops} >= {
        ("quality", 1),
        ("size", -1),
        ("delivery", 1),
        ("price", 1),
    }
    scores = aspect_scores(["质量很好", "质量太差了"])
    assert scores["quality"]["mentions"] == 2 and scores["quality"]["score"] == 0


def test_keywords():
    docs = [
        "red retrospot cake cases",
        "red retrospot jumbo bag",
        "white heart t-light holder",
        "pink heart mug",
    ]
    ex = TfidfKeywords().fit(docs)
    assert ex.keywords("red retrospot jumbo bag", 2)[0][0] in {"jumbo", "bag"}
    with pytest.raises(NotFittedError):
        TfidfKeywords().keywords("x")
    kw = [w for w, _ in textrank_keywords("面料很舒服，面料柔软，颜色漂亮，面料透气", 2)]
    assert kw[0] == "面料"
