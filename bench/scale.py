"""Scale benchmark (issue 15): a synthetic shop log at 1M / 10M / 50M lines, the local path against the Spark
path, wall time and peak memory per step.

    nice -n 10 .venv/bin/python bench/scale.py generate --events 1000000 --out var/scale/1m
    nice -n 10 .venv/bin/python bench/scale.py run --logs var/scale/1m --path local --mem-gb 6 --json var/scale/1m-local.json
    nice -n 10 .venv/bin/python bench/scale.py run --logs var/scale/1m --path spark --json var/scale/1m-spark.json
    nice -n 10 .venv/bin/python bench/scale.py parity --logs var/scale/1m --shuffle-partitions 2,8,64 --json var/scale/1m-parity.json
    .venv/bin/python bench/scale.py plot --out bench/results/scale.png bench/results/issue15_*-local-*.json ...

The generator writes raw Online Retail-shaped lines (the eight text columns plus ``row``) as Parquet, in
chunks, so its own memory stays flat: item popularity is a power law (Zipf, exponent 1.1, over
``12 * sqrt(events)`` items in 40 categories), customers' activity is heavy-tailed (lognormal invoices per
customer), an invoice (session) has a geometric number of lines (mean 12) mostly from one category, and the
dirt of the real log is there in realistic shares: 20 % guest invoices without a customer id, 1 % exact
duplicate lines, 0.5 % postage/fee lines, 2 % cancellation invoices returning earlier purchases, 0.2 % zero
prices.

``run`` runs one path in a child process and samples the resident memory of its whole process tree (the
Python driver, the JVM and Spark's Python workers) every 0.2 s; ``--mem-gb`` caps the child's address space
(local path only: a JVM reserves far more address space than it uses), so running out shows as a
``MemoryError`` at a named step instead of the machine swapping. Steps, local: read Parquet, clean,
interactions, ALS fit, top lists; Spark: the steps of :func:`tuijian.spark.pipeline.run_pipeline`.

``parity`` cleans one log locally and with Spark under several shuffle-partition counts and checks the counts,
every kept line against local, and every line's outcome across the Spark runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ALS: dict[str, Any] = {"n_factors": 64, "reg": 1.0, "alpha": 10.0, "n_iterations": 10, "random_state": 42}


# ---------------------------------------------------------------------- the generator
def generate(n_events: int, out: Path, seed: int = 0, chunk_invoices: int = 200_000) -> dict[str, Any]:
    """Write about ``n_events`` raw lines to Parquet folder ``out`` (:func:`tuijian.spark.synthetic.generate_log`)."""
    from tuijian.spark.synthetic import generate_log

    return generate_log(n_events, out, seed=seed, chunk_invoices=chunk_invoices)


# ---------------------------------------------------------------------- the two paths (child process)
def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_local(logs: Path, home: Path) -> dict[str, Any]:
    """The local path, step by step; the model and its top lists are saved as the service's artifact under
    ``home`` (what ``run --path load`` then opens), like the Spark path's."""
    from tuijian.data.cleaning import clean_online_retail
    from tuijian.data.interactions import Interactions, WeightConfig
    from tuijian.data.schema import EVENT_COLUMNS
    from tuijian.models.artifacts import save_model
    from tuijian.models.mf import ALS as LocalALS
    from tuijian.models.toplists import precompute_top_lists
    from tuijian.spark.logs import read_raw_pandas

    steps: dict[str, Any] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        steps[name] = {"seconds": round(time.perf_counter() - t, 2), "max_rss_mb": round(_rss_mb())}
        print(json.dumps({"step": name, **steps[name]}), flush=True)
        t = time.perf_counter()

    raw = read_raw_pandas(logs)
    lap("read")
    events, _, report = clean_online_retail(raw, dataset="synthetic")
    del raw
    lap("clean")
    inter = Interactions.from_events(events[list(EVENT_COLUMNS)], WeightConfig())
    del events
    lap("interactions")
    model = LocalALS(**ALS, num_threads=2).fit(inter)
    lap("als")
    lists = precompute_top_lists(model, 200)
    lap("top_lists")
    save_model(
        model, home / "artifacts" / "synthetic", metrics={"n_events": len(inter.log)},
        meta={"dataset": "synthetic", "trained_by": "local", "logs": str(logs)}, top_lists=lists,
    )  # fmt: skip
    lap("artifact")
    return {
        "steps": steps,
        "top_lists_scored": lists.scored,
        "kept_rows": report.kept_rows,
        "users": inter.n_users,
        "items": inter.n_items,
        "nnz": inter.nnz,
    }


