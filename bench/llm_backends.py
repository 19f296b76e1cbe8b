"""LLM backends on real Online Retail items: grounding, Chinese quality and latency, per backend.

    nice -n 10 .venv/bin/python bench/llm_backends.py [--n-items 50] \
        [--backends template,openai:smollm2-135m,openai:gemma3-270m] [--json bench/results/llm_backends.json]

Each ``openai:<model>`` backend is the OpenAI-compatible backend (:class:`OpenAIChatBackend`, plain HTTP) talking
to a real ``python -m llama_cpp.server`` child process on the packaged GGUF model (:class:`LocalLLMServer`);
``llama-cpp:<model>`` runs the same model in process; ``openai@URL#MODEL`` uses an endpoint you run yourself
(a shop's larger model). Texts: for ``--n-items`` popular items, a product description (even items) or a
personalised ad (odd items, with a real buyer's interest tags), each in English and in Chinese.

Per backend, over the backend's own reply (one try, ``CopyWriter(max_attempts=1)``):

* guard pass: the reply passes :func:`tuijian.generate.guard.check` (every claim backed by the item's data);
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

from tuijian.generate.backends import Backend, LlamaCppBackend, OpenAIChatBackend, TemplateBackend
from tuijian.generate.guard import check
from tuijian.generate.llm_models import PACKAGED_MODELS, model_installed
from tuijian.generate.llm_prompt import product_name, product_record
from tuijian.generate.llm_server import LocalLLMServer
from tuijian.generate.shop import load_shop
from tuijian.generate.writer import CopyWriter, language_matches

_LATIN = re.compile(r"[A-Za-z]")


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
        return OpenAIChatBackend(url, model=name or "default", timeout=300, max_tokens=160), spec
    if model not in PACKAGED_MODELS:
        raise SystemExit(f"unknown model {model!r} in {spec!r}; known: {sorted(PACKAGED_MODELS)}")
    if not model_installed(model):
        return None, spec
    if kind == "openai":
        server = stack.enter_context(LocalLLMServer(model, n_threads=threads, startup_timeout=300))
        label = f"openai → llama_cpp.server ({PACKAGED_MODELS[model].summary})"
        return OpenAIChatBackend(
            server.base_url, model=server.model_alias, timeout=300, max_tokens=160
        ), label
    if kind == "llama-cpp":
        return LlamaCppBackend(
            model=model, n_threads=threads, max_tokens=160
        ), f"llama-cpp in process ({model})"
    raise SystemExit(
        f"unknown backend {spec!r}: template, openai:<model>, llama-cpp:<model> or openai@URL#MODEL"
    )


def run(backend: Backend, work: list[tuple[str, Any, str, list[str]]]) -> tuple[dict[str, Any], list[dict]]:
    writer = CopyWriter(backend, max_attempts=1)
    rows = []
    for i, (task, facts, lang, interests) in enumerate(work):
        t = time.perf_counter()
        copy = writer.write(task, facts, lang, interests=interests, seed=i, use_cache=False)
        seconds = time.perf_counter() - t
        raw = copy.text if copy.backend == backend.name else (copy.rejected[0] if copy.rejected else "")
        failed = raw.startswith(f"<{backend.name} failed")
        guard = check(raw, facts) if raw and not failed else None
        record = product_record(facts)
        zh_name = product_name(record, facts, "zh") if record.product_type is not None else None
        rows.append(
            {
                "item": facts.item_id,
                "title": facts.title,
                "task": task,
                "lang": lang,
                "raw": raw,
                "delivered": copy.text,
                "delivered_by": copy.backend,
                "failed": failed,
                "guard_ok": bool(guard and guard.ok),
                "violations": [f"{v.kind}:{v.value}" for v in guard.violations] if guard else [],
                "language_ok": bool(raw) and not failed and language_matches(raw, lang),
                "accepted": copy.backend == backend.name,
                "delivered_grounded": check(copy.text, facts).ok,
                "zh_name": zh_name,
                "names_product_zh": bool(zh_name and zh_name != "商品" and zh_name in raw),
                "latin_share": latin_share(raw),
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
        "failed": sum(r["failed"] for r in rows),
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-items", type=int, default=50, help="items; each gives an en and a zh text")
    ap.add_argument("--backends", default="template,openai:smollm2-135m,openai:gemma3-270m")
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1 on a busy 2-core machine)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the summaries and every text here")
    args = ap.parse_args()
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
