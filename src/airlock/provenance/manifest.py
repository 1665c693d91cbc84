"""A hash manifest: every file of a model with its size and sha256, hashed in parallel.

hashlib releases the GIL while it hashes a buffer, so threads (one file each) use every core
without the cost of processes, and a single large file still hashes at full one-core speed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airlock import hf_cache
from airlock.artifact import ArtifactError, ArtifactFile, collect
from airlock.provenance.errors import ProvenanceError

SCHEMA_VERSION = 1
# Large enough that per-call overhead vanishes, small enough to stay in the CPU cache.
CHUNK_SIZE = 1024 * 1024

OnBytes = Callable[[int], None]


@dataclass(frozen=True)
class FileDigest:
    path: str  # relative to the manifest's root, with forward slashes
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    root: str
    files: tuple[FileDigest, ...]  # sorted by path
    links_out: tuple[str, ...] = ()  # links that leave the folder: reported, never followed

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def digests(self) -> dict[str, str]:
        return {f.path: f.sha256 for f in self.files}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "algorithm": "sha256",
            "root": self.root,
            "total_files": len(self.files),
            "total_bytes": self.total_bytes,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
            "links_out": list(self.links_out),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def model_root(path: Path) -> Path:
    """The folder that holds one model version: a cache repository means its current snapshot
    (the one `refs/main` names, else the last), since a signature or BOM covers one revision."""
    if not path.is_dir() or hf_cache.repo_folder(path) is None:
        return path
    found = hf_cache.snapshots(path)
    if not found:
        raise ProvenanceError(f"{path}: the cache repository has no snapshot")
    for snapshot in found:
        info = hf_cache.snapshot_of(snapshot)
        if info is not None and "main" in info.refs:
            return snapshot
    return found[-1]


def build_manifest(
    path: Path,
    *,
    jobs: int | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_bytes: OnBytes | None = None,
) -> Manifest:
    """Hash every file under `path`. `on_start(files, bytes)` is called once before hashing and
    `on_bytes(n)` after each chunk (from worker threads). Raises ProvenanceError."""
    try:
        items = collect([path])
    except ArtifactError as exc:
        raise ProvenanceError(str(exc)) from None
    base = path if path.is_dir() else path.parent
    inside = [item for item in items if not item.escapes_root]
    links_out = tuple(sorted(_relative(item, base) for item in items if item.escapes_root))
    sizes = {item.path: _size(item) for item in inside}
    if on_start is not None:
        on_start(len(inside), sum(sizes.values()))
    # Largest first, so that one big file started last does not leave the other cores idle.
    ordered = sorted(inside, key=lambda item: sizes[item.path], reverse=True)
    with ThreadPoolExecutor(max_workers=worker_count(jobs)) as pool:
        digests = list(pool.map(lambda item: _hash_item(item, on_bytes), ordered))
    files = [
        FileDigest(_relative(item, base), sizes[item.path], digest)
        for item, digest in zip(ordered, digests, strict=True)
    ]
    return Manifest(str(path), tuple(sorted(files, key=lambda f: f.path)), links_out)


def sha256_file(path: Path, on_bytes: OnBytes | None = None) -> str:
    """The file's sha256, read in fixed chunks into one reused buffer (constant memory)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as stream:
        while read := stream.readinto(buffer):
            digest.update(view[:read])
            if on_bytes is not None:
                on_bytes(read)
    return digest.hexdigest()


def worker_count(jobs: int | None) -> int:
    """Threads to hash with: `jobs`, else one per usable core (hashing is CPU-bound)."""
    if jobs is not None:
        return max(1, jobs)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


def _hash_item(item: ArtifactFile, on_bytes: OnBytes | None) -> str:
    try:
        return sha256_file(item.path, on_bytes)
    except OSError as exc:
        raise ProvenanceError(f"{item.display}: cannot read: {exc.strerror or exc}") from None


def _size(item: ArtifactFile) -> int:
    try:
        return item.path.stat().st_size
    except OSError as exc:
        raise ProvenanceError(f"{item.display}: cannot read: {exc.strerror or exc}") from None


def _relative(item: ArtifactFile, base: Path) -> str:
    return item.path.relative_to(base).as_posix()
