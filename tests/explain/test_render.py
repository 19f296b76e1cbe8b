"""Sentences and JSON of explanations (:mod:`tuijian.explain.render`, :mod:`tuijian.explain.reasons`)."""

from __future__ import annotations

import pytest

from tuijian.exceptions import ConfigError
from tuijian.explain.reasons import Explanation, Reason, strongest
from tuijian.explain.render import check_language, explanation_json, sentence

TITLES = {1: "Green Tea Tin", 2: "Porcelain Teapot", 7: "Running Shoe"}


def title(i: int) -> str:
    return TITLES.get(i, f"item {i}")


def item_id(i: int) -> str:
    return f"i{i:02d}"


def test_bought_or_looked_at_never_claims_a_purchase() -> None:
    e = Explanation(5, [Reason("history", (1, 2), 0.8)])
    assert (
        sentence(e, "en", title, bought={1}) == "Because you bought “Green Tea Tin” and “Porcelain Teapot”."
    )
    assert sentence(e, "en", title, bought=set()) == (
        "Because you looked at “Green Tea Tin” and “Porcelain Teapot”."
    )
    assert sentence(e, "zh", title, bought={2}) == "因为您购买过「Green Tea Tin」、「Porcelain Teapot」。"


def test_two_strongest_reasons_joined_in_each_language() -> None:
    e = Explanation(5, [Reason("content", (2,), 0.5, ("tea", "porcelain")), Reason("trending", (), 0.2)])
    assert sentence(e, "en", title, set()) == (
        "Shares tea, porcelain with “Porcelain Teapot”; popular with shoppers lately."
    )
    # the shared words in Chinese; a word the product vocabulary has no Chinese name for (tea) is left out
    assert sentence(e, "zh", title, set()) == "与「Porcelain Teapot」有共同特点：瓷，近期热销。"
    untranslatable = Explanation(5, [Reason("content", (2,), 0.5, ("dining",))])
    assert sentence(untranslatable, "zh", title, set()) == "与「Porcelain Teapot」相似。"
    assert sentence(Explanation(5, []), "en", title, set()) == "Popular with shoppers."
    flagged = Explanation(5, [Reason("exploration")])
    assert sentence(flagged, "en", title, set()) == "Something new we are trying out for you."


def test_json_shape_and_language_check() -> None:
    e = Explanation(5, [Reason("history", (7,), 0.123456789)])
    out = explanation_json(e, "en", title, item_id, bought={7})
    assert out == {
        "reasons": [{"kind": "history", "item_ids": ["i07"], "weight": 0.123457}],
        "sentence": "Because you bought “Running Shoe”.",
    }
    assert check_language("zh") == "zh"
    with pytest.raises(ConfigError, match="lang must be one of en, zh"):
        check_language("fr")


def test_reasons_are_validated_and_ordered() -> None:
    with pytest.raises(ValueError, match="unknown reason kind"):
        Reason("because")
    rs = [Reason("popular", (), 0.1), Reason("history", (1,), 0.5), Reason("recent", (2,), -0.3)]
    assert [r.kind for r in strongest(rs, 3)] == ["history", "popular"]  # negative weights are not reasons


def test_repeat_says_bought_before_only_for_the_users_own_item() -> None:
    own = Explanation(5, [Reason("repeat", (5,), 1.0)])
    general = Explanation(5, [Reason("repeat", (), 1.0)])
    assert sentence(own, "en", title, {5}) == "You bought this before."
    assert sentence(general, "en", title, set()) == "Often bought again."


def test_bytes_parse_to_the_json_dict() -> None:
    """:func:`explanation_bytes` (the service's encoder) parses to exactly :func:`explanation_json`: reasons
    with items and terms, attributions with a missing value and a user-only kind, quotes and Chinese."""
    import json

    from tuijian.explain.reasons import Attribution
    from tuijian.explain.render import explanation_bytes

    TITLES[3] = 'The "best" 茶壶\n'
    cases = [
        Explanation(5, []),
        Explanation(5, [Reason("history", (1, 3), 0.1234565), Reason("popular", (), 12345.0)]),
        Explanation(5, [Reason("content", (2,), 0.5, ("tea", 'po"rce', "茶")), Reason("repeat", (5,), 1.0)]),
        Explanation(
            5,
            [Reason("recent", (3,), 2.5e-7), Reason("trending", (), 1 / 3)],
            [
                Attribution("sim_last1", 0.123456789, -0.0000004, "recent"),
                Attribution("user_hist_len", float("nan"), 3.14159265, None),
                *[Attribution(f"extra:f{n}", n / 7, n / 11, "content") for n in range(10)],
            ],
            -0.75,
        ),
    ]
    for e in cases:
        for lang in ("en", "zh"):
            want = explanation_json(e, lang, title, item_id, bought={1})
            got = explanation_bytes(e, lang, title, lambda i: json.dumps(item_id(i)).encode(), bought={1})
            assert json.loads(b"{" + got) == want
    with pytest.raises(ValueError, match="non-finite"):
        explanation_bytes(
            Explanation(5, [Reason("popular", (), float("inf"))]), "en", title, str.encode, set()
        )


