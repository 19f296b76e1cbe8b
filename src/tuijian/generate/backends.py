"""Pluggable text-generation backends.

* :class:`TemplateBackend` — built in, offline, always available, deterministic for a given seed.
* :class:`LlamaCppBackend` — a local GGUF model through ``llama-cpp-python`` (extra ``llm``), in process; by
  default the packaged model of the extra (:mod:`tuijian.generate.llm_models`). Nothing is downloaded.
* :class:`OpenAIChatBackend` — any OpenAI-compatible ``/chat/completions`` endpoint, by URL and key (httpx): a
  hosted model, or a local ``llama_cpp.server`` (:class:`~tuijian.generate.llm_server.LocalLLMServer`).

LLM prompts carry the item's structured product record (:mod:`tuijian.generate.llm_prompt`).

Every backend turns a :class:`GenerationRequest` into text; :class:`~tuijian.generate.writer.CopyWriter`
checks that text with the factuality guard and falls back to the template backend on a violation.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from tuijian.exceptions import ConfigError, ModelNotFoundError, TuijianError
from tuijian.generate import templates
from tuijian.generate.facts import ItemFacts
from tuijian.generate.llm_models import (
    DEFAULT_MODEL,
    PACKAGED_MODELS,
    PackagedModel,
    model_installed,
    packaged_model_path,
)
from tuijian.generate.llm_prompt import chat_messages, fact_sheet, prompt_echo


class BackendError(TuijianError):
    """A generation backend failed (endpoint unreachable, bad reply); the writer falls back to templates.
    ``reply`` holds the model's text when there was one (a reply that only repeated the prompt)."""

    def __init__(self, message: str, reply: str | None = None):
        super().__init__(message)
        self.reply = reply


Task = Literal["description", "ad", "summary"]
TASKS: tuple[str, ...] = ("description", "ad", "summary")


@dataclass
class GenerationRequest:
    """What to write, about which item, for whom, in which language."""

    task: Task
    facts: ItemFacts
    language: Literal["en", "zh"] = "en"
    interests: list[str] = field(default_factory=list)
    reason: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {list(TASKS)}, got {self.task!r}")
        if self.language not in ("en", "zh"):
            raise ConfigError(f"language must be 'en' or 'zh', got {self.language!r}")


@runtime_checkable
class Backend(Protocol):
    """A text generator."""

    name: str

    def generate(self, request: GenerationRequest) -> str: ...


class TemplateBackend:
    """Grammar/template generator filled only with facts; the same seed gives the same text."""

    name = "template"

    def generate(self, request: GenerationRequest) -> str:
        return templates.render(
            request.task,
            request.facts,
            request.language,
            seed=request.seed,
            interests=request.interests,
            reason=request.reason,
        )


# ----------------------------------------------------------------------------- prompts for LLM backends
# The prompt carries the item's structured product record: see tuijian.generate.llm_prompt.

__all__ = [
    "Backend",
    "BackendError",
    "GenerationRequest",
    "LlamaCppBackend",
    "OpenAIChatBackend",
    "TemplateBackend",
    "chat_messages",
    "fact_sheet",
    "llama_cpp_available",
    "make_backend",
    "packaged_gguf",
]


#: List enumerators and markdown markers ("1. ", "2) ", "# ", "- ") at the start of a line or of a sentence.
_ENUM_LINE = re.compile(r"^[ \t]*(?:\d{1,2}[.)、]|#+|[-*•])[ \t]+", re.MULTILINE)
_ENUM_INLINE = re.compile(r"(?:(?<=[.!?:] )|(?<=[。！？：]))(?:\d{1,2}[.)、]|#+|[-*•]) ")
_SENTENCE_END = re.compile(r"[.!?](?=[\s\"”’)）]|$)|[。！？]")


def _clean_output(text: str, truncated: bool = False) -> str:
    """Tidy a chat model's reply: no markdown, no list numbering (it would read as unsupported numbers), and,
    when the reply was cut at ``max_tokens``, no unfinished last sentence."""
    text = _ENUM_LINE.sub("", text.replace("**", ""))
    text = _ENUM_INLINE.sub("", " ".join(text.split())).strip().strip('"')
    if truncated:
        ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        if ends:
            text = text[: ends[-1]].strip()
    return text


def _check_language(request: GenerationRequest, languages: tuple[str, ...], model: object) -> None:
    """A model is not asked to write a language it cannot (the writer then uses the template at once)."""
    if request.language not in languages:
        raise BackendError(f"model {model} does not write {request.language!r} (languages={list(languages)})")


def _not_an_echo(text: str, messages: list[dict[str, str]]) -> str:
    """``text``, unless it repeats the prompt (then :class:`BackendError`, and the writer falls back)."""
    echoed = prompt_echo(text, messages)
    if echoed is not None:
        raise BackendError(
            f"the model repeated its prompt ({echoed!r}) instead of writing copy: {text[:80]!r}"
        )
    return text


# ----------------------------------------------------------------------------- local GGUF model
def packaged_gguf(model: str = DEFAULT_MODEL) -> Path:
    """The ``.gguf`` file of an installed packaged model (default: the ``llm`` extra's model); never downloaded.
    See :mod:`tuijian.generate.llm_models`."""
    return packaged_model_path(model)


def llama_cpp_available(model: str = DEFAULT_MODEL) -> bool:
    """True when ``llama_cpp`` is importable and packaged model ``model`` is installed."""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None and model_installed(model)


