"""What a vet report says, in plain language, once for every format that renders it."""

from __future__ import annotations

from dataclasses import dataclass

from airlock.dossier.model import Dossier
from airlock.findings import Finding, Severity
from airlock.fit.accelerators import GIB
from airlock.license.inherit import origin
from airlock.license.lineage import Ancestor
from airlock.policy.evaluate import Decision, Verdict
from airlock.policy.model import Policy, Waiver
from airlock.policy.waivers import WaiverOutcome, evidence_digest
from airlock.policy.wording import no_model_file
from airlock.report.recorded_evals import describe, summary

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
    waived: tuple[str, ...] = ()  # findings the policy accepts: what, by whom, until when, why
    warnings: tuple[str, ...] = ()  # waivers that expired or match nothing
    evals: tuple[str, ...] = ()  # eval results recorded for these exact files


def digest_label(finding: Finding) -> str:
    """How reports show a finding's evidence digest, ready to copy into a waiver."""
    return f"sha256:{evidence_digest(finding)}"


def summarize_vet(dossier: Dossier, verdict: Verdict, policy: Policy) -> VetSummary:
    headline, meaning = HEADLINES[verdict.decision]
    findings = [*dossier.scan.findings, *dossier.license.findings]
    outcome = verdict.waivers
    shown = sorted(
        (f for f in findings if f.severity > Severity.INFO and not outcome.is_waived(f)),
        key=lambda f: -f.severity,
    )
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
            ("Quality", summary(dossier.evals)),
        ),
        findings=tuple(shown),
        policy=f"{policy.name} ({policy.digest[:19]}...)",
        waived=tuple(
            f"{w.finding.severity.label.upper()} {w.finding.rule_id} {w.finding.file}: "
            f"{w.finding.message} Waived by {w.waiver.by} until {w.waiver.expires}: "
            f"{w.waiver.reason} ({w.waiver.where})"
            for w in outcome.waived
        ),
        warnings=_waiver_warnings(outcome),
        evals=tuple(describe(r) for r in dossier.evals),
    )


def _waiver_warnings(outcome: WaiverOutcome) -> tuple[str, ...]:
    def named(w: Waiver) -> str:
        return f"The waiver for {w.rule} in {w.file} ({w.where}, by {w.by})"

    expired = [
        f"{named(w)} expired on {w.expires} and no longer applies: what it named counts again."
        for w in outcome.expired
    ]
    unused = [
        f"{named(w)} matches no finding: remove it, or check its file and evidence digest "
        "against the findings listed in this report."
        for w in outcome.unused
    ]
    return (*expired, *unused)


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
    said = f"{lic.name} [{lic.id}]: {_COMMERCIAL.get(lic.commercial_use, lic.commercial_use)}."
    return " ".join([said, *(_ancestor(a) for a in lic.lineage)])


def _ancestor(ancestor: Ancestor) -> str:
    """Where inherited duties come from: the base model, where it is declared, its license."""
    if ancestor.license_ids:
        passed = f"its license binds this model too ({', '.join(ancestor.license_ids)})"
    elif ancestor.certainty == "likely":
        passed = "its license is unknown (not counted: it may be the model itself)"
    else:
        passed = "its license is unknown"
    return f"Built from {origin((ancestor,))} ({ancestor.declared_in}): {passed}."


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
