"""The license findings (rules AIR801-AIR808): what a gate should stop on, and what to read."""

from __future__ import annotations

from collections.abc import Iterator

import airlock.license.knowledge as knowledge
from airlock.findings import Finding, Location
from airlock.license.knowledge import LicenseTerms
from airlock.license.sources import Claim, Collected
from airlock.rules import rule

_HERE = Location()


def license_findings(
    collected: Collected,
    terms: tuple[LicenseTerms, ...],
    commercial: str,
    disagreeing: list[Claim],
    display: str,
) -> Iterator[Finding]:
    claims = collected.claims
    model = [c for c in claims if c.role in ("model", "code")]
    if not any(c.role == "model" for c in model):
        where = "" if collected.card is None else " (the model card names none)"
        problem = f"; {collected.card.problem}" if collected.card and collected.card.problem else ""
        yield _finding(
            "AIR801",
            display,
            f"No license found: no `license` in a model card, no "
            f"LICENSE text, no GGUF `general.license`{where}{problem}. Treat the model "
            "as not licensed for use.",
        )
    for claim in model:
        if claim.other_unresolved:
            yield _finding(
                "AIR803",
                claim.file,
                "The model card says `license: other` but its "
                f"`license_name`/`license_link` ({claim.unknown[0]}) names no license "
                "Airlock knows: read the license and decide.",
                claim.value,
            )
        elif claim.unknown:
            yield _finding(
                "AIR802",
                claim.file,
                f"The {claim.source} names a license Airlock does "
                f"not know ({', '.join(claim.unknown)}); its terms are unknown.",
                claim.value,
            )
        if claim.match is not None and claim.match.edited:
            yield _finding(
                "AIR806",
                claim.file,
                f"The license text is {claim.match.license_id}, "
                f"but not word for word: {claim.match.describe()}. Compare it with the "
                "original: an edit can add or remove terms.",
                claim.match.license_id,
            )
    if disagreeing:
        said = "; ".join(
            f"{c.source} {c.file}: {knowledge.label(c.applies)}"
            for c in claims
            if c.applies and c.role == "model"
        )
        yield _finding(
            "AIR804",
            disagreeing[0].file,
            "The license sources disagree "
            f"({said}); until settled, all of their terms are taken to apply.",
            said,
        )
    if commercial == "no":
        names = ", ".join(t.id for t in terms if t.commercial_use == "no")
        yield _finding("AIR805", display, f"Commercial use is not allowed ({names}).", names)
    conditions = [th.note for t in terms for th in t.thresholds]
    if conditions:
        yield _finding(
            "AIR808",
            display,
            "Commercial use has conditions: " + "; ".join(conditions) + ".",
            ", ".join(t.id for t in terms if t.thresholds),
        )
    restricted = [t.id for t in terms if t.restrictions()]
    if restricted:
        yield _finding(
            "AIR807",
            display,
            "The license restricts use (acceptable-use or field-of-use "
            "terms, outputs, geography or share-alike): see `restrictions`.",
            ", ".join(restricted),
        )


def _finding(rule_id: str, file: str, message: str, evidence: str = "") -> Finding:
    return Finding(rule_id, rule(rule_id).default_severity, file, _HERE, message, evidence)
