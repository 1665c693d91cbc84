"""The registry's database: a SQLite file under AIRLOCK_HOME, or any URL in AIRLOCK_DATABASE_URL.

SQLite is set up for several processes at once: WAL (readers never wait for the writer), a busy
timeout, and `BEGIN IMMEDIATE` so that a transaction takes the write lock when it starts rather
than failing at its first write when another process got there first.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event

from airlock.home import ensure_home

DATABASE_ENV = "AIRLOCK_DATABASE_URL"
DB_FILE = "airlock.db"
BUSY_TIMEOUT_S = 30


def database_url() -> str:
    """`$AIRLOCK_DATABASE_URL`, else `sqlite:///$AIRLOCK_HOME/airlock.db` (home created)."""
    return os.environ.get(DATABASE_ENV) or f"sqlite:///{ensure_home() / DB_FILE}"


def make_engine(url: str) -> Engine:
    """Raises sqlalchemy.exc.ArgumentError for a URL it cannot use."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver's own BEGIN is deferred; ours is not
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