class LlamaCppBackend:
    """A local GGUF chat model through llama-cpp-python (optional extra ``llm``), in this process.

    ``model`` names a packaged model (:data:`~tuijian.generate.llm_models.PACKAGED_MODELS`, default the extra's
    model); ``model_path`` any other ``.gguf`` file. To run the model in its own process, or a larger one on
    another machine, use :class:`OpenAIChatBackend` with :class:`~tuijian.generate.llm_server.LocalLLMServer`
    or any OpenAI-compatible server."""

    name = "llama-cpp"

    def __init__(
        self,
        model_path: str | Path | None = None,
        model: str = DEFAULT_MODEL,
        n_ctx: int = 2048,
        max_tokens: int = 160,
        temperature: float = 0.7,
        n_threads: int | None = None,
        chat_format: str | None = None,
        system_role: bool | None = None,
        languages: tuple[str, ...] | None = None,
    ):
        self.model_path = model_path
        self.model = model
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.n_threads = n_threads
        self.chat_format = chat_format
        self.system_role = system_role
        self.languages = languages

    def _packaged(self) -> PackagedModel | None:
        return None if self.model_path else PACKAGED_MODELS.get(self.model)

    def uses_system_role(self) -> bool:
        """``system_role``, or by default what the packaged model supports (True for a ``model_path``)."""
        if self.system_role is not None:
            return self.system_role
        packaged = self._packaged()
        return packaged.system_role if packaged else True

    def threads(self) -> int:
        """``n_threads``, or by default half the CPU cores (llama.cpp threads spin while waiting, so using every
        core of a busy machine is many times slower than using half)."""
        if self.n_threads is None:
            return max(1, (os.cpu_count() or 2) // 2)
        if isinstance(self.n_threads, bool) or not isinstance(self.n_threads, int) or self.n_threads < 1:
            raise ConfigError(f"n_threads must be a positive integer or None, got {self.n_threads!r}")
        return self.n_threads

    def _model(self) -> Any:
        if not hasattr(self, "model_"):
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ModelNotFoundError(
                    "llama-cpp-python is not installed; run: pip install 'tuijian[llm]'"
                ) from exc
            path = Path(self.model_path) if self.model_path else packaged_gguf(self.model)
            if not path.exists():
                raise ModelNotFoundError(f"model_path {path} does not exist")
            packaged = self._packaged()
            chat_format = self.chat_format or (packaged.chat_format if packaged else None)
            self.model_ = Llama(
                model_path=str(path),
                n_ctx=self.n_ctx,
                n_threads=self.threads(),
                chat_format=chat_format,
                verbose=False,
            )
        return self.model_

    def generate(self, request: GenerationRequest) -> str:
        packaged = self._packaged()
        languages = self.languages or (packaged.languages if packaged else ("en", "zh"))
        _check_language(request, languages, self.model_path or self.model)
        model = self._model()
        # forget the previous prompt: reusing its KV-cache prefix changes the logits slightly, and then the same
        # seed no longer gives the same text (re-reading the short prompt costs little)
        model.reset()
        messages = chat_messages(request, self.uses_system_role())
        out = model.create_chat_completion(
            messages=messages,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=request.seed,
        )
        choice = out["choices"][0]
        text = _clean_output(choice["message"]["content"] or "", choice.get("finish_reason") == "length")
        return _not_an_echo(text, messages)


# ----------------------------------------------------------------------------- OpenAI-compatible endpoint
class OpenAIChatBackend:
    """Any OpenAI-compatible chat endpoint: ``POST {base_url}/chat/completions`` with a bearer key.

    ``system_role=False`` puts the rules into the user message, for models without a system turn (Gemma).
    ``languages`` are the languages the model is asked to write; a request in another one raises
    :class:`BackendError` without a call, so the writer uses the template."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        model: str = "gpt-4o-mini",
        timeout: float = 30.0,
        temperature: float = 0.7,
        max_tokens: int = 200,
        system_role: bool = True,
        languages: tuple[str, ...] = ("en", "zh"),
    ):
        self.base_url = base_url
        self.api_key = api_key
        self.model = model
        self.timeout = timeout
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.system_role = system_role
        self.languages = languages

    def generate(self, request: GenerationRequest) -> str:
        import httpx

        _check_language(request, self.languages, self.model)
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        messages = chat_messages(request, self.system_role)
        payload = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": request.seed,
        }
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            response = httpx.post(url, json=payload, headers=headers, timeout=self.timeout)
            response.raise_for_status()
            choice = response.json()["choices"][0]
            text = _clean_output(choice["message"]["content"] or "", choice.get("finish_reason") == "length")
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise BackendError(f"chat endpoint {url} failed: {exc}") from exc
        return _not_an_echo(text, messages)


def make_backend(name: str, **options: Any) -> Backend:
    """``"template"``, ``"llama-cpp"`` or ``"openai"`` (``base_url=``, ``api_key=``, ``model=``)."""
    if name == "template":
        return TemplateBackend()
    if name == "llama-cpp":
        return LlamaCppBackend(**options)
    if name == "openai":
        if "base_url" not in options:
            raise ConfigError("the openai backend needs base_url (e.g. http://127.0.0.1:8080/v1)")
        return OpenAIChatBackend(**options)
    raise ConfigError(f"backend must be 'template', 'llama-cpp' or 'openai', got {name!r}")
