"""Nothing scannable means refuse: a folder with no model file Airlock inspected is never admitted,
whatever the policy, and every report format says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airlock.cli import main

NO_MODEL = "no model file was found: nothing Airlock could inspect would be loaded"
CARD = "---\nlicense: apache-2.0\n---\n# A model\n\nIt classifies things.\n"


@pytest.fixture
def text_only(tmp_path: Path) -> Path:
    """A README with a license and a text file: what a wrong download or an empty repo holds."""
    folder = tmp_path / "text-only"
    folder.mkdir()
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    (folder / "notes.txt").write_text("weights to follow\n", encoding="utf-8")
    return folder


def _lenient(tmp_path: Path) -> Path:
    """A policy that accepts every finding: the refusal must not depend on severities."""
    policy = tmp_path / "lenient.yaml"
    policy.write_text("version: 1\nfindings:\n  max_severity: critical\n", encoding="utf-8")
    return policy


def test_scan_and_vet_agree_on_a_folder_without_model_files(
    text_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan", str(text_only)]) == 2
    assert "nothing to scan" in capsys.readouterr().err
    assert main(["vet", str(text_only)]) == 1
    out = capsys.readouterr().out
    assert "REFUSE" in out
    assert f"{NO_MODEL} (it holds 2 files, none in a model format: README.md, notes.txt)" in out
    assert "[scan.model_file]" in out
    assert "no model file among them" in out  # the Safety line does not say "nothing found"


def test_every_format_gives_the_reason(
    text_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["vet", str(text_only), "--format", "json"]) == 1
    verdict = json.loads(capsys.readouterr().out)["verdict"]
    assert verdict["decision"] == "refuse"
    assert [r["rule"] for r in verdict["reasons"]] == ["scan.model_file"]
    assert verdict["reasons"][0]["message"].startswith(NO_MODEL)
    assert main(["vet", str(text_only), "--format", "markdown"]) == 1
    assert f"- {NO_MODEL}" in capsys.readouterr().out
    report = tmp_path / "verdict.html"
    assert main(["vet", str(text_only), "--format", "html", "-o", str(report)]) == 1
    assert f"<li>{NO_MODEL}" in report.read_text("utf-8")


def test_no_policy_setting_admits_it(text_only: Path, tmp_path: Path) -> None:
    assert main(["vet", str(text_only), "--policy", str(_lenient(tmp_path))]) == 1


def test_config_and_code_alone_are_not_a_model(tmp_path: Path) -> None:
    folder = tmp_path / "config-only"
    folder.mkdir()
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    (folder / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    (folder / "tokenizer_config.json").write_text("{}", encoding="utf-8")
    assert main(["vet", str(folder)]) == 1


def test_a_single_text_file_is_refused(text_only: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vet", str(text_only / "notes.txt")]) == 1
    assert NO_MODEL in capsys.readouterr().out


def test_model_named_files_that_could_not_be_read_are_not_admitted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "unreadable"
    folder.mkdir()
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    # Named like a checkpoint, in no format Airlock knows (AIR004): nothing was inspected.
    (folder / "pytorch_model.bin").write_bytes(bytes(range(7, 256)) * 4)
    assert main(["vet", str(folder), "--policy", str(_lenient(tmp_path))]) == 1
    out = capsys.readouterr().out
    assert (
        f"{NO_MODEL} (pytorch_model.bin is named like a model file, but Airlock could not read "
        "its content) [AIR004]"
    ) in out
    assert main(["vet", str(folder), "--format", "json", "--policy", str(_lenient(tmp_path))]) == 1
    (reason,) = json.loads(capsys.readouterr().out)["verdict"]["reasons"]
    assert reason["rule"] == "scan.model_file" and reason["rule_id"] == "AIR004"
    assert reason["file"].endswith("unreadable/pytorch_model.bin")


def test_admit_refuses_and_records_nothing(
    text_only: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "airlock.db"
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    assert main(["admit", str(text_only), "--name", "empty"]) == 1
    captured = capsys.readouterr()
    assert NO_MODEL in captured.out
    assert "Not admitted" in captured.err
    assert main(["models", "show", "empty"]) != 0
