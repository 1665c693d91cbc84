"""The usage journal: every usage row is appended to a file as its request finishes, and kept
there until the database has it. One write() puts it in the operating system's page cache, so a
gateway killed with SIGKILL keeps it (a power cut may not). A gateway that starts replays the
journals of gateways that are gone; every entry has an id that the database keeps, so a replay
never counts a request twice.

One file per running recorder, locked (flock) while it lives: a journal that can be locked
belongs to a process that is gone. A file is named `*.jsonl` only once it is locked."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)
SUFFIX = ".jsonl"
_NEW = ".new"  # a file not locked and renamed yet
# Past this size the entries still pending move to a new file and the old one is removed.
ROTATE_BYTES = 4 * 1024 * 1024
REPLAY_CHUNK = 500  # entries per replay transaction


@dataclass(frozen=True)
class Entry:
    id: str  # unique: the database keeps it (usage_records.entry_id)
    row: dict[str, Any]  # JSON values

    def line(self) -> bytes:
        return json.dumps({"id": self.id, **self.row}, separators=(",", ":")).encode() + b"\n"

    @staticmethod
    def new(row: dict[str, Any]) -> Entry:
        return Entry(secrets.token_hex(16), row)


class Journal:
    """This process's journal file in `folder`; not thread-safe (the recorder holds a lock)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._folder = folder
        self._fd, self._path = self._create()

    def _create(self) -> tuple[int, Path]:
        name = f"{os.getpid()}-{uuid.uuid4().hex}"
        new = self._folder / (name + _NEW)
        fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = self._folder / (name + SUFFIX)
        os.rename(new, path)
        return fd, path

    def append(self, entry: Entry) -> None:
        os.write(self._fd, entry.line())

    def keep(self, pending: list[Entry]) -> None:
        """Only `pending` (entries the database lacks) still matter: empty the file, or move them
        to a new file once it has grown large (a replay in between skips those it finds twice)."""
        if not pending:
            os.ftruncate(self._fd, 0)
        elif os.fstat(self._fd).st_size > ROTATE_BYTES:
            old_fd, old_path = self._fd, self._path
            self._fd, self._path = self._create()
            os.write(self._fd, b"".join(entry.line() for entry in pending))
            old_path.unlink()
            os.close(old_fd)

    def close(self, *, remove: bool) -> None:
        """`remove`: every entry is in the database; otherwise the next start replays them."""
        if remove:
            self._path.unlink(missing_ok=True)
        os.close(self._fd)


def replay(folder: Path, write: Callable[[list[Entry]], None]) -> int:
    """Hand the entries of journals whose gateway is gone to `write` (which skips the ids the
    database has), then delete those journals. Returns how many entries were read."""
    if not folder.is_dir():
        return 0
    read = 0
    # A `.new` file is one being created (or, if its process died right then, empty): skipped.
    for path in sorted(folder.glob("*" + SUFFIX)):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # replayed by another gateway starting at the same time
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a running gateway's
            entries = _parse(_read(fd), path)
            for start in range(0, len(entries), REPLAY_CHUNK):
                write(entries[start : start + REPLAY_CHUNK])
            read += len(entries)
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
    if read:
        LOGGER.info("usage journal: replayed %d entries left by a gateway that stopped", read)
    return read


def _read(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(data: bytes, path: Path) -> list[Entry]:
    entries = []
    for line in data.splitlines():
        try:
            fields = json.loads(line)
            entries.append(Entry(str(fields.pop("id")), fields))
        except (ValueError, KeyError, AttributeError):
            # A torn last line (a crash of the machine, not of the process): nothing to replay.
            LOGGER.warning("usage journal %s: skipped an unreadable entry", path.name)
    return entries
