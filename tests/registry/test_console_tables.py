"""Migration 0007: keys made before it are app keys; the console's tables are what the
models describe. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text

import airlock.registry.console_tables  # noqa: F401 - registers the console's tables
from airlock.gateway.auth import KeyStore
from airlock.registry.db import make_engine
from airlock.registry.migrate import SCRIPT_LOCATION
from airlock.registry.models import Base
from airlock.registry.store import Registry


def test_keys_from_before_roles_are_app_keys(registry_url: str) -> None:
    engine = make_engine(registry_url)
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        connection.execute(
            text(
                "INSERT INTO api_keys (id, name, prefix, key_hash, created_at) "
                "VALUES (1, 'old-app', 'ak-old', :hash, CURRENT_TIMESTAMP)"
            ),
            {"hash": "0" * 64},
        )
    engine.dispose()
    registry = Registry(registry_url)
    try:
        (old,) = KeyStore(registry.engine).list()
        assert old.role == "app"
    finally:
        registry.close()


def test_the_migration_creates_the_tables_the_models_describe(registry_url: str) -> None:
    registry = Registry(registry_url)
    try:
        wanted = MetaData()
        names = ("model_requests", "console_sessions", "api_keys")
        for name in (*names, "usage_records"):  # usage_records: it names api_keys too
            Base.metadata.tables[name].to_metadata(wanted)
        with registry.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), wanted)
        assert [d for d in diff if any(n in str(d) for n in names)] == []
    finally:
        registry.close()
