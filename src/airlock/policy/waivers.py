"""Waivers: findings the organization has looked at and accepts, until a date.

A waiver names a finding by rule id, file (within the model) and the sha256 of its evidence, so
it accepts that finding only: a new payload in the same file has other evidence, and is not
waived. Expired waivers stop applying; waivers that match nothing are reported, so that a typo
never passes silently for an accepted risk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath

from airlock.dossier.model import Dossier
from airlock.findings import Finding
from airlock.policy.model import Waiver


@dataclass(frozen=True)
class WaivedFinding:
    finding: Finding
    waiver: Waiver


@dataclass(frozen=True)
class WaiverOutcome:
    waived: tuple[WaivedFinding, ...] = ()
    expired: tuple[Waiver, ...] = ()  # past their date: what they name counts again
    unused: tuple[Waiver, ...] = ()  # in force, but no finding matches them

    def remaining(self, dossier: Dossier) -> tuple[Finding, ...]:
        """The integrity findings that still count."""
        accepted = {w.finding for w in self.waived}
        return tuple(f for f in dossier.scan.findings if f not in accepted)

    def is_waived(self, finding: Finding) -> bool:
        return any(w.finding == finding for w in self.waived)


def evidence_digest(finding: Finding) -> str:
    """What a waiver's `evidence` names: the sha256 of the finding's evidence text (UTF-8)."""
    data = finding.evidence.encode("utf-8", "backslashreplace")
    return hashlib.sha256(data).hexdigest()


def model_path(file: str, source: str) -> str:
    """A finding's file as a path within the model (`source` is the folder or file vetted)."""
    path = PurePosixPath(file.replace("\\", "/"))
    try:
        within = path.relative_to(PurePosixPath(source.replace("\\", "/")))
    except ValueError:
        return path.as_posix()  # not under the source: only a waiver naming it exactly matches
    return within.as_posix() if within.parts else path.name


def apply_waivers(dossier: Dossier, waivers: tuple[Waiver, ...], today: date) -> WaiverOutcome:
    findings = [*dossier.scan.findings, *dossier.license.findings]
    waived: list[WaivedFinding] = []
    expired: list[Waiver] = []
    unused: list[Waiver] = []
    for waiver in waivers:
        if not waiver.applies_on(today):
            expired.append(waiver)
            continue
        matched = [f for f in findings if _matches(waiver, f, dossier.source)]
        waived += [WaivedFinding(f, waiver) for f in matched if not _in(f, waived)]
        if not matched:
            unused.append(waiver)
    return WaiverOutcome(tuple(waived), tuple(expired), tuple(unused))


def _matches(waiver: Waiver, finding: Finding, source: str) -> bool:
    # The file is named by its path within the model, or exactly as the report printed it.
    files = {model_path(finding.file, source), finding.file.replace("\\", "/")}
    return (
        finding.rule_id == waiver.rule
        and waiver.file in files
        and evidence_digest(finding) == waiver.evidence
    )


def _in(finding: Finding, waived: list[WaivedFinding]) -> bool:
    return any(w.finding == finding for w in waived)
