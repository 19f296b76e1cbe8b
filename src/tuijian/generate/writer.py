"""Grounded copywriting: generate with a backend, check with the guard, retry with another seed, fall back to
the built-in template generator, cache the result per (item, user segment, language, task).

Tasks: ``description``, ``ad`` and ``summary`` go to the configured backend (LLM or templates); ``title`` (a title
line) and ``push`` (a push notification) are written by the templates. ``style`` and ``length`` choose a template
style (:data:`tuijian.generate.templates.STYLES`) and length; unset, the seed picks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from tuijian.exceptions import ConfigError, DataError, TuijianError
from tuijian.generate import templates
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


#: Every task the writer takes; the last two are written by the templates whatever the backend.
WRITER_TASKS: tuple[str, ...] = ("description", "ad", "summary", "title", "push")
_TEMPLATE_ONLY = frozenset({"title", "push"})


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
        task: Task | Literal["title", "push"],
        facts: ItemFacts,
        language: Literal["en", "zh"] = "en",
        *,
        interests: list[str] | None = None,
        reason: str | None = None,
        seed: int = 0,
        use_cache: bool = True,
        style: str | None = None,
        length: str | None = None,
    ) -> GeneratedCopy:
        """Write ``task`` copy about ``facts``. A caller-supplied ``reason`` that fails the guard is dropped (the
        ad then says only what the item shares with the shopper's interests, or nothing personal). A ``summary``
        of an item without reviews is a :class:`~tuijian.exceptions.DataError`: there is nothing to summarise."""
        if task not in WRITER_TASKS:
            raise ConfigError(f"task must be one of {list(WRITER_TASKS)}, got {task!r}")
        if language not in ("en", "zh"):
            raise ConfigError(f"language must be 'en' or 'zh', got {language!r}")
        if style is not None and style not in templates.STYLES[task]:
            raise ConfigError(
                f"style for {task} must be one of {list(templates.STYLES[task])}, got {style!r}"
            )
        if length is not None and length not in templates.LENGTHS:
            raise ConfigError(f"length must be one of {list(templates.LENGTHS)}, got {length!r}")
        if task == "summary" and not facts.reviews:
            raise DataError(
                f"item {facts.item_id!r} has no reviews, so there is no review summary to write; "
                "ask for a description, an ad, a title or a push text instead"
            )
        interests = list(interests or [])
        if self.cache is None:
            self.cache = CopyCache()
        variant = task if style is None and length is None else f"{task}:{style or ''}:{length or ''}"
        personal = task in ("ad", "push")
        key = (facts.item_id, segment_of(interests) if personal else "all", language, variant)
        if use_cache and reason is None:
            hit = self.cache.get(key)
            if hit is not None:
                return GeneratedCopy(hit, task, language, "cache", 0, True, cached=True)
        if reason is not None and not check(reason, facts).ok:
            reason = None
        if task in _TEMPLATE_ONLY or self.backend is None or isinstance(self.backend, TemplateBackend):
            text = templates.render(
                task,
                facts,
                language,
                seed=seed,
                interests=interests,
                reason=reason,
                style=style,
                length=length,
            )
            result = check(text, facts, (reason,) if reason else ())
            copy = GeneratedCopy(text, task, language, "template", 1, result.ok, violations=result.violations)
            if result.ok:
                self._store(key, copy, use_cache and reason is None)
            return copy
        backend = self.backend
        rejected: list[str] = []
        last_violations: list[Claim] = []
        for attempt in range(self.max_attempts):
            request = GenerationRequest(task, facts, language, interests, reason, seed + attempt)  # type: ignore[arg-type]
            try:
                text = backend.generate(request)
            except TuijianError as exc:
                rejected.append(f"<{backend.name} failed: {exc}>")
                break
            # a model's reply is free text: every content word must be backed too (tuijian.generate.support)
            result = check(
                text, facts, (reason,) if reason else (), free_text=not isinstance(backend, TemplateBackend)
            )
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
        text = templates.render(
            task, facts, language, seed=seed, interests=interests, reason=reason, style=style, length=length
        )
        result = check(text, facts, (reason,) if reason else ())
        copy = GeneratedCopy(
            text,
            task,
            language,
            "template",
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
