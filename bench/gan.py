"""Benchmark: CFGAN augmentation of sparse users (issue 13 item 5), before vs after, with bootstrap CIs.

For each task the protocol's split is built once. ``--phase valid`` fits on train and scores the
validation split: this is where the choice is made (augmentation is kept for a base model only if
the lower end of the paired 95 % interval of the NDCG@10 difference is above zero and there are at
least ``MIN_USERS`` sparse users, the rule of the ``augment`` model's ``mode="auto"``). ``--phase
test`` fits on train + valid and scores test once per configuration (plain base, augmented base,
and CFGAN's own ranking); the choice is read from the validation JSON, never made here.

Users scored: those the protocol evaluates whose fitted-on history has at most ``MAX_HISTORY`` (5)
distinct items. Metrics: NDCG@10 and Recall@10, means with percentile bootstrap 95 % intervals over
users, and the paired interval of the difference.

    nice -n 10 .venv/bin/python bench/gan.py --phase valid beauty retail
    nice -n 10 .venv/bin/python bench/gan.py --phase test beauty retail

Tasks: ``beauty`` (Amazon Beauty ``loo``), ``retail`` (Online Retail ``time``, as in bench/hybrid.py).
JSON goes to ``bench/results/gan_<task>_<phase>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TASKS: dict[str, tuple[str, str]] = {"beauty": ("amazon-beauty", "loo"), "retail": ("online-retail", "time")}
#: base models, registry defaults (the served ``auto`` hybrid is not run here: see docs/augment.md)
BASES = ("ease", "item-knn")
MAX_HISTORY, N_PSEUDO, PSEUDO_WEIGHT, MIN_USERS = 5, 5, 0.3, 30
#: generator variants: the library default (CFGAN losses: adversarial with PM, ZR, plus the reconstruction
#: term) and an ablation without the adversarial and ZR terms (the same network as a denoising autoencoder)
VARIANTS: dict[str, dict[str, Any]] = {"cfgan": {}, "no-adversary": {"adv_weight": 0.0, "zr_weight": 0.0}}
METRICS = ("ndcg@10", "recall@10")


def run(
    task: str, phase: str, gan_params: dict[str, Any], variants: list[str], history: str = "augmented"
) -> dict[str, Any]:
    from tuijian.augment.cfgan import CFGAN, CFGANConfig
    from tuijian.augment.compare import paired_bootstrap, per_user_metrics
    from tuijian.augment.model import AugmentedRecommender
    from tuijian.augment.pseudo import augment_interactions
    from tuijian.data.datasets import load_dataset
    from tuijian.evaluate.protocols import make_protocol
    from tuijian.models import registry

    name, protocol = TASKS[task]
    split = make_protocol(protocol, load_dataset(name))
    stage = split.stage(phase)
    counts = np.diff(stage.fit.matrix.indptr)
    users = stage.users[counts[stage.users] <= MAX_HISTORY]
    out: dict[str, Any] = {
        "task": task, "dataset": name, "protocol": protocol, "phase": phase,
        "users_evaluated": len(stage.users), "sparse_users": len(users),
        "history": history,
        "max_history": MAX_HISTORY, "n_pseudo": N_PSEUDO, "pseudo_weight": PSEUDO_WEIGHT,
    }  # fmt: skip
    t = time.perf_counter()
    test_runs = 0
    before: dict[str, dict[str, np.ndarray]] = {}
    for base in BASES:
        plain = registry.create(base).fit(stage.fit)
        before[base] = per_user_metrics(plain, users, stage.targets, stage.exclude)
        test_runs += 1
        del plain
    out["variants"] = {}
    for variant in variants:
        cfg = CFGANConfig.from_dict({**VARIANTS[variant], **gan_params})
        gan = CFGAN(cfg).fit(stage.fit.matrix)
        res: dict[str, Any] = {
            "gan": {
                "config": cfg.to_dict(), "fit_seconds": gan.fit_seconds_, "stopped_by": gan.stopped_by_,
                "valid_recall@20": gan.valid_recall_, "history": gan.history_,
            },
        }  # fmt: skip
        print(
            f"[{task}/{phase}/{variant}] CFGAN {gan.fit_seconds_}s, {gan.stopped_by_}, {len(gan.history_)} epochs",
            flush=True,
        )
        aug_inter = augment_interactions(
            stage.fit, gan, max_history=MAX_HISTORY, n_pseudo=N_PSEUDO, pseudo_weight=PSEUDO_WEIGHT
        )
        res["pseudo_interactions"] = int(aug_inter.matrix.nnz - stage.fit.matrix.nnz)
        gan_metrics = per_user_metrics(_GanScorer(gan, stage.fit), users, stage.targets, stage.exclude)  # type: ignore[arg-type]
        res["cfgan_alone"] = {
            m: float(np.mean(v)) for m, v in gan_metrics.items()
        }  # the generator's own ranking
        test_runs += 1
        res["bases"] = {}
        for base in BASES:
            t0 = time.perf_counter()
            aug_base = registry.create(base, binary=False).fit(aug_inter)
            after_model: Any = (
                AugmentedRecommender.from_fitted(
                    aug_base,
                    gan,
                    stage.fit,
                    max_history=MAX_HISTORY,
                    n_pseudo=N_PSEUDO,
                    pseudo_weight=PSEUDO_WEIGHT,
                )
                if history == "augmented"
                else _RealHistory(aug_base, stage.fit)
            )
            after = per_user_metrics(after_model, users, stage.targets, stage.exclude)
            del aug_base, after_model
            test_runs += 1
            stats = {m: paired_bootstrap(before[base][m], after[m]) for m in METRICS}
            helps = len(users) >= MIN_USERS and stats["ndcg@10"]["diff_ci"][0] > 0
            res["bases"][base] = {
                **stats,
                "helps": bool(helps),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            print(f"[{task}/{phase}/{variant}] {base}: {_row(stats)} helps={helps}", flush=True)
        out["variants"][variant] = res
    out["test_runs"] = test_runs if phase == "test" else 0
    out["wall_seconds"] = round(time.perf_counter() - t, 1)
    if phase == "test":
        valid_file = RESULTS / f"gan_{task}_valid.json"
        if valid_file.is_file():
            valid = json.loads(valid_file.read_text())["variants"]
            out["chosen_on_validation"] = {
                v: {b: valid[v]["bases"][b]["helps"] for b in BASES} for v in variants if v in valid
            }
    return out


class _RealHistory:
    """A model trained on the augmented matrix, scored from each user's real history only (diagnostic)."""

    def __init__(self, model: Any, inter: Any) -> None:
        self.model, self.inter = model, inter

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.model.score(users, history=self.inter.matrix[users])


