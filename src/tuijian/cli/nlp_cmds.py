"""NLP and generation commands: ``tuijian nlp …``, ``tuijian generate``, ``tuijian ask``, ``tuijian guide``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from tuijian.generate.assistant_session import Conversation


def _echo_json(data: object, out: Path | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


def _load_conversation(session: Path | None) -> Conversation:
    """The conversation kept in ``--session`` (a new one when the option is absent or the file is new)."""
    from tuijian.exceptions import ConfigError
    from tuijian.generate.assistant_session import Conversation

    if session is None or not session.exists():
        return Conversation()
    try:
        return Conversation.from_dict(json.loads(session.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--session {session}: not a conversation file ({exc})") from exc


def _save_conversation(session: Path | None, conversation: Conversation) -> None:
    if session is not None:
        session.parent.mkdir(parents=True, exist_ok=True)
        session.write_text(json.dumps(conversation.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add the NLP sub-app and the generation/assistant commands to ``app``."""
    nlp = typer.Typer(help="Text analytics: sentiment, keywords, attributes, aspects.", no_args_is_help=True)

    @nlp.command("evaluate-sentiment")
    def evaluate_sentiment(
        dataset: str = typer.Option(..., help="chinese-shopping-reviews or womens-clothing-reviews"),
        json_out: Path | None = typer.Option(None, "--json", help="write the metrics here"),
        seed: int = typer.Option(42, help="seed of the stratified 80/20 split"),
        max_train: int | None = typer.Option(None, help="cap the training rows (stratified subsample)"),
        save_model: Path | None = typer.Option(None, help="save the fitted model (JSON + npz) here"),
        data_dir: Path | None = typer.Option(None, help="dataset root (default: resolve_data_dir())"),
    ) -> None:
        """Train on the stratified 80 % and report accuracy / macro-F1 on the held-out 20 %."""
        from tuijian.nlp.sentiment import evaluate_sentiment as run

        _echo_json(
            run(dataset, seed=seed, max_train=max_train, data_dir=data_dir, model_dir=save_model), json_out
        )

    @nlp.command("keywords")
    def keywords(text: str = typer.Argument(..., help="text to analyse"), k: int = typer.Option(5)) -> None:
        """TextRank keywords of a text (English or Chinese)."""
        from tuijian.nlp.keywords import textrank_keywords

        _echo_json([{"keyword": w, "score": round(s, 4)} for w, s in textrank_keywords(text, k)], None)

    @nlp.command("attributes")
    def attributes(
        title: str = typer.Argument(..., help="a product title"), brand: str | None = typer.Option(None)
    ) -> None:
        """Colour, material, size, style, pattern, product type, pack count … of a product title."""
        from tuijian.nlp.attributes import extract_attributes

        _echo_json(extract_attributes(title, brand=brand).to_dict(), None)

    @nlp.command("aspects")
    def aspects(text: str = typer.Argument(..., help="a review")) -> None:
        """Aspect-level opinions (fit, quality, price, size, comfort …) of a review."""
        from tuijian.nlp.aspects import aspect_opinions

        _echo_json([o.__dict__ for o in aspect_opinions(text)], None)

    app.add_typer(nlp, name="nlp")

    @app.command("generate")
    def generate(
        dataset: str = typer.Option("online-retail", help="dataset whose catalogue to use"),
        item: str = typer.Option(..., help="item id"),
        user: str | None = typer.Option(None, help="user id (personalises the ad copy)"),
        lang: str = typer.Option("en", help="en or zh"),
        task: list[str] = typer.Option(["description", "ad"], help="description, ad, summary (repeatable)"),
        backend: str = typer.Option("template", help="template, llama-cpp or openai"),
        base_url: str | None = typer.Option(None, help="openai backend: endpoint base URL"),
        api_key: str | None = typer.Option(None, envvar="TUIJIAN_LLM_API_KEY", help="openai backend: key"),
        model: str = typer.Option("gpt-4o-mini", help="openai backend: model name"),
        seed: int = typer.Option(0),
        as_json: bool = typer.Option(False, "--json", help="print JSON with backend and guard details"),
        data_dir: str | None = typer.Option(None),
    ) -> None:
        """Print grounded copy for an item (every fact in it comes from the item data or its reviews)."""
        from tuijian.exceptions import ConfigError
        from tuijian.generate.backends import make_backend
        from tuijian.generate.shop import load_shop
        from tuijian.generate.writer import CopyWriter

        if lang not in ("en", "zh"):
            raise ConfigError(f"--lang must be 'en' or 'zh', got {lang!r}")
        options = {"base_url": base_url, "api_key": api_key, "model": model} if backend == "openai" else {}
        writer = CopyWriter(make_backend(backend, **{k: v for k, v in options.items() if v is not None}))
        shop = load_shop(dataset, data_dir)
        facts = shop.facts(item)
        interests = shop.interests(user) if user else []
        results = [writer.write(t, facts, lang, interests=interests, seed=seed) for t in task]  # type: ignore[arg-type]
        if as_json:
            _echo_json(
                [
                    {
                        "task": r.task,
                        "text": r.text,
                        "backend": r.backend,
                        "grounded": r.grounded,
                        "attempts": r.attempts,
                    }
                    for r in results
                ],
                None,
            )
        else:
            for r in results:
                typer.echo(r.text)

    @app.command("ask")
    def ask(
        question: str | None = typer.Argument(None, help="the question (omit with --interactive)"),
        dataset: str = typer.Option("online-retail"),
        lang: str | None = typer.Option(None, help="en or zh (default: detected)"),
        session: Path | None = typer.Option(
            None,
            "--session",
            help="conversation file: read before and written after, for follow-up questions",
        ),
        interactive: bool = typer.Option(
            False,
            "--interactive",
            "-i",
            help="a conversation: one question per line on stdin, until EOF or 'quit'",
        ),
        k: int = typer.Option(3, min=1, max=20, help="items to cite"),
        data_dir: str | None = typer.Option(None),
    ) -> None:
        """Answer a customer question (facts, prices, sorting, policies; "I don't know" when the data does not say)."""
        from tuijian.exceptions import ConfigError
        from tuijian.generate.assistant import ShopAssistant
        from tuijian.generate.shop import load_shop

        if not interactive and not question:
            raise ConfigError("give a question, or --interactive to read questions from stdin")
        conversation = _load_conversation(session)
        assistant = ShopAssistant(load_shop(dataset, data_dir)).fit()

        def reply(text: str) -> None:
            answer = assistant.ask(text, lang, k, conversation)
            _echo_json(
                {
                    "answer": answer.text,
                    "intent": answer.intent,
                    "found": answer.found,
                    "citations": answer.citations,
                    "fact": answer.fact,
                },
                None,
            )

        if question:
            reply(question)
        if interactive:
            import sys

            for line in sys.stdin:
                text = line.strip()
                if text.lower() in ("quit", "exit", "q"):
                    break
                if text:
                    reply(text)
        _save_conversation(session, conversation)

    @app.command("guide")
    def guide(
        request: str = typer.Argument(..., help='e.g. "A gift under £10 for a child who likes dinosaurs"'),
        dataset: str = typer.Option("online-retail"),
        k: int = typer.Option(5, min=1, max=50),
        lang: str | None = typer.Option(None),
        session: Path | None = typer.Option(
            None,
            "--session",
            help="conversation file shared with `tuijian ask --session` (read, then written)",
        ),
        data_dir: str | None = typer.Option(None),
    ) -> None:
        """Conversational shopping guide: parsed constraints and suggestions with reasons."""
        from tuijian.generate.assistant import ShopAssistant
        from tuijian.generate.shop import load_shop

        conversation = _load_conversation(session)
        assistant = ShopAssistant(load_shop(dataset, data_dir))
        _echo_json(assistant.guide(request, k=k, language=lang, conversation=conversation).to_dict(), None)
        _save_conversation(session, conversation)
