from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuijian.exceptions import ConfigError, UnknownIdError
from tuijian.generate.assistant import parse_constraints
from tuijian.generate.assistant_eval import evaluate, load_gold
from tuijian.generate.assistant_query import read_message
from tuijian.generate.assistant_session import Conversation, ConversationStore

FIXTURE = Path(__file__).parents[1] / "fixtures" / "assistant_questions.json"
GOLD = Path(__file__).parent / "data" / "assistant_gold.json"
CATEGORIES = {"fact", "price_range", "negation", "sorting", "policy", "unknown", "follow_up"}


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


# ---------------------------------------------------------------- gold set (issue 12 acceptance)
def test_gold_set_is_large_bilingual_and_covers_every_category(retail_shop):
    questions = load_gold(GOLD)
    assert len(questions) >= 120
    assert sum(q["lang"] == "zh" for q in questions) >= 50
    assert {q["category"] for q in questions} == CATEGORIES
    for q in questions:
        gold = q["gold"]
        named = gold.get("fact", {}).get("item")
        for item in [named] if isinstance(named, str) else named or []:
            assert item in retail_shop.items.index, q


def test_gold_accuracy_is_at_least_0_9(assistant):
    report = evaluate(assistant, load_gold(GOLD))
    accuracy = report["accuracy"]
    assert accuracy["all"] >= 0.9, report["failures"]
    assert accuracy["lang:zh"] >= 0.85 and accuracy["lang:en"] >= 0.85, accuracy


# ---------------------------------------------------------------- the failures listed in issue 12
def test_gift_for_a_child_under_10_pounds_is_a_search_not_the_payment_policy(assistant, retail_shop):
    answer = assistant.ask("a gift for a 5 year old under 10 pounds")
    assert answer.intent == "search" and answer.citations
    assert not any(c.startswith("policy:") for c in answer.citations)
    assert all(retail_shop.items.loc[i, "price"] <= 10 for i in answer.citations)


@pytest.mark.parametrize(("question", "item"), [("恐龙图案的午餐盒", "21561"), ("红色闹钟", "22727")])
def test_chinese_product_questions_find_the_items(assistant, question, item):
    answer = assistant.ask(question)
    assert answer.found and answer.citations[0] == item and "不知道" not in answer.text


def test_chinese_head_noun_covers_longer_names_and_one_character_words_inside_unknown_words(assistant):
    # 伞 is 雨伞 and 遮阳伞 (umbrella, parasol); 鸡 inside 鸡尾酒 is not a chicken; 24个装 picks the box of 24
    answer = assistant.ask("24个装的鸡尾酒小伞一盒几个？")
    assert answer.fact == {"item": "84692", "attribute": "pack_count", "value": 24}
    reading = assistant.catalog_.vocabulary.read("鸡尾酒小伞", "zh", assistant.catalog_.known)
    assert "chicken" not in {c.value for c in reading.concepts}
    # 鸡尾酒 is a known motif word since issue 12's word list
    assert "cocktail" in {c.value for c in reading.concepts}
    # a record's Chinese theme name made of known words is read word by word (复古 + 厨房), not as one motif
    assert assistant.ask("红色复古厨房挂钟多少钱？").fact["item"] == "23429"


def test_price_of_the_cheapest_is_a_price_fact(assistant, retail_shop):
    conversation = Conversation()
    assistant.ask("茶巾", conversation=conversation)
    answer = assistant.ask("最便宜的多少钱？", conversation=conversation)
    towels = retail_shop.items[retail_shop.items["title"].str.contains("TEA TOWEL")]
    assert answer.intent == "fact" and answer.fact["attribute"] == "price"
    assert answer.fact["value"] == towels["price"][towels["price"] > 0].min()
    assert answer.fact["item"] == answer.citations[0]


