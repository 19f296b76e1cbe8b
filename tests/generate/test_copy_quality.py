"""Issue 12, items 2-4: copy written from the product record, checked by meaning.

* each false claim the issue lists is rejected by the guard, and the generator no longer writes it;
* on ≥ 1,000 generated texts (en + zh, Online Retail + Office): no English article or number-agreement error,
  Chinese texts name the product in Chinese with few Latin letters, the guard passes, the copy varies;
* personalisation says something true and specific or nothing; no empty review summary.
"""

from __future__ import annotations

import re

import pytest

from tuijian.exceptions import ConfigError, DataError
from tuijian.generate.grammar import (
    counted,
    distinct_2,
    english_errors,
    indefinite,
    latin_share,
    measure_word,
    names_product_in_chinese,
)
from tuijian.generate.guard import check
from tuijian.generate.shop import ShopData, load_shop
from tuijian.generate.templates import LENGTHS, STYLES
from tuijian.generate.writer import CopyWriter

ALL = [(task, lang) for task in ("description", "ad", "title", "push") for lang in ("en", "zh")]
#: distinct-2 per task and language on the 140 items of ``texts``: at least the 0.5 asked, a little under what the
#: templates reach there (bench/generation.py --quality reports the 300-item figure)
DISTINCT_2_FLOOR = {
    ("description", "en"): 0.54,
    ("description", "zh"): 0.64,
    ("ad", "en"): 0.50,
    ("ad", "zh"): 0.54,
    ("title", "en"): 0.64,
    ("title", "zh"): 0.55,
    ("push", "en"): 0.50,
    ("push", "zh"): 0.55,
}


@pytest.fixture(scope="module")
def office_shop() -> ShopData:
    return load_shop("amazon-office")


def _violations(text, facts) -> set[tuple[str, str]]:
    return {(v.kind, v.value) for v in check(text, facts).violations}


def _kinds(text, facts) -> set[str]:
    return {v.kind for v in check(text, facts).violations}


# --- the false claims listed in issue 12 -------------------------------------------------------------------------


def test_a_bottle_opener_is_not_a_bottle(retail_shop):
    f = retail_shop.facts("23184")  # BULL DOG BOTTLE OPENER
    assert ("type", "bottle") in _violations("It is a bottle with a dog motif.", f)
    assert ("type", "bottle") in _violations("A red bottle.", f) or not check("A red bottle.", f).ok
    assert not check("这款小狗瓶子很好看。", f).ok
    assert check(f"It is a bottle opener with a dog design. Only {f.price_text()}.", f).ok
    assert check("这款小狗开瓶器很讨喜。", f).ok


def test_shredder_oil_is_not_a_shredder(office_shop):
    f = office_shop.facts("2000")  # Fellowes Powershred Performance Shredder Oil, 16 oz. ...
    assert "type" in _kinds("这款碎纸机很好用。", f)
    assert ("type", "shredder") in _violations("It is a shredder.", f)
    assert check("这款碎纸机润滑油很好用。", f).ok and check("It is shredder oil.", f).ok


def test_letter_size_is_not_a_letter_pattern(office_shop):
    f = office_shop.facts("169")  # Smead SuperTab Heavyweight File Folder, ..., Letter Size, ..., Manila
    bad = _violations("白色字母文件夹", f)
    assert ("theme", "alphabet") in bad and ("colour", "white") in bad
    assert ("theme", "alphabet") in _violations("A file folder with a letter design.", f)
    assert check("It is a file folder in letter size.", f).ok


def test_100_sheets_is_a_capacity_not_a_set_of_100(office_shop):
    f = office_shop.facts("777")  # Swingline Stack-and-Shred 100X Hands Free Shredder, ..., 100 Sheets, ...
    assert ("pack_count", "100") in _violations("It comes as a set of 100.", f)
    assert "pack_count" in _kinds("一套100个。", f)
    assert check("Capacity: 100 sheets.", f).ok and check("容量：100张。", f).ok


