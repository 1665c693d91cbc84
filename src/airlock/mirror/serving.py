"""The bytes of an admitted file, checked against the admitted manifest as they are served.

A small file is read whole and checked before its first byte goes out: a mismatch is a 409
that says why. A large one is streamed from its admitted source while it is hashed, one chunk
held back: the last chunk goes out only once the size and sha256 of everything read match the
manifest. On a mismatch the stream stops before its end, so the client never holds a complete
file that is not the admitted one (huggingface_hub refuses a short download; its retry asks
for the rest as a range, which is answered by the check below, with the 409 and its reason),
and the server's log says which file and why.

A range (a resumed download) cannot be checked as it is served: the whole file must be known
good first. It is served from a private verified copy, made as the gateway makes the copies it
loads models from (gateway/loading.py, hash-then-load: the bytes hashed are the bytes written,
into a 0700 folder only this process can touch), and kept for the next range of the same file.
Copies are kept up to a byte budget, least recently used removed first, and all removed when
the server stops (or by the next gateway's sweep if it was killed, gateway/scratch.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from airlock.gateway.catalog import AdmittedModel
from airlock.gateway.loading import IntegrityError, VerifiedCopy, open_admitted, verified_copy
from airlock.gateway.scratch import Scratch
from airlock.mirror.errors import IntegrityMismatch, RangeNotSatisfiable
from airlock.provenance.manifest import FileDigest

log = logging.getLogger(__name__)

# Each chunk is read and hashed in a worker thread while the one before is sent (prefetched);
# 256 KiB chunks kept pace with a static file server on a busy 2-core machine, where 4 MiB
# chunks read and sent in turns ran at half its speed (benchmarks/mirror.py).
CHUNK_SIZE = 256 * 1024
# Files up to this size are read and checked whole before the first byte goes out, so that a
# mismatch is answered with a 409 that says why (configs, tokenizers, small weights).
WHOLE_BYTES = 8 * 1024 * 1024
# Verified copies kept for ranges; the least recently used go first beyond this.
COPY_BUDGET_BYTES = 16 * 1024**3


def check_present(model: AdmittedModel, entry: FileDigest) -> None:
    """Cheap checks before any byte goes out (a HEAD, the start of a GET): the admitted file is
    still a regular file of its admitted size. Raises IntegrityMismatch saying why not."""
    try:
        fd = open_admitted(model, entry.path)
    except IntegrityError as exc:
        raise IntegrityMismatch(f"{exc}; nothing is served") from None
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size != entry.size:
        raise IntegrityMismatch(_mismatch(model, entry, f"{size} bytes"))


def verified_bytes(model: AdmittedModel, entry: FileDigest) -> bytes:
    """A small file's bytes, read whole and checked; raises IntegrityMismatch."""
    return b"".join(verified_stream(model, entry, chunk_size=entry.size + 1))


