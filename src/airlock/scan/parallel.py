"""Scan many files on several processes: a folder of hundreds of small pickles is CPU-bound
Python work, so processes (not threads) are what make it faster on more than one core.

Where the system can fork, the scanning process itself is one of the workers and forks the
others: they inherit the imported readers and the file list, take chunks of files from a
shared pipe of chunk numbers (so a slow chunk never holds up the rest), and send their
results back over a pipe each. Nothing is lost if a worker dies: every chunk it did not
report is scanned again by the parent, so every file still gets its full result. Elsewhere
a spawned multiprocessing pool does the same work (slower to start, same results).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from airlock.scan.context import Kind
from airlock.scan.results import FileResult

try:
    import fcntl
except ImportError:  # Windows: no fork either, the spawned pool is used
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from airlock.artifact import ArtifactFile

# Below this many files, starting workers costs more than it saves.
MIN_FILES_PER_WORKER = 32
# Formats read in the parent before workers fork; others load in a worker on first sight.
PRELOADED_KINDS = (Kind.PICKLE, Kind.ZIP, Kind.NUMPY)
# Files per chunk: small enough to balance the work, large enough to keep messages few.
MAX_CHUNK = 16
# The chunk numbers are all written before any worker reads: they must fit in a pipe of the
# smallest capacity in use (one 4 KiB page), two bytes each.
MAX_CHUNKS = 2048
_TOKEN = struct.Struct("<H")
# Room for many chunks' results, so a worker rarely waits while this process scans a big file.
_RESULTS_PIPE_BYTES = 1 << 20
_LENGTH = struct.Struct("<Q")


class FileScanner(Protocol):
    """What the workers need of the scanner (`scanner.Scanner`, which calls this module)."""

    def scan_file(self, item: ArtifactFile) -> FileResult: ...

    def preload(self, kinds: Iterable[Kind]) -> None: ...


_worker_scanner: FileScanner | None = None


def worker_count(files: int, requested: int | None) -> int:
    """How many processes to use: `requested` if given, else one per core that has work."""
    if requested is not None:
        return max(1, requested)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, files // MIN_FILES_PER_WORKER))


def chunk_size(files: int, workers: int) -> int:
    """Files per chunk: about eight chunks per worker, at most MAX_CHUNK files (more for a
    folder so large that the chunk numbers would not fit in a pipe)."""
    size = max(1, min(MAX_CHUNK, files // (workers * 8)))
    return max(size, -(-files // MAX_CHUNKS))


def scan_in_workers(
    scanner: FileScanner, files: Sequence[ArtifactFile], workers: int
) -> Iterator[FileResult]:
    """Results in the order of `files`, scanned by `workers` processes (this one included)."""
    if hasattr(os, "fork"):
        yield from _scan_forked(scanner, files, workers)
    else:
        yield from _scan_in_pool(scanner, files, workers)


def _scan_forked(
    scanner: FileScanner, files: Sequence[ArtifactFile], workers: int
) -> Iterator[FileResult]:
    size = chunk_size(len(files), workers)
    chunks = -(-len(files) // size)
    # Import the readers nearly every folder of models needs once, here, rather than once
    # in every worker (about 40 ms each, with the pickle policy).
    scanner.preload(PRELOADED_KINDS)
    tokens, tokens_in = os.pipe()
    _write_all(tokens_in, b"".join(_TOKEN.pack(k) for k in range(chunks)))
    os.close(tokens_in)  # every reader then sees the end once the chunks are taken
    children: dict[int, int] = {}  # result pipe -> worker pid
    buffers: dict[int, bytearray] = {}
    done: dict[int, list[FileResult]] = {}
    try:
        for _ in range(workers - 1):
            results, results_in = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: never returns into the caller's code
                status = 1
                try:
                    os.close(results)
                    for other in children:
                        os.close(other)
                    _work(scanner, files, size, tokens, results_in)
                    status = 0
                finally:
                    os._exit(status)
            os.close(results_in)
            os.set_blocking(results, False)
            _widen(results)
            children[results] = pid
            buffers[results] = bytearray()
        emitted = 0
        while (chunk := _take(tokens)) is not None:
            done[chunk] = [scanner.scan_file(item) for item in files[chunk * size :][:size]]
            _receive(buffers, done, wait=False)
            while emitted in done:
                yield from done.pop(emitted)
                emitted += 1
        while buffers:
            _receive(buffers, done, wait=True)
        _reap(children, kill=False)
        for chunk in range(emitted, chunks):
            if chunk not in done:
                # No worker reported it (one died): scanned here, so no file is skipped.
                done[chunk] = [scanner.scan_file(item) for item in files[chunk * size :][:size]]
            yield from done.pop(chunk)
    finally:
        os.close(tokens)
        for fd in buffers:
            os.close(fd)
        _reap(children, kill=True)


def _work(
    scanner: FileScanner, files: Sequence[ArtifactFile], size: int, tokens: int, out: int
) -> None:
    while (chunk := _take(tokens)) is not None:
        results = [scanner.scan_file(item) for item in files[chunk * size :][:size]]
        message = pickle.dumps((chunk, results), protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(out, _LENGTH.pack(len(message)) + message)


def _take(tokens: int) -> int | None:
    """The next chunk number from the shared pipe, or None when all are taken. Reads this
    small are atomic, so two processes never get the same number."""
    raw = os.read(tokens, _TOKEN.size)
    while raw and len(raw) < _TOKEN.size:
        raw += os.read(tokens, _TOKEN.size - len(raw))
    return _TOKEN.unpack(raw)[0] if len(raw) == _TOKEN.size else None


def _receive(buffers: dict[int, bytearray], done: dict[int, list[FileResult]], wait: bool) -> None:
    """Read what the workers have sent (when `wait`, block until at least one has sent
    something or exited); a pipe that ends is closed and dropped from `buffers`."""
    ready = list(buffers)
    if wait:
        import selectors  # only here: most scans never wait on a worker

        with selectors.DefaultSelector() as selector:
            for fd in ready:
                selector.register(fd, selectors.EVENT_READ)
            ready = [key.fd for key, _ in selector.select()]
    for fd in ready:
        ended = _drain(fd, buffers[fd])
        _unpack(buffers[fd], done)
        if ended:  # the worker has exited; a partial message is dropped (and rescanned)
            os.close(fd)
            del buffers[fd]


def _drain(fd: int, buffer: bytearray) -> bool:
    """Append what can be read from `fd` without waiting; True once the writer has exited."""
    try:
        while data := os.read(fd, 1 << 16):
            buffer += data
    except BlockingIOError:
        return False
    return True


def _unpack(buffer: bytearray, done: dict[int, list[FileResult]]) -> None:
    while len(buffer) >= _LENGTH.size:
        end = _LENGTH.size + _LENGTH.unpack_from(buffer)[0]
        if len(buffer) < end:
            return
        chunk, results = pickle.loads(buffer[_LENGTH.size : end])
        done[chunk] = results
        del buffer[:end]


def _reap(children: dict[int, int], kill: bool) -> None:
    for fd, pid in list(children.items()):
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        del children[fd]


def _widen(fd: int) -> None:
    """Ask for a larger pipe buffer where the system allows it (Linux); fine without."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, _RESULTS_PIPE_BYTES)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _scan_in_pool(
    scanner: FileScanner, files: Sequence[ArtifactFile], workers: int
) -> Iterator[FileResult]:
    import multiprocessing  # only here: most scans never start a pool

    context = multiprocessing.get_context("spawn")
    chunk = chunk_size(len(files), workers)
    with context.Pool(workers, initializer=_init, initargs=(scanner,)) as pool:
        yield from pool.imap(_scan_one, files, chunksize=chunk)


def _init(scanner: FileScanner) -> None:
    global _worker_scanner
    _worker_scanner = scanner


def _scan_one(item: ArtifactFile) -> FileResult:
    assert _worker_scanner is not None, "worker started without a scanner"
    return _worker_scanner.scan_file(item)