def run_spark(logs: Path, home: Path, driver_memory: str, shuffle_partitions: int | None) -> dict[str, Any]:
    import logging

    from tuijian.spark.pipeline import run_pipeline
    from tuijian.spark.session import STORAGE_LEVEL_CONF, spark_session

    class Steps(logging.Handler):  # the pipeline's step log lines, as the local path prints them
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage() == "spark step done":
                step = {"seconds": record.seconds, "max_rss_mb": round(_rss_mb())}  # type: ignore[attr-defined]
                print(json.dumps({"step": record.step, **step}), flush=True)  # type: ignore[attr-defined]

    spark_log = logging.getLogger("tuijian.spark")
    spark_log.setLevel(logging.INFO)
    spark_log.addHandler(Steps())
    spark = spark_session(
        "local[2]",
        driver_memory=driver_memory,
        shuffle_partitions=shuffle_partitions,
        conf={STORAGE_LEVEL_CONF: "DISK_ONLY"},  # cached rows on disk: the heap is for execution
    )
    try:
        scratch = home / "scratch"
        scratch.mkdir(parents=True, exist_ok=True)
        out = run_pipeline(
            logs, home=home, dataset="synthetic", spark=spark, als_params=ALS, item_knn=False, scratch=scratch
        )
    finally:
        spark.stop()
    return {"steps": out["seconds"], "kept_rows": out["cleaning"]["kept_rows"], **out["interactions"]}


def run_load(home: Path) -> dict[str, Any]:
    """What ``tuijian serve`` does with the artifact: load the model and its top lists, answer a request."""
    from tuijian.models.artifacts import load_model, load_top_lists

    t = time.perf_counter()
    root = home / "artifacts" / "synthetic"
    model = load_model(root, "als")
    lists = load_top_lists(root, "als", model=model)
    if lists is None:
        raise SystemExit(f"{root}: the ALS version has no top lists")
    ids, _ = model.recommend(0, 10)
    return {
        "load_seconds": round(time.perf_counter() - t, 2),
        "max_rss_mb": round(_rss_mb()),
        "users": model.interactions_.n_users,
        "items": model.n_items,
        "top_lists": [int(lists.ids.shape[0]), int(lists.ids.shape[1])],
        "user0_top10": [int(x) for x in ids],
    }


