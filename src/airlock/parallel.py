"""Scan many files on several processes: a folder of hundreds of small pickles is CPU-bound
Python work, so processes (not threads) are what make it faster on more than one core."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from airlock.formats.interface import Kind

if TYPE_CHECKING:
    from airlock.artifact import ArtifactFile
    from airlock.scanner import FileResult, Scanner

# Below this many files, starting workers costs more than it saves.
MIN_FILES_PER_WORKER = 32
# Formats read in the parent before workers fork; others load in a worker on first sight.
PRELOADED_KINDS = (Kind.PICKLE, Kind.ZIP, Kind.NUMPY)

_worker_scanner: Scanner | None = None


def worker_count(files: int, requested: int | None) -> int:
    """How many processes to use: `requested` if given, else one per core that has work."""
    if requested is not None:
        return max(1, requested)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, files // MIN_FILES_PER_WORKER))


def scan_in_workers(
    scanner: Scanner, files: Sequence[ArtifactFile], workers: int
) -> Iterator[FileResult]:
    """Results in the order of `files`, scanned by `workers` processes."""
    import multiprocessing  # only here: a scan of a few files never starts workers

    # fork shares the already-imported scanner; elsewhere spawn re-imports it (slower, correct).
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "fork":
        # Import the readers nearly every folder of models needs once, here, rather than
        # once in every worker (about 40 ms each, with the pickle policy).
        scanner.preload(PRELOADED_KINDS)
    chunk = max(1, min(16, len(files) // (workers * 8)))
    with context.Pool(workers, initializer=_init, initargs=(scanner,)) as pool:
        yield from pool.imap(_scan_one, files, chunksize=chunk)


def _init(scanner: Scanner) -> None:
    global _worker_scanner
    _worker_scanner = scanner


def _scan_one(item: ArtifactFile) -> FileResult:
    assert _worker_scanner is not None, "worker started without a scanner"
    return _worker_scanner.scan_file(item)
