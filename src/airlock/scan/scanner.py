"""Scan files: detect each one's format from its bytes and run the matching reader."""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from airlock.artifact import ArtifactFile, collect
from airlock.findings import Finding, Location, Severity
from airlock.rules import rule
from airlock.scan.context import Blob, Buffer, Kind, Reader
from airlock.scan.formats.detect import readings, unrecognized_severity
from airlock.scan.formats.polyglot import polyglot_finding
from airlock.scan.parallel import scan_in_workers, worker_count
from airlock.scan.registry import LazyReader, default_readers
from airlock.scan.results import FileResult, ScanReport


@dataclass(frozen=True)
class Limits:
    max_depth: int = 8
    # Per decompression (archive member, compressed stream, decoded payload).
    max_decompressed_bytes: int = 256 * 1024 * 1024


class _Context:
    """What a reader may ask of the scanner while it reads one file."""

    def __init__(self, scanner: Scanner, file: str, depth: int = 0) -> None:
        self.scanner = scanner
        self.file = file
        self.depth = depth

    @property
    def max_decompressed_bytes(self) -> int:
        return self.scanner.limits.max_decompressed_bytes

    def finding(
        self,
        rule_id: str,
        blob: Blob,
        location: Location,
        message: str,
        evidence: str = "",
        severity: Severity | None = None,
    ) -> Finding:
        chosen = severity if severity is not None else rule(rule_id).default_severity
        return Finding(rule_id, chosen, blob.file, location, message, evidence)

    def scan_nested(self, data: Buffer, location: Location, name: str) -> list[Finding]:
        blob = Blob(data, self.file, location, name)
        if self.depth >= self.scanner.limits.max_depth:
            return [
                self.finding(
                    "AIR003",
                    blob,
                    location,
                    f"Content is nested more than {self.scanner.limits.max_depth} levels deep; "
                    "the innermost level was not inspected.",
                )
            ]
        inner = _Context(self.scanner, self.file, self.depth + 1)
        return self.scanner.scan_readings(blob, readings(data, name), inner)


class Scanner:
    def __init__(self, readers: Sequence[Reader] | None = None, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.readers: dict[Kind, Reader] = {}
        for reader in readers if readers is not None else default_readers():
            for kind in reader.kinds:
                self.readers[kind] = reader

    def preload(self, kinds: Iterable[Kind]) -> None:
        """Import the readers of `kinds` now (each is otherwise imported on first use)."""
        for kind in kinds:
            reader = self.readers.get(kind)
            if isinstance(reader, LazyReader):
                reader.load()

    def scan_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        on_file: Callable[[FileResult], None] | None = None,
        on_start: Callable[[int], None] | None = None,
        jobs: int | None = None,
    ) -> ScanReport:
        """Scan every file under `paths`; raises ArtifactError for a path that is not there.

        `jobs` processes share the work (default: one per core once there are enough files).
        """
        files = collect(paths)
        if on_start is not None:
            on_start(len(files))
        workers = worker_count(len(files), jobs)
        stream = (
            scan_in_workers(self, files, workers)
            if workers > 1
            else (self.scan_file(item) for item in files)
        )
        results = []
        for result in stream:
            results.append(result)
            if on_file is not None:
                on_file(result)
        return ScanReport(tuple(results))

    def scan_file(self, item: ArtifactFile) -> FileResult:
        result = self._scan_file(item)
        return replace(result, snapshot=item.snapshot) if item.snapshot else result

    def _scan_file(self, item: ArtifactFile) -> FileResult:
        ctx = _Context(self, item.display)
        if item.escapes_root:
            blob = Blob(b"", item.display, Location(), item.path.name)
            message = (
                f"A link points outside the folder (to {os.readlink(item.path)}); not followed."
            )
            return FileResult(
                item.display, "link", 0, False, (ctx.finding("AIR203", blob, Location(), message),)
            )
        try:
            with _open_bytes(item.path) as data:
                kinds = readings(data, item.path.name)
                blob = Blob(data, item.display, Location(), item.path.name)
                findings = self.scan_readings(blob, kinds, ctx)
                size = len(data)
        except OSError as exc:
            blob = Blob(b"", item.display, Location(), item.path.name)
            finding = ctx.finding(
                "AIR001", blob, Location(), f"The file could not be read: {exc.strerror or exc}."
            )
            return FileResult(item.display, Kind.UNKNOWN.value, 0, False, (finding,))
        inspected = any(kind in self.readers for kind in kinds) or any(
            f.rule_id == "AIR004" for f in findings
        )
        return FileResult(item.display, kinds[0].value, size, inspected, tuple(findings))

    def scan_readings(self, blob: Blob, kinds: Sequence[Kind], ctx: _Context) -> list[Finding]:
        """Scan the blob as each kind a loader may read it as (see `readings`), and report a
        blob that is valid as several: the first kind is the primary one."""
        polyglot = polyglot_finding(ctx, blob, kinds)
        findings = [] if polyglot is None else [polyglot]
        for kind in kinds:
            findings += self.scan_blob(blob, kind, ctx)
        return findings

    def scan_blob(self, blob: Blob, kind: Kind, ctx: _Context) -> list[Finding]:
        reader = self.readers.get(kind)
        if reader is None:
            severity = unrecognized_severity(blob.name) if kind is Kind.UNKNOWN else None
            if severity is None:
                return []
            return [
                ctx.finding(
                    "AIR004",
                    blob,
                    blob.location,
                    f"`{blob.name}` is named like a model file, but its content matches no "
                    "format Airlock knows, so it could not be inspected.",
                    bytes(blob.data[:16]).hex(" "),
                    severity,
                )
            ]
        try:
            return list(reader.scan(blob, ctx))
        except (MemoryError, RecursionError) as exc:
            return [
                ctx.finding(
                    "AIR003",
                    blob,
                    blob.location,
                    f"Inspection ran out of resources ({type(exc).__name__}).",
                )
            ]
        except Exception as exc:  # a reader bug must fail closed, never pass or crash the run
            return [
                ctx.finding(
                    "AIR001",
                    blob,
                    blob.location,
                    f"The {kind.value} reader could not parse this content "
                    f"({type(exc).__name__}: {exc}).",
                )
            ]


# Files up to this size are read into memory: one read costs less than setting up and
# tearing down a mapping, and most files in a folder of models are small.
READ_WHOLE_BELOW = 1 << 20


class _open_bytes:
    """Map a file read-only (no copy), or read it when it is small; empty files are b""."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._map: mmap.mmap | None = None

    def __enter__(self) -> Buffer:
        # A bare descriptor, not a file object: this runs once per file (a third cheaper).
        fd = os.open(self.path, _OPEN_FLAGS)
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                return b""
            if size < READ_WHOLE_BELOW:
                return _read_all(fd, size)
            self._map = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)
        return self._map

    def __exit__(self, *exc: object) -> None:
        if self._map is not None:
            # A view may still point into the map; it is unmapped once that view is freed.
            with contextlib.suppress(BufferError):
                self._map.close()


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def _read_all(fd: int, size: int) -> bytes:
    """The whole file: one read when it is `size` bytes, as fstat said; up to its end if it
    changed since (or a read came back short)."""
    data = os.read(fd, size + 1)
    if len(data) == size:
        return data
    parts = [data]
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)
