"""Alembic environment: runs on the connection `airlock.registry.migrate` hands it."""

from __future__ import annotations

from alembic import context

from airlock.registry.models import Base

connection = context.config.attributes["connection"]
# Batch mode lets later migrations alter SQLite tables (copy-and-move); harmless elsewhere.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
