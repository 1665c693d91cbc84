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


def _not_signatures(model: Path, keys: KeyPair, tmp_path: Path) -> list[tuple[Path, str]]:
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    other = tmp_path / "other.json"
    other.write_text('{"mediaType": "application/json"}')
    empty = tmp_path / "empty.sig"
    empty.write_bytes(b"")
    return [
        (model / "README.md", "it is text, not JSON (it begins '---')"),
        (model / "config.json", "it is JSON without a `mediaType` (its keys: architectures, "),
        (model / "model.safetensors", "it is binary data (16,384 bytes), not JSON"),
        (keys.public, "it is a PEM public key (a key goes with --key"),
        (keys.certificate, "it is a PEM certificate"),
        (listing, "it is JSON without a `mediaType` (a JSON list, not an object)"),
        (other, "it is JSON of media type 'application/json', not application/vnd.dev.sigstore"),
        (empty, "it is empty"),
    ]


def test_verify_a_file_that_is_not_a_signature_says_what_it_is(
    model: Path, keys: KeyPair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for file, what in _not_signatures(model, keys, tmp_path):
        code = main(["verify", str(model), "--signature", str(file), "--key", str(keys.public)])
        captured = capsys.readouterr()
        assert code == 2, file
        assert captured.out == ""
        assert captured.err.startswith(
            f"airlock: error: {file} is not an OpenSSF model signature (a Sigstore bundle): "
        )
        assert what in captured.err and captured.err.count("\n") == 1


def test_verify_a_folder_as_signature(
    model: Path, keys: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(model), "--signature", str(model), "--key", str(keys.public)]) == 2
    assert capsys.readouterr().err == f"airlock: error: {model} is a folder, not a signature file\n"


def test_verify_finds_the_signature_sign_writes(
    model: Path, keys: KeyPair, other_keys: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sign", str(model), "--key", str(keys.private)]) == 0
    assert main(["verify", str(model), "--key", str(keys.public)]) == 0
    assert "verified" in capsys.readouterr().out
    assert main(["verify", str(model), "--key", str(other_keys.public)]) == 1
    (model / "config.json").write_text("{}")
    capsys.readouterr()
    assert main(["verify", str(model), "--key", str(keys.public)]) == 1
    assert "modified: config.json" in capsys.readouterr().out


def test_verify_finds_model_sig_inside_the_folder(
    model: Path, keys: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = model / "model.sig"
    assert main(["sign", str(model), "--key", str(keys.private), "--signature", str(inside)]) == 0
    assert main(["verify", str(model), "--key", str(keys.public)]) == 0


def test_verify_without_a_signature_says_where_it_looked(
    model: Path, keys: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(model), "--key", str(keys.public)]) == 2
    beside = model.absolute().parent / "tiny.sig"
    assert capsys.readouterr().err == (
        f"airlock: error: no signature for {model}: looked for {beside} or "
        f"{model / 'model.sig'}; give it with --signature FILE\n"
    )
    weights = model / "model.safetensors"
    assert main(["verify", str(weights), "--key", str(keys.public)]) == 2
    assert f"looked for {weights.absolute()}.sig;" in capsys.readouterr().err


def test_verify_a_missing_path(
    tmp_path: Path, keys: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(tmp_path / "nope"), "--key", str(keys.public)]) == 2
    assert (
        capsys.readouterr().err
        == f"airlock: error: {tmp_path / 'nope'}: no such file or directory\n"
    )


@pytest.mark.parametrize("command", [["vet"], ["admit", "--name", "tiny"]])
def test_vet_and_admit_refuse_a_signature_that_is_not_one(
    command: list[str],
    model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before: silently "signature not checked", and admitted."""
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", "")
    readme = model / "README.md"
    assert main([command[0], str(model), *command[1:], "--signature", str(readme)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"airlock: error: {readme} is not an OpenSSF model signature (a Sigstore bundle): "
        "it is text, not JSON (it begins '---')\n"
    )
