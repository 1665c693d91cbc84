"""The dossier's view of provenance: a hash manifest and a signature check (airlock.provenance).

A narrow seam: the dossier, the registry and `airlock models verify` hash through here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from airlock.provenance.errors import ProvenanceError
from airlock.provenance.manifest import FileDigest, build_manifest
from airlock.provenance.signature_file import find_signature
from airlock.provenance.signing import verify

__all__ = ["find_signature", "hash_manifest", "manifest_digest", "verify_signature"]


def hash_manifest(path: Path) -> tuple[FileDigest, ...]:
    """Every file under `path` (links out of it are not followed), sorted by path.

    Raises airlock.provenance.errors.ProvenanceError for a file that cannot be read."""
    manifest = build_manifest(path)
    return manifest.files


def manifest_digest(files: Iterable[FileDigest]) -> str:
    """One digest for the whole model version: equal exactly when every path and byte is."""
    pairs = sorted((f.path, f.sha256) for f in files)
    return "sha256:" + hashlib.sha256(json.dumps(pairs).encode("utf-8")).hexdigest()


def verify_signature(path: Path, signature: Path, keys: Iterable[Path]) -> tuple[bool, str]:
    """(verified, detail): whether one of `keys` signed exactly the files under `path`."""
    failures = []
    for key in keys:
        try:
            result = verify(path, signature, public_key=key)
        except ProvenanceError as exc:
            failures.append(f"{key.name}: {exc}")
            continue
        if result.verified:
            return True, f"{signature.name} signed with trusted key {key.name}"
        changes = "; ".join(result.changes.describe())
        failures.append(f"{key.name}: {result.reason}" + (f" ({changes})" if changes else ""))
    return False, "; ".join(failures) or "no trusted key"
