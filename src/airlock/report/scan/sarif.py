"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airlock import __version__
from airlock.findings import Finding, Severity
from airlock.report.advice import ADVICE
from airlock.report.scan.summary import summarize
from airlock.rules import RULES, Rule
from airlock.scan.results import ScanReport

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://pypi.org/project/model-airlock/"
FINGERPRINT_KEY = "airlockFinding/v1"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub ranks alerts by this: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}


def render_sarif(report: ScanReport, fail_on: Severity, *, root: Path | None = None) -> str:
    """`root` makes absolute paths relative to it (the repository checkout, for GitHub)."""
    rules = list(RULES.values())
    index = {r.id: i for i, r in enumerate(rules)}
    summary = summarize(report, fail_on)
    run = {
        "tool": {
            "driver": {
                "name": "airlock",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_descriptor(r) for r in rules],
            }
        },
        "results": [_result(f, index.get(f.rule_id), root) for f in report.findings],
        "properties": {
            "files": summary.files,
            "inspected": summary.inspected,
            "failOn": fail_on.label,
            "failed": summary.failed,
        },
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"


def _descriptor(rule: Rule) -> dict[str, Any]:
    advice = ADVICE[rule.default_severity]
    tags = ["security", "ai-model"]
    if rule.cwe is not None:
        tags.append(f"external/cwe/cwe-{rule.cwe}")  # the form GitHub shows as a CWE link
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary.split(". ")[0].rstrip(".") + "."},
        "fullDescription": {"text": rule.summary},
        "help": {
            "text": f"{rule.summary}\n\nWhat to do: {advice}",
            "markdown": f"{rule.summary}\n\n**What to do:** {advice}",
        },
        **({"helpUri": rule.doc_url} if rule.doc_url else {}),
        "defaultConfiguration": {"level": _LEVEL[rule.default_severity]},
        "properties": {
            "tags": tags,
            "precision": "high",
            "security-severity": _SECURITY_SEVERITY[rule.default_severity],
            "severity": rule.default_severity.label,
        },
    }


def _result(finding: Finding, rule_index: int | None, root: Path | None) -> dict[str, Any]:
    uri = _uri(finding.file, root)
    members = finding.location.members
    offset = finding.location.offset
    # GitHub rejects results without a line; a model file is binary, so line 1 anchors the
    # alert to the file. A byte offset inside an archive member is not one into the file itself.
    region: dict[str, int] = {"startLine": 1}
    if offset is not None and not members:
        region["byteOffset"] = offset
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}
    }
    if members:
        location["logicalLocations"] = [
            {"name": members[-1], "fullyQualifiedName": finding.location.describe()}
        ]
    text = finding.message + (f" Evidence: {finding.evidence}" if finding.evidence else "")
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": _LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(finding, uri)},
        "properties": {
            "severity": finding.severity.label,
            "members": list(members),
            "offset": offset,
            "evidence": finding.evidence,
        },
    }
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    return result


def _uri(path: str, root: Path | None) -> str:
    """Relative, forward-slash URIs where possible: that is what code scanning maps to files."""
    local = Path(path)
    if local.is_absolute():
        if root is None:
            return local.as_uri()
        try:
            local = local.relative_to(root)
        except ValueError:
            return local.as_uri()
    return quote(local.as_posix(), safe="/", errors="surrogateescape")


def _fingerprint(finding: Finding, uri: str) -> str:
    """Same finding in the same file on a later run -> same key, so alerts are not duplicated."""
    loc = finding.location
    parts = [finding.rule_id, uri, list(loc.members), loc.offset, finding.evidence]
    return hashlib.sha256(json.dumps(parts).encode("ascii")).hexdigest()[:32]
