"""The JSON report: the documented shape pipelines rely on."""

from __future__ import annotations

import json

from airlock import __version__
from airlock.findings import Finding, Location, Severity
from airlock.report.scan.json_doc import render_json
from airlock.scan.results import FileResult, ScanReport


def _report() -> ScanReport:
    finding = Finding(
        "AIR102", Severity.MEDIUM, "m.pt", Location(("archive/data.pkl",), 7), "msg", "mymod.X"
    )
    return ScanReport(
        (
            FileResult("m.pt", "zip", 100, True, (finding,)),
            FileResult("README.md", "text", 3, False),
        )
    )


def test_document_shape() -> None:
    doc = json.loads(render_json(_report(), Severity.HIGH))
    assert list(doc) == ["schema_version", "tool", "summary", "huggingface", "files"]
    assert doc["schema_version"] == 1
    assert doc["tool"] == {"name": "airlock", "version": __version__}
    assert doc["summary"] == {
        "files": 2,
        "inspected": 1,
        "not_inspected": 1,
        "findings": 1,
        "by_severity": {"critical": 0, "high": 0, "medium": 1, "low": 0, "info": 0},
        "worst_severity": "medium",
        "fail_on": "high",
        "failed": False,
    }
    first = doc["files"][0]
    assert first == {
        "path": "m.pt",
        "kind": "zip",
        "size": 100,
        "inspected": True,
        "findings": [_report().files[0].findings[0].to_dict()],
    }
    assert first["findings"][0]["location"] == {"members": ["archive/data.pkl"], "offset": 7}


def test_failed_follows_fail_on() -> None:
    assert json.loads(render_json(_report(), Severity.MEDIUM))["summary"]["failed"] is True


def test_no_findings() -> None:
    doc = json.loads(render_json(ScanReport(), Severity.HIGH))
    assert doc["summary"]["worst_severity"] is None
    assert doc["summary"]["failed"] is False
    assert doc["files"] == []


def test_undecodable_file_names_stay_printable() -> None:
    name = "bad\udcff\x1b.pkl"  # what os.fsdecode makes of invalid UTF-8 bytes, plus an escape
    out = render_json(ScanReport((FileResult(name, "pickle", 1, True),)), Severity.HIGH)
    assert out.isascii()
    assert json.loads(out)["files"][0]["path"] == name


def test_written_exactly_as_json_indents_it() -> None:
    """Files are written from a template (speed); the text must be json.dumps(indent=2)'s."""
    finding = _report().files[0].findings[0]
    files = (
        FileResult("m.pt", "zip", 100, True, (finding, finding)),
        FileResult('bad\udcff\x1b\n"\\é日.pkl', "pickle", 0, False),
        FileResult("big.bin", "unknown", 10**20, True),
        FileResult("README.md", "text", 3, False),
    )
    for report in (ScanReport(files), ScanReport(files[1:2]), ScanReport()):
        out = render_json(report, Severity.HIGH)
        expected = json.loads(out)
        expected["files"] = [
            {
                "path": r.path,
                "kind": r.kind,
                "size": r.size,
                "inspected": r.inspected,
                "findings": [f.to_dict() for f in r.findings],
            }
            for r in report.files
        ]
        assert out == json.dumps(expected, indent=2) + "\n"
