"""Hash the very bytes that get loaded: copy each admitted file into a private folder while
hashing it, compare with the admitted manifest, and load the model from that folder only.

Why a private copy rather than hash-then-open: a file re-opened after its check can be swapped
in between. Bytes read once are both hashed and written to a 0700 folder that only this process
(and root) can touch, so the loader sees exactly what was checked. Why not load from memory:
sentence-transformers, transformers and tokenizers all take a folder, not bytes. Files not in
the manifest are never copied, so a file added after admission (say, Python a config points
to) is invisible to the loader.

Only regular files are read: each is opened without following a link and without blocking (a
named pipe put in a file's place would otherwise hang the open, or the read, forever), and its
type checked on the open descriptor. The copy stops at its deadline between chunks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from airlock.gateway.catalog import AdmittedModel

CHUNK_SIZE = 1024 * 1024
_KINDS = {
    stat.S_IFIFO: "a named pipe",
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class IntegrityError(Exception):
    """The bytes on disk are not the admitted bytes; the message names the file."""


class CopyTimeout(Exception):
    """The copy did not finish by its deadline; it has been removed."""


@dataclass
class VerifiedCopy:
    """A private folder holding the verified bytes; remove() when the model is unloaded."""

    model: AdmittedModel
    path: Path

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def verified_copy(
    model: AdmittedModel, scratch: Path | None = None, deadline: float = float("inf")
) -> VerifiedCopy:
    """Copy and hash every admitted file into a new folder in `scratch`; raises IntegrityError
    on any difference, CopyTimeout past `deadline` (time.monotonic())."""
    folder = Path(tempfile.mkdtemp(prefix="model-", dir=scratch))  # mkdtemp: mode 0700
    try:
        for entry in model.files:
            _copy_checked(model, entry.path, entry.sha256, entry.size, folder, deadline)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return VerifiedCopy(model, folder)


def source_path(model: AdmittedModel, relative: str) -> Path:
    """Where the admitted file `relative` is read from."""
    return model.source / relative if model.source.is_dir() else model.source


def open_admitted(model: AdmittedModel, relative: str) -> int:
    """A read descriptor on the admitted file `relative`, which must still be a regular file
    (the mirror streams from it too); raises IntegrityError saying why not."""
    source = source_path(model, relative)
    try:
        # O_NOFOLLOW: a file replaced by a link after admission is refused, not followed.
        # O_NONBLOCK: opening a named pipe returns at once (then refused below); on a regular
        # file it changes nothing.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(source, flags)
    except OSError as exc:
        raise IntegrityError(
            f"model {model.name!r}: {relative}: cannot read the admitted file: "
            f"{exc.strerror or type(exc).__name__}"
        ) from None
    kind = stat.S_IFMT(os.fstat(fd).st_mode)
    if kind != stat.S_IFREG:
        os.close(fd)
        raise IntegrityError(
            f"model {model.name!r}: {relative} is no longer a regular file (it is "
            f"{_KINDS.get(kind, 'a special file')}); refusing to load it"
        )
    return fd


def _copy_checked(
    model: AdmittedModel, relative: str, sha256: str, size: int, dest: Path, deadline: float
) -> None:
    target = dest / relative
    if target.resolve().parent != dest.resolve() and dest.resolve() not in target.resolve().parents:
        raise IntegrityError(f"{model.name}: manifest path {relative!r} leaves the model folder")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    copied = 0
    fd = open_admitted(model, relative)
    with os.fdopen(fd, "rb") as reader, open(target, "xb") as writer:
        while chunk := reader.read(CHUNK_SIZE):
            if time.monotonic() > deadline:
                raise CopyTimeout(f"model {model.name!r}: copying {relative} ran past the deadline")
            digest.update(chunk)
            writer.write(chunk)
            copied += len(chunk)
    if copied != size or digest.hexdigest() != sha256:
        raise IntegrityError(
            f"model {model.name!r}: {relative} does not match its admitted hash "
            f"(admitted sha256 {sha256[:16]}..., {size} bytes; now {digest.hexdigest()[:16]}..., "
            f"{copied} bytes); refusing to load it. Re-vet and re-admit the model if the change "
            "is intended."
        )
