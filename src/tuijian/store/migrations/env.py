"""Alembic environment: runs on the connection handed over by ``tuijian.store``."""

from __future__ import annotations

from alembic import context

from tuijian.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when run as `alembic` without tuijian
    raise RuntimeError("run migrations through tuijian.store.open_store(url) or `tuijian db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
