"""Combine the claims into one answer: which license binds, what it lets the organization do,
what it obliges it to do, and the findings. The answer combines the model's own license with
every ancestor's (lineage): in doubt it is the more restrictive one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import airlock.license.components as components
import airlock.license.knowledge as knowledge
from airlock.findings import Finding
from airlock.license.components import ComponentLicense
from airlock.license.family import infer_family, likely_inherited_finding
from airlock.license.findings import license_findings
from airlock.license.inherit import INHERITING, Inheritance, inherit, inheritance_findings
from airlock.license.knowledge import COMMERCIAL_RANK, CommercialUse, LicenseTerms
from airlock.license.lineage import Ancestor, read_lineage
from airlock.license.openness import Openness, assess_openness
from airlock.license.sources import Claim, Collected, collect

UNKNOWN = "unknown"
_PRIORITY = {"model card": 0, "license file": 1, "gguf metadata": 2, "notice file": 3}


@dataclass(frozen=True)
class LicenseAssessment:
    path: str
    license_id: str  # a knowledge id, an expression ("apache-2.0 OR mit"), or "unknown"
    name: str
    confidence: str  # high | medium | low | none
    sources: tuple[Claim, ...]
    terms: tuple[LicenseTerms, ...]  # the licenses that bind: the model's own, then inherited
    commercial_use: CommercialUse
    conditions: tuple[str, ...]
    obligations: tuple[str, ...]
    restrictions: tuple[str, ...]
    openness: Openness
    findings: tuple[Finding, ...]
    snapshot: str = ""
    lineage: tuple[Ancestor, ...] = ()  # declared ancestors and the licenses they pass on
    # Per component when the folder licenses the code apart from the weights (components.py);
    # the weights' license is the answer above.
    components: tuple[ComponentLicense, ...] = ()


def assess_path(path: str | Path) -> LicenseAssessment:
    """Raises airlock.artifact.ArtifactError for a path that does not exist."""
    collected = collect(Path(path))
    return assess(collected, str(path))


def assess(collected: Collected, display: str) -> LicenseAssessment:
    collected = replace(collected, claims=components.settle(collected.claims))
    model_claims = [c for c in collected.claims if c.role == "model"]
    # The card is the publisher's declaration; texts and GGUF metadata are checked against it.
    resolved = sorted((c for c in model_claims if c.applies), key=lambda c: _PRIORITY[c.source])
    primary = resolved[0] if resolved else None
    disagreeing = [c for c in resolved if primary and _disagrees(c, primary)]
    # Disagreeing sources all bind until someone settles which is right: take every one.
    binding = [primary, *disagreeing] if primary else []
    ids = list(dict.fromkeys(i for claim in binding for i in claim.applies))
    own = tuple(knowledge.by_id(i) for i in ids)
    unknown = any(c.unknown for c in model_claims) or not own
    lineage, guessed = _lineage(collected, display)
    inheritance = inherit(own, lineage)
    # An adapter or a quantization that states no license of its own reports its base's terms.
    inherits = not model_claims and _inherits_all(inheritance, lineage)
    terms = inheritance.terms
    doubt = (unknown and not inherits) or bool(inheritance.unknown)
    commercial = CommercialUse.UNKNOWN if doubt else _least(t.commercial_use for t in terms)
    license_id = _label(primary) if primary and not unknown else UNKNOWN
    if primary is not None and unknown:
        license_id = f"{_label(primary)} (with unknown terms)"
    own_names = " + ".join(t.name for t in own)
    if inherits:
        license_id = " AND ".join(t.id for t in terms)
        own_names = " + ".join(t.name for t in terms)
    relative = {f.path.relative_to(collected.root).as_posix(): f.display for f in collected.files}
    open_all = bool(terms) and not doubt and all(t.open_license for t in terms)
    label = " + ".join(t.name for t in terms) or "an unknown license"
    openness = assess_openness(list(relative), collected.card, open_all, label)
    findings = [
        f
        for f in license_findings(collected, terms, commercial, disagreeing, display)
        if not (inherits and f.rule_id == "AIR801")  # the base's license is the answer
    ]
    findings += inheritance_findings(inheritance, relative, display, bool(model_claims))
    findings += guessed
    return LicenseAssessment(
        path=display,
        license_id=license_id,
        name=own_names or "unknown",
        confidence="low" if inherits else _confidence(primary, resolved, disagreeing, unknown),
        sources=collected.claims,
        terms=terms,
        commercial_use=commercial,
        conditions=inheritance.duties(lambda t: tuple(th.note for th in t.thresholds)),
        obligations=inheritance.duties(lambda t: t.obligations),
        restrictions=inheritance.duties(lambda t: t.restrictions()),
        openness=openness,
        findings=tuple(findings),
        snapshot=collected.snapshot,
        lineage=lineage,
        components=components.split(collected.claims),
    )


def _lineage(collected: Collected, display: str) -> tuple[tuple[Ancestor, ...], list[Finding]]:
    """The declared ancestors; when none is declared, the family the folder's tokenizer and
    architecture point to, as a likely ancestor whose licenses are taken to apply (fail closed)."""
    lineage = read_lineage(collected)
    if any(a.certainty == "declared" for a in lineage):
        return lineage, []
    found = infer_family(collected.root)
    if found is None:
        return lineage, []
    likely = Ancestor(
        repo=found.label,
        relation="unknown",
        declared_in="inferred from the tokenizer and config",
        license_ids=found.license_ids,
        certainty="likely",
        evidence=found.evidence,
    )
    return (*lineage, likely), [likely_inherited_finding(found, display)]


def _inherits_all(inheritance: Inheritance, lineage: tuple[Ancestor, ...]) -> bool:
    """An adapter or a quantization (and nothing says it is a fine-tune or a merge) of bases
    whose licenses are all known: their terms are its terms."""
    relations = {a.relation for a in lineage if a.certainty == "declared"}
    return (
        bool(relations & INHERITING)
        and not relations & {"finetune", "merge"}
        and not inheritance.unknown
    )


def _disagrees(claim: Claim, primary: Claim) -> bool:
    """Names none of the primary's licenses, or adds a rider to them: a LICENSE text with the
    Commons Clause contradicts a card that declares the bare license."""
    if not set(claim.named) & set(primary.named):
        return True
    return any(knowledge.by_id(i).rider for i in set(claim.applies) - set(primary.applies))


def _label(claim: Claim) -> str:
    if claim.source == "model card" and claim.value.lower().startswith("other"):
        return knowledge.label(claim.applies)
    if claim.value.startswith("("):  # identified from a text (a rider reads "X WITH rider")
        return knowledge.label(claim.applies)
    return claim.value if claim.unknown or len(claim.named) > 1 else claim.applies[0]


def _confidence(
    primary: Claim | None, resolved: list[Claim], disagreeing: list[Claim], unknown: bool
) -> str:
    if primary is None or unknown:
        return "none"
    if disagreeing:
        return "low"
    texts = [c for c in resolved if c.match is not None]
    declared = [c for c in resolved if c.match is None and c.confidence == "medium"]
    if texts and declared:  # a declaration confirmed by the license text itself
        return max((c.confidence for c in texts), key=["none", "low", "medium", "high"].index)
    return primary.confidence


def _least(values: Iterable[CommercialUse]) -> CommercialUse:
    return min(values, key=COMMERCIAL_RANK.__getitem__, default=CommercialUse.UNKNOWN)