def verified_stream(
    model: AdmittedModel, entry: FileDigest, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """The file's bytes; the last chunk only after they all matched the manifest. A mismatch
    raises IntegrityMismatch in place of the last chunk (the response is cut short)."""
    try:
        fd = open_admitted(model, entry.path)
    except IntegrityError as exc:
        raise _logged(IntegrityMismatch(f"{exc}; download aborted")) from None
    digest = hashlib.sha256()
    read = 0
    held = b""
    with os.fdopen(fd, "rb", buffering=0) as reader:
        while chunk := reader.read(chunk_size):
            digest.update(chunk)
            read += len(chunk)
            if held:
                yield held
            held = chunk
    if read != entry.size or digest.hexdigest() != entry.sha256:
        now = f"sha256 {digest.hexdigest()[:16]}..., {read} bytes"
        raise _logged(IntegrityMismatch(_mismatch(model, entry, now) + "; download aborted"))
    if held:
        yield held


async def prefetched(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """`chunks`, each next one read (and hashed) in a worker thread while the current one is
    sent: reading and sending overlap instead of taking turns (file reads and hashlib release
    the GIL)."""

    def step() -> bytes | None:
        return next(chunks, None)

    pending = asyncio.ensure_future(run_in_threadpool(step))
    try:
        while (chunk := await pending) is not None:
            pending = asyncio.ensure_future(run_in_threadpool(step))
            yield chunk
    finally:
        # A client gone mid-stream: let the step under way finish before closing the
        # generator (closing one that runs in another thread is an error), then close it.
        with contextlib.suppress(BaseException):
            await pending
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range (first, last inclusive) asked for, or None to send the whole file: no
    Range, or one this server does not take (several ranges, another unit), which RFC 9110
    allows a server to ignore. Raises RangeNotSatisfiable for a range outside the file."""
    if header is None or not header.startswith("bytes=") or "," in header:
        return None
    first_text, dash, last_text = header[len("bytes=") :].strip().partition("-")
    if not dash or not (first_text or last_text):
        return None
    try:
        if not first_text:  # bytes=-N: the last N bytes
            first, last = max(0, size - int(last_text)), size - 1
        else:
            first = int(first_text)
            last = min(int(last_text), size - 1) if last_text else size - 1
    except ValueError:
        return None
    if first < 0 or first > last:
        raise RangeNotSatisfiable(f"range {header!r} is outside the file's {size} bytes")
    return first, last


def read_range(path: Path, first: int, last: int) -> Iterator[bytes]:
    with path.open("rb", buffering=0) as reader:
        reader.seek(first)
        left = last - first + 1
        while left > 0 and (chunk := reader.read(min(CHUNK_SIZE, left))):
            left -= len(chunk)
            yield chunk


@dataclass
class _Kept:
    copy: VerifiedCopy
    file: Path
    size: int
    used: float


class VerifiedFiles:
    """Private verified copies of single files, by content (sha256 and size): a copy made for
    one version serves every version with the same bytes."""

    def __init__(self, scratch_root: Path | None, budget_bytes: int = COPY_BUDGET_BYTES) -> None:
        self._scratch_root = scratch_root
        self._scratch: Scratch | None = None
        self._budget = budget_bytes
        self._kept: dict[tuple[str, int], _Kept] = {}
        self._making: dict[tuple[str, int], threading.Lock] = {}
        self._lock = threading.Lock()

    def path(self, model: AdmittedModel, entry: FileDigest) -> Path:
        """A verified private copy of `entry` (made now if need be; blocking). Raises
        IntegrityMismatch when the admitted file does not match its manifest."""
        key = (entry.sha256, entry.size)
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:  # one copy per content, however many ranges ask at once
            with self._lock:
                kept = self._kept.get(key)
                if kept is not None and kept.file.is_file():
                    kept.used = time.monotonic()
                    return kept.file
            single = AdmittedModel(model.name, model.source, (entry,))
            try:
                copy = verified_copy(single, self._folder())
            except IntegrityError as exc:
                raise _logged(IntegrityMismatch(f"{exc}; nothing is served")) from None
            file = copy.path / entry.path
            with self._lock:
                self._kept[key] = _Kept(copy, file, entry.size, time.monotonic())
                self._evict(keep=key)
            return file

    def close(self) -> None:
        with self._lock:
            self._kept.clear()
            if self._scratch is not None:
                self._scratch.close()
                self._scratch = None

    def _folder(self) -> Path:
        with self._lock:
            if self._scratch is None:
                self._scratch = Scratch(self._scratch_root)
            return self._scratch.folder

    def _evict(self, keep: tuple[str, int]) -> None:
        # A copy being read when removed stays readable: the reader's open file keeps it.
        total = sum(kept.size for kept in self._kept.values())
        for key, kept in sorted(self._kept.items(), key=lambda item: item[1].used):
            if total <= self._budget:
                break
            if key != keep:
                kept.copy.remove()
                del self._kept[key]
                total -= kept.size


def _mismatch(model: AdmittedModel, entry: FileDigest, now: str) -> str:
    return (
        f"model {model.name!r}: {entry.path} does not match its admitted hash (admitted sha256 "
        f"{entry.sha256[:16]}..., {entry.size} bytes; now {now}); re-vet and re-admit the model "
        "if the change is intended"
    )


def _logged(error: IntegrityMismatch) -> IntegrityMismatch:
    log.error("airlock mirror: %s", error.message)
    return error
