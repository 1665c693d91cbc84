"""`airlock license`: JSON shape and exit codes as `airlock scan`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_model

from airlock.cli import main


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["license", *argv, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_json_shape(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_model(model_dir, "license: llama3.1", reference_text("llama3.1"))
    code, document = _json(capsys, str(model_dir))
    assert code == 0
    license_ = document["license"]
    assert isinstance(license_, dict)
    assert set(license_) == {"id", "name", "sources", "confidence"}
    assert license_["id"] == "llama3.1" and license_["confidence"] == "high"
    assert document["commercial_use"] == "conditional"
    for key in ("conditions", "obligations", "restrictions", "findings", "terms", "openness"):
        assert isinstance(document[key], list | dict)
    terms = document["terms"]
    assert isinstance(terms, list) and terms[0]["thresholds"][0]["limit"] == 700_000_000
    assert terms[0]["url"].startswith("https://")


def test_exit_codes(model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_model(model_dir, "license: cc-by-nc-4.0", reference_text("cc-by-nc-4.0"))
    assert main(["license", str(model_dir), "-q"]) == 0
    assert main(["license", str(model_dir), "-q", "--fail-on", "medium"]) == 1
    assert main(["license", str(tmp_path / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["license", str(empty), "-q"]) == 1
    assert main(["license"]) == 2


def test_unknown_is_high_in_json(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_model(model_dir, "pipeline_tag: text-generation")
    code, document = _json(capsys, str(model_dir))
    assert code == 1
    assert document["commercial_use"] == "unknown"
    assert document["license"]["id"] == "unknown"  # type: ignore[index]
    assert document["findings"][0]["severity"] == "high"  # type: ignore[index]


def test_text_report(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_model(model_dir, "license: apple-amlr", reference_text("apple-amlr"))
    assert main(["license", str(model_dir)]) == 0
    out = capsys.readouterr().out
    assert "Commercial use: NOT allowed" in out and "AIR805" in out


def test_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["license", "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes" in out and "examples" in out
