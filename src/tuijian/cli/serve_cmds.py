"""Service commands: ``tuijian serve``, ``tuijian keys create|list|revoke`` and ``tuijian ingest``."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

import typer

from tuijian.cli import sources

LOCALHOSTS = ("127.0.0.1", "localhost", "::1")

keys_app = typer.Typer(help="API keys (stored hashed; the plaintext is shown once).", no_args_is_help=True)

_URL_HELP = (
    "Database URL: sqlite:///path (default: <home>/tuijian.sqlite) or postgresql://user:pass@host:port/db."
)


def _settings(**overrides: Any) -> Any:
    from tuijian.settings import load_settings

    return load_settings(**overrides)


def serve(
    dataset: str | None = typer.Option(
        None, "--dataset", help="Dataset to serve (default: online-retail-demo), or use --events FILE."
    ),
    events: Path | None = sources.events_option(),
    mapping: str | None = sources.map_option(),
    kind: str | None = sources.kind_option(),
    catalog: Path | None = sources.catalog_option(),
    catalog_map: str | None = sources.catalog_map_option(),
    host: str | None = typer.Option(None, "--host", help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default 8000)."),
    workers: int | None = typer.Option(None, "--workers", help="uvicorn worker processes (default 2)."),
    database_url: str | None = typer.Option(None, "--database-url", help=_URL_HELP),
    home: Path | None = typer.Option(
        None, "--home", help="Data directory for the SQLite file and artifacts."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Serving model (registry name). auto: the self-configuring hybrid, or its best retriever when "
        "that is better on validation. Default: the home's active version (whatever was last activated), "
        "or auto when there is none. A different name trains that model and activates it.",
    ),
    retrain_every: float = typer.Option(0.0, "--retrain-every", help="Retrain every N minutes (0 = never)."),
    dev_key: bool = typer.Option(False, "--dev-key", help="Create and print an admin key (localhost only)."),
    access_log: bool = typer.Option(
        True, "--access-log/--no-access-log", help="One JSON log line per request."
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Dataset root for named datasets."),
) -> None:
    """Serve recommendations over HTTP (FastAPI on uvicorn). Trains a model on start if none exists.

    Your own data: `tuijian serve --events orders.csv --map user=shopper,item=sku,ts=order_time,kind==purchase
    --dev-key`: the file's events (and --catalog) are stored, and the model is retrained when new rows arrive.
    """
    import uvicorn

    from tuijian.exceptions import ConfigError
    from tuijian.models.registry import model_class
    from tuijian.service.versions import ensure_version, train_version
    from tuijian.store import open_store

    sources.check_source(dataset, events, mapping, kind, catalog, catalog_map, required=False)
    if model is not None:
        model_class(model)  # unknown model names fail before anything is loaded
    own = None
    if events is not None:
        own = sources.load_source(None, events, mapping, kind, catalog, catalog_map)
    settings = _settings(
        dataset=own.name if own is not None else dataset,
        host=host,
        port=port,
        workers=workers,
        database_url=database_url,
        home=home,
        data_dir=data_dir,
    )
    settings.check_secure()
    if dev_key and settings.host not in LOCALHOSTS:
        raise ConfigError(
            f"--dev-key prints an admin key and is allowed only on localhost; got --host {settings.host}"
        )
    settings.home.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    store = open_store(url)  # migrations run once here, before the workers start
    typer.secho(f"preparing {settings.dataset!r} in {store.url} ...", err=True)
    new_events = _store_own_data(store, own) if own is not None else False
    active = store.active_model_version(settings.dataset)
    model, retrain = serving_model(active, model, new_events)
    if retrain and active is not None:
        why = "new events" if new_events else f"the active version is {active['model']}"
        typer.secho(f"training {model} on {settings.dataset!r} ({why}) ...", err=True)
        label = train_version(store, settings.dataset, settings.artifacts_dir, model)
    else:  # the active version, or bootstrap (named datasets) and train a first one
        label = ensure_version(
            store,
            settings.dataset,
            settings.artifacts_dir,
            model,
            str(settings.data_dir) if settings.data_dir else None,
        )
    typer.secho(f"model {label} ready", err=True)
    active = store.active_model_version(settings.dataset)
    selection = (active or {}).get("metrics", {}).get("selection")
    if active is not None and isinstance(selection, dict):
        from tuijian.cli.eval_cmds import selection_line

        typer.secho("  " + selection_line(str(active["model"]), selection), err=True)
    if dev_key:
        _, key = store.create_api_key("admin", name="dev")
        typer.secho(f"development admin key (localhost only): {key}", fg=typer.colors.YELLOW)
    elif not settings.admin_key and not any(not k["revoked"] for k in store.list_api_keys()):
        typer.secho(
            "no API keys yet: set TUIJIAN_ADMIN_KEY, run `tuijian keys create --role admin`, or use --dev-key",
            fg=typer.colors.YELLOW,
            err=True,
        )

    env = {
        "TUIJIAN_HOME": str(settings.home.resolve()),
        "TUIJIAN_DATABASE_URL": url,
        "TUIJIAN_DATASET": settings.dataset,
        "TUIJIAN_SERVING_MODEL": model,
        "TUIJIAN_BOOTSTRAP": "0",
        "TUIJIAN_ACCESS_LOG": "1" if access_log else "0",
        "TUIJIAN_RETRAIN_EVERY": "0",  # scheduled retraining runs here, in the supervisor, not per worker
    }
    if settings.data_dir:
        env["TUIJIAN_DATA_DIR"] = str(settings.data_dir)
    if settings.workers > 1:
        prom = settings.home / "run" / f"prometheus-{os.getpid()}"
        shutil.rmtree(prom, ignore_errors=True)
        prom.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
    os.environ.update(env)

    stop = threading.Event()
    if retrain_every > 0:

        def schedule() -> None:
            while not stop.wait(retrain_every * 60):
                try:
                    typer.secho(
                        f"scheduled retrain: {train_version(store, settings.dataset, settings.artifacts_dir, model)}",
                        err=True,
                    )
                except Exception as exc:  # noqa: BLE001 - keep serving the previous version
                    typer.secho(f"scheduled retrain failed: {exc}", fg=typer.colors.RED, err=True)

        threading.Thread(target=schedule, name="tuijian-retrain-schedule", daemon=True).start()
    typer.secho(
        f"serving on http://{settings.host}:{settings.port} (docs: /docs) with {settings.workers} worker(s)",
        fg=typer.colors.GREEN,
        err=True,
    )
    from tuijian.service.supervisor import balanced, run_balanced

    # several workers: one listening socket each, so that connections spread over them (see the module)
    run = run_balanced if balanced(settings.workers) else uvicorn.run
    try:
        run(
            "tuijian.service.app:create_app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            access_log=False,
            timeout_graceful_shutdown=15,
        )
    finally:
        stop.set()
        store.close()


def _store_own_data(store: Any, ds: Any) -> bool:
    """Put a shop's file data (catalog, events) into the store; True if new events were stored.

    Each event gets a stable id from its content, so serving the same file again stores nothing new
    and reuses the trained version; new rows in the file mean a retrain. A store that already
    serves another dataset is refused (its events would be mixed into training).
    """
    from tuijian.exceptions import ConfigError

    others = sorted({row["dataset"] for row in store.list_model_versions()} - {ds.name})
    if others:
        raise ConfigError(
            f"the database {store.url} already serves dataset(s) {others}; serving {ds.name!r} there would "
            "mix their events. Use a fresh --home (or --database-url) for your own data"
        )
    if ds.items is not None and len(ds.items):
        store.add_items(ds.items)
    ev = sources.with_event_ids(ds.events, ds.name)
    inserted = duplicates = 0
    for start in range(0, len(ev), 50_000):
        res = store.add_events(ev.iloc[start : start + 50_000])
        inserted, duplicates = inserted + res.inserted, duplicates + res.duplicates
    typer.secho(
        f"stored {inserted:,} new events ({duplicates:,} already stored) from {ds.meta['source']}", err=True
    )
    return inserted > 0


@keys_app.command("create")
def keys_create(
    role: str = typer.Option(..., "--role", help="admin, ingest or read."),
    name: str = typer.Option("", "--name", help="A label for the key."),
    database_url: str | None = typer.Option(None, "--database-url", help=_URL_HELP),
) -> None:
    """Create a key and print it (only its salted hash is stored)."""
    from tuijian.privacy.audit import cli_actor
    from tuijian.store import open_store

    store = open_store(_settings(database_url=database_url).resolved_database_url)
    key_id, key = store.create_api_key(role, name, actor=cli_actor())
    typer.echo(key)
    typer.secho(f"key id {key_id}, role {role}: store the key now, it cannot be shown again", err=True)


@keys_app.command("list")
def keys_list(database_url: str | None = typer.Option(None, "--database-url", help=_URL_HELP)) -> None:
    """List key ids, names, roles and whether they are revoked."""
    from tuijian.store import open_store

    store = open_store(_settings(database_url=database_url).resolved_database_url)
    for k in store.list_api_keys():
        typer.echo(f"{k['key_id']}\t{k['role']}\t{'revoked' if k['revoked'] else 'active'}\t{k['name']}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: str = typer.Argument(..., help="The key id (or the whole key)."),
    database_url: str | None = typer.Option(None, "--database-url", help=_URL_HELP),
) -> None:
    """Revoke a key (services stop accepting it within their 10 s key cache)."""
    from tuijian.exceptions import ConfigError
    from tuijian.privacy.audit import cli_actor
    from tuijian.store import open_store

    store = open_store(_settings(database_url=database_url).resolved_database_url)
    if not store.revoke_api_key(key_id, actor=cli_actor()):
        raise ConfigError(f"no active key with id {key_id!r}; see `tuijian keys list`")
    typer.echo(f"revoked {key_id}")


def ingest(
    path: Path = typer.Argument(..., help="Events file (CSV, JSONL or Parquet; gzip allowed)."),
    mapping: str = typer.Option(
        "", "--map", help="FIELD=COLUMN pairs, e.g. 'user=customer_id,item=sku,ts=time'."
    ),
    kind: str | None = typer.Option(None, "--kind", help="Constant event kind for every row."),
    items: Path | None = typer.Option(
        None, "--items", help="Also load a catalog file (CSV/JSONL/Parquet with item_id)."
    ),
    database_url: str | None = typer.Option(None, "--database-url", help=_URL_HELP),
    batch_size: int = typer.Option(50_000, "--batch-size", help="Events per transaction."),
) -> None:
    """Load a behaviour log (and optionally a catalog) into the service's database.

    Loading the same file twice stores its events once (each row gets an id from its content)."""
    from tuijian.data.datasets import file_dataset_name
    from tuijian.data.importers import import_events, parse_mapping
    from tuijian.store import open_store

    store = open_store(_settings(database_url=database_url).resolved_database_url)
    if items is not None:
        from tuijian.data.importers import import_catalog

        frame, catalog_report = import_catalog(items)
        typer.echo(str(catalog_report))
        typer.echo(f"items written: {store.add_items(frame)}")
    result = import_events(path, parse_mapping(mapping) if mapping else None, kind=kind)
    typer.echo(str(result.report))
    # stable ids from each row's content: loading the same file again (or serving it with
    # `tuijian serve --events`) stores its events once
    events = sources.with_event_ids(result.events, file_dataset_name(path))
    inserted = duplicates = 0
    for start in range(0, len(events), batch_size):
        res = store.add_events(events.iloc[start : start + batch_size])
        inserted, duplicates = inserted + res.inserted, duplicates + res.duplicates
    typer.echo(
        f"events inserted: {inserted}, duplicates skipped: {duplicates}, "
        f"malformed rows not loaded: {result.report.malformed_rows}"
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("ingest")(ingest)
    app.add_typer(keys_app, name="keys")


def serving_model(active: dict[str, Any] | None, model: str | None, new_events: bool) -> tuple[str, bool]:
    """``(model to serve, train it now?)`` for ``tuijian serve``: without ``--model`` the home's active version
    keeps serving (one an admin activated is not replaced), and a home without one gets ``auto``; a named model
    other than the active one, or new events from ``--events``, train a version first."""
    usable = active is not None and Path(active["path"]).is_dir()
    if model is None:
        model = str(active["model"]) if usable and active is not None else "auto"
    return model, bool(usable and active is not None and (new_events or active["model"] != model))
