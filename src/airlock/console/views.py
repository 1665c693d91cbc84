"""What the Models, Model and Request pages show, as plain data (the templates only lay it
out, the admin API returns the same dicts): one place decides each column."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from airlock.dossier.model import Dossier
from airlock.findings import Finding
from airlock.fit.accelerators import GIB
from airlock.model_category import category
from airlock.policy.evaluate import Decision, Reason, Verdict, evaluate
from airlock.policy.model import Policy
from airlock.registry import audit
from airlock.registry.evals import for_files
from airlock.registry.store import Record, Registry
from airlock.report.recorded_evals import describe
from airlock.report.vet.summary import HEADLINES, VetSummary, digest_label, summarize_vet
from airlock.rules import RULES

_COMMERCIAL = {
    "yes": "Yes",
    "conditional": "Yes, below a threshold",
    "no": "No",
    "unknown": "Unknown",
}
# Up to this much memory a model serves from a CPU (a laptop or any server has it free).
CPU_FRIENDLY_BYTES = 4 * GIB
# The page's colour for each verdict (console.css: .v-admit, .v-conditions, .v-refuse).
VERDICT_CLASS = {
    Decision.ADMIT.value: "v-admit",
    Decision.ADMIT_WITH_CONDITIONS.value: "v-conditions",
    Decision.REFUSE.value: "v-refuse",
}


@dataclass(frozen=True)
class Badge:
    text: str
    tone: str  # ok | warn | bad | info (console.css)
    title: str = ""


def status_badges(record: Record) -> list[Badge]:
    """The state badges beside a model's name, on every page that lists it, so listing, model
    page and API agree."""
    badges = []
    if record.suspended_reason is not None:
        badges.append(
            Badge(
                "suspended",
                "bad",
                f"not served since a re-vet: {record.suspended_reason}. Re-admit after review "
                "to lift it.",
            )
        )
    if record.forced:
        badges.append(
            Badge(
                "forced", "warn", f"the policy refused it; admitted because: {record.force_reason}"
            )
        )
    if record.engine is None:
        badges.append(Badge("not servable", "bad", record.engine_reason))
    return badges


@dataclass(frozen=True)
class ModelRow:
    name: str
    version: int
    decision: str
    verdict: str  # the headline: ADMIT, ADMIT WITH CONDITIONS, REFUSE
    verdict_class: str
    conditions: tuple[str, ...]
    license: str
    commercial: str
    category: str
    size: str
    hardware: str
    drift: str
    evals: tuple[str, ...]
    badges: list[Badge] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["badges"] = [vars(b) for b in self.badges]
        data["conditions"] = list(self.conditions)
        data["evals"] = list(self.evals)
        return data


def model_rows(registry: Registry) -> list[ModelRow]:
    """The newest version of every admitted name, as the Models page lists them."""
    return [model_row(registry, r) for r in registry.latest()]


def model_row(registry: Registry, record: Record) -> ModelRow:
    """One version's row; its eval results are those recorded for its exact files, also after
    its admission (the dossier holds only those recorded before)."""
    dossier = record.dossier
    lic = dossier.get("license", {})
    fit = dossier.get("fit", {})
    decision = Decision(record.decision)
    return ModelRow(
        name=record.name,
        version=record.version,
        decision=record.decision,
        verdict=HEADLINES[decision][0],
        verdict_class=VERDICT_CLASS[record.decision],
        conditions=record.conditions,
        license=f"{lic.get('name', 'unknown')} [{lic.get('id', 'unknown')}]",
        commercial=_COMMERCIAL.get(str(lic.get("commercial_use")), "Unknown"),
        category=category(record.engine, [f.path for f in record.files]) or "not servable",
        size=_size(fit),
        hardware=_hardware(fit),
        drift=_drift(registry, record),
        evals=tuple(describe(r) for r in for_files(registry, record.manifest_digest)),
        badges=status_badges(record),
    )


def _drift(registry: Registry, record: Record) -> str:
    """The last `airlock models verify` of this version, in words."""
    entry = audit.latest(registry.engine, audit.VERIFY, f"{record.name} v{record.version}")
    if entry is None:
        return "not checked yet: run `airlock models verify`"
    when = entry.at.strftime("%Y-%m-%d %H:%M UTC")
    if not entry.details.get("drifted"):
        return f"unchanged (checked {when})"
    problems = [str(p) for p in entry.details.get("problems", [])]
    return f"CHANGED since admission (checked {when}): " + "; ".join(problems[:3])


def _size(fit: dict[str, Any]) -> str:
    if not fit.get("sized"):
        return "not sized"
    return f"{fit['parameters'] / 1e6:,.1f}M parameters, {fit['total_bytes'] / GIB:.1f} GiB"


def _hardware(fit: dict[str, Any]) -> str:
    """Where it runs, in a few words: a small model on any machine's CPU, a larger one on the
    accelerators one device of which holds it at its stored precision."""
    if not fit.get("sized"):
        return "unknown (not sized)"
    memory = f"{fit['total_bytes'] / GIB:.1f} GiB"
    if fit["total_bytes"] <= CPU_FRIENDLY_BYTES:
        return f"any machine: a CPU with {memory} of free memory is enough"
    fits = [
        need["name"]
        for need in fit.get("accelerators", [])
        if need.get("options") and need["options"][0].get("devices") == 1
    ]
    if not fits:
        return f"needs several accelerators ({memory})"
    more = f" and {len(fits) - 3} more" if len(fits) > 3 else ""
    return f"one {', '.join(fits[:3])}{more} ({memory})"


@dataclass(frozen=True)
class FindingRow:
    severity: str
    rule: str
    doc_url: str | None
    file: str
    message: str
    evidence: str


@dataclass(frozen=True)
class DossierView:
    """The vet report's content (report/vet/summary.py), with each finding's rule link."""

    summary: VetSummary
    verdict_class: str
    findings: tuple[FindingRow, ...]
    duties: tuple[tuple[str, tuple[str, ...]], ...]  # (kind, items)
    files: tuple[tuple[str, int, str], ...]
    digest: str
    signature: str


def request_dossier(data: dict[str, Any], policy: Policy) -> DossierView:
    """A requested model's dossier as vetted, judged by `policy` (the one the server runs)."""
    dossier = Dossier.from_dict(data)
    return _dossier_view(dossier, evaluate(dossier, policy), policy, None)


