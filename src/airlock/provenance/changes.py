"""What changed since a model was signed: the signed file list against a fresh manifest.

model-signing says only "Signature mismatch" with raw digest reprs; the organization needs the
names of the files that were modified, added, removed or renamed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from airlock.provenance.manifest import Manifest

# model-signing's name for the only resource of a signed single file.
SINGLE_FILE = "."


@dataclass(frozen=True)
class SignedFiles:
    digests: dict[str, str]  # path -> sha256, as the signature lists them
    ignored: tuple[str, ...]  # paths the signer left out (git metadata, the signature itself)


@dataclass(frozen=True)
class Changes:
    modified: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()  # (signed name, current name), same bytes

    def __bool__(self) -> bool:
        return bool(self.modified or self.added or self.removed or self.renamed)

    def describe(self) -> list[str]:
        return [
            *(f"modified: {p}" for p in self.modified),
            *(f"added: {p}" for p in self.added),
            *(f"removed: {p}" for p in self.removed),
            *(f"renamed: {old} -> {new}" for old, new in self.renamed),
        ]


def read_signed_files(signature: Path) -> SignedFiles:
    """The file list inside a signature bundle. Call it only after the signature verified:
    before that the list is an unauthenticated claim. Raises ValueError if it is malformed."""
    try:
        bundle = json.loads(signature.read_bytes())
        statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        predicate = statement["predicate"]
        digests = {
            str(r["name"]): str(r["digest"])
            for r in predicate["resources"]
            if r.get("algorithm") == "sha256"
        }
        ignored = tuple(str(p) for p in predicate["serialization"].get("ignore_paths", ()))
    except (OSError, KeyError, TypeError, AttributeError, binascii.Error, ValueError) as exc:
        raise ValueError(f"unreadable signature bundle: {exc}") from None
    return SignedFiles(digests, ignored)


def compare(signed: SignedFiles, current: Manifest, single_file: bool) -> Changes:
    """Differences between what was signed and what is there now, ignored paths left out."""
    if single_file:
        (only,) = current.files
        actual = {SINGLE_FILE: only.sha256}
    else:
        actual = {p: d for p, d in current.digests().items() if not _ignored(p, signed.ignored)}
    changes = diff(signed.digests, actual)
    if not single_file:
        return changes
    name = current.files[0].path
    return Changes(modified=tuple(name for _ in changes.modified))


def diff(signed: Mapping[str, str], actual: Mapping[str, str]) -> Changes:
    modified = sorted(p for p in signed.keys() & actual.keys() if signed[p] != actual[p])
    added = sorted(actual.keys() - signed.keys())
    removed = sorted(signed.keys() - actual.keys())
    # A removed file whose exact bytes reappear under a new name was renamed (or moved).
    renamed: list[tuple[str, str]] = []
    for old in list(removed):
        new = next((p for p in added if actual[p] == signed[old]), None)
        if new is not None:
            renamed.append((old, new))
            removed.remove(old)
            added.remove(new)
    return Changes(tuple(modified), tuple(added), tuple(removed), tuple(renamed))


def _ignored(path: str, ignored: tuple[str, ...]) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in ignored)
