"""`airlock vet` end to end: exit codes, the five formats, one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from tests.vet.conftest import CLEAN, MALICIOUS

from airlock.cli import main

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"


def test_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vet", str(CLEAN)]) == 0
    out = capsys.readouterr().out
    assert "ADMIT WITH CONDITIONS" in out and "Conditions:" in out
    assert main(["vet", str(MALICIOUS)]) == 1
    out = capsys.readouterr().out
    assert "REFUSE" in out and "AIR101" in out and "Do not use this model" in out


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vet", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("airlock: error: ")
    bad = tmp_path / "policy.yaml"
    bad.write_text("version: 1\nfindings:\n  max_severity: dire\n")
    assert main(["vet", str(CLEAN), "--policy", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3:" in err and len(err.strip().splitlines()) == 1
    assert main(["vet", str(CLEAN), "--signature", str(tmp_path / "nope.sig")]) == 2
    assert main(["vet", str(CLEAN), "--format", "pdf"]) == 2


def test_policy_file_changes_the_verdict(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nformats:\n  refused: [zip]\n")
    assert main(["vet", str(CLEAN), "--policy", str(policy)]) == 1


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vet", str(MALICIOUS), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["verdict"]["decision"] == "refuse"
    assert document["verdict"]["reasons"][0]["rule"] == "findings.max_severity"
    assert document["policy"]["digest"].startswith("sha256:")
    assert document["dossier"]["schema_version"] == 1


def test_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vet", str(MALICIOUS), "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("# Airlock verdict: REFUSE") and "| critical | AIR101 |" in out


def test_html_is_one_self_contained_file(tmp_path: Path) -> None:
    report = tmp_path / "verdict.html"
    assert main(["vet", str(MALICIOUS), "--format", "html", "-o", str(report)]) == 1
    html = report.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "REFUSE" in html
    assert not re.search(r"(src|href)\s*=|<script|<link|@import|url\(", html, re.IGNORECASE)
    # The payload text comes from the attacker: it must appear escaped, never as markup.
    assert "builtins.exec" in html


def test_html_escapes_publisher_text(tmp_path: Path) -> None:
    model = tmp_path / "<img src=x onerror=alert(1)>"
    model.mkdir()
    (model / "w.pkl").write_bytes(b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.")
    report = tmp_path / "r.html"
    assert main(["vet", str(model), "--format", "html", "-o", str(report)]) == 1
    html = report.read_text("utf-8")
    assert "<img" not in html and "&lt;img src=x" in html


def test_sarif_carries_integrity_and_license_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vet", str(MALICIOUS), "--format", "sarif"]) == 1
    log = json.loads(capsys.readouterr().out)
    jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text("utf-8")))
    run = log["runs"][0]
    assert run["properties"]["verdict"]["decision"] == "refuse"
    assert {r["ruleId"] for r in run["results"]} == {"AIR101"}


def test_sarif_license_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "weights.pkl").write_bytes(b"\x80\x02}q\x00.")
    assert main(["vet", str(tmp_path), "--format", "sarif"]) == 1
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert "AIR801" in {r["ruleId"] for r in results}
