"""What a vet report says, in plain language, once for every format that renders it."""

from __future__ import annotations

from dataclasses import dataclass

from airlock.checks.resources.accelerators import GIB
from airlock.dossier.model import Dossier
from airlock.findings import Finding, Severity
from airlock.policy.evaluate import Decision, Verdict
from airlock.policy.model import Policy
from airlock.policy.wording import no_model_file

HEADLINES = {
    Decision.ADMIT: ("ADMIT", "You may use this model under your organization's policy."),
    Decision.ADMIT_WITH_CONDITIONS: (
        "ADMIT WITH CONDITIONS",
        "You may use this model if you meet every condition listed below.",
    ),
    Decision.REFUSE: (
        "REFUSE",
        "Do not use this model. The reasons below say what would have to change.",
    ),
}
_SIGNATURE = {
    "verified": "signed by a trusted key",
    "invalid": "the signature did NOT verify",
    "absent": "no signature, and one is required",
    "not_checked": "signature not checked",
}
_COMMERCIAL = {
    "yes": "commercial use allowed",
    "conditional": "commercial use allowed below a threshold",
    "no": "commercial use NOT allowed",
    "unknown": "terms unknown",
}


@dataclass(frozen=True)
class VetSummary:
    source: str
    decision: Decision
    headline: str
    meaning: str
    reasons: tuple[str, ...]
    conditions: tuple[str, ...]
    facts: tuple[tuple[str, str], ...]  # (topic, what was found)
    findings: tuple[Finding, ...]  # integrity and license findings above info, worst first
    policy: str


def summarize_vet(dossier: Dossier, verdict: Verdict, policy: Policy) -> VetSummary:
    headline, meaning = HEADLINES[verdict.decision]
    findings = [*dossier.scan.findings, *dossier.license.findings]
    shown = sorted((f for f in findings if f.severity > Severity.INFO), key=lambda f: -f.severity)
    return VetSummary(
        source=dossier.source,
        decision=verdict.decision,
        headline=headline,
        meaning=meaning,
        # The sentence first, the rule id (or the policy setting) beside it, never instead.
        reasons=tuple(f"{r.message} [{r.label}]" for r in verdict.reasons),
        conditions=verdict.conditions,
        facts=(
            ("Safety", _safety(dossier)),
            ("License", _license(dossier)),
            ("Hardware", _hardware(dossier)),
            ("Provenance", _provenance(dossier)),
        ),
        findings=tuple(shown),
        policy=f"{policy.name} ({policy.digest[:19]}...)",
    )


def _safety(dossier: Dossier) -> str:
    scan = dossier.scan
    inspected = sum(1 for f in scan.files if f.inspected)
    worst = scan.worst()
    base = f"{len(scan.files)} files, {inspected} inspected without loading them"
    if no_model_file(scan, dossier.source) is not None:
        return f"{base}; no model file among them, so nothing that would be loaded was checked."
    if worst is None or worst == Severity.INFO:
        return f"{base}; nothing found that would run code."
    return f"{base}; {len(scan.findings)} finding(s), the worst {worst.label}."


def _license(dossier: Dossier) -> str:
    lic = dossier.license
    return f"{lic.name} [{lic.id}]: {_COMMERCIAL.get(lic.commercial_use, lic.commercial_use)}."


def _hardware(dossier: Dossier) -> str:
    fit = dossier.fit
    if not fit.sized:
        return f"not sized ({fit.detail})."
    return (
        f"{fit.parameters / 1e6:,.1f}M parameters; about {fit.total_bytes / GIB:.1f} GiB of memory."
    )


def _provenance(dossier: Dossier) -> str:
    prov = dossier.provenance
    signature = _SIGNATURE.get(prov.signature, prov.signature)
    return f"{len(prov.files)} files hashed ({prov.digest[:19]}...); {signature}."
