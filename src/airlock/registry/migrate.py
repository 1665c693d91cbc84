"""Bring a registry database to the newest schema; run on every open, a no-op when current."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

SCRIPT_LOCATION = "airlock:registry/migrations"
# Any fixed number: PostgreSQL serializes the processes that migrate one database at once.
_PG_LOCK_KEY = 0x41495231


def migrate(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    # One transaction (SQLite: BEGIN IMMEDIATE), so concurrent first uses migrate one at a time
    # and a failed migration leaves the schema as it was.
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
