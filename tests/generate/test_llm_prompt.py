"""The LLM prompt carries the structured product record (issue 12 item 6)."""

from __future__ import annotations

import pytest

from tuijian.generate.backends import GenerationRequest, chat_messages, fact_sheet
from tuijian.generate.facts import facts_from_row
from tuijian.generate.llm_prompt import product_name, product_record, prompt_echo, record_lines, zh_value


def _facts(title: str, price: float = 2.5, **extra: str):
    return facts_from_row({"item_id": "X1", "title": title, "price": price, **extra})


def test_prompt_names_the_product_type_not_a_word_of_the_title():
    opener = _facts("BULL DOG BOTTLE OPENER")
    en = chat_messages(GenerationRequest("description", opener, "en"))[1]["content"]
    assert "product: bottle opener" in en and "theme: dog" in en and "price: £2.50" in en
    assert "this bottle opener" in en  # the task names the type, so the model is not left to guess "a bottle"
    assert "shop title: BULL DOG BOTTLE OPENER" in en
    zh = chat_messages(GenerationRequest("description", opener, "zh"))
    assert "商品：开瓶器" in zh[1]["content"] and "“开瓶器”" in zh[1]["content"]
    assert "主题/图案：小狗" in zh[1]["content"] and "价格：£2.50" in zh[1]["content"]
    assert "不得编造" in zh[0]["content"]


def test_pack_count_and_capacity_are_told_apart_in_the_prompt():
    shredder = _facts("Swingline Stack-and-Shred 100X Hands Free Shredder, Cross-Cut, 100 Sheets, 1-2 Users")
    sheet = fact_sheet(GenerationRequest("description", shredder, "en"))
    assert "product: shredder" in sheet and "capacity: 100 sheets" in sheet
    assert "pack:" not in sheet  # 100 sheets is what it shreds, not "a set of 100"
    tins = fact_sheet(GenerationRequest("description", _facts("SET OF 6 SPICE TINS PANTRY DESIGN"), "zh"))
    assert "数量：一套6件" in tins and "商品：铁盒" in tins
    oil = product_record(_facts("Fellowes Powershred Performance Shredder Oil, 12 oz. Bottle"))
    assert oil.product_type is not None and oil.product_type.value == "shredder oil"


def test_chinese_prompt_uses_chinese_names_and_keeps_the_title_as_spec_line_only():
    holder = _facts("WHITE HANGING HEART T-LIGHT HOLDER", 2.55)
    lines = record_lines(product_record(holder), holder, "zh")
    assert lines[:3] == ["商品：茶蜡烛台", "主题/图案：爱心", "颜色：白色"]
    ad = fact_sheet(GenerationRequest("ad", holder, "zh", ["pattern:heart", "colour:red", "colour:white"]))
    assert "顾客喜欢：爱心、白色" in ad and "红" not in ad  # only interests the item really has
    assert "仅作规格行" in ad and "description:" not in ad


def test_values_without_a_chinese_name_are_never_guessed():
    assert zh_value("product_type", "bottle opener") == "开瓶器"
    assert zh_value("theme", "no-such-theme") is None
    untyped = _facts("DOTCOM POSTAGE")
    record = product_record(untyped)
    assert record.product_type is None
    assert product_name(record, untyped, "zh") == "商品"  # a neutral word, not an invented type
    assert product_name(record, untyped, "en") == "Dotcom Postage"
    assert "商品：" not in fact_sheet(GenerationRequest("description", untyped, "zh"))


@pytest.mark.parametrize("task", ["description", "ad", "summary"])
def test_every_task_has_a_prompt_in_both_languages(task):
    holder = _facts("WHITE HANGING HEART T-LIGHT HOLDER", 2.55)
    for lang in ("en", "zh"):
        system, user = chat_messages(GenerationRequest(task, holder, lang))  # type: ignore[arg-type]
        assert system["role"] == "system" and user["role"] == "user"
        assert ("茶蜡烛台" if lang == "zh" else "t-light holder") in user["content"]


def test_a_reply_that_repeats_the_prompt_is_recognised():
    holder = _facts("WHITE HANGING HEART T-LIGHT HOLDER", 2.55)
    zh = chat_messages(GenerationRequest("description", holder, "zh"))
    en = chat_messages(GenerationRequest("description", holder, "en"), system_role=False)
    assert len(en) == 1 and en[0]["role"] == "user" and en[0]["content"].startswith("You write copy")
    # real replies of the pre-trained Gemma 3 270M, which continues the prompt instead of answering it
    assert (
        prompt_echo("<<SYS>> 请用中文写一段简短的商品描述（2-3句），商品名称用“茶蜡烛台”。", zh) == "请用中文"
    )
    assert prompt_echo("is a candle. shop title: WHITE HANGING HEART T-LIGHT HOLDER", en) == "shop title:"
    task = "Write a short product description of this t-light holder (2-3 sentences)."
    assert prompt_echo(f"OK. {task}", en) is not None
    # copy that merely names the product, its facts or a spec line is not an echo
    assert prompt_echo("这款白色爱心茶蜡烛台售价£2.55，适合装点家居。", zh) is None
    assert prompt_echo("A white t-light holder with a heart motif, £2.55.", en) is None
