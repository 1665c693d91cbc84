"""The registry's database: a SQLite file under AIRLOCK_HOME, or any URL in AIRLOCK_DATABASE_URL.

SQLite is set up for several processes at once: WAL (readers never wait for the writer), a busy
timeout, and `BEGIN IMMEDIATE` so that a transaction takes the write lock when it starts rather
than failing at its first write when another process got there first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from airlock.home import HOME_ENV, airlock_home, ensure_home, keep_private
from airlock.registry.configured import DATABASE_ENV, DB_FILE

__all__ = ["DATABASE_ENV", "DB_FILE", "Location", "RegistryError", "locate", "make_engine"]

BUSY_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 10  # an unreachable PostgreSQL host fails in seconds, not minutes
# The driver Airlock installs (the `postgres` extra): psycopg 3. Heroku-style `postgres://` and a
# bare `postgresql://` (SQLAlchemy would look for psycopg2) both mean it.
_POSTGRES_SCHEMES = ("postgres://", "postgresql://")
_POSTGRES_DRIVER = "postgresql+psycopg://"


class RegistryError(Exception):
    """The registry cannot be opened or written; the message is one line for the user."""


@dataclass(frozen=True)
class Location:
    url: str
    shown: str  # the database file, or the URL with its password hidden
    origin: str  # which setting chose it

    def describe(self) -> str:
        return f"registry database {self.shown} ({self.origin})"


def locate(url: str | None = None) -> Location:
    """Where the registry is: `url`, else `$AIRLOCK_DATABASE_URL`, else the SQLite file in
    AIRLOCK_HOME (created here). Raises RegistryError for a home folder that cannot be made."""
    if url is not None:
        return _location(url, "given by the caller")
    configured = os.environ.get(DATABASE_ENV)
    if configured:
        return _location(configured, f"set by {DATABASE_ENV}")
    chosen_by = f"set by {HOME_ENV}" if os.environ.get(HOME_ENV) else f"{HOME_ENV} is not set"
    try:
        home = ensure_home()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise RegistryError(
            f"cannot create the Airlock home folder {airlock_home()} ({chosen_by}): {why}; set "
            f"{HOME_ENV} to a folder you can write, or {DATABASE_ENV} to a database"
        ) from None
    origin = f"the default file in the Airlock home folder, {chosen_by}"
    return Location(f"sqlite:///{home / DB_FILE}", str(home / DB_FILE), origin)


def _location(url: str, origin: str) -> Location:
    for scheme in _POSTGRES_SCHEMES:
        if url.startswith(scheme):
            url = _POSTGRES_DRIVER + url[len(scheme) :]
    try:
        parsed = make_url(url)
    except ArgumentError:
        return Location(url, _without_password(url), origin)
    if parsed.get_backend_name() == "sqlite":
        return Location(url, parsed.database or ":memory:", origin)
    return Location(url, parsed.render_as_string(hide_password=True), origin)


def _without_password(url: str) -> str:
    """A URL SQLAlchemy cannot parse may still hold `user:password@`: never show it."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def _private_database_file(url: str) -> None:
    """A SQLite file is created 0600 (SQLite would make it 0644, and its -wal and -shm files take
    its mode); an existing one, and those, are tightened if ours (home.keep_private)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        # O_NONBLOCK: a named pipe in the database's place fails here instead of hanging.
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY | os.O_NONBLOCK, 0o600))
    except OSError:
        return  # SQLite reports why it cannot be opened, with the database named
    for suffix in ("", "-wal", "-shm"):
        keep_private(Path(database + suffix))


def make_engine(url: str) -> Engine:
    """Raises sqlalchemy.exc.ArgumentError for a URL it cannot use."""
    if not url.startswith("sqlite"):
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if "psycopg" in url else {}
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    _private_database_file(url)
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
