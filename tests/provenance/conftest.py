"""A small model folder, EC P-256 key pairs and self-signed signing certificates, made here."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REVISION = "0123456789abcdef0123456789abcdef01234567"
CARD = """\
---
license: apache-2.0
pipeline_tag: text-generation
datasets:
  - acme/web-text
  - acme/code
---
# Tiny

A tiny model.

## Limitations

- It makes things up.
- English only.

## Training
"""


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    certificate: Path


def write_model(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "README.md").write_text(CARD)
    (root / "config.json").write_text(
        json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]})
    )
    (root / "model.safetensors").write_bytes(bytes(range(256)) * 64)
    (root / "sub" / "tokenizer.json").write_text('{"vocab": {}}')
    (root / "empty.txt").write_bytes(b"")
    return root


def make_cache(root: Path) -> Path:
    """models--acme--tiny/snapshots/<rev>/ whose files link into blobs/, as the hub client does."""
    repo = root / "models--acme--tiny"
    source = write_model(root / "source")
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    snapshot = repo / "snapshots" / REVISION
    for index, file in enumerate(sorted(p for p in source.rglob("*") if p.is_file())):
        blob = repo / "blobs" / f"blob{index}"
        blob.write_bytes(file.read_bytes())
        link = snapshot / file.relative_to(source)
        link.parent.mkdir(parents=True, exist_ok=True)
        depth = len(file.relative_to(source).parts) + 1
        link.symlink_to(Path("../" * depth) / "blobs" / blob.name)
    return repo


def make_key_pair(folder: Path, name: str) -> KeyPair:
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    private = folder / f"{name}.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = folder / f"{name}.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} model signer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, False, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    certificate = folder / f"{name}.crt"
    certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return KeyPair(private, public, certificate)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model(tmp_path / "tiny")


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key_pair(tmp_path_factory.mktemp("keys"), "signer")


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key_pair(tmp_path_factory.mktemp("other"), "stranger")
