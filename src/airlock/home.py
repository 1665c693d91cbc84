"""Where Airlock keeps its state (database, configuration): one folder, movable by env var.

The folder holds the registry (API key hashes, usage, the audit log), so it is private: created
0700, and tightened to 0700 when found looser and owned by this user (a warning when someone
else owns it, since only they can fix it).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

HOME_ENV = "AIRLOCK_HOME"
log = logging.getLogger(__name__)


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
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    keep_private(home)
    return home


def keep_private(path: Path) -> None:
    """No access for group or others to `path`: tightened if this user owns it, else a warning."""
    if not hasattr(os, "getuid"):
        return  # Windows: no POSIX modes; the user's profile folder is private already
    try:
        info = path.stat()
    except OSError:
        return  # not there (yet): whoever creates it sets its mode
    if not stat.S_IMODE(info.st_mode) & 0o077:
        return
    private = stat.S_IMODE(info.st_mode) & 0o700
    if info.st_uid == os.getuid():
        os.chmod(path, private)
        log.warning(
            "airlock: made %s private (mode %o, was %o): it holds the registry",
            path,
            private,
            stat.S_IMODE(info.st_mode),
        )
    else:
        log.warning(
            "airlock: warning: %s can be read by other users (mode %o) and is not yours to "
            "change: ask its owner to run chmod go= on it",
            path,
            stat.S_IMODE(info.st_mode),
        )
