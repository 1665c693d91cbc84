"""A policy that requires a signature: verified by a trusted key, or refused."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.vet.conftest import CLEAN

from airlock.dossier.build import build_dossier
from airlock.policy.evaluate import evaluate
from airlock.policy.model import Policy, SignatureRules
from airlock.provenance.signature_file import default_signature_path
from airlock.provenance.signing import sign


def _key_pair(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / "key.pem", folder / "key.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_signature_verified_then_tampered(tmp_path: Path, policy: Policy) -> None:
    model = tmp_path / "model"
    shutil.copytree(CLEAN, model)
    private, public = _key_pair(tmp_path)
    sign(model, default_signature_path(model), private)
    required = replace(policy, signature=SignatureRules(required=True, trusted_keys=(public,)))

    dossier = build_dossier(model, required.dossier_options())
    assert dossier.provenance.signature == "verified"
    assert evaluate(dossier, required).admitted

    (model / "README.md").write_text("---\nlicense: apache-2.0\n---\nchanged\n")
    tampered = build_dossier(model, required.dossier_options())
    assert tampered.provenance.signature == "invalid"
    assert "README.md" in tampered.provenance.signature_detail
    assert {r.rule for r in evaluate(tampered, required).reasons} == {"signature.required"}


def test_unsigned_model_is_refused_when_required(policy: Policy) -> None:
    required = replace(policy, signature=SignatureRules(required=True))
    dossier = build_dossier(CLEAN, required.dossier_options())
    assert dossier.provenance.signature == "absent"
    assert not evaluate(dossier, required).admitted
