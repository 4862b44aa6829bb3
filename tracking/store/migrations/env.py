"""Alembic environment: runs on the connection handed in by `tracking.store.migrate.migrate`."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import tracking.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always run through tracking.store.migrate.migrate
    raise RuntimeError("run migrations through tracking.store.migrate.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
