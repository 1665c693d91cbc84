"""The Hugging Face cache layout: `<type>s--<org>--<name>/snapshots/<revision>/...`.

Snapshot files are links into the repository's `blobs/`; scanning a snapshot means following
those links, but only as far as the repository folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}


@dataclass(frozen=True)
class HfSnapshot:
    repo_type: str
    repo_id: str
    revision: str
    refs: tuple[str, ...]
    repo_root: Path
    path: Path

    def describe(self) -> str:
        refs = f" ({', '.join(self.refs)})" if self.refs else ""
        return f"Hugging Face {self.repo_type} {self.repo_id} @ {self.revision}{refs}"


def repo_folder(path: Path) -> tuple[str, str] | None:
    """(repo type, repo id) if `path` is a cache repository folder like `models--org--name`."""
    prefix, sep, rest = path.name.partition("--")
    if not sep or prefix not in _TYPES or not rest or not (path / "snapshots").is_dir():
        return None
    return _TYPES[prefix], rest.replace("--", "/")


def snapshot_of(path: Path) -> HfSnapshot | None:
    """The snapshot `path` is (or lies in), if it is inside a cache repository."""
    absolute = path.absolute()
    for candidate in (absolute, *absolute.parents):
        if candidate.parent.name != "snapshots":
            continue
        repo = repo_folder(candidate.parent.parent)
        if repo is None:
            return None
        root = candidate.parent.parent
        return HfSnapshot(
            repo[0], repo[1], candidate.name, _refs(root, candidate.name), root, candidate
        )
    return None


def snapshots(repo_root: Path) -> list[Path]:
    """Every snapshot of a cache repository, oldest name first (stable order)."""
    return sorted(p for p in (repo_root / "snapshots").iterdir() if p.is_dir())


def _refs(repo_root: Path, revision: str) -> tuple[str, ...]:
    refs_dir = repo_root / "refs"
    if not refs_dir.is_dir():
        return ()
    names = []
    for ref in sorted(refs_dir.rglob("*")):
        try:
            if ref.is_file() and ref.read_text(encoding="utf-8").strip() == revision:
                names.append(ref.relative_to(refs_dir).as_posix())
        except (OSError, UnicodeDecodeError):
            continue
    return tuple(names)
