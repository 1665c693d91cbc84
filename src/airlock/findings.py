"""The one shape every check reports in: a finding with a stable rule id."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Severity(enum.IntEnum):
    """Ordered so that comparisons read naturally: CRITICAL > HIGH."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (choose from {choices})") from None


@dataclass(frozen=True)
class Location:
    """Where inside a file: the chain of archive members / nested streams and a byte offset."""

    members: tuple[str, ...] = ()
    offset: int | None = None

    def inside(self, member: str) -> Location:
        return Location(members=(*self.members, member), offset=None)

    def at(self, offset: int) -> Location:
        return Location(members=self.members, offset=offset)

    def describe(self) -> str:
        parts = list(self.members)
        if self.offset is not None:
            parts.append(f"byte {self.offset}")
        return " > ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"members": list(self.members), "offset": self.offset}


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    file: str
    location: Location
    message: str
    evidence: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            "severity": self.severity.label,
            "file": self.file,
            "location": self.location.to_dict(),
            "message": self.message,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        location = data["location"]
        return cls(
            rule_id=data["id"],
            severity=Severity.parse(data["severity"]),
            file=data["file"],
            location=Location(tuple(location["members"]), location["offset"]),
            message=data["message"],
            evidence=data["evidence"],
        )
