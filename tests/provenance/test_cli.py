"""`airlock hash`, `sign`, `verify` and `bom`: outputs and exit codes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from tests.provenance.conftest import KeyPair

from airlock.cli import main


def test_hash_text_is_sha256sum_format(model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash", str(model)]) == 0
    lines = capsys.readouterr().out.splitlines()
    digest = hashlib.sha256((model / "config.json").read_bytes()).hexdigest()
    assert f"{digest}  config.json" in lines and len(lines) == 5


def test_hash_json(model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash", str(model), "--format", "json", "-j", "2"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total_files"] == 5 and document["schema_version"] == 1


def test_hash_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_sign_verify_exit_codes(
    model: Path, keys: KeyPair, other_keys: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sign", str(model), "--key", str(keys.private)]) == 0
    signature = model.parent / "tiny.sig"
    assert signature.is_file()
    verify = ["verify", str(model), "--signature", str(signature)]
    assert main([*verify, "--key", str(keys.public)]) == 0
    assert main([*verify, "--key", str(other_keys.public)]) == 1
    (model / "config.json").write_text("{}")
    (model / "new.bin").write_bytes(b"x")
    capsys.readouterr()
    assert main([*verify, "--key", str(keys.public)]) == 1
    out = capsys.readouterr().out
    assert "NOT verified" in out and "modified: config.json" in out and "added: new.bin" in out


def test_certificate_mode(model: Path, keys: KeyPair, tmp_path: Path) -> None:
    signature = tmp_path / "c.sig"
    cert = str(keys.certificate)
    sign = ["sign", str(model), "--key", str(keys.private), "--certificate", cert]
    assert main([*sign, "--signature", str(signature)]) == 0
    assert main(["verify", str(model), "--signature", str(signature), "--certificate", cert]) == 0


def test_usage_errors(
    model: Path, keys: KeyPair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "missing.sig")
    assert main(["verify", str(model), "--signature", missing, "--key", str(keys.public)]) == 2
    assert main(["verify", str(model), "--signature", missing]) == 2  # neither key nor cert
    assert main(["sign", str(model), "--key", str(model / "config.json")]) == 2
    assert main(["sign", str(model), "--key", str(keys.private), "--chain", "ca.crt"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert all(line.startswith("airlock: error:") for line in errors)


def test_bom_output_file(model: Path, tmp_path: Path) -> None:
    output = tmp_path / "bom.json"
    assert main(["bom", str(model), "--output", str(output)]) == 0
    assert json.loads(output.read_text())["specVersion"] == "1.6"
    assert main(["bom", str(tmp_path / "nope")]) == 2
