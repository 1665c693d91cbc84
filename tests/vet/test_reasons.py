"""Refusal reasons in words a manager can act on, with the rule id beside, in every format."""

from __future__ import annotations

import json
import struct
from dataclasses import replace
from html import escape
from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_model
from tests.vet.conftest import CLEAN, MALICIOUS

from airlock.cli import main
from airlock.dossier.model import Dossier, ScanSection
from airlock.findings import Finding, Location, Severity
from airlock.policy.evaluate import evaluate
from airlock.policy.model import Policy
from airlock.policy.wording import finding_sentences, lead
from airlock.scan.results import FileResult

EXEC = "a file would run code when loaded: builtins.exec in pytorch_model.bin"


def _vet(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["vet", *argv])
    return code, capsys.readouterr().out


def test_finding_reason_in_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _vet(capsys, str(MALICIOUS))
    assert code == 1 and f"  - {EXEC} [AIR101]" in text
    code, markdown = _vet(capsys, str(MALICIOUS), "--format", "markdown")
    assert code == 1 and f"- {EXEC} [AIR101]" in markdown
    report = tmp_path / "r.html"
    assert main(["vet", str(MALICIOUS), "--format", "html", "-o", str(report)]) == 1
    assert f"<li>{escape(EXEC)} [AIR101]</li>" in report.read_text("utf-8")
    code, document = _vet(capsys, str(MALICIOUS), "--format", "json")
    (reason,) = json.loads(document)["verdict"]["reasons"]
    assert reason["rule"] == "findings.max_severity" and reason["message"] == EXEC
    assert reason["rule_id"] == "AIR101"
    assert reason["file"].endswith("suspicious-upload/pytorch_model.bin")


def _policy(tmp_path: Path, body: str) -> str:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\n{body}", encoding="utf-8")
    return str(policy)