# ---------------------------------------------------------------------- the parent: time and memory
def _tree_rss(pid: int) -> dict[str, float]:
    """Resident memory (MB) of ``pid`` and all its descendants (from /proc), by part: ``driver`` (the
    child itself), ``jvm`` (java processes), ``python_workers`` (every other descendant)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                head, tail = f.read().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21])
        names[int(entry)] = head.split("(", 1)[-1]
    page = os.sysconf("SC_PAGE_SIZE") / 2**20
    parts = {"driver": rss.get(pid, 0) * page, "jvm": 0.0, "python_workers": 0.0}
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        parts["jvm" if names.get(p) == "java" else "python_workers"] += rss.get(p, 0) * page
        todo.extend(children.get(p, []))
    return parts


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    children.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except OSError:
                continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run one path (or the artifact load) in a child and watch its process tree: peak resident memory
    overall and per step, and with ``--budget-gb`` the budget enforced on the tree: when its sampled
    resident memory exceeds the budget, every process of the tree is killed (``SIGKILL``), whatever the path.
    """
    cmd = [sys.executable, __file__, "child", "--logs", str(args.logs), "--path", args.path,
           "--driver-memory", args.driver_memory, "--home", str(args.home),
           "--shuffle-partitions", str(args.shuffle_partitions or 0)]  # fmt: skip
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}

    def limit() -> None:
        if args.path == "local" and args.mem_gb:
            cap = int(args.mem_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    budget_mb = args.budget_gb * 1024 if args.budget_gb else None
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, preexec_fn=limit)
    peak, step_peak, killed = [0.0], [0.0], [""]
    at_peak: list[dict[str, int]] = [{}]
    step_parts: list[dict[str, int]] = [{}]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            parts = _tree_rss(proc.pid)
            rss = sum(parts.values())
            if rss > peak[0]:
                peak[0], at_peak[0] = rss, {k: round(v) for k, v in parts.items()}
            if rss > step_peak[0]:
                step_peak[0], step_parts[0] = rss, {k: round(v) for k, v in parts.items()}
            over_time = args.time_limit_s and time.perf_counter() - started > args.time_limit_s
            if (over_time or (budget_mb and rss > budget_mb)) and not killed[0]:
                killed[0] = (
                    f"time limit {args.time_limit_s} s reached"
                    if over_time
                    else f"tree resident memory {rss:.0f} MB > budget {budget_mb:.0f} MB"
                )
                for pid in reversed(_tree(proc.pid)):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

    threading.Thread(target=sample, daemon=True).start()
    lines: list[dict[str, Any]] = []
    assert proc.stdout is not None
    for text in proc.stdout:
        if not text.startswith("{"):
            continue
        line = json.loads(text)
        if "step" in line:
            line["tree_peak_mb"], line["tree_peak_parts_mb"] = round(step_peak[0]), step_parts[0]
            step_peak[0], step_parts[0] = 0.0, {}
        lines.append(line)
        print(json.dumps(line), file=sys.stderr, flush=True)
    proc.wait()
    done.set()
    wall = time.perf_counter() - started
    result = next((x for x in lines if "result" in x), None)
    steps = [x for x in lines if "step" in x]
    return {
        "logs": str(args.logs),
        "path": args.path,
        "ok": proc.returncode == 0 and result is not None,
        "returncode": proc.returncode,
        "wall_seconds": round(wall, 1),
        "peak_tree_rss_mb": round(peak[0]),
        "peak_parts_mb": at_peak[0],
        "budget_gb": args.budget_gb,
        "killed": killed[0] or None,
        "mem_cap_gb": args.mem_gb if args.path == "local" else None,
        "driver_memory": args.driver_memory if args.path == "spark" else None,
        "shuffle_partitions": args.shuffle_partitions if args.path == "spark" else None,
        "steps_done": steps,
        "failed_in": None if result else {"after": steps[-1]["step"] if steps else None,
                                          "tree_peak_mb": round(step_peak[0]),
                                          "tree_peak_parts_mb": step_parts[0]},
        "result": result["result"] if result else None,
        "error": (lines[-1].get("error") if lines and "error" in lines[-1] else None),
    }  # fmt: skip


