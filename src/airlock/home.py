"""Where Airlock keeps its state (database, configuration): one folder, movable by env var."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "AIRLOCK_HOME"


def airlock_home() -> Path:
    """`$AIRLOCK_HOME` if set, else the platform's per-user data folder; not created here."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs  # only here: it costs ~7 ms of start-up every command would pay

    return Path(platformdirs.user_data_dir("airlock", appauthor=False))


def ensure_home() -> Path:
    """The home folder, created on first use by the commands that write to it."""
    home = airlock_home()
    home.mkdir(parents=True, exist_ok=True)
    return home