def record_dossier(registry: Registry, record: Record, policy: Policy) -> DossierView:
    """An admitted version's dossier with the verdict recorded at its admission (not today's
    policy's), that policy's name and digest, and the eval results recorded for its files
    until now."""
    dossier = Dossier.from_dict(record.dossier)
    dossier = replace(dossier, evals=for_files(registry, record.manifest_digest))
    verdict = Verdict(
        Decision(record.decision),
        tuple(Reason(r["rule"], r["message"]) for r in record.reasons),
        record.conditions,
    )
    label = f"{record.policy_name} ({record.policy_digest[:19]}...)"
    return _dossier_view(dossier, verdict, policy, label)


def _dossier_view(
    dossier: Dossier, verdict: Verdict, policy: Policy, policy_label: str | None
) -> DossierView:
    summary = summarize_vet(dossier, verdict, policy)
    if policy_label is not None:
        summary = replace(summary, policy=policy_label)
    lic = dossier.license
    return DossierView(
        summary=summary,
        verdict_class=VERDICT_CLASS[verdict.decision.value],
        findings=tuple(_finding(f) for f in summary.findings),
        duties=(
            ("Conditions", lic.conditions),
            ("Obligations", lic.obligations),
            ("Restrictions", lic.restrictions),
        ),
        files=tuple((f.path, f.size, f.sha256) for f in dossier.provenance.files),
        digest=dossier.provenance.digest,
        signature=": ".join(
            part
            for part in (
                dossier.provenance.signature.replace("_", " "),
                dossier.provenance.signature_detail,
            )
            if part
        ),
    )


def _finding(finding: Finding) -> FindingRow:
    known = RULES.get(finding.rule_id)
    return FindingRow(
        severity=finding.severity.label,
        rule=finding.rule_id,
        doc_url=known.doc_url if known is not None else None,
        file=finding.file,
        message=finding.message,
        evidence=digest_label(finding),
    )
