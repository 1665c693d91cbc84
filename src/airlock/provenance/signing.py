"""Sign and verify a model with OpenSSF model signing (the `model-signing` library), offline:
an elliptic-curve key pair, or a signing certificate checked against the certificates you trust.

Links are followed so that Hugging Face cache snapshots (links into `blobs/`) can be signed, but
only after airlock.artifact has checked that none leaves the folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from airlock.artifact import ArtifactError, collect
from airlock.provenance.changes import Changes, compare, read_signed_files
from airlock.provenance.errors import ProvenanceError
from airlock.provenance.keys import check_certificates, check_private_key, check_public_key
from airlock.provenance.manifest import build_manifest
from airlock.provenance.signature_file import check_signature

if TYPE_CHECKING:
    from model_signing import hashing

# model-signing's message when the signature is genuine but the files differ from it.
_MISMATCH = "Signature mismatch"


@dataclass(frozen=True)
class Signed:
    signature: Path
    files: int


@dataclass(frozen=True)
class Verification:
    verified: bool
    files: int = 0  # files the signature covers (known when the signature itself verified)
    reason: str = ""  # one line, when not verified
    changes: Changes = field(default_factory=Changes)
    links_out: tuple[str, ...] = ()


def sign(
    model: Path,
    signature: Path,
    key: Path,
    certificate: Path | None = None,
    chain: Sequence[Path] = (),
) -> Signed:
    """Sign `model` with a private key (and its certificate, if given). Raises ProvenanceError."""
    from model_signing import signing

    check_private_key(key)
    if certificate is not None:
        check_certificates([certificate, *chain])
    links_out = _links_out(model)
    if links_out:
        raise ProvenanceError(f"{model}: refusing to sign a link that leaves it: {links_out[0]}")
    config = signing.Config()  # type: ignore[no-untyped-call]
    config.set_hashing_config(_hashing(model, signature))
    try:
        if certificate is None:
            config.use_elliptic_key_signer(private_key=key)
        else:
            # model-signing 1.1 cannot read an empty chain; a self-signed one is its own.
            config.use_certificate_signer(
                private_key=key,
                signing_certificate=certificate,
                certificate_chain=chain or [certificate],
            )
        config.sign(model, signature)
    except (ValueError, TypeError) as exc:  # e.g. a certificate that is not the key's
        raise ProvenanceError(f"cannot sign {model}: {exc}") from None
    except OSError as exc:
        raise ProvenanceError(f"cannot sign {model}: {exc.strerror or exc}") from None
    return Signed(signature, len(read_signed_files(signature).digests))


def verify(
    model: Path,
    signature: Path,
    *,
    public_key: Path | None = None,
    certificates: Sequence[Path] = (),
) -> Verification:
    """Whether `model` is exactly what `signature` signed, by `public_key`'s pair or by a
    certificate that chains to `certificates`. Raises ProvenanceError for unusable inputs,
    a signature file that is not a Sigstore bundle among them."""
    from model_signing import verifying

    if not model.exists():
        raise ProvenanceError(f"{model}: no such file or directory")
    check_signature(signature)
    if public_key is not None:
        check_public_key(public_key)
    elif certificates:
        check_certificates(certificates)
    else:
        raise ProvenanceError("give a public key or the certificates to trust")
    links_out = _links_out(model)
    if links_out:
        reason = f"{len(links_out)} link(s) leave the folder"
        return Verification(False, reason=reason, links_out=links_out)

    # The signed manifest's own ignore list (the signature, if inside) is applied by the library.
    config = verifying.Config()  # type: ignore[no-untyped-call]
    config.set_hashing_config(_hashing(model, None))
    if public_key is not None:
        config.use_elliptic_key_verifier(public_key=public_key)
    else:
        config.use_certificate_verifier(certificate_chain=certificates)
    try:
        config.verify(model, signature)
    # Fail closed: whatever stops verification (bad signature, wrong key, untrusted
    # certificate, a malformed bundle, an unreadable file) means "not verified".
    except Exception as exc:
        if not str(exc).startswith(_MISMATCH):
            return Verification(False, reason=_signature_failure(signature, exc))
        return _explain_mismatch(model, signature, exc)
    return Verification(True, files=len(read_signed_files(signature).digests))


def _explain_mismatch(model: Path, signature: Path, exc: Exception) -> Verification:
    # The signature verified (the mismatch is found after), so its file list is authentic.
    signed = read_signed_files(signature)
    changes = compare(signed, build_manifest(model), single_file=model.is_file())
    reason = "files differ from the signed ones" if changes else str(exc).splitlines()[0]
    return Verification(False, len(signed.digests), reason, changes)


def _signature_failure(signature: Path, exc: Exception) -> str:
    from cryptography.exceptions import InvalidSignature

    if isinstance(exc, InvalidSignature):
        return f"the signature {signature} does not verify: altered, or made with another key"
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"the signature {signature} does not verify: {detail}"


def _hashing(model: Path, signature: Path | None) -> hashing.Config:
    """sha256 per file, links followed (checked first), the signature left out if inside.
    Set explicitly: model-signing 1.1 forgets `allow_symlinks` when it guesses the config."""
    from model_signing import hashing

    config = hashing.Config().set_allow_symlinks(True)  # type: ignore[no-untyped-call]
    folder, file = model.absolute(), signature.absolute() if signature else None
    if file is not None and model.is_dir() and folder in file.parents:
        config.set_ignored_paths(paths=[file.relative_to(folder)])
    return config


def _links_out(model: Path) -> tuple[str, ...]:
    try:
        return tuple(item.display for item in collect([model]) if item.escapes_root)
    except ArtifactError as exc:
        raise ProvenanceError(str(exc)) from None
