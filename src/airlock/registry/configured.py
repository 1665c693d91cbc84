"""Where the registry's settings live, and whether there is one, without importing SQLAlchemy:
`airlock vet` asks on every run and opens the registry only when there is one."""

from __future__ import annotations

import os

from airlock.home import airlock_home

DATABASE_ENV = "AIRLOCK_DATABASE_URL"
DB_FILE = "airlock.db"


def exists() -> bool:
    """Whether there is a registry to read: `$AIRLOCK_DATABASE_URL` is set, or the SQLite file
    in AIRLOCK_HOME has been made. Creates nothing."""
    return bool(os.environ.get(DATABASE_ENV)) or (airlock_home() / DB_FILE).is_file()
