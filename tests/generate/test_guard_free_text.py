"""The guard's free-text checks (``check(..., free_text=True)``, tuijian.generate.support) on the replies that the
LLM bench showed passing the claim guard (bench/results/llm_backends_smollm2.json), on real template copy and on
real review text."""

from __future__ import annotations

import gzip
import io

import pandas as pd
import pytest

from tuijian.data.datasets import dataset_available, dataset_path
from tuijian.generate.guard import check
from tuijian.generate.support import (
    ZH_FLUENCY_FLOOR,
    chinese_fluency,
    meta_text,
    repeated_sentence,
    unsupported_words,
)
from tuijian.generate.writer import CopyWriter

#: (item, reply, words the reason must name): real SmolLM2-135M replies that passed the claim guard.
INVENTED = [
    (
        "84913B",  # MINT GREEN ROSE TOWEL
        "Mint Green Rose Towel - a luxury, eco-friendly towel made from sustainable materials that enhances the "
        "beauty of nature. This product features an eco-friendly material, water-regenerating fabric, and comes "
        "in various sizes to suit different preferences.",
        {"sustainable", "luxury", "regenerating", "fabric"},
    ),
    (
        "22408",  # MONEY BOX CONFECTIONERY DESIGN
        "This £1.25-worth of confectionery is made with the finest ingredients, featuring a high-end chocolate "
        "blend and an exquisite selection of chocolates to choose from.",
        {"ingredients", "chocolate", "exquisite"},
    ),
    (
        "21002",  # ROSE DU SUD DRAWSTRING BAG
        "The ROSE DU SUD DRAWSTRING BAG is a bespoke, handmade, and exquisite handcrafted bag designed to bring a "
        "little beauty into your life. Crafted from the finest materials of handloom in a warm, aromatic "
        "floral-inspired style.",
        {"handmade", "handcrafted", "handloom", "bespoke"},
    ),
    (
        "21976",  # PACK OF 60 MUSHROOM CAKE CASES
        "A delightful and fun cake case, perfect for a sweet treat, sold at a local shop.",
        {"local"},
    ),
]


@pytest.fixture(scope="module")
def retail_facts(retail_shop):  # noqa: ANN001, ANN201 - fixture
    cache: dict[str, object] = {}

    def get(item: str):  # noqa: ANN202
        if item not in cache:
            cache[item] = retail_shop.facts(item)
        return cache[item]

    return get


@pytest.mark.parametrize(("item", "reply", "named"), INVENTED, ids=[i for i, _, _ in INVENTED])
def test_invented_features_are_rejected_with_the_words(retail_facts, item, reply, named):
    facts = retail_facts(item)
    result = check(reply, facts, free_text=True)
    unsupported = [v for v in result.violations if v.kind == "unsupported"]
    assert unsupported, result.violations
    assert named <= set(unsupported[0].value.split(", ")), unsupported[0].value


def test_the_claim_guard_alone_passed_them(retail_facts):
    """The gap these checks close: without ``free_text`` the invented features pass (no field covers them)."""
    item, reply, _ = INVENTED[2]
    assert check(reply, retail_facts(item)).ok


def test_a_grounded_reply_passes(retail_facts):
    facts = retail_facts("84913B")  # MINT GREEN ROSE TOWEL
    text = f"A mint green towel with a rose design, a lovely gift for {facts.price_text()}. Add it to your basket."
    assert check(text, facts, free_text=True).ok, check(text, facts, free_text=True).violations
    zh = facts.names.name_zh
    assert zh and check(f"{zh}，送礼自用都合适。", facts, free_text=True).ok


def test_meta_text_is_rejected(retail_facts):
    facts = retail_facts("22848")  # BREAD BIN DINER STYLE PINK
    reply = "A one-sentence advert for this bin, addressed to a friend who loves pink."
    assert "meta" in {v.kind for v in check(reply, facts, free_text=True).violations}
    assert meta_text("Here is a short product description: a pink bread bin.") is not None
    assert meta_text("I'm excited to feature this number tile!") is not None
    assert meta_text("说明：在这位顾客的价格让人感适") is not None
    # the shop's own title and copy that happens to start with "Here is the …" are no meta text
    assert meta_text("Here is the Spaceboy Lunch Box, a lunch box.") is None
    assert meta_text("Order the Lunch Box I Love London today.", _titled("LUNCH BOX I LOVE LONDON")) is None