def test_assistant_word_list_has_no_duplicate_or_conflicting_words():
    # a JSON object with a repeated key keeps the last silently; a word listed as type and material reads as a type
    from importlib import resources

    def no_repeats(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
        return dict(pairs)

    text = resources.files("tuijian.generate").joinpath("templates/assistant_zh.json").read_text("utf-8")
    terms = json.loads(text, object_pairs_hook=no_repeats)["terms"]
    assert not set(terms["type"]) & (set(terms["material"]) | set(terms["colour"]))


def test_policy_phrasings_and_colloquial_amounts():
    assert read_message("the mug arrived broken, what do I do?", "en").policy == "policy:returns"
    assert read_message("30天内还能退吗", "zh").policy == "policy:returns"
    assert read_message("can I order 200 doormats at a discount?", "en").policy == "policy:wholesale"
    assert read_message("价格含税吗？", "zh").policy == "policy:payment"
    assert read_message("bunting over a fiver", "en").price_min == 5.0
    assert read_message("mugs under 1 pound 50", "en").price_max == 1.5


def test_colloquial_questions(assistant, retail_shop):
    titles = retail_shop.items["title"]
    assert assistant.ask("蛋糕架怎么卖").fact["attribute"] == "price"  # 怎么卖 asks the price
    assert assistant.ask("jam jar with a pink lid price?").fact == {
        "item": "22962", "attribute": "price", "value": 0.85
    }  # fmt: skip
    red_cups = assistant.ask("红色波点的杯子有吗")  # ...有吗 asks for them, it is not a yes/no fact
    assert red_cups.intent == "search" and all("RED" in titles[i] for i in red_cups.citations)
    arent = assistant.ask("do u have any tea towels that arent red")
    assert arent.citations and not any("RED" in titles[i] for i in arent.citations)
    conversation = Conversation()
    assistant.ask("闹钟", conversation=conversation)
    pink = assistant.ask("粉色的多少钱", conversation=conversation)  # the pink one's price, not the focus's
    assert "PINK" in titles[pink.fact["item"]] and "ALARM CLOCK" in titles[pink.fact["item"]]
    assert assistant.ask("a present for my nan under a tenner, maybe a mug").citations


def test_negation_after_the_noun_and_before_a_preposition():
    assert read_message("首饰盒，陶瓷的不要", "zh").negative == ["陶瓷"]
    assert read_message("gift bags that aren't for christmas", "en").negative[0].strip() == "christmas"


def test_more_phrasings(assistant, retail_shop):
    titles = retail_shop.items["title"]
    assert read_message("what if the doorstop arrives damaged?", "en").policy == "policy:returns"
    assert read_message("满多少免邮？", "zh").policy == "policy:shipping"
    assert read_message("which currencies do you charge in?", "en").policy == "policy:payment"
    assert read_message("which handbag costs the most?", "en").sort == "price_desc"
    assert assistant.ask("拖鞋哪双最便宜").intent == "sort"
    conversation = Conversation()
    assistant.ask("ribbons under £2", conversation=conversation)
    festive = assistant.ask("anything christmassy?", conversation=conversation)  # -y adjective of a motif
    assert festive.citations and all("CHRISTMAS" in titles[i] for i in festive.citations)
    latex = assistant.ask("are the 12 coloured party balloons made of latex?")  # latex is asked, not named
    assert latex.fact == {"item": "22436", "attribute": "material", "value": None}


def test_heldout5_phrasings(assistant):
    assert assistant.ask("卖不卖电动剃须刀").citations == []  # a razor, not a knife (刀 ends an unknown word)
    glass = assistant.ask("玻璃爱心蜡烛台是玻璃的吗")  # what follows 是 is the asked attribute
    assert glass.fact == {"item": "21313", "attribute": "material", "value": "yes"}
    assert read_message("how do I get in touch with you?", "en").policy == "policy:contact"
    assert read_message("什么时候扣款？", "zh").policy == "policy:payment"
    assert assistant.ask("price for the carnival bracelet please").fact["item"] == "90062"


def test_a_word_only_seen_as_a_modifier_is_not_a_product_we_sell(assistant):
    # BICYCLE appears only before another noun (CLASSIC CHROME BICYCLE BELL): bicycles themselves are not sold
    assert assistant.ask("do you sell bicycles?").citations == []
    assert assistant.ask("cheapest bicycle").citations == []
    assert assistant.ask("bicycle bells").citations == ["23497"]
    # after "with" the word is a motif of something else, not the asked thing
    assert assistant.ask("do you have anything with cactus?").citations
    # 复古 also covers the catalogue's French word for it; 发夹 is a hair clip, not every clip
    assert assistant.ask("复古衣帽架多少钱").fact["item"] == "22788"
    clips = assistant.ask("一英镑以内的发夹")
    assert clips.citations and all("HAIR" in assistant.catalog_.titles[assistant.catalog_.position[i]]
                                   for i in clips.citations)  # fmt: skip


def test_heldout6_phrasings(assistant, retail_shop):
    prices = retail_shop.items["price"]
    assert read_message("lampshades for less than a pound", "en").price_max == 1  # "a pound" is £1
    assert (
        read_message("一到两镑的杯垫", "zh").price_min,
        read_message("一到两镑的杯垫", "zh").price_max,
    ) == (1, 2)
    assert read_message("what if the lampshade arrives crushed?", "en").policy == "policy:returns"
    assert read_message("灯罩到的时候压坏了怎么办", "zh").policy == "policy:returns"
    assert (
        assistant.ask("can you book me a taxi?").citations == []
    )  # a service, not a fact about a pocket book
    assert assistant.ask("有皮的托特包吗").citations == []  # 皮 is leather; no leather tote bags
    toys = assistant.ask("三镑以内的毛绒玩具").citations  # 毛绒玩具 is a soft toy, not any toy
    assert toys and all("SOFT TOY" in retail_shop.items.loc[i, "title"] and prices[i] <= 3 for i in toys)
    assert all("WREATH" in retail_shop.items.loc[i, "title"] for i in assistant.ask("最便宜的花环").citations)
    # Chinese drops the subject: 是玻璃的吗 after a search asks about the item shown first
    conversation = Conversation()
    assistant.ask("玻璃水壶", conversation=conversation)
    glass = assistant.ask("是玻璃的吗", conversation=conversation)
    assert glass.fact == {"item": "23015", "attribute": "material", "value": "yes"}


def test_heldout7_phrasings(assistant, retail_shop):
    titles = retail_shop.items["title"]
    assert read_message("can I swap the bowl for a different colour?", "en").policy == "policy:returns"
    assert read_message("碗能换个颜色吗", "zh").policy == "policy:returns"
    assert read_message("镜子到了是碎的，怎么办", "zh").policy == "policy:returns"
    # excluding a kind of the asked thing keeps the thing: only TV dinner trays go
    trays = assistant.ask("trays, no tv dinner trays").citations
    assert trays and all("TRAY" in titles[i] and "TV" not in titles[i] for i in trays)
    # a one-character Chinese type name of the records is a word too (桶 is a bucket)
    assert all("BUCKET" in titles[i] for i in assistant.ask("三镑以内的桶").citations)
    assert assistant.ask("海滩小屋镜子多少钱").fact["item"] == "84686"


def test_heldout8_phrasings(assistant, retail_shop):
    titles = retail_shop.items["title"]
    assert read_message("五十便士以内的扇子", "zh").price_max == 0.5  # 便士 are pence
    assert read_message("do you post to australia?", "en").policy == "policy:shipping"
    assert read_message("我的包裹什么时候发出", "zh").policy == "policy:shipping"
    conversation = Conversation()
    assistant.ask("sketchbooks under £4", conversation=conversation)
    daisies = assistant.ask("anything with daisies?", conversation=conversation).citations  # DAISY titles too
    assert daisies and all("DAIS" in titles[i] and "SKETCHBOOK" in titles[i] for i in daisies)
    assert assistant.ask("有吊扇吗").citations == []  # a ceiling fan, not a hand fan


def test_do_you_have_it_in_a_colour_is_a_search(assistant, retail_shop):
    conversation = Conversation()
    assistant.ask("alarm clocks", conversation=conversation)
    answer = assistant.ask("do you have it in green?", conversation=conversation)
    assert answer.intent == "search" and answer.citations
    assert all("GREEN" in retail_shop.items.loc[i, "title"] for i in answer.citations)
    assert (
        assistant.ask("cheapest door mat").citations[0]
        in retail_shop.items.index[retail_shop.items["title"].str.contains("DOORMAT")]
    )


@pytest.mark.parametrize(
    ("text", "pack"),
    [("box of 24 cocktail parasols", 24), ("24个装的鸡尾酒小伞", 24), ("六只装的杯子", 6), ("red mug", None)],
)
def test_pack_size_in_the_name(text, pack):
    assert read_message(text, "zh" if "装" in text else "en").pack == pack


def test_yes_no_and_count_questions_are_answered_not_listed(assistant):
    conversation = Conversation()
    assistant.ask("red alarm clock", conversation=conversation)
    waterproof = assistant.ask("Is it waterproof?", conversation=conversation)
    assert waterproof.intent == "fact" and waterproof.citations == ["22727"]
    assert waterproof.fact == {"item": "22727", "attribute": "waterproof", "value": None}
    assert "don't know" in waterproof.text and not waterproof.found
    assistant.ask("pack of 72 retrospot cake cases", conversation=conversation)
    count = assistant.ask("how many in the pack?", conversation=conversation)
    assert count.fact == {"item": "21212", "attribute": "pack_count", "value": 72} and "72" in count.text
    zh = assistant.ask("它防水吗？", conversation=conversation)
    assert zh.fact["value"] is None and "不知道" in zh.text


def test_cheapest_christmas_decoration_is_one_answer(assistant, retail_shop):
    answer = assistant.ask("the cheapest Christmas decoration")
    items = retail_shop.items
    pool = items[items["title"].str.contains("CHRISTMAS|XMAS") & items["title"].str.contains("DECORATION")]
    assert answer.intent == "sort" and answer.text.startswith("The cheapest is")
    assert items.loc[answer.citations[0], "price"] == pool["price"][pool["price"] > 0].min()


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("不要超过8英镑的蜡烛台", None, 8.0),
        ("不超过十英镑", None, 10.0),
        ("不低于5英镑的杯子", 5.0, None),
        ("20英镑以内", None, 20.0),
        ("5镑以上", 5.0, None),
        ("在5英镑和20英镑之间", 5.0, 20.0),
        ("5到20英镑之间的包", 5.0, 20.0),
        ("between £5 and £20", 5.0, 20.0),
        ("from 5 to 20 pounds", 5.0, 20.0),
        ("£5-£20 lanterns", 5.0, 20.0),
        ("no more than £8", None, 8.0),
        ("not under 3 pounds", 3.0, None),
        ("under 10 pounds for a 5 year old", None, 10.0),
        ("a mug, 50p or less", None, 0.5),
    ],
)
def test_price_ranges_in_both_languages(text, low, high):
    lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
    msg = read_message(text, lang)
    assert (msg.price_min, msg.price_max) == (low, high)


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("a bag, nothing with skulls", "skulls"),
        ("lunch box without skulls", "skulls"),
        ("an umbrella but not red", "red"),
        ("不要骷髅图案的包", "骷髅图案"),
        ("雨伞，不要红色", "红色"),
        ("闹钟，除了粉色", "粉色"),
    ],
)
def test_negation_scope(text, negated):
    lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
    msg = read_message(text, lang)
    assert [n.strip() for n in msg.negative] == [negated]
    assert negated not in msg.positive


