"""Apply a policy to a dossier: admit, admit with conditions, or refuse, each with its reasons.

Every rule is checked (not only up to the first refusal) so that one report lists everything
that must change before the model can be admitted.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date

from airlock.checks.license import knowledge
from airlock.checks.resources.accelerators import GIB
from airlock.dossier.model import Dossier, LicenseSection
from airlock.findings import Finding
from airlock.policy.model import PICKLE_KINDS, Policy
from airlock.policy.waivers import WaiverOutcome, apply_waivers


class Decision(enum.Enum):
    ADMIT = "admit"
    ADMIT_WITH_CONDITIONS = "admit_with_conditions"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Reason:
    rule: str  # the policy setting that decided, e.g. "license.require_commercial_use"
    message: str


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
    reasons = [*_license(dossier, policy), *_findings(waived.remaining(dossier), policy)]
    reasons += [*_signature(dossier, policy), *_formats(dossier, policy)]
    resource_reasons, resource_conditions = _resources(dossier, policy)
    reasons += resource_reasons
    lic = dossier.license
    conditions = [*lic.conditions, *lic.obligations, *lic.restrictions, *resource_conditions]
    if reasons:
        return Verdict(Decision.REFUSE, tuple(reasons), tuple(dict.fromkeys(conditions)), waived)
    decision = Decision.ADMIT_WITH_CONDITIONS if conditions else Decision.ADMIT
    return Verdict(decision, (), tuple(dict.fromkeys(conditions)), waived)


_OPERATOR = re.compile(r"\s+(?:AND|OR)\s+|[()]", re.IGNORECASE)
_EXCEPTION = re.compile(r"\s+WITH\s+.*", re.IGNORECASE)  # `Apache-2.0 WITH LLVM-exception`


def license_ids(expression: str) -> set[str]:
    """The knowledge-base ids a dossier's license names (`GPL-3.0-only OR MIT` -> gpl-3.0, mit),
    so that the policy's resolved ids compare with them; a part Airlock does not know stays
    as written, lowercased."""
    bare = expression.removesuffix(" (with unknown terms)")
    parts = (_EXCEPTION.sub("", part).strip() for part in _OPERATOR.split(bare))
    return {(t.id if (t := knowledge.lookup(p)) else p.lower()) for p in parts if p}


def binding_ids(lic: LicenseSection) -> set[str]:
    """Every license that binds: the declared id, and each license in the name, which lists all
    binding terms (when the card says apache-2.0 and LICENSE is the Llama 3.1 text, both bind,
    and a deny list naming either must match)."""
    named = (knowledge.lookup(part) for part in lic.name.split(" + "))
    return license_ids(lic.id) | {terms.id for terms in named if terms is not None}


def _license(dossier: Dossier, policy: Policy) -> list[Reason]:
    rules, lic = policy.license, dossier.license
    ids = binding_ids(lic)
    found = []
    if lic.commercial_use == "unknown" and not rules.allow_unknown:
        found.append(
            Reason(
                "license.allow_unknown",
                f"The license is unknown ({lic.id}), so there is no known right to use the model.",
            )
        )
    elif lic.commercial_use == "no" and not rules.allow_non_commercial:
        found.append(
            Reason(
                "license.allow_non_commercial",
                f"{lic.name} forbids commercial use (research or non-commercial terms).",
            )
        )
    elif rules.require_commercial_use and lic.commercial_use not in ("yes", "conditional"):
        found.append(
            Reason(
                "license.require_commercial_use",
                f"Commercial use is required, and {lic.name} does not clearly allow it.",
            )
        )
    if lic.outputs_restricted and not rules.allow_output_restrictions:
        found.append(
            Reason(
                "license.allow_output_restrictions",
                f"{lic.name} limits what the model's outputs may be used for.",
            )
        )
    denied = sorted(ids & set(rules.denied))
    if denied:
        found.append(Reason("license.denied", f"The license {', '.join(denied)} is denied."))
    if rules.allowed and lic.commercial_use != "unknown" and not ids <= set(rules.allowed):
        found.append(
            Reason(
                "license.allowed",
                f"The license {', '.join(sorted(ids - set(rules.allowed)))} is not one of the "
                f"allowed licenses ({', '.join(rules.allowed)}).",
            )
        )
    return found  # fmt: skip


def _findings(findings: tuple[Finding, ...], policy: Policy) -> list[Reason]:
    over = [f for f in findings if f.severity > policy.max_severity]
    if not over:
        return []
    worst = max(f.severity for f in over)
    ids = ", ".join(sorted({f.rule_id for f in over}))
    return [
        Reason(
            "findings.max_severity",
            f"{len(over)} integrity finding(s) above {policy.max_severity.label} (worst: "
            f"{worst.label}; {ids}): loading the files may run code or could not be checked.",
        )
    ]


def _signature(dossier: Dossier, policy: Policy) -> list[Reason]:
    prov = dossier.provenance
    if not policy.signature.required or prov.signature == "verified":
        return []
    what = {"absent": "there is no signature", "invalid": "the signature did not verify"}
    problem = what.get(prov.signature, "the signature could not be checked")
    return [
        Reason(
            "signature.required",
            f"A signature by a trusted key is required, and {problem} ({prov.signature_detail}).",
        )
    ]


def _formats(dossier: Dossier, policy: Policy) -> list[Reason]:
    found = []
    kinds = dossier.scan.kinds
    for kind in sorted(kinds & set(policy.formats.refused)):
        files = [f.path for f in dossier.scan.files if f.kind == kind]
        found.append(
            Reason("formats.refused", f"The {kind} format is refused: {', '.join(files)}.")
        )
    pickled = [f.path for f in dossier.scan.files if f.kind in PICKLE_KINDS]
    if policy.formats.refuse_pickle_beside_safetensors and pickled and "safetensors" in kinds:
        found.append(
            Reason(
                "formats.refuse_pickle_beside_safetensors",
                "Safetensors weights ship with pickle-based copies that a loader may pick "
                f"instead (and pickles can run code): remove {', '.join(pickled)}.",
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
        why = f"The model could not be sized ({fit.detail}), so its limits cannot be checked."
        return [Reason("resources.allow_unknown_size", why)], []
    found: list[Reason] = []
    conditions: list[str] = []
    if rules.max_memory_gib is not None and fit.total_bytes > rules.max_memory_gib * GIB:
        found.append(
            Reason(
                "resources.max_memory_gib",
                f"It needs {fit.total_bytes / GIB:.1f} GiB at its stored precision; the limit "
                f"is {rules.max_memory_gib:g} GiB.",
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
                    f"It does not fit on {rules.max_devices} x {rules.accelerator} at any "
                    "precision tried.",
                )
            )
        elif fitting[0] is not options[0]:
            conditions.append(
                f"Run it at {fitting[0].precision} precision to fit on "
                f"{rules.max_devices} x {rules.accelerator}."
            )
    return found, conditions
