"""Check keys and certificates before model-signing reads them, so that a wrong file is a
clear usage error (exit 2) and not a verification failure or a traceback."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from airlock.provenance.errors import ProvenanceError

# The curves OpenSSF model signing accepts (Sigstore's key specs).
CURVES = ("secp256r1", "secp384r1", "secp521r1")
_HOW = "see docs/provenance.md to make an EC P-256 key pair"


def check_private_key(path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = _read(path, "key")
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:
        raise ProvenanceError(f"{path}: the key is encrypted; give an unencrypted key") from None
    except ValueError:
        raise ProvenanceError(f"{path}: not a PEM private key ({_HOW})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in CURVES:
        raise ProvenanceError(f"{path}: not an elliptic-curve P-256/384/521 key ({_HOW})")


def check_public_key(path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    data = _read(path, "public key")
    try:
        key = load_pem_public_key(data)
    except ValueError:
        raise ProvenanceError(f"{path}: not a PEM public key ({_HOW})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in CURVES:
        raise ProvenanceError(f"{path}: not an elliptic-curve P-256/384/521 public key")


def check_certificates(paths: Sequence[Path]) -> None:
    from cryptography.x509 import load_pem_x509_certificates

    for path in paths:
        try:
            load_pem_x509_certificates(_read(path, "certificate"))
        except ValueError:
            raise ProvenanceError(f"{path}: not a PEM X.509 certificate") from None


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ProvenanceError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
