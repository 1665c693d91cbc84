"""The numbers every format reports, and the pass/fail decision the exit code follows."""

from __future__ import annotations

from dataclasses import dataclass

from airlock.findings import Severity
from airlock.scan.results import ScanReport


@dataclass(frozen=True)
class Summary:
    files: int
    inspected: int
    findings: int
    # Every severity is present (zero when none), most severe first, so outputs stay stable.
    by_severity: dict[Severity, int]
    worst: Severity | None
    fail_on: Severity
    failed: bool

    @property
    def not_inspected(self) -> int:
        return self.files - self.inspected

    @property
    def nothing_scanned(self) -> bool:
        """No file was in a format Airlock reads: a pass here would be meaningless."""
        return self.inspected == 0


def summarize(report: ScanReport, fail_on: Severity) -> Summary:
    findings = report.findings
    by_severity = {
        severity: sum(1 for f in findings if f.severity is severity)
        for severity in sorted(Severity, reverse=True)
    }
    worst = report.worst()
    return Summary(
        files=len(report.files),
        inspected=report.inspected,
        findings=len(findings),
        by_severity=by_severity,
        worst=worst,
        fail_on=fail_on,
        failed=worst is not None and worst >= fail_on,
    )
