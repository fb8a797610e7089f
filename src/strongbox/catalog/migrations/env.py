"""Alembic environment: migrations run on the connection Strongbox hands over."""

from __future__ import annotations

from alembic import context

from strongbox.catalog.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - Strongbox always passes its connection
    raise RuntimeError("run migrations through strongbox.catalog.db.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite needs batch mode to alter tables
)
with context.begin_transaction():
    context.run_migrations()
