"""Fast checks of the web layer's pieces: signing and CSRF, UI strings, online-metric arithmetic."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest

from tuijian.service.web.analytics import evaluation_view, online_metrics
from tuijian.service.web.i18n import STRINGS, pick_language, translator
from tuijian.service.web.security import Signer


def test_signer_round_trip_and_tampering() -> None:
    s = Signer("secret-a")
    token = s.sign({"user": "17850", "guest": False})
    assert s.unsign(token) == {"user": "17850", "guest": False}
    body, mac = token.split(".")
    assert s.unsign(body + "." + mac[:-1] + ("A" if mac[-1] != "A" else "B")) is None
    assert s.unsign(body[:-2] + "." + mac) is None
    assert Signer("secret-b").unsign(token) is None  # another secret key
    assert s.unsign(s.sign({"exp": time.time() - 1})) is None  # expired
    assert s.unsign("garbage") is None and s.unsign(None) is None


def test_csrf_token_is_bound_to_the_visitor() -> None:
    s = Signer("k")
    tok = s.csrf_token("sid-1")
    assert s.check_csrf("sid-1", tok)
    assert not s.check_csrf("sid-2", tok)
    assert not s.check_csrf("sid-1", "")
    assert not s.check_csrf(None, tok)


def test_every_ui_string_has_both_languages_with_the_same_fields() -> None:
    field = re.compile(r"{(\w+)}")
    for key, (en, zh) in STRINGS.items():
        assert en and zh, key
        assert set(field.findall(en)) == set(field.findall(zh)), key
    assert translator("zh")("because_you_bought", title="X") == "因为你购买了 X"
    with pytest.raises(KeyError, match="unknown UI string"):
        translator("en")("no-such-key")


def test_language_choice() -> None:
    assert pick_language("zh", "en", "en-US") == "zh"
    assert pick_language(None, "zh", "en-US") == "zh"
    assert pick_language(None, None, "fr-FR,zh-CN;q=0.8") == "zh"
    assert pick_language("xx", None, None) == "en"


def test_online_metrics_known_answer() -> None:
    ts = pd.to_datetime(
        ["2024-01-01 10:05", "2024-01-01 10:06", "2024-01-01 10:07", "2024-01-01 10:08", "2024-01-01 11:00"],
        utc=True,
    )
    fb = pd.DataFrame(
        {
            "request_id": ["a", "a", "a", "a", "b"],
            "user": ["u"] * 5,
            "item": ["1", "2", "1", "1", "3"],
            "position": [0, 1, 0, 0, 0],
            "event": ["impression", "impression", "click", "purchase", "impression"],
            "model_version": ["m1", "m1", "m1", "m1", "m2"],
            "ts": ts,
        }
    )
    out = online_metrics(fb)
    assert out["freq"] == "h"
    assert out["series"]["labels"] == ["2024-01-01 10:00", "2024-01-01 11:00"]
    assert out["series"]["impressions"] == [2, 1]
    assert out["series"]["ctr"] == [0.5, 0.0]
    assert out["series"]["conversion"] == [1.0, 0.0]
    assert out["totals"] == {
        "impression": 3,
        "click": 1,
        "add_to_cart": 0,
        "purchase": 1,
        "ctr": 0.3333,
        "conversion": 1.0,
    }
    by = {m["model_version"]: m for m in out["by_model"]}
    assert by["m1"]["ctr"] == 0.5 and by["m2"]["impressions"] == 1
    assert online_metrics(fb.iloc[:0])["empty"]


def test_evaluation_view_keeps_metric_order() -> None:
    result = {
        "dataset": "d",
        "protocol": "time",
        "ks": [10],
        "split": {"users_evaluated": 7},
        "results": {
            "popularity": {
                "ndcg@10": 0.1,
                "recall@10": 0.2,
                "hr@10": 0.3,
                "coverage@10": 0.01,
                "novelty@10": 2.0,
            },
            "item-knn": {
                "ndcg@10": 0.2,
                "recall@10": 0.3,
                "hr@10": 0.4,
                "coverage@10": 0.1,
                "novelty@10": 3.0,
            },
        },
    }
    view = evaluation_view(result)
    assert [m for m, _ in view["charts"]] == ["ndcg@10", "recall@10", "hr@10", "coverage@10", "novelty@10"]
    assert view["charts"][0][1] == [0.1, 0.2]
    assert view["rows"][1]["model"] == "item-knn" and view["users"] == 7
