"""Apply a policy to a dossier: admit, admit with conditions, or refuse, each with its reasons.

Every rule is checked (not only up to the first refusal) so that one report lists everything
that must change before the model can be admitted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from airlock.dossier.model import Dossier
from airlock.findings import Finding
from airlock.fit.accelerators import GIB
from airlock.license import knowledge
from airlock.policy.licenses import (
    binding_ids,
    described,
    limits_outputs,
    named,
    non_commercial,
    where,
)
from airlock.policy.model import PICKLE_KINDS, Policy
from airlock.policy.quality import quality
from airlock.policy.waivers import WaiverOutcome, apply_waivers
from airlock.policy.wording import MAX_FINDING_REASONS, finding_sentences, no_model_file


class Decision(enum.Enum):
    ADMIT = "admit"
    ADMIT_WITH_CONDITIONS = "admit_with_conditions"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Reason:
    rule: str  # the policy setting that decided, e.g. "license.require_commercial_use"
    message: str  # a sentence a manager can act on: what would happen, where, because of what
    rule_id: str = ""  # the finding's rule (AIR101), when a finding decided
    file: str = ""  # the file it is in, when one file decided

    @property
    def label(self) -> str:
        """What a report prints beside the sentence: the rule id, else the policy setting."""
        return self.rule_id or self.rule


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reasons: tuple[Reason, ...]  # why it was refused (empty unless refused)
    conditions: tuple[str, ...]  # what the organization must do to use it
    # Findings the policy's waivers accepted, and the waivers that did not apply.
    waivers: WaiverOutcome = field(default_factory=WaiverOutcome)

    @property
    def admitted(self) -> bool:
        return self.decision is not Decision.REFUSE


def evaluate(dossier: Dossier, policy: Policy, today: date | None = None) -> Verdict:
    """`today` decides which waivers have expired (default: the day the dossier was made)."""
    day = today or date.fromisoformat(dossier.created_at[:10])
    waived = apply_waivers(dossier, policy.waivers, day)
    reasons = [
        *_scannable(dossier),
        *_license(dossier, policy),
        *_findings(waived.remaining(dossier), dossier.source, policy),
    ]
    reasons += [*_signature(dossier, policy), *_formats(dossier, policy)]
    resource_reasons, resource_conditions = _resources(dossier, policy)
    quality_reasons, quality_conditions = quality(dossier, policy)
    reasons += [*resource_reasons, *(Reason(rule, message) for rule, message in quality_reasons)]
    lic = dossier.license
    conditions = [*lic.conditions, *lic.obligations, *lic.restrictions, *resource_conditions]
    conditions += quality_conditions
    if reasons:
        return Verdict(Decision.REFUSE, tuple(reasons), tuple(dict.fromkeys(conditions)), waived)
    decision = Decision.ADMIT_WITH_CONDITIONS if conditions else Decision.ADMIT
    return Verdict(decision, (), tuple(dict.fromkeys(conditions)), waived)


# License findings that say why a license is unknown: the first one found is quoted.
_UNKNOWN_LICENSE = ("AIR801", "AIR802", "AIR803", "AIR804", "AIR811")


def _non_commercial_scope(ids: set[str]) -> str:
    """What a non-commercial license leaves: a rider (the Commons Clause) takes away selling
    only, a research license everything but research."""
    terms = [knowledge.by_id(i) for i in ids]
    if any(t.rider and t.commercial_use == "no" for t in terms):
        return "takes away the right to sell the model or a service built on it"
    return "allows research or non-commercial use only"


def _license(dossier: Dossier, policy: Policy) -> list[Reason]:
    rules, lic = policy.license, dossier.license
    ids = binding_ids(lic)
    found = []
    if lic.commercial_use == "unknown" and not rules.allow_unknown:
        why = next((f for f in lic.findings if f.rule_id in _UNKNOWN_LICENSE), None)
        found.append(
            Reason(
                "license.allow_unknown",
                "there is no known right to use the model: its license is unknown "
                f"({why.message.rstrip('.') if why else lic.id})",
                why.rule_id if why else "",
            )
        )
    elif lic.commercial_use == "no" and not rules.allow_non_commercial:
        found.append(
            Reason(
                "license.allow_non_commercial",
                f"the license forbids commercial use: {named(lic, where(ids, non_commercial))} "
                f"{_non_commercial_scope(ids)}",
                "AIR805",
            )
        )
    elif rules.require_commercial_use and lic.commercial_use not in ("yes", "conditional"):
        found.append(
            Reason(
                "license.require_commercial_use",
                f"your policy requires commercial use, and {lic.name} does not clearly allow it",
            )
        )
    if lic.outputs_restricted and not rules.allow_output_restrictions:
        found.append(
            Reason(
                "license.allow_output_restrictions",
                "the license limits what the model's outputs may be used for, and your policy "
                f"refuses such limits: {named(lic, where(ids, limits_outputs))}",
                "AIR807",
            )
        )
    denied = sorted(ids & set(rules.denied))
    if denied:
        found.append(
            Reason(
                "license.denied",
                f"the license is on your policy's deny list: {described(lic, denied)}",
            )
        )
    if rules.allowed and lic.commercial_use != "unknown" and not ids <= set(rules.allowed):
        found.append(
            Reason(
                "license.allowed",
                f"the license is not on your policy's allow list: "
                f"{described(lic, sorted(ids - set(rules.allowed)))}; "
                f"allowed: {', '.join(rules.allowed)}",
            )
        )
    return found  # fmt: skip


def _findings(findings: tuple[Finding, ...], source: str, policy: Policy) -> list[Reason]:
    over = [f for f in findings if f.severity > policy.max_severity]
    if not over:
        return []
    sentences = finding_sentences(over, source)
    found = [
        Reason("findings.max_severity", sentence, finding.rule_id, finding.file)
        for sentence, finding, _ in sentences[:MAX_FINDING_REASONS]
    ]
    rest = sum(count for _, _, count in sentences[MAX_FINDING_REASONS:])
    if rest:
        found.append(
            Reason(
                "findings.max_severity",
                f"{rest} more finding(s) above {policy.max_severity.label}: see the findings",
            )
        )
    return found


def _scannable(dossier: Dossier) -> list[Reason]:
    # Nothing inspected means nothing vouched for: a pass would be meaningless (`airlock scan`
    # says "nothing to scan" for the same folder). No policy setting can turn this off.
    nothing = no_model_file(dossier.scan, dossier.source)
    return [] if nothing is None else [Reason("scan.model_file", *nothing)]


def _signature(dossier: Dossier, policy: Policy) -> list[Reason]:
    prov = dossier.provenance
    if not policy.signature.required or prov.signature == "verified":
        return []
    what = {"absent": "there is no signature", "invalid": "the signature did not verify"}
    problem = what.get(prov.signature, "the signature could not be checked")
    return [
        Reason(
            "signature.required",
            "the files are not proven to come from a trusted publisher, and your policy "
            f"requires it: {problem} ({prov.signature_detail})",
        )
    ]


def _formats(dossier: Dossier, policy: Policy) -> list[Reason]:
    found = []
    kinds = dossier.scan.kinds
    for kind in sorted(kinds & set(policy.formats.refused)):
        files = [f.path for f in dossier.scan.files if f.kind == kind]
        found.append(
            Reason(
                "formats.refused",
                f"your policy refuses the {kind} format: {', '.join(files)}",
                file=files[0] if len(files) == 1 else "",
            )
        )
    pickled = [f.path for f in dossier.scan.files if f.kind in PICKLE_KINDS]
    if policy.formats.refuse_pickle_beside_safetensors and pickled and "safetensors" in kinds:
        found.append(
            Reason(
                "formats.refuse_pickle_beside_safetensors",
                "pickle copies of the weights ship beside the safetensors files, and a loader "
                f"may pick them instead (pickles can run code): remove {', '.join(pickled)}",
            )
        )
    return found


def _resources(dossier: Dossier, policy: Policy) -> tuple[list[Reason], list[str]]:
    rules, fit = policy.resources, dossier.fit
    if not rules.limited:
        return [], []
    if not fit.sized:
        if rules.allow_unknown_size:
            return [], [f"Check by hand that the model fits your hardware ({fit.detail})."]
        why = (
            f"the model's memory needs could not be worked out ({fit.detail}), so your "
            "policy's hardware limits cannot be checked"
        )
        return [Reason("resources.allow_unknown_size", why)], []
    found: list[Reason] = []
    conditions: list[str] = []
    if rules.max_memory_gib is not None and fit.total_bytes > rules.max_memory_gib * GIB:
        found.append(
            Reason(
                "resources.max_memory_gib",
                f"the model needs more memory than your policy allows: {fit.total_bytes / GIB:.1f}"
                f" GiB at its stored precision, the limit is {rules.max_memory_gib:g} GiB",
            )
        )
    if rules.accelerator is not None:
        need = next((n for n in fit.accelerators if n.id == rules.accelerator), None)
        options = need.options if need is not None else ()
        fitting = [o for o in options if o.devices is not None and o.devices <= rules.max_devices]
        if not fitting:
            found.append(
                Reason(
                    "resources.accelerator",
                    "the model does not fit your policy's hardware: not on "
                    f"{rules.max_devices} x {rules.accelerator} at any precision tried",
                )
            )
        elif fitting[0] is not options[0]:
            conditions.append(
                f"Run it at {fitting[0].precision} precision to fit on "
                f"{rules.max_devices} x {rules.accelerator}."
            )
    return found, conditions
