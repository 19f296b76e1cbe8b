from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuijian.exceptions import ConfigError
from tuijian.generate.assistant import parse_constraints

FIXTURE = Path(__file__).parents[1] / "fixtures" / "assistant_questions.json"


def test_fixture_has_30_questions_from_the_real_catalogue(retail_shop):
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert len(data["questions"]) >= 30
    for q in data["questions"]:
        assert q["relevant"], q
        assert set(q["relevant"]) <= set(retail_shop.items.index)


def test_retrieval_hit_at_3_is_at_least_0_8(assistant):
    questions = json.loads(FIXTURE.read_text(encoding="utf-8"))["questions"]
    hits = 0
    for q in questions:
        answer = assistant.ask(q["question"], k=3)
        hits += bool(set(answer.citations[:3]) & set(q["relevant"]))
    assert hits / len(questions) >= 0.8, hits / len(questions)


def test_answers_cite_item_ids_with_grounded_prices(assistant, retail_shop):
    answer = assistant.ask("Do you sell a lunch box with dinosaurs?")
    assert answer.found and answer.citations[0] == "21561"
    assert "[21561]" in answer.text
    assert f"£{retail_shop.items.loc['21561', 'price']:.2f}" in answer.text


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "quantum physics textbook", "Who won the football world cup?"],
)
def test_says_it_does_not_know(assistant, question):
    answer = assistant.ask(question)
    assert not answer.found and answer.citations == []
    assert "don't know" in answer.text


@pytest.mark.parametrize(
    ("question", "policy"),
    [
        ("Can I return an item?", "policy:returns"),
        ("How long does delivery take?", "policy:shipping"),
        ("怎么退货？", "policy:returns"),
        ("Which payment methods do you accept?", "policy:payment"),
    ],
)
def test_policy_questions(assistant, question, policy):
    answer = assistant.ask(question)
    assert answer.citations == [policy]


def test_chinese_answer(assistant):
    answer = assistant.ask("有没有白色的爱心蜡烛台？")
    assert answer.citations[0] == "85123A" and "售价" in answer.text


def test_parse_constraints():
    c = parse_constraints("A gift under £10 for a child who likes dinosaurs")
    assert c.price_max == 10.0 and c.recipient == "child" and c.attributes["pattern"] == ["dinosaur"]
    c = parse_constraints("送给妈妈的礼物，20英镑以内")
    assert c.price_max == 20.0 and c.recipient == "woman"
    c = parse_constraints("vintage red bag over 2 pounds")
    assert c.price_min == 2.0 and c.product_type == "bag" and c.attributes["colour"] == ["red"]


def test_guide_respects_constraints(assistant, retail_shop):
    reply = assistant.guide("A gift under £10 for a child who likes dinosaurs", k=5)
    assert len(reply.suggestions) == 5
    for s in reply.suggestions:
        assert 0 < s.price <= 10.0
        assert "DINOSAUR" in retail_shop.items.loc[s.item_id, "title"].upper()
        assert any("dinosaur" in r for r in reply.suggestions[0].reasons)


def test_guide_uses_personalisation(assistant):
    base = assistant.guide("red bag", k=3)
    target = assistant.guide("red bag", k=50).suggestions[-1].item_id
    assistant.personalize = lambda user, items: [1.0 if i == target else 0.0 for i in items]
    try:
        boosted = assistant.guide("red bag", user_id="17850", k=3)
    finally:
        assistant.personalize = None
    assert boosted.suggestions[0].item_id == target != base.suggestions[0].item_id


def test_empty_question_is_a_clear_error(assistant):
    with pytest.raises(ConfigError, match="question"):
        assistant.ask("  ")
