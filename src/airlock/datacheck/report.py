"""The answer of a data check: what was read, the findings counted by rule, duplicates and
leakage with their pairs, and the distributions. One JSON form, versioned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airlock import __version__
from airlock.datacheck.duplicates import Pairs
from airlock.datacheck.labels import LabelSummary
from airlock.datacheck.lengths import LengthSummary
from airlock.datacheck.tally import RuleCount
from airlock.findings import Severity

SCHEMA = "airlock.data-check/1"


@dataclass(frozen=True)
class InputFile:
    path: str
    format: str  # "JSONL (retrieval JSONL)", "CSV", "Parquet", "text", "not read"...
    records: int
    side: str  # "checked", or "against" for --against data

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "records": self.records,
            "side": self.side,
        }


@dataclass(frozen=True)
class TokenLimit:
    model: str
    limit: int
    source: str  # where the limit was read

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "context_tokens": self.limit, "from": self.source}


@dataclass(frozen=True)
class DataReport:
    inputs: tuple[InputFile, ...]
    findings: tuple[RuleCount, ...]
    exact_duplicates: Pairs
    near_duplicates: Pairs
    leaked: Pairs | None  # None without --against
    near_leaked: Pairs | None
    near_threshold: float
    lengths: tuple[tuple[str, LengthSummary], ...]  # per group ("records", "corpus", "queries")
    tokens: tuple[tuple[str, LengthSummary], ...]  # the same, in tokens, with --model
    token_limit: TokenLimit | None
    labels: LabelSummary | None
    scripts: tuple[tuple[str, int], ...]  # (script, records), most frequent first

    @property
    def records(self) -> int:
        return sum(i.records for i in self.inputs if i.side == "checked")

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def failed(self, fail_on: Severity) -> bool:
        worst = self.worst()
        return worst is not None and worst >= fail_on

    def to_dict(self, fail_on: Severity) -> dict[str, Any]:
        by_severity = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for finding in self.findings:
            by_severity[finding.severity.label] += finding.count
        return {
            "schema": SCHEMA,
            "airlock_version": __version__,
            "records": self.records,
            "inputs": [i.to_dict() for i in self.inputs],
            "fail_on": fail_on.label,
            "failed": self.failed(fail_on),
            "findings_by_severity": by_severity,
            "findings": [f.to_dict() for f in self.findings],
            "duplicates": {
                "exact": self.exact_duplicates.to_dict(),
                "near": {"threshold": self.near_threshold, **self.near_duplicates.to_dict()},
            },
            "leakage": None
            if self.leaked is None or self.near_leaked is None
            else {
                "exact": self.leaked.to_dict(),
                "near": {"threshold": self.near_threshold, **self.near_leaked.to_dict()},
            },
            "lengths": {group: s.to_dict() for group, s in self.lengths},
            "tokens": None
            if self.token_limit is None
            else {
                **self.token_limit.to_dict(),
                "lengths": {g: s.to_dict() for g, s in self.tokens},
            },
            "labels": None if self.labels is None else self.labels.to_dict(),
            "scripts": dict(self.scripts),
        }
