"""What a scan returns: one result per file, and the report over all of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airlock.findings import Finding, Severity
from airlock.hf_cache import HfSnapshot


@dataclass(frozen=True)
class FileResult:
    path: str
    kind: str
    size: int
    inspected: bool
    findings: tuple[Finding, ...] = ()
    snapshot: HfSnapshot | None = None  # where it came from; reports list snapshots apart

    def to_dict(self) -> dict[str, Any]:
        """The one JSON form of a scanned file (scan reports and dossiers)."""
        return {
            "path": self.path,
            "kind": self.kind,
            "size": self.size,
            "inspected": self.inspected,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileResult:
        return cls(
            path=data["path"],
            kind=data["kind"],
            size=data["size"],
            inspected=data["inspected"],
            findings=tuple(Finding.from_dict(f) for f in data["findings"]),
        )


@dataclass(frozen=True)
class ScanReport:
    files: tuple[FileResult, ...] = field(default=())

    @property
    def findings(self) -> list[Finding]:
        return [f for result in self.files for f in result.findings]

    @property
    def inspected(self) -> int:
        return sum(1 for result in self.files if result.inspected)

    @property
    def snapshots(self) -> list[HfSnapshot]:
        """Hugging Face cache snapshots the scanned files came from, in scan order."""
        seen: dict[HfSnapshot, None] = {}
        for result in self.files:
            if result.snapshot is not None:
                seen.setdefault(result.snapshot, None)
        return list(seen)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)