def _titled(title: str):  # noqa: ANN202
    from tuijian.generate.facts import ItemFacts

    return ItemFacts("x", title)


@pytest.mark.parametrize(
    "reply",
    [
        "让我选与福制他的词板！ 巧塚被宝晕坐在朋口上，现在有一位可以点几式生鬼乃太全的名称。",
        "猫猫献猫献猫献猫献！花卫猫献猫献猫献！ 猫猫献猫献献猫献！",
        "明細、温官 我是你的一方行商品，王舞并不包含什么＃－！具有自动修理，机制护福。",
    ],
)
def test_chinese_gibberish_is_rejected(retail_facts, reply):
    facts = retail_facts("22723")  # SET OF 6 HERB TINS SKETCHBOOK
    assert not check(reply, facts, free_text=True).ok


def test_character_soup_falls_below_the_fluency_floor():
    score = chinese_fluency("猫猫献猫献猫献猫献！花卫猫献猫献猫献！ 猫猫献猫献献猫献！")
    assert score is not None and score < ZH_FLUENCY_FLOOR
    assert chinese_fluency("短") is None  # too short to judge
    assert repeated_sentence("这将可以用于派对的商品。这将可以用于派对的商品。") is not None
    assert repeated_sentence("A pink bin. A green bin.") is None


def test_real_chinese_reviews_pass_the_fluency_floor():
    if not dataset_available("chinese-shopping-reviews"):
        pytest.skip("the Chinese shopping reviews are not in the shared datasets")
    path = dataset_path("chinese-shopping-reviews") / "online_shopping_10_cats.csv.gz"
    with gzip.open(path, "rb") as fh:
        reviews = pd.read_csv(io.BytesIO(fh.read()))["review"].dropna().astype(str)
    sample = reviews.sample(1000, random_state=0)
    scores = [s for s in map(chinese_fluency, sample) if s is not None]
    assert len(scores) > 900
    assert sum(s >= ZH_FLUENCY_FLOOR for s in scores) / len(scores) >= 0.99


def test_real_review_sentences_pass(clothing_shop):
    facts = clothing_shop.facts("1078", max_reviews=150)
    for e in facts.evidence[:20]:
        assert not unsupported_words(e.text, facts), e.text  # the review's own words back it
        cue = "Pros" if e.polarity > 0 else "Cons"
        assert check(f'{cue}: {e.aspect} ("{e.text}").', facts, free_text=True).ok, e.text


def test_template_copy_passes_the_free_text_checks(retail_shop):
    """Template copy is written from the record; it passes the meta, fluency and repetition checks, and nearly
    all of it the content-word check too (bench/RESULTS.md, issue 12: 1,200 of 1,200 descriptions and ads; a few
    price lines say "Budget pick" or 实惠之选, which the record does not state)."""
    writer = CopyWriter()
    items = retail_shop.popularity().sort_values(ascending=False).index[:15]
    passed = total = 0
    for k, item in enumerate(items):
        facts = retail_shop.facts(item)
        for task in ("description", "ad"):
            for lang in ("en", "zh"):
                text = writer.write(task, facts, lang, seed=k, use_cache=False).text  # type: ignore[arg-type]
                kinds = {v.kind for v in check(text, facts, free_text=True).violations}
                assert not kinds & {"meta", "fluency", "repetition"}, (text, kinds)
                passed += not kinds
                total += 1
    assert passed / total >= 0.9, passed / total


class _SavedReply:
    """Replays a real SmolLM2 reply (bench/results/llm_backends_smollm2.json) as a model backend."""

    name = "openai"

    def __init__(self, reply: str):
        self.reply = reply

    def generate(self, request) -> str:  # noqa: ANN001 - GenerationRequest
        return self.reply


def test_the_writer_refuses_an_invented_feature_and_falls_back(retail_facts):
    item, reply, _ = INVENTED[0]
    facts = retail_facts(item)
    copy = CopyWriter(_SavedReply(reply), max_attempts=1).write("description", facts, "en", use_cache=False)
    assert copy.backend == "template" and copy.grounded and copy.rejected == [reply]
    assert "unsupported" in {v.kind for v in copy.violations}