def test_bunting_is_not_a_wreath(retail_shop):
    f = retail_shop.facts("47566")  # PARTY BUNTING
    assert "type" in _kinds("这款派对花环很喜庆。", f)
    assert ("type", "wreath") in _violations("It is a party wreath.", f)
    assert check("这款派对彩旗很喜庆。", f).ok and check("It is party bunting.", f).ok


def test_a_complaint_is_not_a_pro(clothing_shop):
    f = clothing_shop.facts("1078", max_reviews=150)
    complaint = next(e for e in f.negative_evidence() if e.aspect in ("size", "fit", "quality", "fabric"))
    praise = f.positive_evidence()[0]
    pro = f'Pros: {complaint.aspect} ("{complaint.text}").'
    assert ("quote_polarity", "praise") in _violations(pro, f)
    assert check(f'Cons: {complaint.aspect} ("{complaint.text}").', f).ok
    assert check(f'Pros: {praise.aspect} ("{praise.text}").', f).ok
    assert ("quote", "it never fits anyone") in _violations('Shoppers say: "it never fits anyone".', f)


ISSUE_ITEMS = [("online-retail", "23184"), ("online-retail", "47566"), ("amazon-office", "2000"),
               ("amazon-office", "169"), ("amazon-office", "777")]  # fmt: skip


@pytest.mark.parametrize(("shop_name", "item"), ISSUE_ITEMS)
def test_the_generator_no_longer_writes_them(shop_name, item):
    f = load_shop(shop_name).facts(item)
    writer = CopyWriter()
    for seed in range(6):
        for task, lang in ALL:
            text = writer.write(task, f, lang, interests=["pattern:dog"], seed=seed, use_cache=False).text
            assert check(text, f).ok, text
            body = re.sub(r"规格：[^\n]*", "", text)
            assert "set of 100" not in text and "一套100" not in text
            assert "wreath" not in text.lower() and "花环" not in body
            assert "字母" not in body
            if item == "2000":
                assert "碎纸机" not in body.replace("碎纸机润滑油", "") and "a shredder" not in text
            if item == "23184" and lang == "en":
                assert re.search(r"\ba bottle\b(?! opener)", text) is None


# --- the checkers ---------------------------------------------------------------------------------------------------


def test_english_checker_finds_the_errors_of_the_issue():
    assert english_errors("It is a red lights.") == ["a red lights"]
    assert english_errors("Meet a apron.") == ["a apron"]
    assert english_errors("Made in a english style.") == ["a english"]
    assert english_errors("Perfect for party.") == ["for party"]
    assert english_errors("You get 2 mug and 1 pens.") == ["2 mug", "1 pens"]
    assert english_errors("It is an apron. 6 cake cases, an LED lamp, a unicorn mug, 18 slide tabs.") == []
    assert english_errors("Meet the 3 Hook Photo Shelf.", ("3 Hook Photo Shelf",)) == []


def test_english_and_chinese_helpers():
    assert [indefinite(p) for p in ("apron", "heart", "hour glass", "lights", "bunting")] == [
        "an apron",
        "a heart",
        "an hour glass",
        "lights",
        "bunting",
    ]
    assert counted(6, "cake case") == "6 cake cases" and counted(1, "box") == "1 box"
    assert counted(12, "paper") == "12 pieces of paper"
    assert (measure_word("圆珠笔"), measure_word("贺卡"), measure_word("马克杯"), measure_word("开瓶器")) == (
        "支",
        "张",
        "只",
        "个",
    )
    text = "这款白色爱心茶蜡烛台很讨喜。\n规格：WHITE HANGING HEART T-LIGHT HOLDER（货号 85123A）"
    assert latin_share(text, "85123A") == 0.0 and names_product_in_chinese(text, "茶蜡烛台")
    assert latin_share("这款White Hanging Heart蜡烛台") > 0.5


# --- ≥ 1,000 texts on Online Retail and Office --------------------------------------------------------------------


