"""Combine the claims into one answer: which license binds, what it lets the organization do,
what it obliges it to do, and the findings. In doubt the answer is the more restrictive one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from airlock.checks.license import components, knowledge
from airlock.checks.license.components import ComponentLicense
from airlock.checks.license.findings import license_findings
from airlock.checks.license.knowledge import COMMERCIAL_RANK, LicenseTerms
from airlock.checks.license.openness import Openness, assess_openness
from airlock.checks.license.sources import Claim, Collected, collect
from airlock.findings import Finding

UNKNOWN = "unknown"
_PRIORITY = {"model card": 0, "license file": 1, "gguf metadata": 2, "notice file": 3}


@dataclass(frozen=True)
class LicenseAssessment:
    path: str
    license_id: str  # a knowledge id, an expression ("apache-2.0 OR mit"), or "unknown"
    name: str
    confidence: str  # high | medium | low | none
    sources: tuple[Claim, ...]
    terms: tuple[LicenseTerms, ...]  # the licenses that bind
    commercial_use: str  # yes | no | conditional | unknown
    conditions: tuple[str, ...]
    obligations: tuple[str, ...]
    restrictions: tuple[str, ...]
    openness: Openness
    findings: tuple[Finding, ...]
    snapshot: str = ""
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
    disagreeing = [c for c in resolved if primary and not set(c.named) & set(primary.named)]
    # Disagreeing sources all bind until someone settles which is right: take every one.
    binding = [primary, *disagreeing] if primary else []
    ids = list(dict.fromkeys(i for claim in binding for i in claim.applies))
    terms = tuple(knowledge.by_id(i) for i in ids)
    unknown = any(c.unknown for c in model_claims) or not terms
    commercial = UNKNOWN if unknown else _least(t.commercial_use for t in terms)
    license_id = _label(primary) if primary and not unknown else UNKNOWN
    if primary is not None and unknown:
        license_id = f"{_label(primary)} (with unknown terms)"
    relative = [f.path.relative_to(collected.root).as_posix() for f in collected.files]
    open_all = bool(terms) and not unknown and all(t.open_license for t in terms)
    label = " + ".join(t.name for t in terms) or "an unknown license"
    openness = assess_openness(relative, collected.card, open_all, label)
    return LicenseAssessment(
        path=display,
        license_id=license_id,
        name=label if terms else "unknown",
        confidence=_confidence(primary, resolved, disagreeing, unknown),
        sources=collected.claims,
        terms=terms,
        commercial_use=commercial,
        conditions=_duties(terms, lambda t: tuple(th.note for th in t.thresholds)),
        obligations=_duties(terms, lambda t: t.obligations),
        restrictions=_duties(terms, lambda t: t.restrictions()),
        openness=openness,
        findings=tuple(license_findings(collected, terms, commercial, disagreeing, display)),
        snapshot=collected.snapshot,
        components=components.split(collected.claims),
    )


def _label(claim: Claim) -> str:
    if claim.source == "model card" and claim.value.lower().startswith("other"):
        return claim.applies[0]
    if claim.value.startswith("("):  # identified from a text
        return claim.applies[0]
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


def _least(values: Iterable[str]) -> str:
    return min(values, key=COMMERCIAL_RANK.__getitem__, default=UNKNOWN)


def _duties(
    terms: tuple[LicenseTerms, ...], duties_of: Callable[[LicenseTerms], tuple[str, ...]]
) -> tuple[str, ...]:
    """Each license's duties as its entry states them (once each, see `LicenseTerms`); when more
    than one license binds, each duty names the license it comes from."""
    many = len(terms) > 1
    return tuple(
        dict.fromkeys(f"{t.name}: {duty}" if many else duty for t in terms for duty in duties_of(t))
    )