class _GanScorer:
    """CFGAN's ``r̂`` as a scorer (``score(users)``) for :func:`per_user_metrics`."""

    def __init__(self, gan: Any, inter: Any) -> None:
        self.gan, self.inter = gan, inter

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.gan.generate(self.inter.matrix[users])


def _fmt(s: dict[str, Any], key: str) -> str:
    lo, hi = s[f"{key}_ci"]
    return f"{s[key]:.4f} [{lo:.4f}, {hi:.4f}]"


def _row(stats: dict[str, Any]) -> str:
    return " | ".join(
        f"{_fmt(stats[m], 'before')} | {_fmt(stats[m], 'after')} | {_fmt(stats[m], 'diff')}" for m in METRICS
    )


def _print(res: dict[str, Any]) -> None:
    print(
        f"\n### {res['task']} ({res['phase']}): {res['dataset']} / {res['protocol']}, users with <= {res['max_history']} "
        f"training items: {res['sparse_users']} of {res['users_evaluated']}; test runs: {res['test_runs']}"
    )
    print(
        "| generator | base | NDCG@10 before | NDCG@10 after | difference | Recall@10 before | Recall@10 after | difference | helps |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for variant, v in res["variants"].items():
        for base, s in v["bases"].items():
            print(f"| {variant} | {base} | {_row(s)} | {s['helps']} |")
    for variant, v in res["variants"].items():
        g, gan = v["cfgan_alone"], v["gan"]
        print(
            f"{variant} alone: NDCG@10 {g['ndcg@10']:.4f}, Recall@10 {g['recall@10']:.4f}; fit {gan['fit_seconds']} s "
            f"({gan['stopped_by']}, {len(gan['history'])} epochs, GAN-validation recall@20 {gan['valid_recall@20']:.4f})",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tasks", nargs="+", choices=sorted(TASKS))
    ap.add_argument("--phase", choices=("valid", "test"), required=True)
    ap.add_argument(
        "--gan", default="{}", help="CFGAN parameters for every variant, as JSON, e.g. '{\"epochs\": 10}'"
    )
    ap.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"generator variants, from {sorted(VARIANTS)}"
    )
    ap.add_argument(
        "--history",
        choices=("augmented", "real"),
        default="augmented",
        help="score sparse users from the augmented history (the augment model) or, as a diagnostic, the real one",
    )
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    for task in args.tasks:
        res = run(
            task, args.phase, json.loads(args.gan), [v for v in args.variants.split(",") if v], args.history
        )
        _print(res)
        suffix = "" if args.history == "augmented" else "_realhist"
        (RESULTS / f"gan_{task}_{args.phase}{suffix}.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
