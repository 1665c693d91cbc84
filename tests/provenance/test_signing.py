"""Sign/verify round trips (key and certificate modes) and every way the bytes can change."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from tests.provenance.conftest import KeyPair, make_cache

from airlock.provenance.errors import ProvenanceError
from airlock.provenance.signature_file import default_signature_path
from airlock.provenance.signing import sign, verify


@pytest.fixture
def signed(model: Path, keys: KeyPair) -> Path:
    signature = default_signature_path(model)
    sign(model, signature, keys.private)
    return signature


def test_key_round_trip(model: Path, keys: KeyPair, signed: Path) -> None:
    assert signed == model.parent / "tiny.sig"
    result = verify(model, signed, public_key=keys.public)
    assert result.verified and result.files == 5 and not result.changes


def test_certificate_round_trip(model: Path, keys: KeyPair, tmp_path: Path) -> None:
    signature = tmp_path / "cert.sig"
    sign(model, signature, keys.private, certificate=keys.certificate)
    assert verify(model, signature, certificates=[keys.certificate]).verified


def test_certificate_not_trusted(
    model: Path, keys: KeyPair, other_keys: KeyPair, tmp_path: Path
) -> None:
    signature = tmp_path / "cert.sig"
    sign(model, signature, keys.private, certificate=keys.certificate)
    result = verify(model, signature, certificates=[other_keys.certificate])
    assert not result.verified and str(signature) in result.reason


def test_modified_file_is_named(model: Path, keys: KeyPair, signed: Path) -> None:
    (model / "sub" / "tokenizer.json").write_text('{"vocab": {"evil": 1}}')
    result = verify(model, signed, public_key=keys.public)
    assert not result.verified
    assert result.changes.modified == ("sub/tokenizer.json",)
    assert result.changes.describe() == ["modified: sub/tokenizer.json"]


def test_added_file_is_named(model: Path, keys: KeyPair, signed: Path) -> None:
    (model / "extra.py").write_text("import os\n")
    result = verify(model, signed, public_key=keys.public)
    assert not result.verified and result.changes.added == ("extra.py",)


def test_removed_file_is_named(model: Path, keys: KeyPair, signed: Path) -> None:
    (model / "config.json").unlink()
    result = verify(model, signed, public_key=keys.public)
    assert not result.verified and result.changes.removed == ("config.json",)


def test_renamed_file_is_named(model: Path, keys: KeyPair, signed: Path) -> None:
    (model / "model.safetensors").rename(model / "model.bin")
    result = verify(model, signed, public_key=keys.public)
    assert not result.verified
    assert result.changes.renamed == (("model.safetensors", "model.bin"),)


def test_tampered_signature_fails(model: Path, keys: KeyPair, signed: Path) -> None:
    bundle = json.loads(signed.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "00" * 32
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    signed.write_text(json.dumps(bundle))
    result = verify(model, signed, public_key=keys.public)
    assert not result.verified and "altered, or made with another key" in result.reason


def test_garbled_signature_fails(model: Path, keys: KeyPair, signed: Path) -> None:
    """A Sigstore bundle whose envelope is broken is a signature that does not verify."""
    bundle = json.loads(signed.read_text())
    bundle["dsseEnvelope"]["payload"] = "not base64 JSON"
    signed.write_text(json.dumps(bundle))
    result = verify(model, signed, public_key=keys.public)
    assert not result.verified and str(signed) in result.reason


def test_a_file_that_is_not_a_signature_is_refused(
    model: Path, keys: KeyPair, signed: Path
) -> None:
    """Not a bundle at all (here: text) is a usage error, not "not verified"."""
    signed.write_text("not a bundle")
    with pytest.raises(ProvenanceError, match="it is text, not JSON"):
        verify(model, signed, public_key=keys.public)


def test_wrong_key_fails(model: Path, other_keys: KeyPair, signed: Path) -> None:
    result = verify(model, signed, public_key=other_keys.public)
    assert not result.verified and "Key mismatch" in result.reason


def test_signature_inside_the_folder_is_left_out(model: Path, keys: KeyPair) -> None:
    signature = model / "model.sig"
    sign(model, signature, keys.private)
    assert verify(model, signature, public_key=keys.public).verified


def test_single_file(model: Path, keys: KeyPair, tmp_path: Path) -> None:
    weights = model / "model.safetensors"
    signature = tmp_path / "weights.sig"
    sign(weights, signature, keys.private)
    assert verify(weights, signature, public_key=keys.public).verified
    weights.write_bytes(b"other")
    result = verify(weights, signature, public_key=keys.public)
    assert result.changes.modified == ("model.safetensors",)


def test_cache_snapshot_round_trip(tmp_path: Path, keys: KeyPair) -> None:
    snapshot = next((make_cache(tmp_path) / "snapshots").iterdir())
    signature = tmp_path / "snap.sig"
    sign(snapshot, signature, keys.private)
    assert verify(snapshot, signature, public_key=keys.public).verified


def test_link_leaving_the_folder(model: Path, keys: KeyPair, signed: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (model / "escape.txt").symlink_to(secret)
    result = verify(model, signed, public_key=keys.public)
    assert not result.verified and result.links_out == (str(model / "escape.txt"),)
    with pytest.raises(ProvenanceError, match="link that leaves"):
        sign(model, tmp_path / "again.sig", keys.private)


def test_usage_errors(model: Path, keys: KeyPair, signed: Path, tmp_path: Path) -> None:
    with pytest.raises(ProvenanceError, match="no such signature"):
        verify(model, tmp_path / "missing.sig", public_key=keys.public)
    with pytest.raises(ProvenanceError, match="not a PEM public key"):
        verify(model, signed, public_key=model / "config.json")
    with pytest.raises(ProvenanceError, match="cannot read the key"):
        sign(model, tmp_path / "x.sig", tmp_path / "missing.pem")
    with pytest.raises(ProvenanceError, match="not a PEM private key"):
        sign(model, tmp_path / "x.sig", keys.public)
