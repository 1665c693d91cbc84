"""What was handed in: the files under the given paths, walked without leaving them.

A link is followed only when its target stays inside the folder that was handed in; for a
Hugging Face cache snapshot, inside the cache repository (its files link into `blobs/`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from airlock import hf_cache
from airlock.hf_cache import HfSnapshot


class ArtifactError(Exception):
    """A path that does not exist or cannot be read."""


@dataclass(frozen=True)
class ArtifactFile:
    path: Path
    display: str
    # Set when the entry is a link whose target leaves the folder that was handed in.
    escapes_root: bool = False
    snapshot: HfSnapshot | None = None


def collect(paths: Iterable[str | os.PathLike[str]]) -> list[ArtifactFile]:
    """Every regular file under `paths`, in order, links out of a folder reported not followed."""
    files: list[ArtifactFile] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise ArtifactError(f"{raw}: no such file or directory")
        if path.is_dir() and not path.is_symlink():
            files.extend(_walk_folder(path))
        elif path.is_file():
            files.append(ArtifactFile(path, str(raw), snapshot=hf_cache.snapshot_of(path)))
        else:
            raise ArtifactError(f"{raw}: not a regular file or directory")
    return files


def _walk_folder(path: Path) -> list[ArtifactFile]:
    if hf_cache.repo_folder(path) is not None:
        found: list[ArtifactFile] = []
        for snapshot_dir in hf_cache.snapshots(path):
            snapshot = hf_cache.snapshot_of(snapshot_dir)
            found.extend(_walk(snapshot_dir, path.resolve(), snapshot))
        return found
    snapshot = hf_cache.snapshot_of(path)
    boundary = snapshot.repo_root if snapshot is not None else path
    return _walk(path, boundary.resolve(), snapshot)


def _walk(root: Path, boundary: Path, snapshot: HfSnapshot | None) -> list[ArtifactFile]:
    found: list[ArtifactFile] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        linked_dirs = [d for d in dirnames if (here / d).is_symlink()]
        for name in sorted(filenames) + linked_dirs:
            entry = here / name
            display = str(entry)
            if entry.is_symlink():
                target = entry.resolve()
                if not (target == boundary or boundary in target.parents):
                    found.append(ArtifactFile(entry, display, True, snapshot))
                    continue
                if not target.is_file():
                    continue
            elif not entry.is_file():
                continue
            found.append(ArtifactFile(entry, display, snapshot=snapshot))
    return found