def test_have_or_not_is_a_question_not_a_negation():
    assert read_message("有没有红色的雨伞", "zh").negative == []


def test_nothing_with_skulls_excludes_skulls(assistant, retail_shop):
    answer = assistant.ask("a bag, nothing with skulls", k=10)
    assert answer.citations
    assert not any("SKULL" in retail_shop.items.loc[i, "title"] for i in answer.citations)


def test_policies_by_intent_not_by_a_word(assistant):
    assert assistant.ask("I changed my mind, can I get my money back?").citations == ["policy:returns"]
    assert assistant.ask("包邮吗？").citations == ["policy:shipping"]
    assert assistant.ask("pink purse under 5 pounds").intent == "search"


def test_follow_ups_resolve_against_the_previous_turn(assistant, retail_shop):
    conversation = Conversation()
    first = assistant.ask("hot water bottles", conversation=conversation)
    focus_price = retail_shop.items.loc[first.citations[0], "price"]
    cheaper = assistant.ask("any cheaper?", conversation=conversation)
    assert cheaper.citations
    for item in cheaper.citations:
        assert "HOT WATER BOTTLE" in retail_shop.items.loc[item, "title"]
        assert retail_shop.items.loc[item, "price"] < focus_price
    red = assistant.ask("in red?", conversation=conversation)
    assert red.citations and all("RED" in retail_shop.items.loc[i, "title"] for i in red.citations)
    price = assistant.ask("那个多少钱？", conversation=conversation)
    assert price.fact["item"] == red.citations[0] and "售价" in price.text
    assert conversation.turns == 4


