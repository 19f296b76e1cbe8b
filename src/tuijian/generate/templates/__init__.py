"""The built-in offline generator: copy written from an item's structured product record, in English and Chinese.

Tasks: ``description``, ``ad`` (personalised), ``title`` (a title line), ``push`` (a push notification) and
``summary`` (of real reviews), one module each; :mod:`.common` holds what they share. Each task has several
styles (:data:`STYLES`) and three lengths (:data:`LENGTHS`); without a choice, the seed picks them. Every sentence
is filled only with facts of the record (type, theme, colour, material, pack count, capacity, audience,
occasion), the catalogue (brand, price) and review opinions, and the sentences are built around those facts, so
the copy is specific to the item. The English names the product with the right article and number; the Chinese
names it in Chinese (:mod:`tuijian.generate.naming`), with measure words, and shows the shop's English title only
in the spec line (规格：…). Deterministic for a given seed.

The JSON files beside these modules (``assistant_zh.json``, ``policies.json``) are the shopping assistant's data.
"""

from __future__ import annotations

import random

from tuijian.generate.facts import ItemFacts
from tuijian.generate.grammar import plural
from tuijian.generate.templates.ad import ad_copy
from tuijian.generate.templates.common import LENGTHS, STYLES, TASKS, title_case
from tuijian.generate.templates.description import description
from tuijian.generate.templates.push import push
from tuijian.generate.templates.summary import review_summary
from tuijian.generate.templates.title import title_line


def render(
    task: str,
    f: ItemFacts,
    lang: str,
    *,
    seed: int = 0,
    interests: list[str] | None = None,
    reason: str | None = None,
    style: str | None = None,
    length: str | None = None,
) -> str:
    """Write ``task`` copy for an item (the template backend's one entry point)."""
    rng = random.Random(f"{seed}:{f.item_id}:{task}:{lang}")
    if task == "description":
        return description(f, lang, rng, style, length)
    if task == "ad":
        return ad_copy(f, lang, rng, list(interests or []), reason, style, length)
    if task == "title":
        return title_line(f, lang, rng, style, length)
    if task == "push":
        return push(f, lang, rng, interests, style, length)
    return review_summary(f, lang, rng)


__all__ = [
    "LENGTHS",
    "STYLES",
    "TASKS",
    "ad_copy",
    "description",
    "plural",
    "push",
    "render",
    "review_summary",
    "title_case",
    "title_line",
]