def parity(logs: Path, partitions: list[int], driver_memory: str) -> dict[str, Any]:
    """Clean ``logs`` locally and with Spark under each shuffle-partition count: the cleaning counts must
    be equal, every kept line the same (row and netted quantity) as local, and every line's outcome
    (row, reason, netted quantity) the same in every Spark run."""
    from tuijian.data.cleaning import clean_online_retail
    from tuijian.spark.cleaning import clean_online_retail as spark_clean
    from tuijian.spark.cleaning import cleaning_counts
    from tuijian.spark.logs import ROW, read_raw, read_raw_pandas
    from tuijian.spark.session import spark_session

    t = time.perf_counter()
    events, _, report = clean_online_retail(read_raw_pandas(logs), dataset="synthetic")
    local = cleaning_counts(report)
    kept = events[["raw_row", "value"]].sort_values("raw_row")
    kept_rows, kept_net = kept["raw_row"].to_numpy(), kept["value"].to_numpy()
    del events, kept
    out: dict[str, Any] = {"logs": str(logs), "local_counts": local,
                           "local_seconds": round(time.perf_counter() - t, 1), "spark": []}  # fmt: skip
    spark = spark_session("local[2]", driver_memory=driver_memory)
    first: Any = None
    try:
        for n in partitions:
            spark.catalog.clearCache()
            spark.conf.set("spark.sql.shuffle.partitions", str(n))
            t = time.perf_counter()
            cleaned = spark_clean(read_raw(spark, logs), dataset="synthetic")
            counts = cleaning_counts(cleaned.report)
            lines = cleaned.lines.toPandas().sort_values(ROW).reset_index(drop=True)
            seconds = round(time.perf_counter() - t, 1)
            k = lines[lines["reason"].isna()]
            run = {
                "shuffle_partitions": n,
                "seconds": seconds,
                "counts_equal": counts == local,
                "counts_differing": {key: [local[key], counts.get(key)] for key in local if counts.get(key) != local[key]},
                "kept_lines_equal": bool(len(k) == len(kept_rows) and (k[ROW].to_numpy() == kept_rows).all()
                                         and (k["net_qty"].to_numpy(float) == kept_net).all()),
                "lines_equal_to_first_run": True if first is None else bool(lines.equals(first)),
            }  # fmt: skip
            first = lines if first is None else first
            out["spark"].append(run)
            print(json.dumps(run), file=sys.stderr, flush=True)
    finally:
        spark.stop()
    out["all_equal"] = all(
        r["counts_equal"] and r["kept_lines_equal"] and r["lines_equal_to_first_run"] for r in out["spark"]
    )
    return out


def clean_only(logs: Path) -> dict[str, Any]:
    """The local path's read and cleaning alone: seconds and peak resident memory of each, and a digest
    of what it returns (events, catalog, account), so that two versions of the code can be shown to give
    the same output (run each with its own ``PYTHONPATH``, compare the digests)."""
    import hashlib

    import pandas as pd

    from tuijian.data.cleaning import clean_online_retail
    from tuijian.spark.logs import read_raw_pandas

    t = time.perf_counter()
    raw = read_raw_pandas(logs)
    read_s, read_peak = time.perf_counter() - t, _rss_mb()
    t = time.perf_counter()
    events, items, report = clean_online_retail(raw, dataset="synthetic")
    clean_s = time.perf_counter() - t

    def digest(frame: pd.DataFrame) -> str:
        h = hashlib.sha256(str(list(frame.dtypes.astype(str).items())).encode())
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        return h.hexdigest()[:16]

    return {
        "logs": str(logs),
        "read_seconds": round(read_s, 1),
        "read_peak_mb": round(read_peak),
        "clean_seconds": round(clean_s, 1),
        "peak_mb": round(_rss_mb()),
        "kept_rows": report.kept_rows,
        "events_digest": digest(events),
        "items_digest": digest(items),
        "report_digest": hashlib.sha256(report.to_json().encode()).hexdigest()[:16],
    }


def child(args: argparse.Namespace) -> None:
    try:
        if args.path == "local":
            res = run_local(args.logs, args.home)
        elif args.path == "load":
            res = run_load(args.home)
        else:
            res = run_spark(args.logs, args.home, args.driver_memory, args.shuffle_partitions or None)
    except MemoryError:
        print(json.dumps({"error": "MemoryError (address-space cap reached)"}), flush=True)
        raise SystemExit(3) from None
    print(json.dumps({"result": res}), flush=True)


# ---------------------------------------------------------------------- the picture
SIZES = {"1m": 1_008_975, "10m": 10_002_866, "50m": 50_016_805}


