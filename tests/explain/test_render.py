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
    assert sentence(e, "zh", title, set()) == "与「Porcelain Teapot」有共同特点：tea、porcelain，近期热销。"
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
