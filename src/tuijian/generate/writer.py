"""Grounded copywriting: generate with a backend, check with the guard, retry with another seed, fall back to
the built-in template generator, cache the result per (item, user segment, language, task)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from tuijian.exceptions import TuijianError
from tuijian.generate.backends import Backend, GenerationRequest, Task, TemplateBackend
from tuijian.generate.cache import CopyCache
from tuijian.generate.facts import ItemFacts
from tuijian.generate.guard import Claim, check


@dataclass
class GeneratedCopy:
    """A generated text and how it was obtained."""

    text: str
    task: str
    language: str
    backend: str
    attempts: int
    grounded: bool
    cached: bool = False
    violations: list[Claim] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def language_matches(text: str, language: str) -> bool:
    """Whether ``text`` is written in ``language``: Chinese copy is mostly Chinese characters (English product
    names inside are fine), English copy has (almost) none. Small LLMs often answer a Chinese prompt in English."""
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    if language == "zh":
        return cjk >= 8 and cjk >= 0.3 * latin
    return cjk <= 0.05 * max(latin, 1)


def segment_of(interests: list[str], n_tags: int = 2) -> str:
    """A user segment key from the top interest tags (``"all"`` for no interests)."""
    return "+".join(sorted(interests[:n_tags])) or "all"


def reason_text(shared: list[str], language: str) -> str:
    """A recommendation reason built only from interests the item really has."""
    if not shared:
        return "热销好物" if language == "zh" else "popular with shoppers like you"
    from tuijian.nlp.lexicon import attribute_lexicon, chinese_name

    if language == "zh":
        names = []
        for value in shared:
            kind = next((k for k, vals in attribute_lexicon().items() if value in vals), "")
            names.append(chinese_name(kind, value))
        return f"与你喜欢的{'、'.join(names)}相符"
    return f"it matches your interest in {' and '.join(shared)}"


class CopyWriter:
    """Generate grounded copy.

    Parameters
    ----------
    backend: the primary backend (default: the template backend).
    max_attempts: tries with the primary backend (seeds ``seed, seed+1, …``) before the template fallback.
    cache: a :class:`CopyCache` (default: a fresh in-memory one); ``None`` values are never cached.
    """

    def __init__(self, backend: Backend | None = None, max_attempts: int = 3, cache: CopyCache | None = None):
        self.backend = backend
        self.max_attempts = max_attempts
        self.cache = cache

    def write(
        self,
        task: Task,
        facts: ItemFacts,
        language: Literal["en", "zh"] = "en",
        *,
        interests: list[str] | None = None,
        reason: str | None = None,
        seed: int = 0,
        use_cache: bool = True,
    ) -> GeneratedCopy:
        """Write ``task`` copy about ``facts``. A caller-supplied ``reason`` that fails the guard is replaced by
        one built from the interests the item really shares."""
        interests = list(interests or [])
        if self.cache is None:
            self.cache = CopyCache()
        key = (facts.item_id, segment_of(interests) if task == "ad" else "all", language, task)
        if use_cache and reason is None:
            hit = self.cache.get(key)
            if hit is not None:
                return GeneratedCopy(hit, task, language, "cache", 0, True, cached=True)
        if task == "ad" and (reason is None or not check(reason, facts).ok):
            values = facts.attributes.values()
            shared = list(
                dict.fromkeys(i.split(":", 1)[-1] for i in interests if i.split(":", 1)[-1] in values)
            )
            reason = reason_text(shared[:2], language)
        backend = self.backend or TemplateBackend()
        rejected: list[str] = []
        last_violations: list[Claim] = []
        for attempt in range(self.max_attempts):
            request = GenerationRequest(task, facts, language, interests, reason, seed + attempt)
            try:
                text = backend.generate(request)
            except TuijianError as exc:
                rejected.append(f"<{backend.name} failed: {exc}>")
                break
            result = check(text, facts)
            if text and not language_matches(text, language):
                result.violations.append(Claim("language", language, text[:40]))
            if text and result.ok:
                copy = GeneratedCopy(text, task, language, backend.name, attempt + 1, True, rejected=rejected)
                self._store(key, copy, use_cache)
                return copy
            rejected.append(text)
            last_violations = result.violations
            if isinstance(backend, TemplateBackend):
                break
        template = TemplateBackend()
        text = template.generate(GenerationRequest(task, facts, language, interests, reason, seed))
        result = check(text, facts)
        copy = GeneratedCopy(
            text,
            task,
            language,
            template.name,
            len(rejected) + 1,
            result.ok,
            violations=result.violations or last_violations,
            rejected=rejected,
        )
        if result.ok:
            self._store(key, copy, use_cache)
        return copy

    def _store(self, key: tuple[str, str, str, str], copy: GeneratedCopy, use_cache: bool) -> None:
        if use_cache and self.cache is not None:
            self.cache.put(key, copy.text)
