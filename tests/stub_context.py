"""A ScanContext for calling one reader or analyzer directly in a test: findings get their
rule's default severity unless given one, and nested content is not followed."""

from __future__ import annotations

from airlock.findings import Finding, Location, Severity
from airlock.rules import rule
from airlock.scan.context import Blob


class StubContext:
    max_decompressed_bytes = 1 << 20

    def scan_nested(self, data: object, location: Location, name: str) -> list[Finding]:
        return []

    def finding(
        self,
        rule_id: str,
        blob: Blob,
        location: Location,
        message: str,
        evidence: str = "",
        severity: Severity | None = None,
    ) -> Finding:
        chosen = severity if severity is not None else rule(rule_id).default_severity
        return Finding(rule_id, chosen, blob.file, location, message, evidence)
