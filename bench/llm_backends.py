"""LLM backends on real Online Retail items: grounding, Chinese quality and latency, per backend.

    nice -n 10 .venv/bin/python bench/llm_backends.py [--n-items 50] \
        [--backends template,openai:smollm2-135m,openai:gemma3-270m] [--json bench/results/llm_backends.json]
    nice -n 10 .venv/bin/python bench/llm_backends.py --rescore bench/results/llm_backends_smollm2.json
    nice -n 10 .venv/bin/python bench/llm_backends.py --calibrate --n-items 150 [--json …]

Each ``openai:<model>`` backend is the OpenAI-compatible backend (:class:`OpenAIChatBackend`, plain HTTP) talking
to a real ``python -m llama_cpp.server`` child process on the packaged GGUF model (:class:`LocalLLMServer`);
``llama-cpp:<model>`` runs the same model in process; ``openai@URL#MODEL`` uses an endpoint you run yourself
(a shop's larger model). ``--rescore`` re-applies the current guard to the replies saved in a JSON file
(no model); ``--calibrate`` runs the free-text checks on copy that must pass them. Texts: for ``--n-items``
popular items, a product description (even items) or a personalised ad (odd items, with a real buyer's
interest tags), each in English and in Chinese.

Per backend, over the backend's own reply (one try, ``CopyWriter(max_attempts=1)``):

* guard pass: the reply passes :func:`tuijian.generate.guard.check` with ``free_text=True`` (every claim and
  every content word backed by the item's data, no meta text, a Chinese fluency floor, no repeated sentence);
* accepted: guard pass and in the requested language: what the writer publishes; the rest falls back to the
  template text, so "delivered grounded" is what a shop would show;
* zh Chinese: the zh reply is Chinese (``language_matches``); zh names product: it contains the Chinese name of
  the record's product type (:func:`chinese_product_type`); Latin share: Latin letters / all non-space characters
  of the zh reply (the mean);
* seconds per text (mean and median), on this machine's CPU, one llama.cpp thread.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from contextlib import ExitStack
from typing import Any

import numpy as np

from tuijian.generate.backends import (
    Backend,
    BackendError,
    GenerationRequest,
    LlamaCppBackend,
    OpenAIChatBackend,
    TemplateBackend,
    chat_messages,
    prompt_echo,
)
from tuijian.generate.guard import check
from tuijian.generate.llm_models import PACKAGED_MODELS, model_installed
from tuijian.generate.llm_prompt import product_name, product_record
from tuijian.generate.llm_server import LocalLLMServer
from tuijian.generate.shop import load_shop
from tuijian.generate.writer import CopyWriter, language_matches

_LATIN = re.compile(r"[A-Za-z]")
MAX_TOKENS = 100  # --max-tokens


def jobs(n_items: int, seed: int) -> list[tuple[str, Any, str, list[str]]]:
    """(task, facts, language, interests) for ``n_items`` popular Online Retail items, en and zh each."""
    rng = np.random.default_rng(seed)
    shop = load_shop("online-retail")
    pop = shop.popularity()
    pool = pop[pop >= 20].index.to_numpy()
    items = rng.choice(pool, size=n_items, replace=False)
    events = shop.events
    out = []
    for k, item in enumerate(items):
        facts = shop.facts(item)
        task = "description" if k % 2 == 0 else "ad"
        interests: list[str] = []
        if task == "ad":
            buyers = events.loc[events["item"] == item, "user"].astype(str)
            buyers = buyers[~buyers.str.startswith("anon:")]
            if len(buyers):
                interests = shop.interests(buyers.iloc[int(rng.integers(len(buyers)))])
        for lang in ("en", "zh"):
            out.append((task, facts, lang, interests))
    return out


def latin_share(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return len(_LATIN.findall(text)) / max(len(chars), 1)


def make(spec: str, stack: ExitStack, threads: int) -> tuple[Backend | None, str]:
    """The backend for a ``--backends`` entry, and its label; ``None`` when its model is not installed."""
    if spec == "template":
        return TemplateBackend(), "template"
    kind, _, model = spec.partition(":")
    if spec.startswith("openai@"):
        url, _, name = spec[len("openai@") :].partition("#")
        return OpenAIChatBackend(url, model=name or "default", timeout=300, max_tokens=MAX_TOKENS), spec
    if model not in PACKAGED_MODELS:
        raise SystemExit(f"unknown model {model!r} in {spec!r}; known: {sorted(PACKAGED_MODELS)}")
    if not model_installed(model):
        return None, spec
    if kind == "openai":
        server = stack.enter_context(LocalLLMServer(model, n_threads=threads, startup_timeout=300))
        label = f"openai → llama_cpp.server ({PACKAGED_MODELS[model].summary})"
        # both languages, also for a model that the library asks only in English: this measures the model
        backend = OpenAIChatBackend(
            server.base_url,
            model=server.model_alias,
            timeout=300,
            max_tokens=MAX_TOKENS,
            system_role=server.system_role,
            languages=("en", "zh"),
        )
        return backend, label
    if kind == "llama-cpp":
        backend = LlamaCppBackend(
            model=model, n_threads=threads, max_tokens=MAX_TOKENS, languages=("en", "zh")
        )
        return backend, f"llama-cpp in process ({model})"
    raise SystemExit(
        f"unknown backend {spec!r}: template, openai:<model>, llama-cpp:<model> or openai@URL#MODEL"
    )


class Recording:
    """Wraps a backend and keeps its last reply, also one it refused for repeating the prompt."""

    def __init__(self, backend: Backend):
        self.backend, self.name, self.last = backend, backend.name, ""

    def generate(self, request: GenerationRequest) -> str:
        self.last = ""
        try:
            self.last = self.backend.generate(request)
        except BackendError as exc:
            self.last = exc.reply or ""
            raise
        return self.last


class Replay:
    """Replays the replies a model gave in an earlier run (``--rescore``): the guard, the prompt-echo check and
    the writer are re-applied with the current code, without running the model again."""

    def __init__(self, name: str, rows: list[dict], system_role: bool):
        self.name, self.rows, self.system_role, self.i = name, rows, system_role, 0

    def generate(self, request: GenerationRequest) -> str:
        row = self.rows[self.i]
        self.i += 1
        reply = row.get("reply") or ("" if row["failed"] else row["raw"])
        if row["failed"] and not reply:
            raise BackendError(row["raw"])
        echoed = prompt_echo(reply, chat_messages(request, self.system_role))
        if echoed is not None:
            raise BackendError(f"the model repeated its prompt ({echoed!r})", reply=reply)
        return reply


def run(
    backend: Backend, work: list[tuple[str, Any, str, list[str]]], seconds_of: list[float] | None = None
) -> tuple[dict[str, Any], list[dict]]:
    recorder = Recording(backend)
    writer = CopyWriter(recorder, max_attempts=1)
    rows = []
    for i, (task, facts, lang, interests) in enumerate(work):
        t = time.perf_counter()
        copy = writer.write(task, facts, lang, interests=interests, seed=i, use_cache=False)
        seconds = seconds_of[i] if seconds_of else time.perf_counter() - t
        raw = copy.text if copy.backend == backend.name else (copy.rejected[0] if copy.rejected else "")
        failed = raw.startswith(f"<{backend.name} failed")
        echo = failed and "repeated its prompt" in raw
        reply = recorder.last  # the model's own words (also when refused as a prompt echo)
        guard = check(reply, facts, free_text=True) if reply else None
        record = product_record(facts)
        zh_name = product_name(record, facts, "zh") if record.product_type is not None else None
        rows.append(
            {
                "item": facts.item_id,
                "title": facts.title,
                "task": task,
                "lang": lang,
                "raw": raw,
                "reply": reply,
                "echo": echo,
                "delivered": copy.text,
                "delivered_by": copy.backend,
                "failed": failed,
                "guard_ok": bool(guard and guard.ok),
                "violations": [f"{v.kind}:{v.value}" for v in guard.violations] if guard else [],
                # an echoed prompt is Chinese, but it is not copy: it counts as neither
                "language_ok": bool(reply) and not failed and language_matches(reply, lang),
                "accepted": copy.backend == backend.name,
                "delivered_grounded": check(copy.text, facts).ok,
                "zh_name": zh_name,
                "names_product_zh": bool(zh_name and zh_name != "商品" and not failed and zh_name in reply),
                "latin_share": latin_share(reply),
                "seconds": seconds,
            }
        )

    def share(key: str, subset: list[dict]) -> float:
        return round(sum(bool(r[key]) for r in subset) / max(len(subset), 1), 4)

    zh = [r for r in rows if r["lang"] == "zh"]
    en = [r for r in rows if r["lang"] == "en"]
    named = [r for r in zh if r["zh_name"] and r["zh_name"] != "商品"]
    secs = [r["seconds"] for r in rows]
    summary = {
        "n_texts": len(rows),
        "failed": sum(r["failed"] and not r["echo"] for r in rows),
        "prompt_echo": share("echo", rows),
        "guard_pass": share("guard_ok", rows),
        "guard_pass_en": share("guard_ok", en),
        "guard_pass_zh": share("guard_ok", zh),
        "accepted": share("accepted", rows),
        "accepted_en": share("accepted", en),
        "accepted_zh": share("accepted", zh),
        "delivered_grounded": share("delivered_grounded", rows),
        "zh_chinese": share("language_ok", zh),
        "zh_names_product": share("names_product_zh", named),
        "zh_latin_share_mean": round(statistics.fmean(r["latin_share"] for r in zh), 4) if zh else None,
        "seconds_per_text_mean": round(statistics.fmean(secs), 2),
        "seconds_per_text_median": round(statistics.median(secs), 2),
    }
    return summary, rows


def calibrate(n_items: int, seed: int) -> dict[str, Any]:
    """The free-text checks (``check(..., free_text=True)``) on copy that must pass them: the built-in template
    copy of ``bench/generation.py --quality`` (written from the record) and the real Chinese shopping reviews
    (the fluency floor only)."""
    import collections
    import gzip

    import pandas as pd
    from generation import quality_texts

    from tuijian.data.datasets import dataset_path
    from tuijian.generate.support import ZH_FLUENCY_FLOOR, chinese_fluency

    out: dict[str, Any] = {}
    texts = [t for t in quality_texts(n_items, seed) if t["task"] in ("description", "ad")]
    for lang in ("en", "zh"):
        sel = [t for t in texts if t["lang"] == lang]
        kinds: collections.Counter[str] = collections.Counter()
        words: collections.Counter[str] = collections.Counter()
        passed = 0
        for t in sel:
            violations = [v for v in check(t["text"], t["facts"], free_text=True).violations]
            passed += not violations
            kinds.update({v.kind for v in violations})
            for v in violations:
                if v.kind == "unsupported":
                    words.update(v.value.split(", "))
        out[f"template_{lang}"] = {
            "texts": len(sel),
            "pass": round(passed / max(len(sel), 1), 4),
            "failed_by": dict(kinds),
            "words": words.most_common(30),
        }
        zh_scores = [chinese_fluency(t["text"]) for t in sel] if lang == "zh" else []
        if zh_scores:
            scores = [x for x in zh_scores if x is not None]
            out["template_zh"]["fluency_min"] = round(min(scores), 2)
    path = dataset_path("chinese-shopping-reviews") / "online_shopping_10_cats.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        reviews = pd.read_csv(fh)["review"].dropna().astype(str)
    scores = [x for x in map(chinese_fluency, reviews) if x is not None]
    below = sum(x < ZH_FLUENCY_FLOOR for x in scores)
    out["zh_reviews"] = {
        "reviews": len(scores),
        "below_floor": below,
        "share_below": round(below / len(scores), 5),
        "p1": round(float(np.percentile(scores, 1)), 2),
        "median": round(float(np.median(scores)), 2),
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-items", type=int, default=50, help="items; each gives an en and a zh text")
    ap.add_argument("--backends", default="template,openai:smollm2-135m,openai:gemma3-270m")
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1 on a busy 2-core machine)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=100, help="reply length cap (2-3 sentences fit in 100)")
    ap.add_argument("--json", default=None, help="write the summaries and every text here")
    ap.add_argument(
        "--rescore",
        default=None,
        help="re-apply guard and writer to the replies saved in this JSON (no model)",
    )
    ap.add_argument(
        "--calibrate",
        action="store_true",
        help="the free-text checks on template copy (--n-items items) and on real Chinese reviews",
    )
    args = ap.parse_args()
    if args.calibrate:
        report = calibrate(args.n_items, args.seed)
        print(json.dumps(report, ensure_ascii=False, indent=1))
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(report, fh, ensure_ascii=False, indent=1)
        return
    global MAX_TOKENS
    MAX_TOKENS = args.max_tokens
    if args.rescore:
        with open(args.rescore, encoding="utf-8") as fh:
            saved = json.load(fh)
        work = jobs(saved["n_items"], saved["seed"])
        for entry in saved["backends"]:
            label, rows = entry["summary"]["backend"], entry["texts"]
            if label == "template":
                continue
            replay = Replay("openai", rows, system_role="gemma" not in label.lower())
            summary, entry["texts"] = run(replay, work, [r["seconds"] for r in rows])  # type: ignore[arg-type]
            entry["summary"] = {
                "backend": label,
                "startup_seconds": entry["summary"]["startup_seconds"],
                **summary,
            }
            print(json.dumps(entry["summary"], ensure_ascii=False), flush=True)
        with open(args.json or args.rescore, "w", encoding="utf-8") as fh:
            json.dump(saved, fh, ensure_ascii=False, indent=1)
        return
    work = jobs(args.n_items, args.seed)
    report: dict[str, Any] = {"n_items": args.n_items, "seed": args.seed, "backends": []}
    for spec in args.backends.split(","):
        with ExitStack() as stack:
            t = time.perf_counter()
            backend, label = make(spec, stack, args.threads)
            if backend is None:
                print(f"{spec}: skipped (model package not installed)", flush=True)
                continue
            startup = round(time.perf_counter() - t, 1)
            summary, rows = run(backend, work)
        summary = {"backend": label, "startup_seconds": startup, **summary}
        print(json.dumps(summary, ensure_ascii=False), flush=True)
        for lang in ("en", "zh"):
            for r in [r for r in rows if r["lang"] == lang][:2]:
                print(
                    f"  {lang} {r['title']!r}: {r['raw'][:160]!r} guard={r['guard_ok']} {r['violations'][:3]}"
                )
        report["backends"].append({"summary": summary, "texts": rows})
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
