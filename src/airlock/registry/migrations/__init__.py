"""Alembic migrations for the registry, applied on first use by `airlock.registry.migrate`."""
