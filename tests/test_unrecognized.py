"""Files named like models whose content is unknown: reported, at a severity the name earns."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.artifact import ArtifactFile
from airlock.findings import Severity
from airlock.scan.scanner import Scanner

# sentencepiece / raw tensor bytes: binary, no known magic.
OPAQUE = bytes([0x0A, 0x8B, 0x01, 0x00, 0xFF, 0x13, 0x7E, 0x00]) * 64


@pytest.mark.parametrize(
    ("name", "severity"),
    [
        ("weights.pt", Severity.HIGH),
        ("model.pkl", Severity.HIGH),
        ("encoder.onnx", Severity.HIGH),
        ("tokenizer.model", Severity.MEDIUM),
        ("model.onnx_data.bin", Severity.MEDIUM),
    ],
)
def test_unknown_content_is_reported_by_name(tmp_path: Path, name: str, severity: Severity) -> None:
    path = tmp_path / name
    path.write_bytes(OPAQUE)
    (finding,) = Scanner().scan_file(ArtifactFile(path, name)).findings
    assert (finding.rule_id, finding.severity) == ("AIR004", severity)


def test_unknown_content_with_an_ordinary_name_is_not_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(OPAQUE)
    result = Scanner().scan_file(ArtifactFile(path, "image.png"))
    assert result.findings == () and not result.inspected