def plot(runs: list[Path], out: Path) -> dict[str, Any]:
    """Peak memory and wall time against log size, local and Spark, from ``run`` JSON files: a finished run
    is a dot, a run killed at its budget a cross at the memory and time it had reached, with the budget as a
    dashed line. The size is read from the log folder's name (``1m``, ``10m``, ``50m``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (mem, wall) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"local": "tab:blue", "spark": "tab:orange"}
    points: dict[str, list[tuple[int, int, float, bool]]] = {"local": [], "spark": []}
    budgets: set[float] = set()
    for f in runs:
        d = json.loads(f.read_text())
        size = SIZES.get(Path(d["logs"]).name)
        if size is None or d["path"] not in points:
            continue
        points[d["path"]].append((size, d["peak_tree_rss_mb"], d["wall_seconds"], bool(d["ok"])))
        if d.get("budget_gb"):
            budgets.add(d["budget_gb"])
    for path, pts in points.items():
        pts.sort()
        for ax, col in ((mem, 1), (wall, 2)):
            done = [p for p in pts if p[3]]
            ax.plot(
                [p[0] for p in done], [p[col] for p in done], "o-", color=colours[path], label=f"{path}: done"
            )
            dead = [p for p in pts if not p[3]]
            if dead:
                ax.plot([p[0] for p in dead], [p[col] for p in dead], "x", ms=11, mew=2.5, color=colours[path],
                        label=f"{path}: killed at its memory budget (time: until killed)")  # fmt: skip
    for b in sorted(budgets):
        mem.axhline(b * 1024, ls="--", color="grey", lw=1)
        mem.annotate(
            f"budget {b:g} GB", (1e6, b * 1024), xytext=(2, 3), textcoords="offset points", fontsize=8
        )
    for ax, title, unit in ((mem, "peak resident memory of the process tree", "MB"),
                            (wall, "wall time of the whole path", "seconds")):  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("log lines")
        ax.set_ylabel(unit)
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    mem.legend(fontsize=8, loc="lower right")
    fig.suptitle("Local path vs Spark (local[2], 3 GB heap) on the synthetic logs", fontsize=11)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return {"out": str(out), "runs": points}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--events", type=int, required=True)
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--seed", type=int, default=0)
    q = sub.add_parser("parity", help="cleaning counts and per-line outcome: local vs Spark partitionings")
    q.add_argument("--logs", type=Path, required=True)
    q.add_argument("--shuffle-partitions", default="2,7,64", help="comma-separated Spark runs")
    q.add_argument("--driver-memory", default="3g")
    q.add_argument("--json", type=Path, default=None)
    c = sub.add_parser("clean", help="the local read and cleaning alone: time, peak memory, output digests")
    c.add_argument("--logs", type=Path, required=True)
    c.add_argument("--json", type=Path, default=None)
    pl = sub.add_parser("plot", help="peak memory and wall time against log size, from run JSON files")
    pl.add_argument("runs", type=Path, nargs="+")
    pl.add_argument("--out", type=Path, required=True)
    for name in ("run", "child"):
        r = sub.add_parser(name)
        r.add_argument("--logs", type=Path, default=Path("-"))
        r.add_argument("--path", choices=("local", "spark", "load"), required=True)
        r.add_argument("--mem-gb", type=float, default=0.0, help="address-space cap (local path only)")
        r.add_argument(
            "--budget-gb", type=float, default=0.0, help="kill the tree above this resident memory"
        )
        r.add_argument("--time-limit-s", type=float, default=0.0, help="kill the tree after this long")
        r.add_argument("--driver-memory", default="3g")
        r.add_argument("--shuffle-partitions", type=int, default=0, help="Spark; 0: 4 per core")
        r.add_argument("--home", type=Path, default=Path("var/scale/home"))
        r.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    if args.cmd == "generate":
        t = time.perf_counter()
        info = generate(args.events, args.out, args.seed)
        info["seconds"] = round(time.perf_counter() - t, 1)
        print(json.dumps(info))
    elif args.cmd == "clean":
        res = clean_only(args.logs)
        text = json.dumps(res, indent=2)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(text + "\n")
        print(text)
    elif args.cmd == "parity":
        res = parity(args.logs, [int(x) for x in args.shuffle_partitions.split(",")], args.driver_memory)
        text = json.dumps(res, indent=2)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(text + "\n")
        print(text)
    elif args.cmd == "plot":
        print(json.dumps(plot(args.runs, args.out)))
    elif args.cmd == "child":
        child(args)
    else:
        res = measure(args)
        text = json.dumps(res, indent=2)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(text + "\n")
        print(text)


if __name__ == "__main__":
    main()
