"""`airlock admit` and `airlock models` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.vet.conftest import CLEAN, MALICIOUS

from airlock.cli import main


def test_admit_list_show_remove(registry_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["admit", str(CLEAN), "--name", "clf", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["verdict"]["decision"] == "admit_with_conditions"
    assert "Admitted clf version 1" in captured.err

    assert main(["models", "list"]) == 0
    assert "clf  v1  admit_with_conditions" in capsys.readouterr().out
    assert main(["models", "show", "clf", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["source"] == str(CLEAN.resolve())
    assert shown["manifest_digest"] == shown["dossier"]["provenance"]["digest"]
    assert shown["policy"]["digest"].startswith("sha256:")
    assert main(["models", "show", "clf"]) == 0
    assert "model.pt" in capsys.readouterr().out

    assert main(["models", "remove", "clf", "--reason", "replaced by clf2"]) == 0
    assert "Removed 1 version(s) of clf (recorded in the audit log)." in capsys.readouterr().out
    assert main(["models", "show", "clf"]) == 1
    assert main(["models", "remove", "clf", "--reason", "again"]) == 1


def test_refused_needs_force_and_reason(
    registry_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admit", str(MALICIOUS), "--name", "bad"]) == 1
    assert "Not admitted" in capsys.readouterr().err
    assert main(["models", "show", "bad"]) == 1
    assert main(["admit", str(MALICIOUS), "--name", "bad", "--force"]) == 2
    assert "--reason" in capsys.readouterr().err
    assert main(["admit", str(MALICIOUS), "--name", "bad", "--force", "--reason", "SEC-9"]) == 0
    capsys.readouterr()
    assert main(["models", "show", "bad", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["forced"] and shown["force_reason"] == "SEC-9" and shown["decision"] == "refuse"


def test_verify_reports_drift(
    registry_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model"
    shutil.copytree(CLEAN, model)
    assert main(["admit", str(model), "--name", "clf"]) == 0
    assert main(["models", "verify"]) == 0
    assert "clf v1: ok" in capsys.readouterr().out

    (model / "model.pt").write_bytes((model / "model.pt").read_bytes() + b"\0")
    (model / "extra.bin").write_bytes(b"new")
    (model / "README.md").unlink()
    assert main(["models", "verify", "clf"]) == 1
    out = capsys.readouterr().out
    assert "DRIFTED" in out
    assert "modified: model.pt" in out and "added: extra.bin" in out
    assert "missing: README.md" in out

    shutil.rmtree(model)
    assert main(["models", "verify"]) == 1
    assert "missing:" in capsys.readouterr().out
    assert main(["models", "verify", "nope"]) == 1


def test_verify_is_recorded_for_the_console(
    registry_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from airlock.console.views import model_rows
    from airlock.registry.store import Registry

    model = tmp_path / "model"
    shutil.copytree(CLEAN, model)
    assert main(["admit", str(model), "--name", "clf"]) == 0
    registry = Registry(registry_env)
    try:
        assert model_rows(registry)[0].drift.startswith("not checked yet")
        assert main(["models", "verify"]) == 0
        assert model_rows(registry)[0].drift.startswith("unchanged (checked ")
        (model / "model.pt").write_bytes(b"changed")
        assert main(["models", "verify"]) == 1
        drift = model_rows(registry)[0].drift
        assert drift.startswith("CHANGED since admission") and "modified: model.pt" in drift
        assert main(["audit", "--action", "model.verify", "--format", "json"]) == 0
    finally:
        registry.close()


def test_unusable_database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", "nosuchdb://x")
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path))
    assert main(["models", "list"]) == 2
    assert main(["admit", str(CLEAN), "--name", "clf"]) == 2
