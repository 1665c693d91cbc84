"""Where the private verified copies live, so that a killed gateway's copies do not stay forever.

Each gateway (each ModelManager) copies models into its own folder, `proc-<pid>-*`, under one
scratch root, and holds an advisory lock (flock) on a file in it for as long as it runs. At
start, a gateway removes every folder under the root whose lock it can take: its owner is
gone. A live gateway's folder is never removed, whatever process looks at it.

Why a lock and not the pid in the name: a pid is reused once its process is gone; the kernel
releases an flock when its holder dies, however it died (kill -9 included).

The root defaults to `airlock-model-copies-<uid>` in the temp folder (TMPDIR moves it; so does
GatewayConfig.scratch_dir). In a shared /tmp another user could create that name first, or
put a link there: a root that is not a folder of ours is not used, and a fresh private one is
made instead (its copies are still removed when the gateway stops).
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; nothing is swept there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

OWNER_PREFIX = "proc-"
LOCK_FILE = "owner.lock"
# A folder without its lock file may belong to a gateway making it: spared this long.
_GRACE_S = 60.0


def default_root() -> Path:
    user = f"-{os.getuid()}" if hasattr(os, "getuid") else ""
    return Path(tempfile.gettempdir()) / f"airlock-model-copies{user}"


class Scratch:
    """This gateway's folder for private copies, made on first use; close() removes it and
    everything in it. Made, it sweeps the root first."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = _private_root(root or default_root())
        self.swept = sweep(self.root)
        self._folder: Path | None = None
        self._lock = -1

    @property
    def folder(self) -> Path:
        if self._folder is None:
            prefix = f"{OWNER_PREFIX}{os.getpid()}-"
            folder = Path(tempfile.mkdtemp(prefix=prefix, dir=self.root))
            # Locked under another name, then renamed: a sweeper never finds the lock file
            # unlocked while its owner lives (it would take the lock and remove the folder).
            self._lock = os.open(folder / f"{LOCK_FILE}.new", os.O_CREAT | os.O_RDWR, 0o600)
            if fcntl is not None:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(folder / f"{LOCK_FILE}.new", folder / LOCK_FILE)
            self._folder = folder
        return self._folder

    def close(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            os.close(self._lock)  # the lock goes last: no sweeper takes a folder still in use
            self._folder = None


def sweep(root: Path) -> int:
    """Remove the copy folders under `root` whose gateway is gone; how many were removed."""
    removed = 0
    for folder in root.iterdir():
        ours = folder.name.startswith(OWNER_PREFIX) and not folder.is_symlink() and folder.is_dir()
        if ours and not _owner_alive(folder):
            shutil.rmtree(folder, ignore_errors=True)
            log.warning("airlock: removed model copies left by a stopped gateway: %s", folder)
            removed += 1
    return removed


def _owner_alive(folder: Path) -> bool:
    if fcntl is None:
        return True  # cannot tell: keep it
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return time.time() - folder.stat().st_mtime < _GRACE_S
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: a live gateway holds it
        return True
    finally:
        os.close(fd)  # drops the lock just taken, if any
    return False


def _private_root(root: Path) -> Path:
    """`root`, made if missing; a fresh private folder instead when it is not a folder of ours."""
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(root)
    except OSError as exc:
        return _fallback(root, exc.strerror or str(exc))
    if not stat.S_ISDIR(info.st_mode):
        return _fallback(root, "it is not a folder")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return _fallback(root, "another user owns it")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(root, 0o700)
    return root


def _fallback(root: Path, why: str) -> Path:
    log.warning("airlock: not using %s for model copies (%s); using a fresh folder", root, why)
    return Path(tempfile.mkdtemp(prefix=f"{root.name}-"))