@pytest.fixture(scope="module")
def texts(retail_shop, office_shop):
    out = []
    writer = CopyWriter()
    for shop in (retail_shop, office_shop):
        pop = shop.popularity().sort_values(ascending=False, kind="stable")
        items = list(pop.index[:70])
        buyer = shop.events["user"].astype(str)
        for k, item in enumerate(items):
            f = shop.facts(item)
            users = buyer[shop.events["item"].astype(str) == str(item)]
            users = users[~users.str.startswith("anon:")]
            interests = shop.interests(users.iloc[0]) if len(users) and k % 2 == 0 else []
            for task, lang in ALL:
                copy = writer.write(task, f, lang, interests=interests, seed=k, use_cache=False)
                out.append((task, lang, f, copy.text))
    return out


def test_at_least_1000_texts_grounded_grammatical_and_chinese(texts):
    assert len(texts) >= 1000
    grounded = sum(check(text, f).ok for _, _, f, text in texts)
    assert grounded / len(texts) >= 0.99
    errors = [
        (text, e)
        for _, lang, f, text in texts
        if lang == "en"
        for e in english_errors(text, (f.title, f.display_name, f.names.short_title))
    ]
    assert errors == []
    zh = [(f, text) for _, lang, f, text in texts if lang == "zh"]
    named = sum(names_product_in_chinese(text, f.names.type_zh) for f, text in zh)
    assert named / len(zh) >= 0.95
    assert max(latin_share(text, f.item_id) for f, text in zh) <= 0.10
    assert not any(re.search(r"[（(][A-Za-z ]{4,}[)）]", text.split("规格：")[0]) for _, text in zh)
    for (task, lang), floor in DISTINCT_2_FLOOR.items():
        # measured on these 140 items; bench/generation.py --quality reports the 300-item figure
        score = distinct_2([t for tk, lg, _, t in texts if tk == task and lg == lang])
        assert score >= floor, (task, lang, score)


# --- personalisation, reviews and the writer's API ------------------------------------------------------------------


def test_personalisation_names_a_shared_theme_or_nothing(retail_shop):
    f = retail_shop.facts("85123A")  # WHITE HANGING HEART T-LIGHT HOLDER
    writer = CopyWriter()
    for seed in range(8):
        shared = writer.write("ad", f, "en", interests=["pattern:heart"], seed=seed, use_cache=False).text
        assert "heart" in shared.lower().replace(f.names.short_title.lower(), "")
        zh = writer.write("ad", f, "zh", interests=["pattern:heart"], seed=seed, use_cache=False).text
        assert "爱心" in zh
        other = writer.write(
            "ad", f, "en", interests=["pattern:skull", "colour:red"], seed=seed, use_cache=False
        )
        assert not re.search(r"skull|red|you like|your interest|love ", other.text.lower()), other.text
        zh_other = writer.write("ad", f, "zh", interests=["pattern:skull"], seed=seed, use_cache=False).text
        assert "骷髅" not in zh_other and "喜欢骷髅" not in zh_other


def test_no_reviews_no_summary_and_no_empty_sides(retail_shop, clothing_shop):
    with pytest.raises(DataError, match="no reviews"):
        CopyWriter().write("summary", retail_shop.facts("85123A"), "en")
    dress = clothing_shop.facts("1078", max_reviews=150)
    for lang in ("en", "zh"):
        text = CopyWriter().write("summary", dress, lang, use_cache=False).text
        assert "no recurring" not in text and "暂无" not in text and check(text, dress).ok


def test_styles_lengths_and_bad_arguments(retail_shop):
    f = retail_shop.facts("85123A")
    writer = CopyWriter()
    short = writer.write("description", f, "en", style="practical", length="short", use_cache=False).text
    long = writer.write("description", f, "en", style="practical", length="long", use_cache=False).text
    assert len(long) > len(short)
    assert (
        len(
            {
                writer.write("title", f, "zh", style=s, length="long", use_cache=False).text
                for s in STYLES["title"]
            }
        )
        >= 2
    )
    assert len({writer.write("push", f, "en", seed=s, use_cache=False).text for s in range(10)}) >= 4
    with pytest.raises(ConfigError, match="style"):
        writer.write("ad", f, "en", style="shouty")
    with pytest.raises(ConfigError, match="length"):
        writer.write("ad", f, "en", length=LENGTHS[0] + "er")
    with pytest.raises(ConfigError, match="task"):
        writer.write("poem", f, "en")  # type: ignore[arg-type]