def test_chinese_sentences_name_items_in_chinese() -> None:
    """A Chinese sentence calls a catalogue item by its Chinese name (what the generated copy calls it), keeps
    the title only for an item whose record names no product type, and never quotes English keywords."""
    from tuijian.explain.render import chinese_name, chinese_word, item_title

    assert chinese_name("RED RETROSPOT CAKE STAND") == "红色波点蛋糕架"
    assert chinese_name("  ") is None and chinese_word("dining") is None and chinese_word("Cake") == "蛋糕"
    records = {"item_id": "22423", "title": "RED RETROSPOT CAKE STAND"}
    assert (
        item_title(records, "zh") == "红色波点蛋糕架"
        and item_title(records, "en") == "RED RETROSPOT CAKE STAND"
    )
    assert item_title({"item_id": "B00X1", "title": ""}, "zh") == "B00X1"  # no title, no name: the id
    names = {1: "SWEETHEART CERAMIC TRINKET BOX", 2: "PACK OF 72 RETROSPOT CAKE CASES"}

    def zh_title(i: int) -> str:
        return item_title({"item_id": str(i), "title": names[i]}, "zh")

    e = Explanation(
        5, [Reason("history", (1,), 0.8), Reason("content", (2,), 0.5, ("cake", "dining", "red"))]
    )
    text = sentence(e, "zh", zh_title, bought={1})
    assert text == "因为您购买过「爱心陶瓷首饰盒」，与「波点蛋糕纸杯」有共同特点：蛋糕、红色。"
    assert not any("a" <= ch.lower() <= "z" for ch in text)


def test_phrases_of_reasons_without_items_and_cached_names() -> None:
    """The shortcut for reasons that name no item gives what the general formulation gives (every kind, both
    languages, with and without terms); names cached per catalogue (:func:`_quoted_names`) give the same bytes
    as names made from ``title``."""
    import json

    from tuijian.explain.reasons import KINDS
    from tuijian.explain.render import _PHRASES, _quoted_names, explanation_bytes, item_title, phrase

    for lang in ("en", "zh"):
        col = 1 if lang == "zh" else 0
        general = {"history": "similar_shoppers", "recent": "recent_none", "content": "content_none"}
        general["repeat"] = "repeat_item"
        for kind in KINDS:
            for terms in [(), ("tea",)]:
                want = _PHRASES[general.get(kind, kind)][col].format(items="", terms="")
                assert phrase(Reason(kind, (), 1.0, terms), 5, lang, title, {5}) == want
    records = [{"item_id": f"i{n:02d}", "title": TITLES.get(n)} for n in range(8)]
    records[3]["title"] = "  A  very " + "long " * 20 + "title  "

    cases = [
        Explanation(5, [Reason("history", (1, 3), 0.5), Reason("recent", (5, 4), 0.25)]),
        Explanation(4, [Reason("content", (2, 4), 0.5, ("tea", "porcelain")), Reason("repeat", (4,), 1.0)]),
    ]
    for lang in ("en", "zh"):
        quoted = _quoted_names(records, lang)
        assert _quoted_names(records, lang)(3) is quoted(3)  # made once
        for e in cases:
            args = (
                e,
                lang,
                lambda i, lang=lang: item_title(records[i], lang),
                lambda i: json.dumps(f"i{i:02d}").encode(),
                {1},
            )
            assert explanation_bytes(*args, quoted=quoted) == explanation_bytes(*args)


def test_bytes_refuse_the_first_non_finite_number_and_keep_huge_ones() -> None:
    """Attributions' numbers are checked by their sum first: ``inf`` and ``-inf`` together (a NaN sum) are
    refused, the first one named; finite numbers whose sum overflows are written."""
    from tuijian.explain.reasons import Attribution
    from tuijian.explain.render import explanation_bytes

    def attrs(*xs: float) -> list[Attribution]:
        return [Attribution(f"f{n}", x, x, "content") for n, x in enumerate(xs)]

    e = Explanation(5, [], attrs(1.0, float("-inf"), float("inf")), 0.0)
    with pytest.raises(ValueError, match=r"non-finite number -inf"):
        explanation_bytes(e, "en", title, str.encode, set())
    big = Explanation(5, [], attrs(1.7e308, 1.7e308), 0.0)
    assert b"%.6f" % 1.7e308 in explanation_bytes(big, "en", title, str.encode, set())
