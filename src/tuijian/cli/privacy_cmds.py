"""Privacy and database-safety commands: ``tuijian privacy ...``, ``tuijian backup`` and ``tuijian restore``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

privacy_app = typer.Typer(
    help="Erasure, data export, retention, encryption keys, pseudonyms and the audit log.",
    no_args_is_help=True,
)

_URL_HELP = (
    "Database URL: sqlite:///path (default: <home>/tuijian.sqlite) or postgresql://user:pass@host:port/db."
)
_URL = typer.Option(None, "--database-url", help=_URL_HELP)


def _settings(database_url: str | None = None, dataset: str | None = None) -> Any:
    from tuijian.settings import load_settings

    return load_settings(database_url=database_url, dataset=dataset)


def _open(database_url: str | None) -> Any:
    from tuijian.store import open_store

    return open_store(_settings(database_url).resolved_database_url)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@privacy_app.command("forget")
def forget(
    user: str = typer.Argument(..., help="The user id as the shop sends it."),
    refit: bool = typer.Option(
        True, "--refit/--no-refit", help="Retrain the served model without them and purge older versions."
    ),
    dataset: str | None = typer.Option(None, "--dataset", help="Served dataset (default TUIJIAN_DATASET)."),
    database_url: str | None = _URL,
) -> None:
    """Forget a user: delete their events, profile, feedback, served lists and cached copy, then retrain
    without them (running services hot-swap to the new version within their poll interval)."""
    from tuijian.privacy.audit import cli_actor
    from tuijian.privacy.erasure import forget as forget_user

    settings = _settings(database_url, dataset)
    store = _open(database_url)
    try:
        report = forget_user(
            store,
            user,
            actor=cli_actor(),
            dataset=settings.dataset,
            artifacts_root=settings.artifacts_dir,
            refit=refit,
        )
    finally:
        store.close()
    _echo_json(report)


@privacy_app.command("export")
def export(
    user: str = typer.Argument(..., help="The user id as the shop sends it."),
    out: Path | None = typer.Option(None, "--out", help="Write the JSON here (default: standard output)."),
    database_url: str | None = _URL,
) -> None:
    """Everything stored about a user (personal fields decrypted), as JSON. Audited."""
    from tuijian.privacy.audit import cli_actor

    store = _open(database_url)
    try:
        data = store.user_data(user)
        counts = {k: len(data[k]) for k in ("events", "feedback", "served_lists", "experiment_exposures")}
        store.audit(
            cli_actor(), "user_export", data["stored_id"], {**counts, "out": str(out) if out else "stdout"}
        )
    finally:
        store.close()
    if out is None:
        _echo_json(data)
    else:
        out.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        typer.secho(f"wrote {out}", err=True)


@privacy_app.command("expire")
def expire(
    days: float | None = typer.Option(None, "--days", help="Default: TUIJIAN_RETENTION_DAYS."),
    refit: bool = typer.Option(True, "--refit/--no-refit", help="Retrain and purge older versions."),
    dataset: str | None = typer.Option(None, "--dataset", help="Served dataset (default TUIJIAN_DATASET)."),
    database_url: str | None = _URL,
) -> None:
    """Delete events, feedback and served lists older than the retention period (run it daily, e.g. cron)."""
    from tuijian.privacy.audit import cli_actor
    from tuijian.privacy.erasure import expire as expire_old

    settings = _settings(database_url, dataset)
    store = _open(database_url)
    try:
        report = expire_old(
            store,
            days,
            actor=cli_actor(),
            dataset=settings.dataset,
            artifacts_root=settings.artifacts_dir,
            refit=refit,
        )
    finally:
        store.close()
    _echo_json(report)


@privacy_app.command("new-key")
def new_key(
    kid: str | None = typer.Option(None, "--kid", help="Key id (default: k + 8 random hex digits)."),
    pseudonym: bool = typer.Option(False, "--pseudonym", help="A TUIJIAN_PSEUDONYM_KEY instead."),
) -> None:
    """Print a fresh key: an AES-256 entry for TUIJIAN_PII_KEYS (put it first to rotate), or a pseudonym key."""
    import secrets

    from tuijian.privacy.crypto import new_key_spec

    typer.echo(secrets.token_urlsafe(48) if pseudonym else new_key_spec(kid))


@privacy_app.command("rotate-key")
def rotate_key(database_url: str | None = _URL) -> None:
    """Re-encrypt every stored profile with the first key of TUIJIAN_PII_KEYS (then drop the old keys)."""
    from tuijian.privacy.audit import cli_actor

    store = _open(database_url)
    try:
        rotated = store.rotate_pii(actor=cli_actor())
        now = store.pii_key_ids()
    finally:
        store.close()
    _echo_json({"re_encrypted": rotated, "profiles_by_key": now})


@privacy_app.command("pseudonymize")
def pseudonymize(database_url: str | None = _URL) -> None:
    """Replace the raw user ids of an existing database by pseudonyms under TUIJIAN_PSEUDONYM_KEY (one-way).

    Retrain afterwards (``POST /v1/admin/retrain``): the served model still knows the old ids."""
    from tuijian.privacy.audit import cli_actor
    from tuijian.privacy.settings import load_privacy_settings
    from tuijian.store.engine import make_engine, upgrade_schema
    from tuijian.store.store import Store, privacy_parts

    engine = make_engine(_settings(database_url).resolved_database_url)
    upgrade_schema(engine)
    store = Store(engine, **privacy_parts(load_privacy_settings()))
    try:
        counts = store.pseudonymize_existing(actor=cli_actor())
    finally:
        store.close()
    _echo_json({"distinct_ids_converted": counts})


@privacy_app.command("status")
def status(database_url: str | None = _URL) -> None:
    """What is switched on: pseudonyms, the keyring and which keys encrypt stored profiles, retention."""
    from tuijian.privacy.settings import load_privacy_settings

    privacy = load_privacy_settings()
    store = _open(database_url)
    try:
        by_key = store.pii_key_ids()
        out = {
            "pseudonymised_user_ids": store.pseudonymizer.enabled,
            "pii_keyring": list(store.keyring.ids) if store.keyring else None,
            "pii_profiles_by_key": by_key,
            "retention_days": privacy.retention_days,
        }
    finally:
        store.close()
    _echo_json(out)


@privacy_app.command("audit")
def audit(
    limit: int = typer.Option(50, "--limit", help="Newest entries to show."),
    action: str | None = typer.Option(None, "--action", help="Only this action, e.g. user_delete."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of one line per entry."),
    database_url: str | None = _URL,
) -> None:
    """The audit log, newest first: when, who, what, on what."""
    store = _open(database_url)
    try:
        entries = store.audit_entries(limit=limit, action=action)
    finally:
        store.close()
    if as_json:
        _echo_json(entries)
        return
    for e in entries:
        detail = json.dumps(e["detail"], ensure_ascii=False, sort_keys=True)
        typer.echo(f"{e['ts']}\t{e['actor']}\t{e['action']}\t{e['target'] or '-'}\t{detail}")


def backup(
    out: Path = typer.Option(
        ..., "--out", help="The backup file; its manifest goes beside it (.manifest.json)."
    ),
    database_url: str | None = _URL,
) -> None:
    """Back up the database while the service runs (SQLite backup API, or pg_dump of one snapshot), with
    a checksum manifest; the backup is checked before this returns."""
    from tuijian.privacy.audit import cli_actor
    from tuijian.store.backup import backup as run_backup

    url = _settings(database_url).resolved_database_url
    manifest = run_backup(url, out)
    store = _open(database_url)
    try:
        rows = {name: t["rows"] for name, t in manifest["tables"].items()}
        store.audit(cli_actor(), "backup", str(out), {"bytes": manifest["bytes"], "rows": rows})
    finally:
        store.close()
    typer.echo(
        f"backed up {manifest['dialect']} database to {out} ({manifest['bytes']:,} bytes, "
        f"{sum(rows.values()):,} rows in {len(rows)} tables, {manifest['seconds']} s); verified"
    )


def restore(
    backup_file: Path = typer.Argument(..., help="A file written by `tuijian backup`."),
    database_url: str | None = _URL,
    yes: bool = typer.Option(False, "--yes", help="Replace the database without asking."),
) -> None:
    """Replace the database by a verified backup, then check every table against the backup's manifest.
    Stop the service first."""
    from tuijian.privacy.audit import cli_actor
    from tuijian.privacy.erasure import reapply_erasures
    from tuijian.store.backup import restore as run_restore
    from tuijian.store.backup import verify_backup

    url = _settings(database_url).resolved_database_url
    manifest = verify_backup(backup_file)
    if not yes:
        typer.confirm(
            f"Replace every table of {url.split('@')[-1]} by the backup of {manifest['created_at']}?",
            abort=True,
        )
    pending = _erasures_after(database_url, manifest)
    report = run_restore(backup_file, url)
    store = _open(database_url)
    try:
        reapplied = reapply_erasures(store, pending, actor=cli_actor())
        detail = {"created_at": manifest["created_at"], "erasures_reapplied": len(reapplied)}
        store.audit(cli_actor(), "restore", str(backup_file), detail)
    finally:
        store.close()
    n = sum(t["rows"] for t in report["tables"].values())
    typer.echo(
        f"restored {n:,} rows in {len(report['tables'])} tables from {backup_file}; identical to the backup"
    )
    if reapplied:
        typer.echo(
            f"deleted again {len(reapplied)} user(s) erased after the backup was taken; retrain "
            "(`tuijian privacy expire --days ...` or POST /v1/admin/retrain) before serving"
        )


def _erasures_after(database_url: str | None, manifest: dict[str, Any]) -> list[str]:
    """Users erased from the database about to be replaced since (a minute before) the backup started."""
    from tuijian.exceptions import TuijianError
    from tuijian.privacy.erasure import erasures_since

    since = int(manifest.get("started_us", 0)) - 60_000_000
    try:
        store = _open(database_url)
    except TuijianError:
        return []  # nothing readable there: nothing to carry over
    try:
        return erasures_since(store, since)
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")
    app.command("backup")(backup)
    app.command("restore")(restore)