def _weights(root: Path) -> Path:
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    (root / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
    return root


def test_unknown_license(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _weights(write_model(tmp_path / "m", "pipeline_tag: text-generation"))
    code, out = _vet(capsys, str(model))
    assert code == 1
    assert "there is no known right to use the model: its license is unknown (" in out
    assert "[AIR801]" in out


def test_non_commercial_license(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _weights(
        write_model(tmp_path / "m", "license: cc-by-nc-4.0", reference_text("cc-by-nc-4.0"))
    )
    code, out = _vet(capsys, str(model), "--format", "json")
    assert code == 1
    (reason,) = json.loads(out)["verdict"]["reasons"]
    assert reason["rule"] == "license.allow_non_commercial" and reason["rule_id"] == "AIR805"
    assert reason["message"].startswith("the license forbids commercial use: ")
    assert "research or non-commercial use only" in reason["message"]


def test_denied_license(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = _policy(tmp_path, "license:\n  denied: [apache-2.0]\n")
    code, out = _vet(capsys, str(CLEAN), "--policy", policy)
    assert code == 1
    assert (
        "the license is on your policy's deny list: apache-2.0 (Apache License 2.0) "
        "[license.denied]"
    ) in out


def test_fit_reasons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = _policy(tmp_path, "resources:\n  max_memory_gib: 8\n")
    code, out = _vet(capsys, str(CLEAN), "--policy", policy)
    assert code == 1
    assert "the model's memory needs could not be worked out (" in out
    assert (
        "so your policy's hardware limits cannot be checked [resources.allow_unknown_size]" in out
    )


def test_signature_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = _policy(tmp_path, "signature:\n  required: true\n")
    code, out = _vet(capsys, str(CLEAN), "--policy", policy)
    assert code == 1
    assert (
        "the files are not proven to come from a trusted publisher, and your policy requires "
        "it: there is no signature (no signature file) [signature.required]"
    ) in out


def test_format_reasons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = _policy(tmp_path, "formats:\n  refused: [zip]\n")
    code, out = _vet(capsys, str(CLEAN), "--policy", policy)
    assert (
        code == 1 and "your policy refuses the zip format: " in out and "[formats.refused]" in out
    )


def _finding(rule_id: str, severity: Severity, evidence: str, file: str = "m/x.pkl") -> Finding:
    return Finding(rule_id, severity, file, Location(), "message", evidence)


def test_each_rule_family_has_its_own_words() -> None:
    assert lead(_finding("AIR101", Severity.CRITICAL, "")) == "a file would run code when loaded"
    assert lead(_finding("AIR102", Severity.HIGH, "")) == "a file may run code when loaded"
    assert lead(_finding("AIR004", Severity.HIGH, "")).startswith("a file could not be checked")
    assert lead(_finding("AIR005", Severity.HIGH, "")).startswith("a file reads as different")
    assert lead(_finding("AIR501", Severity.CRITICAL, "")).startswith("a chat template would run")
    assert lead(_finding("AIR601", Severity.HIGH, "")).startswith("a Keras model may run code")
    assert lead(_finding("AIR631", Severity.CRITICAL, "")).startswith("a config file would run")
    assert lead(_finding("AIR702", Severity.CRITICAL, "")).startswith("code shipped with the model")
    assert (
        lead(_finding("AIR711", Severity.HIGH, "")) == "the model asks loaders to run its own code"
    )


def test_sentences_group_by_rule_and_file_worst_first() -> None:
    findings = [
        _finding("AIR102", Severity.HIGH, "mylib.Thing()"),
        _finding("AIR101", Severity.CRITICAL, 'os.system("id")'),
        _finding("AIR102", Severity.HIGH, "otherlib.Other"),
        _finding("AIR004", Severity.HIGH, "00 01 02 03", "m/weights.pt"),
    ]
    sentences = [s for s, _, _ in finding_sentences(findings, "m")]
    assert sentences == [
        "a file would run code when loaded: os.system in x.pkl",
        "a file could not be checked, and a loader may still load it: weights.pt",
        "a file may run code when loaded: mylib.Thing, otherlib.Other in x.pkl",
    ]


def test_many_findings_are_summed_up_after_ten(clean_dossier: Dossier, policy: Policy) -> None:
    # Twelve flagged files and two findings more in the last one: ten sentences, then the rest.
    files = tuple(
        FileResult(f"{clean_dossier.source}/m{i:02}.pkl", "pickle", 9, True,
                    (_finding("AIR101", Severity.CRITICAL, f"os.system('{i}')",
                              f"{clean_dossier.source}/m{i:02}.pkl"),))
        for i in range(12)
    )  # fmt: skip
    last = files[-1]
    extra = tuple(_finding("AIR102", Severity.HIGH, f"lib.X{i}()", last.path) for i in range(2))
    files = (*files[:-1], replace(last, findings=last.findings + extra))
    verdict = evaluate(replace(clean_dossier, scan=ScanSection(files)), policy)
    messages = [r.message for r in verdict.reasons]
    assert len(messages) == 11
    assert messages[0] == "a file would run code when loaded: os.system in m00.pkl"
    assert messages[-1] == "4 more finding(s) above low: see the findings"


def test_policy_reasons_read_as_sentences(clean_dossier: Dossier, policy: Policy) -> None:
    def only(dossier: Dossier, rules: Policy) -> str:
        (reason,) = evaluate(dossier, rules).reasons
        return f"{reason.message} [{reason.label}]"

    restricted = replace(
        clean_dossier, license=replace(clean_dossier.license, outputs_restricted=True)
    )
    strict = replace(policy, license=replace(policy.license, allow_output_restrictions=False))
    assert only(restricted, strict) == (
        "the license limits what the model's outputs may be used for, and your policy refuses "
        "such limits: Apache License 2.0 [AIR807]"
    )
    mit_only = replace(policy, license=replace(policy.license, allowed=("mit",)))
    assert only(clean_dossier, mit_only) == (
        "the license is not on your policy's allow list: apache-2.0 (Apache License 2.0); "
        "allowed: mit [license.allowed]"
    )
    both = ScanSection(
        (*clean_dossier.scan.files, FileResult("m/model.safetensors", "safetensors", 8, True))
    )
    assert only(replace(clean_dossier, scan=both), policy).startswith(
        "pickle copies of the weights ship beside the safetensors files, and a loader may pick "
        "them instead (pickles can run code): remove "
    )
