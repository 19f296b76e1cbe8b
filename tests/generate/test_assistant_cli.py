from __future__ import annotations

import json

from typer.testing import CliRunner

from tuijian.cli import app


def _answers(output: str) -> list[dict]:
    decoder, out, text = json.JSONDecoder(), [], output.strip()
    while text:
        obj, end = decoder.raw_decode(text)
        out.append(obj)
        text = text[end:].strip()
    return out


def test_ask_keeps_a_conversation_in_a_session_file_and_interactively(tmp_path, retail_shop):
    session = tmp_path / "chat.json"
    result = CliRunner().invoke(
        app,
        ["ask", "red alarm clock", "--session", str(session), "--interactive"],
        input="Is it waterproof?\n那个多少钱？\nquit\nnever read\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    first, waterproof, price = _answers(result.output)
    assert first["citations"][0] == "22727"
    assert waterproof["fact"] == {"item": "22727", "attribute": "waterproof", "value": None}
    assert price["fact"]["value"] == 3.75 and "售价" in price["answer"]
    saved = json.loads(session.read_text(encoding="utf-8"))
    assert saved["focus"] == "22727" and saved["turns"] == 3
    # a later call continues from the file
    again = CliRunner().invoke(app, ["ask", "how many in the pack?", "--session", str(session)])
    assert again.exit_code == 0, again.output
    assert _answers(again.output)[0]["fact"]["item"] == "22727"


def test_ask_without_a_question_is_a_clear_error():
    result = CliRunner().invoke(app, ["ask"])
    assert result.exit_code != 0
    assert "--interactive" in result.output or "--interactive" in str(result.exception)


def test_guide_continues_from_a_session_file(tmp_path, retail_shop):
    session = tmp_path / "guide.json"
    first = CliRunner().invoke(app, ["guide", "lunch box", "--session", str(session), "--k", "3"])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(app, ["guide", "nothing with skulls", "--session", str(session), "--k", "9"])
    assert second.exit_code == 0, second.output
    reply = _answers(second.output)[0]
    assert reply["suggestions"] and not any("Skull" in s["title"] for s in reply["suggestions"])
    assert "skull" in reply["constraints"]["excluded"]
