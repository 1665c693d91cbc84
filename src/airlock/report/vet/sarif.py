"""`airlock vet` as SARIF: the integrity and license findings through the scan's SARIF builder,
with the verdict in the run's properties."""

from __future__ import annotations

import json
from pathlib import Path

from airlock.dossier.model import Dossier
from airlock.policy.evaluate import Verdict
from airlock.policy.model import Policy
from airlock.report.scan.sarif import render_sarif
from airlock.report.vet.json_doc import verdict_dict
from airlock.scan.results import FileResult, ScanReport


def render_vet_sarif(dossier: Dossier, verdict: Verdict, policy: Policy, root: Path) -> str:
    files = [
        FileResult(f.path, f.kind, f.size, f.inspected, f.findings) for f in dossier.scan.files
    ]
    if dossier.license.findings:
        files.append(FileResult(dossier.source, "license", 0, True, dossier.license.findings))
    report = ScanReport(tuple(files))
    log = json.loads(render_sarif(report, policy.max_severity, root=root))
    # Results follow report.findings one for one; a waived finding is a SARIF suppression.
    accepted = {w.finding: w.waiver for w in verdict.waivers.waived}
    for result, finding in zip(log["runs"][0]["results"], report.findings, strict=True):
        waiver = accepted.get(finding)
        if waiver is not None:
            why = f"{waiver.reason} (waived by {waiver.by} until {waiver.expires}; {waiver.where})"
            result["suppressions"] = [
                {"kind": "external", "status": "accepted", "justification": why}
            ]
    run = log["runs"][0]["properties"]
    run["verdict"] = verdict_dict(verdict)
    run["policy"] = {"name": policy.name, "digest": policy.digest}
    # The scan's `failOn` is the first severity that fails; the policy names the last that passes.
    run.pop("failOn")
    run.pop("failed")
    run["maxSeverity"] = policy.max_severity.label
    return json.dumps(log, indent=2) + "\n"
