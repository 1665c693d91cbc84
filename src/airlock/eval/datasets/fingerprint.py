"""Which bytes were evaluated: one sha256 for the data set, and its size.

A data set of one file has that file's sha256 (what `sha256sum FILE` prints). One of several
files (a BEIR folder, a manifest with its audio) has the sha256 of the JSON list of
[path, sha256] pairs, paths relative to the data set's folder in forward slashes, sorted, as
model manifests are digested: equal exactly when every path and byte is."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from airlock.eval.errors import DataError

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    bytes: int


def fingerprint(root: Path, files: tuple[Path, ...]) -> Fingerprint:
    if len(files) == 1:
        digest, size = _hash(files[0])
        return Fingerprint(digest, size)
    base = (root if root.is_dir() else root.parent).resolve()
    pairs = []
    total = 0
    for path in files:
        digest, size = _hash(path)
        pairs.append((path.resolve().relative_to(base).as_posix(), digest))
        total += size
    listing = json.dumps(sorted(pairs)).encode("utf-8")
    return Fingerprint(hashlib.sha256(listing).hexdigest(), total)


def _hash(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise DataError(path, f"cannot read it: {exc.strerror or exc}") from None
    return digest.hexdigest(), size
