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
    """Files in name order, each folder's own before its subfolders' (as os.walk goes, top
    down), read with scandir so a plain file costs no stat call of its own."""
    found: list[ArtifactFile] = []
    pending = [root]
    while pending:
        here = pending.pop()
        try:
            with os.scandir(here) as listing:
                entries = sorted(listing, key=_name)
        except OSError:
            continue  # an unreadable folder is skipped, as os.walk skips it
        folders: list[Path] = []
        linked_folders: list[os.DirEntry[str]] = []
        files: list[os.DirEntry[str]] = []
        for entry in entries:
            if not _is_dir(entry):
                files.append(entry)
            elif entry.is_symlink():
                linked_folders.append(entry)
            else:
                folders.append(here / entry.name)
        for entry in files + linked_folders:
            path = here / entry.name
            if entry.is_symlink():
                target = path.resolve()
                if not (target == boundary or boundary in target.parents):
                    found.append(ArtifactFile(path, str(path), True, snapshot))
                    continue
                if not target.is_file():
                    continue
            elif not entry.is_file():
                continue
            found.append(ArtifactFile(path, str(path), snapshot=snapshot))
        pending.extend(reversed(folders))
    return found


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
