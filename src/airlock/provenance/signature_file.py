"""Where a model's signature lies, and whether a file is one at all: an OpenSSF model signature
is a Sigstore bundle, a JSON object whose `mediaType` names the bundle format. Anything else
(a README, a key, a config.json, weights) given as the signature is a usage error that says
what the file is, not a verification failure."""

from __future__ import annotations

import json
from pathlib import Path

from airlock.provenance.errors import ProvenanceError

# model-signing's own default name, inside the model folder.
INSIDE_NAME = "model.sig"
# "application/vnd.dev.sigstore.bundle.v0.3+json" and the earlier "...bundle+json;version=0.1".
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle"
# Far above a signature over a million files; a larger file is not one, and is not read whole.
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
_NOT_A_SIGNATURE = "is not an OpenSSF model signature (a Sigstore bundle)"


def default_signature_path(model: Path) -> Path:
    """`<folder>.sig` beside the folder (or file): outside what it signs."""
    absolute = model.absolute()
    return absolute.parent / f"{absolute.name}.sig"


def signature_candidates(model: Path) -> tuple[Path, ...]:
    """Where a signature usually lies: `<PATH>.sig` beside it (`airlock sign`'s default), or
    `model.sig` inside a folder (the `model_signing` command's default)."""
    beside = default_signature_path(model)
    return (beside, model / INSIDE_NAME) if model.is_dir() else (beside,)


def find_signature(model: Path) -> Path | None:
    return next((path for path in signature_candidates(model) if path.is_file()), None)


def check_signature(path: Path) -> None:
    """Raise ProvenanceError saying what `path` is, unless it is a Sigstore bundle (which may
    still fail to verify: that is for verification to say)."""
    if path.is_dir():
        raise ProvenanceError(f"{path} is a folder, not a signature file")
    if not path.is_file():
        raise ProvenanceError(f"{path}: no such signature file")
    size = path.stat().st_size
    if size > MAX_BUNDLE_BYTES:
        raise ProvenanceError(f"{path} {_NOT_A_SIGNATURE}: it is {size:,} bytes, far too large")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProvenanceError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    what = _not_a_bundle(data)
    if what is not None:
        raise ProvenanceError(f"{path} {_NOT_A_SIGNATURE}: {what}")


def _not_a_bundle(data: bytes) -> str | None:
    """What the bytes are, when they are not a Sigstore bundle; None when they are one."""
    if not data.strip():
        return "it is empty"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"it is binary data ({len(data):,} bytes), not JSON"
    if "\0" in text:
        return f"it is binary data ({len(data):,} bytes), not JSON"
    stripped = text.lstrip()
    if stripped.startswith("-----BEGIN"):
        label = stripped.splitlines()[0].strip("- ").removeprefix("BEGIN ").lower()
        return f"it is a PEM {label} (a key goes with --key, a certificate with --certificate)"
    try:
        document = json.loads(text)
    except ValueError:
        first = stripped.splitlines()[0][:60]
        return f"it is text, not JSON (it begins {first!r})"
    if not isinstance(document, dict):
        return f"it is JSON without a `mediaType` (a JSON {type(document).__name__}, not an object)"
    media_type = document.get("mediaType")
    if not isinstance(media_type, str):
        keys = ", ".join(sorted(map(str, document))[:6]) or "none"
        return f"it is JSON without a `mediaType` (its keys: {keys})"
    if not media_type.startswith(BUNDLE_MEDIA_TYPE):
        return f"it is JSON of media type {media_type[:80]!r}, not {BUNDLE_MEDIA_TYPE}"
    return None
