"""Scoring the shop assistant against gold answers (``tests/generate/data/assistant_gold.json``).

Each gold question has a checkable answer (see the file's ``_about`` for the labelling rule): a policy id, "unknown",
a fact (attribute and value, ``None`` meaning the right answer is "I don't know"), an item predicate (title regex,
excluded regex, price bounds, applied to every cited item), or the cheapest / dearest item among the titles that
match a regex. :func:`evaluate` asks every question (earlier ``turns`` in the same conversation) and reports the
accuracy overall, per split, language and category, with the failures.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from tuijian.exceptions import DataError
from tuijian.generate.assistant import Answer, ShopAssistant
from tuijian.generate.assistant_session import Conversation

_KINDS = ("policy", "unknown", "fact", "items", "cheapest", "dearest")


def load_gold(path: str | Path) -> list[dict[str, Any]]:
    """The gold questions of ``path``; each must have ``question``, ``lang`` and one known gold kind."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list) or not questions:
        raise DataError(f"{path}: expected a JSON object with a non-empty 'questions' list")
    for q in questions:
        kinds = [k for k in _KINDS if k in q.get("gold", {})]
        if not q.get("question") or q.get("lang") not in ("en", "zh") or len(kinds) != 1:
            raise DataError(
                f"{path}: question {q.get('id')!r} needs question, lang en/zh and one of {_KINDS}"
            )
    return questions


def _same(value: Any, gold: Any) -> bool:
    if gold is None:
        return value is None
    if isinstance(value, list):
        return any(_same(v, gold) for v in value)
    if isinstance(gold, (int, float)) and isinstance(value, (int, float)):
        return abs(float(value) - float(gold)) < 0.005
    return str(value).lower() == str(gold).lower()


def _title_ok(title: str, price: float, spec: dict[str, Any]) -> bool:
    if "title" in spec and not re.search(spec["title"], title, re.IGNORECASE):
        return False
    if "not_title" in spec and re.search(spec["not_title"], title, re.IGNORECASE):
        return False
    if "price_max" in spec and not price <= spec["price_max"] + 1e-9:
        return False
    return not ("price_min" in spec and not price >= spec["price_min"] - 1e-9)


def check(answer: Answer, gold: dict[str, Any], assistant: ShopAssistant) -> bool:
    """Whether ``answer`` is right by ``gold``."""
    cat = assistant.catalog_
    items = [c for c in answer.citations if c in cat.position]
    if "policy" in gold:
        return answer.citations == [gold["policy"]]
    if "unknown" in gold:
        return not answer.found and not items
    if "fact" in gold:
        g, fact = gold["fact"], answer.fact
        if (
            fact is None
            or fact.get("attribute") != g["attribute"]
            or not _same(fact.get("value"), g["value"])
        ):
            return False
        wanted = g.get("item")
        return wanted is None or fact.get("item") in ([wanted] if isinstance(wanted, str) else wanted)
    if not items:
        return False
    if "items" in gold:
        spec = gold["items"]
        return all(
            _title_ok(cat.titles[cat.position[i]], float(cat.prices[cat.position[i]]), spec) for i in items
        )
    spec = gold.get("cheapest") or gold["dearest"]
    prices = np.nan_to_num(cat.prices, nan=-1.0)
    pool = [p for p in range(len(cat.titles)) if prices[p] > 0 and _title_ok(cat.titles[p], prices[p], spec)]
    if not pool:
        raise DataError(f"gold predicate {spec} matches no catalogue item")
    best = min(prices[pool]) if "cheapest" in gold else max(prices[pool])
    first = cat.position[items[0]]
    return _title_ok(cat.titles[first], prices[first], spec) and abs(prices[first] - best) < 1e-9


def evaluate(assistant: ShopAssistant, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy overall and per split, language and category, with each failure's question and answer."""
    groups: dict[str, list[bool]] = defaultdict(list)
    failures = []
    for q in questions:
        conversation = Conversation()
        for turn in q.get("turns", []):
            assistant.ask(turn, conversation=conversation)
        answer = assistant.ask(q["question"], conversation=conversation)
        ok = check(answer, q["gold"], assistant)
        for key in (
            "all",
            f"split:{q.get('split', 'dev')}",
            f"lang:{q['lang']}",
            f"category:{q['category']}",
        ):
            groups[key].append(ok)
        if not ok:
            failures.append({"id": q.get("id"), "question": q["question"], "turns": q.get("turns", []),
                             "gold": q["gold"], "answer": answer.text, "citations": answer.citations,
                             "fact": answer.fact})  # fmt: skip
    return {
        "n": len(questions),
        "accuracy": {k: round(float(np.mean(v)), 4) for k, v in sorted(groups.items())},
        "counts": {k: len(v) for k, v in sorted(groups.items())},
        "failures": failures,
    }
