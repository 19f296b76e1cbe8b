"""Tokenisation for English and Chinese.

English is lower-cased and split on letters/digits (keeping ``t-light`` style hyphenated words together);
Chinese is cut with jieba (imported lazily, on first use). Mixed text is handled span by span, so a Chinese
review that mentions "iPad" keeps the Latin word as one token.

>>> tokenize("WHITE HANGING HEART T-LIGHT HOLDER")
['white', 'hanging', 'heart', 't-light', 'holder']
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Literal

from tuijian.exceptions import ConfigError

Language = Literal["en", "zh"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_SPAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_EN_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_SPAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def detect_language(text: str) -> Language:
    """``"zh"`` when at least 20 % of the letters are CJK ideographs, else ``"en"``."""
    if not text:
        return "en"
    cjk = len(_CJK.findall(text))
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return "zh" if cjk and cjk >= 0.2 * (cjk + latin) else "en"


@cache
def _jieba():  # noqa: ANN202 - the jieba module
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@cache
def stopwords(language: Language) -> frozenset[str]:
    """The curated stopword list of ``language`` (``"en"`` or ``"zh"``), shipped in ``nlp/resources``."""
    if language not in ("en", "zh"):
        raise ConfigError(f"language must be 'en' or 'zh', got {language!r}")
    text = resources.files("tuijian.nlp.resources").joinpath(f"stopwords_{language}.txt").read_text("utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def _english_tokens(text: str) -> list[str]:
    return _EN_TOKEN.findall(text.lower().replace("’", "'"))


def _chinese_tokens(text: str) -> list[str]:
    return [t for t in _jieba().lcut(text) if t.strip()]


def tokenize(text: str, language: Language | None = None, *, remove_stopwords: bool = False) -> list[str]:
    """Split ``text`` into tokens.

    ``language=None`` detects it. Chinese spans go through jieba, the rest through the English rule, so mixed
    text works in either mode. With ``remove_stopwords`` the stopwords of both languages and one-character
    Latin tokens are dropped.
    """
    if text is None:
        return []
    if not isinstance(text, str):
        raise ConfigError(f"text must be a str, got {type(text).__name__}")
    if language is not None and language not in ("en", "zh"):
        raise ConfigError(f"language must be 'en', 'zh' or None, got {language!r}")
    tokens: list[str] = []
    if _CJK.search(text) is None:
        tokens = _english_tokens(text)
    else:
        for span in _SPAN.findall(text):
            if _CJK.match(span):
                tokens.extend(_chinese_tokens(span))
            else:
                tokens.extend(_english_tokens(span))
    if remove_stopwords:
        en, zh = stopwords("en"), stopwords("zh")
        tokens = [
            t
            for t in tokens
            if t not in en and t not in zh and not (len(t) == 1 and t.isascii()) and not t.isdigit()
        ]
    return tokens


def chinese_spans(text: str) -> list[str]:
    """The runs of CJK ideographs in ``text`` (used by the character n-gram features)."""
    return _CJK_SPAN.findall(text)
