"""The OpenAI-compatible backend end to end against a real ``python -m llama_cpp.server`` on the packaged model.

Nothing here is mocked: the server is a child process that loads the GGUF file, and ``OpenAIChatBackend`` talks
to it over HTTP. The tests that need the server are skipped only where the optional ``llm`` extra is absent
(scripts/build-llm-wheel.sh installs it); see docs/llm.md for whether CI builds it.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tuijian.exceptions import ConfigError, ModelNotFoundError
from tuijian.generate.backends import BackendError, GenerationRequest, OpenAIChatBackend
from tuijian.generate.guard import check
from tuijian.generate.llm_models import DEFAULT_MODEL
from tuijian.generate.llm_server import LocalLLMServer, ServerStartError, local_server_available
from tuijian.generate.writer import CopyWriter, language_matches

needs_server = pytest.mark.skipif(
    not local_server_available(), reason="optional extra 'llm' (llama-cpp-python[server] + model) absent"
)


def test_server_reports_its_state_and_command_line():
    server = LocalLLMServer("smollm2-135m", port=8099, n_threads=1)
    with pytest.raises(ConfigError, match="not running"):
        _ = server.base_url
    cmd = server.command(Path("/models/x.gguf"))
    assert cmd[1:3] == ["-m", "llama_cpp.server"]
    assert cmd[cmd.index("--model") + 1] == "/models/x.gguf" and cmd[cmd.index("--port") + 1] == "8099"
    assert cmd[cmd.index("--n_threads") + 1] == "1" and cmd[cmd.index("--model_alias") + 1] == "smollm2-135m"
    assert LocalLLMServer(model_path="/m/big-model-q4.gguf").model_alias == "big-model-q4"
    with pytest.raises(ConfigError, match="n_threads must be a positive integer"):
        LocalLLMServer(n_threads=0).command(Path("x.gguf"))


def test_missing_model_file_is_a_clear_error(tmp_path):
    if not local_server_available():
        with pytest.raises(ModelNotFoundError, match="build-llm-wheel.sh"):
            LocalLLMServer(model_path=tmp_path / "nope.gguf").start()
    else:
        with pytest.raises(ModelNotFoundError, match="nope.gguf is not a file"):
            LocalLLMServer(model_path=tmp_path / "nope.gguf").start()


@needs_server
def test_a_file_that_is_not_a_model_stops_the_server_with_its_log(tmp_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file" * 100)
    server = LocalLLMServer(model_path=junk, n_threads=1, startup_timeout=120)
    with pytest.raises(ServerStartError, match="exited with code"):
        server.start()
    assert server.process_ is None


@pytest.fixture(scope="module")
def server():
    with LocalLLMServer(DEFAULT_MODEL, n_threads=1, startup_timeout=300) as running:
        yield running


@pytest.fixture(scope="module")
def backend(server):
    return OpenAIChatBackend(
        server.base_url, model=server.model_alias, timeout=300, max_tokens=64, system_role=server.system_role
    )


@needs_server
def test_real_server_lists_the_packaged_model(server):
    reply = httpx.get(server.base_url + "/models", timeout=10).json()
    assert [m["id"] for m in reply["data"]] == [DEFAULT_MODEL]


@needs_server
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_real_model_output_is_guarded_before_it_is_delivered(retail_shop, backend, lang):
    holder = retail_shop.facts("85123A")  # WHITE HANGING HEART T-LIGHT HOLDER
    try:
        raw = backend.generate(GenerationRequest("description", holder, lang, seed=3))
    except BackendError as exc:  # the model only repeated its prompt: refused, with its words kept
        assert "repeated its prompt" in str(exc) and exc.reply, exc
        raw = exc.reply
    assert raw and "**" not in raw  # the model really answered, and the reply was tidied
    copy = CopyWriter(backend, max_attempts=1).write("description", holder, lang, seed=3, use_cache=False)
    # the server's reply is published only if the guard passes it and it is in the asked language; otherwise
    # the writer falls back to the template text, which is grounded
    assert copy.grounded and check(copy.text, holder).ok and language_matches(copy.text, lang)
    if copy.backend == "openai":
        assert copy.attempts == 1 and not copy.rejected
    else:
        assert copy.backend == "template" and len(copy.rejected) == 1
        reply = copy.rejected[0]
        refused = reply.startswith("<openai failed: the model repeated its prompt")
        assert refused or not check(reply, holder, free_text=True).ok or not language_matches(reply, lang), (
            reply
        )


@needs_server
def test_a_real_reply_with_an_invented_fact_is_rejected(retail_shop, backend):
    holder = retail_shop.facts("85123A")
    try:
        raw = backend.generate(GenerationRequest("ad", holder, "en", ["pattern:heart"], seed=4))
    except BackendError as exc:
        raw = exc.reply or ""
    tampered = f"{raw} Made of glass, in red, a set of 7 for £99."
    kinds = {c.kind for c in check(tampered, holder).violations}
    assert {"material", "colour", "number", "price"} <= kinds


def test_unreachable_server_falls_back_to_the_template(retail_shop):
    holder = retail_shop.facts("85123A")
    gone = OpenAIChatBackend("http://127.0.0.1:9/v1", timeout=2)  # port 9 (discard): nothing listens
    copy = CopyWriter(gone).write("description", holder, "zh", use_cache=False)
    assert copy.backend == "template" and copy.grounded and "failed" in copy.rejected[0]


def test_a_model_is_not_asked_for_a_language_it_cannot_write(retail_shop):
    holder = retail_shop.facts("85123A")
    smollm2, gemma = LocalLLMServer("smollm2-135m"), LocalLLMServer("gemma3-270m")
    assert smollm2.languages == ("en",) and gemma.languages == ("en", "zh")
    assert smollm2.system_role and not gemma.system_role  # Gemma has no system turn: the rules go to the user
    assert "--chat_format" not in smollm2.command(Path("s.gguf"))
    cmd = gemma.command(Path("g.gguf"))
    assert cmd[cmd.index("--chat_format") + 1] == "gemma"  # its GGUF carries no chat template
    english_only = OpenAIChatBackend("http://127.0.0.1:9/v1", languages=smollm2.languages, timeout=2)
    with pytest.raises(BackendError, match="does not write 'zh'"):  # refused before any request is sent
        english_only.generate(GenerationRequest("description", holder, "zh"))
    copy = CopyWriter(english_only).write("description", holder, "zh", use_cache=False)
    assert copy.backend == "template" and copy.attempts == 2 and copy.grounded
