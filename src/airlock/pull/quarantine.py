"""Where pulled repositories wait, and where admitted ones go.

    AIRLOCK_HOME/quarantine/<org>--<name>/<commit>/files/    the repository, as downloaded
                                                 /partial/  unfinished downloads
                                                 /vet-report.json
    AIRLOCK_HOME/pulled/<org>--<name>/<commit>/             an admitted pull's files

No loader looks in either: they are not a Hugging Face cache (`models--org--name/snapshots/`),
and nothing in them is on a path any library searches. The gateway and the mirror read an
admitted pull's files from `pulled/`, each load and download checked against its manifest.
A refused pull stays in quarantine with its report until someone removes it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from airlock.home import ensure_home

QUARANTINE = "quarantine"
PULLED = "pulled"
REPORT = "vet-report.json"


@dataclass(frozen=True)
class Quarantine:
    root: Path

    @property
    def files(self) -> Path:
        return self.root / "files"

    @property
    def partial(self) -> Path:
        return self.root / "partial"

    @property
    def report(self) -> Path:
        return self.root / REPORT


def quarantine_for(repo_id: str, commit: str) -> Quarantine:
    root = _folder(QUARANTINE, repo_id, commit)
    for folder in (root / "files", root / "partial"):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Quarantine(root)


def release(quarantine: Quarantine, repo_id: str, commit: str) -> Path:
    """Move an admitted pull's files out of quarantine; where they now are. A folder left by
    an earlier pull of the same commit is replaced by these just-checked files."""
    target = _folder(PULLED, repo_id, commit)
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    quarantine.files.rename(target)
    shutil.rmtree(quarantine.root, ignore_errors=True)
    return target


def _folder(kind: str, repo_id: str, commit: str) -> Path:
    return ensure_home() / kind / repo_id.replace("/", "--") / commit
