"""Findings counted by rule and kind, with a bounded list of examples per rule: a million
e-mail addresses are one count and the first few places, not a million findings in memory."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airlock.findings import Finding, Severity
from airlock.rules import rule


@dataclass(frozen=True)
class RuleCount:
    rule_id: str
    severity: Severity
    count: int
    kinds: tuple[tuple[str, int], ...]  # (kind, count), most frequent first
    examples: tuple[Finding, ...]  # the first ones found, at most the tally's limit

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            "name": rule(self.rule_id).name,
            "severity": self.severity.label,
            "count": self.count,
            "kinds": dict(self.kinds),
            "examples": [finding.to_dict() for finding in self.examples],
        }


class Tally:
    def __init__(self, max_examples: int) -> None:
        self._max = max_examples
        self._counts: Counter[tuple[str, str]] = Counter()
        self._examples: dict[str, list[Finding]] = {}

    def add(self, rule_id: str, kind: str, finding: Callable[[], Finding], count: int = 1) -> None:
        """Count `count` findings; `finding` builds an example only while one is wanted."""
        self._counts[rule_id, kind] += count
        examples = self._examples.setdefault(rule_id, [])
        if len(examples) < self._max:
            examples.append(finding())

    def add_counted(self, rule_id: str, kind: str, count: int, examples: list[Finding]) -> None:
        """`count` findings known in total, with their first examples already made."""
        if count:
            self._counts[rule_id, kind] += count
            listed = self._examples.setdefault(rule_id, [])
            listed.extend(examples[: self._max - len(listed)])

    def counts(self) -> tuple[RuleCount, ...]:
        """Worst severity first, then by rule id."""
        totals: Counter[str] = Counter()
        kinds: dict[str, Counter[str]] = {}
        for (rule_id, kind), count in self._counts.items():
            totals[rule_id] += count
            kinds.setdefault(rule_id, Counter())[kind] += count
        found = [
            RuleCount(
                rule_id,
                rule(rule_id).default_severity,
                total,
                tuple(sorted(kinds[rule_id].items(), key=lambda kv: (-kv[1], kv[0]))),
                tuple(self._examples[rule_id]),
            )
            for rule_id, total in totals.items()
        ]
        return tuple(sorted(found, key=lambda c: (-c.severity, c.rule_id)))