def test_compare_two_items(assistant):
    answer = assistant.ask("22727和84659A哪个便宜？")
    assert answer.intent == "compare" and answer.citations[0] == "84659A"


def test_unknown_item_id_is_i_dont_know(assistant):
    answer = assistant.ask("How much is 99999?")
    assert not answer.found and answer.citations == [] and "don't know" in answer.text


# ---------------------------------------------------------------- conversation state
def test_conversation_store_ttl_and_size_cap():
    now = [0.0]
    store = ConversationStore(max_sessions=2, ttl_s=10, clock=lambda: now[0])
    a, _ = store.new()
    b, _ = store.new()
    c, _ = store.new()  # evicts the least recently used (a)
    assert len(store) == 2
    with pytest.raises(UnknownIdError, match="unknown or expired"):
        store.get(a)
    now[0] = 5.0
    store.get(b)  # touched: lives until 15
    now[0] = 12.0
    assert store.get(b) is not None
    with pytest.raises(UnknownIdError):
        store.get(c)


def test_conversation_store_rejects_bad_bounds():
    with pytest.raises(ConfigError, match="max_sessions"):
        ConversationStore(max_sessions=0)
    with pytest.raises(ConfigError, match="ttl_s"):
        ConversationStore(ttl_s=0)


def test_conversation_round_trips_as_json(assistant):
    conversation = Conversation()
    assistant.ask("red alarm clock", conversation=conversation)
    again = Conversation.from_dict(json.loads(json.dumps(conversation.to_dict())))
    assert assistant.ask("how much is it?", conversation=again).fact["item"] == "22727"
    with pytest.raises(ConfigError):
        Conversation.from_dict([])  # type: ignore[arg-type]


def test_bad_language_and_k_are_clear_errors(assistant):
    with pytest.raises(ConfigError, match="language"):
        assistant.ask("red mug", language="fr")
    with pytest.raises(ConfigError, match="k must be"):
        assistant.ask("red mug", k=0)


def test_office_catalogue_without_prices():
    from tuijian.generate.assistant import ShopAssistant
    from tuijian.generate.shop import load_shop

    office = ShopAssistant(load_shop("amazon-office")).fit()
    conversation = Conversation()
    found = office.ask("shredders", conversation=conversation)
    assert found.found and found.citations
    capacity = office.ask("how many sheets can it take?", conversation=conversation)
    assert capacity.fact["attribute"] == "size" and capacity.fact["item"] == found.citations[0]
    price = office.ask("how much is it?", conversation=conversation)
    assert price.fact["value"] is None and "don't know" in price.text
    cheapest = office.ask("the cheapest stapler")
    assert not cheapest.found and "no prices" in cheapest.text
