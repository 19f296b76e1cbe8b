"""A/B tests and off-policy evaluation: ``tuijian abtest ...`` and ``tuijian ope``.

``create / list / assign / report / stop`` work on the database a service uses (a running service picks a
created or stopped experiment up within its poll interval); ``sample-size`` and ``simulate`` need no database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

abtest_app = typer.Typer(
    help="A/B experiments: create, list, assign, report, stop, sample-size, simulate.", no_args_is_help=True
)

_URL = typer.Option(
    None,
    "--database-url",
    help="Database URL: sqlite:///path (default: <home>/tuijian.sqlite) or postgresql://user:pass@host:port/db.",
)
_DATASET = typer.Option(None, "--dataset", help="Served dataset (default TUIJIAN_DATASET).")
_JSON = typer.Option(None, "--json", help="Also write the result as JSON to this file.")


def _settings(database_url: str | None, dataset: str | None = None) -> Any:
    from tuijian.settings import load_settings

    return load_settings(database_url=database_url, dataset=dataset)


def _open(database_url: str | None) -> Any:
    from tuijian.store import open_store

    return open_store(_settings(database_url).resolved_database_url)


def _emit(data: Any, path: Path | None, text: str | None = None) -> None:
    dumped = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumped + "\n", encoding="utf-8")
    typer.echo(text if text is not None else dumped)


@abtest_app.command("create")
def create(
    spec_file: Path = typer.Argument(
        ...,
        help="JSON spec: name, variants [{name, weight, model_version, strategy, config}], planned_users, looks, primary_metric, traffic, alpha.",
    ),
    dataset: str | None = _DATASET,
    database_url: str | None = _URL,
) -> None:
    """Create and start an experiment (the first variant is the control)."""
    from tuijian.exceptions import ConfigError
    from tuijian.policy.abtest import experiment_from_spec
    from tuijian.store.records import now_us

    try:
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the experiment spec {spec_file}: {exc}") from None
    settings = _settings(database_url, dataset)
    store = _open(database_url)
    try:
        versions = {r["metrics"].get("label") for r in store.list_model_versions(settings.dataset)}
        exp = experiment_from_spec(
            spec,
            experiment_id=store.new_experiment_id(),
            created_at=now_us(),
            known_versions={v for v in versions if v},
        )
        record = store.create_experiment(settings.dataset, exp)
        store.audit("cli", "experiment_create", exp.id, {"name": exp.name})
    finally:
        store.close()
    _emit({k: v for k, v in record.items() if k != "salt"}, None)


@abtest_app.command("list")
def list_(dataset: str | None = _DATASET, database_url: str | None = _URL) -> None:
    """Experiments of the dataset, newest first."""
    settings = _settings(database_url, dataset)
    store = _open(database_url)
    try:
        records = store.list_experiments(settings.dataset)
    finally:
        store.close()
    if not records:
        typer.echo(f"no experiments on {settings.dataset}")
    for r in records:
        variants = ", ".join(f"{v['name']}({v['weight']:g})" for v in r["variants"])
        typer.echo(f"{r['id']}  {r['status']:8s}  {r['name']}  [{variants}]")


@abtest_app.command("assign")
def assign(
    experiment_id: str = typer.Argument(...),
    users: list[str] = typer.Argument(..., help="User ids as the shop sends them."),
    database_url: str | None = _URL,
) -> None:
    """The variant each user gets (deterministic: the same in every worker and run)."""
    from tuijian.policy.abtest import experiment_from_dict

    store = _open(database_url)
    try:
        exp = experiment_from_dict(store.experiment_record(experiment_id))
    finally:
        store.close()
    for u in users:
        v = exp.assign(u)
        typer.echo(f"{u}\t{'(not in experiment)' if v is None else v.name}")


@abtest_app.command("report")
def report(
    experiment_id: str = typer.Argument(...),
    bootstrap: int = typer.Option(
        1000, "--bootstrap", min=0, max=20_000, help="Bootstrap resamples (0: none)."
    ),
    json_path: Path | None = _JSON,
    database_url: str | None = _URL,
) -> None:
    """Metrics per variant, tests against the control, SRM check and the stop rule, from the logs."""
    from tuijian.service.routes_experiments import experiment_report

    store = _open(database_url)
    try:
        out = experiment_report(store, experiment_id, bootstrap)
    finally:
        store.close()
    _emit(out, json_path, _describe(out))


def _describe(rep: dict[str, Any]) -> str:
    exp = rep["experiment"]
    lines = [f"{exp['id']} {exp['name']!r} ({exp['status']}): {rep['users']} exposed users"]
    lines.append(
        f"{'variant':16s} {'users':>7s} {'click_rate':>10s} {'ctr':>8s} {'conversion':>10s} {'rev/user':>9s}"
    )
    for v in rep["variants"]:

        def f(x: Any, pct: bool = True) -> str:
            return "—" if x is None else (f"{100 * x:.2f}%" if pct else f"{x:.2f}")

        lines.append(
            f"{v['variant']:16s} {v['users']:7d} {f(v['click_rate']):>10s} {f(v['ctr']):>8s} "
            f"{f(v['conversion']):>10s} {f(v['revenue_per_user'], False):>9s}"
        )
    srm = rep["srm"]
    lines.append(
        f"SRM: chi2 {srm['chi2']:.2f}, p {srm['p_value']:.4f}{' MISMATCH' if srm['mismatch'] else ''}"
    )
    for c in rep["comparisons"]:
        if "note" in c:
            lines.append(f"{c['variant']} {c['metric']}: {c['note']}")
            continue
        star = "*" if c["significant"] else " "
        lines.append(
            f"{c['variant']} vs {rep['control']} {c['metric']:17s} diff {c['difference']:+.5f} "
            f"[{c['ci_low']:+.5f}, {c['ci_high']:+.5f}] p {c['p_value']:.4g}{star} ({c['test']})"
        )
    seq = rep["sequential"]
    lines.append(f"stop rule: {seq['decision']}" + (f" {seq['winner']}" if seq.get("winner") else ""))
    return "\n".join(lines)


@abtest_app.command("stop")
def stop(experiment_id: str = typer.Argument(...), database_url: str | None = _URL) -> None:
    """Stop an experiment; its users go back to the default serving."""
    store = _open(database_url)
    try:
        record = store.stop_experiment(experiment_id)
        store.audit("cli", "experiment_stop", record["id"], {})
    finally:
        store.close()
    typer.echo(f"{record['id']} {record['status']}")


@abtest_app.command("sample-size")
def sample_size(
    baseline: float = typer.Option(..., "--baseline", help="Control rate, e.g. 0.05 for a 5 % click rate."),
    lift: float = typer.Option(0.10, "--lift", help="Relative lift to detect (0.10 = +10 %)."),
    alpha: float = typer.Option(0.05, "--alpha"),
    power: float = typer.Option(0.8, "--power"),
    looks: int = typer.Option(5, "--looks", help="Looks of the sequential stop rule."),
    json_path: Path | None = _JSON,
) -> None:
    """Users per variant for a two-proportion test (fixed horizon and with the sequential stop rule)."""
    from tuijian.policy.abtest_sim import plan

    out = plan(baseline, lift, alpha, power, looks, hash_split=True)
    _emit(
        out,
        json_path,
        f"{out['users_per_variant']} users per variant (fixed horizon); "
        f"{out['sequential_users_per_variant']} with {looks} looks (O'Brien-Fleming, x{out['sequential_inflation']}); "
        f"exact power {out['exact_power']:.4f} (hash split {out['exact_power_hash_split']:.4f})",
    )


@abtest_app.command("simulate")
def simulate(
    aa: bool = typer.Option(
        False, "--aa", help="A/A: no true difference (measures the false-positive rate)."
    ),
    lift: float = typer.Option(
        0.10, "--lift", help="Relative lift the experiment is sized for (and the true lift unless --aa)."
    ),
    baseline: float = typer.Option(0.05, "--baseline", help="Control click rate."),
    runs: int = typer.Option(200, "--runs", min=1, max=100_000),
    looks: int = typer.Option(5, "--looks", min=1, max=20),
    alpha: float = typer.Option(0.05, "--alpha"),
    power: float = typer.Option(0.8, "--power"),
    users: int | None = typer.Option(
        None, "--users", help="Users per variant (default: the computed sample size)."
    ),
    seed: int = typer.Option(0, "--seed"),
    json_path: Path | None = _JSON,
) -> None:
    """Monte-Carlo experiments through the real hash split and tests: false-positive rate or power."""
    from tuijian.policy.abtest_sim import simulate as run

    out = run(
        aa=aa,
        runs=runs,
        baseline=baseline,
        relative_lift=lift,
        alpha=alpha,
        power=power,
        looks=looks,
        users_per_variant=users,
        seed=seed,
    )
    key = "false_positive_rate" if aa else "power"
    text = (
        f"{key} {out[key]:.3f} {out[key + '_ci95']} over {runs} runs at {out['users_per_variant']} users/variant; "
        f"stop rule {out['stop_rule']['rate']:.3f}, naive peeking {out['naive_peeking']['rate']:.3f}, "
        f"mSPRT {out['msprt']['rate']:.3f}"
    )
    _emit(out, json_path, text)


def ope_command(
    target: str = typer.Option(
        ..., "--target", help="Action(s) of the target policy: 'popular' or 'control=0.5,popular=0.5'."
    ),
    experiment: str | None = typer.Option(
        None, "--experiment", help="Only the lists served in this experiment."
    ),
    reward: str = typer.Option("click", "--reward", help="click, purchase or revenue per served list."),
    bandit_log: Path | None = typer.Option(
        None,
        "--bandit-log",
        help="The live bandit's decision log (<home>/run/bandit.sqlite): its choices only.",
    ),
    alpha: float = typer.Option(0.05, "--alpha"),
    json_path: Path | None = _JSON,
    database_url: str | None = _URL,
) -> None:
    """Off-policy evaluation (IPS, SNIPS, doubly robust) of a target policy on the service's impression and
    feedback logs. Needs a stochastic logging policy (an experiment's split or the bandit) for any target
    other than the logged policy itself."""
    from tuijian.policy.ope_logs import decisions_frame, describe, evaluate_logs, parse_target

    store = _open(database_url)
    try:
        frame = decisions_frame(store, experiment, reward, bandit_log)
    finally:
        store.close()
    out = evaluate_logs(frame, parse_target(target), alpha)
    out["reward"], out["experiment"] = reward, experiment
    _emit(out, json_path, describe(out))


def register(app: typer.Typer) -> None:
    app.add_typer(abtest_app, name="abtest")
    app.command("ope")(ope_command)
