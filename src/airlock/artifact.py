"""What was handed in: the files under the given paths, walked without leaving them."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class ArtifactError(Exception):
    """A path that does not exist or cannot be read."""


@dataclass(frozen=True)
class ArtifactFile:
    path: Path
    display: str
    # Set when the entry is a link whose target leaves the folder that was handed in.
    escapes_root: bool = False


def collect(paths: Iterable[str | os.PathLike[str]]) -> list[ArtifactFile]:
    """Every regular file under `paths`, sorted, links out of a folder reported not followed."""
    files: list[ArtifactFile] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise ArtifactError(f"{raw}: no such file or directory")
        if path.is_dir() and not path.is_symlink():
            files.extend(_walk(path))
        elif path.is_file():
            files.append(ArtifactFile(path, str(raw)))
        else:
            raise ArtifactError(f"{raw}: not a regular file or directory")
    return files


def _walk(root: Path) -> list[ArtifactFile]:
    real_root = root.resolve()
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
                inside = target == real_root or real_root in target.parents
                if not inside:
                    found.append(ArtifactFile(entry, display, escapes_root=True))
                    continue
                if not target.is_file():
                    continue
            elif not entry.is_file():
                continue
            found.append(ArtifactFile(entry, display))
    return found
