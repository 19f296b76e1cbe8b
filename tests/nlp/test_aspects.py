"""Aspect sentiment with negation and contrast (issue 12, item 7), in English and Chinese."""

import json
from pathlib import Path

import pytest

from tuijian.nlp.aspects import aspect_opinions, aspect_scores, clauses

DATA = Path(__file__).parent / "data" / "aspect_mentions.jsonl"


def _polarities(text: str) -> dict[str, int]:
    """Aspect -> polarity of the last clause that judges it."""
    out: dict[str, int] = {}
    for op in aspect_opinions(text):
        if op.polarity:
            out[op.aspect] = op.polarity
    return out


def test_no_way_worth_the_price_is_negative():
    assert _polarities("There is no way this is worth the price")["price"] == -1


def test_not_very_tasty_is_negative():
    assert _polarities("不是很好吃")["taste"] == -1
    assert _polarities("味道一点也不新鲜")["taste"] == -1


def test_english_contrast_gives_each_clause_its_own_polarity():
    got = _polarities("The fabric is soft but the zipper broke")
    assert got["fabric"] == 1 and got["quality"] == -1


def test_chinese_contrast_gives_each_clause_its_own_polarity():
    got = _polarities("虽然价格有点贵，但是质量很好")
    assert got["price"] == -1 and got["quality"] == 1


@pytest.mark.parametrize(
    ("text", "aspect", "polarity"),
    [
        ("The fit is not bad at all.", "fit", 1),
        ("The material is not soft and feels cheap.", "fabric", -1),
        ("Not too tight, and the length is perfect.", "size", 1),
        ("The sleeves are way too long.", "size", -1),
        ("Without a doubt the best quality I have bought.", "quality", 1),
        ("It hardly looks like the picture, the colour is not as vibrant.", "colour", -1),
        ("I was pleasantly surprised not only with the fit, but the quality.", "fit", 1),
        ("价格不贵", "price", 1),
        ("一点都不舒服", "comfort", -1),
        ("没有色差", "colour", 1),
        ("物流不是一般的慢", "delivery", -1),
        ("质量没得说", "quality", 1),
        ("面料毫无质感", "quality", -1),
        ("并不像别人说的那么难吃", "taste", 1),
        ("别买，质量太差", "quality", -1),
    ],
)
def test_negation_scope(text: str, aspect: str, polarity: int):
    assert _polarities(text).get(aspect) == polarity, aspect_opinions(text)


def test_contrast_words_cut_clauses():
    assert clauses("soft but thin; however cheap although nice though late") == [
        "soft",
        "thin",
        "cheap",
        "nice",
        "late",
    ]
    assert clauses("虽然便宜，但是质量差，不过物流快，可是客服慢") == [
        "虽然便宜",
        "质量差",
        "物流快",
        "客服慢",
    ]
    # 不但 ("not only") is not a contrast
    assert clauses("不但便宜而且好看") == ["不但便宜而且好看"]


def test_aspect_scores_count_negated_mentions():
    scores = aspect_scores(["质量很好", "质量不好", "质量并不差"])
    assert scores["quality"]["positive"] == 2 and scores["quality"]["negative"] == 1


def _mentions() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_labelled_set_is_large_and_balanced_enough():
    rows = _mentions()
    assert len(rows) >= 200
    assert sum(r["lang"] == "zh" for r in rows) >= 80
    assert sum("negation" in r["tags"] for r in rows) >= 100
    assert sum("contrast" in r["tags"] for r in rows) >= 80
    assert {r["polarity"] for r in rows} == {-1, 1}
    assert {r["split"] for r in rows} == {"dev", "heldout"}


@pytest.mark.parametrize("lang", ["all", "en", "zh"])
def test_accuracy_on_labelled_mentions(lang: str):
    rows = [r for r in _mentions() if lang == "all" or r["lang"] == lang]
    wrong = [r for r in rows if _polarities(r["text"]).get(r["aspect"], 0) != r["polarity"]]
    accuracy = 1 - len(wrong) / len(rows)
    assert accuracy >= 0.85, (accuracy, [(r["id"], r["aspect"], r["text"]) for r in wrong][:20])


def test_english_sentences_are_verbatim_from_the_cc0_reviews(data_dir: Path) -> None:
    path = data_dir / "womens_clothing_reviews" / "womens_clothing_ecommerce_reviews.csv.gz"
    import pandas as pd

    reviews = pd.read_csv(path)["Review Text"]
    for r in _mentions():
        if r["lang"] == "en":
            row = int(r["source"].rsplit(" ", 1)[1])
            assert r["text"] in str(reviews.iloc[row]), r["id"]
