"""What a model's ancestors add to its own license: the licenses that bind through them, each
duty labelled with the ancestor it comes from, and the findings when the model's own license
omits or contradicts an inherited one (AIR809) or an ancestor's license is unknown (AIR811).

A derivative stays bound by its base's license (Llama 3.1 §1.b.i: a distributed derivative
carries the agreement; Gemma §3.1: the use restrictions pass to Model Derivatives), so the
model's answer is the combination of its own license and every ancestor's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import airlock.license.knowledge as knowledge
from airlock.findings import Finding, Location
from airlock.license.knowledge import LicenseTerms
from airlock.license.lineage import Ancestor
from airlock.rules import rule

# How the report names an ancestor, by its relation to the model.
_NOUN = {"merge": "merged model", "quantized": "original model"}
# Relations under which a model without a license of its own reports its base's terms: the
# same weights (quantized) or a delta that only runs on top of them (adapter).
INHERITING = frozenset({"adapter", "quantized"})


@dataclass(frozen=True)
class Inheritance:
    own: tuple[LicenseTerms, ...]  # the model's own licenses
    # Each license that binds through an ancestor and is not among the model's own, with the
    # ancestors it binds through.
    inherited: tuple[tuple[LicenseTerms, tuple[Ancestor, ...]], ...]
    unknown: tuple[Ancestor, ...]  # declared ancestors whose license Airlock does not know

    @property
    def terms(self) -> tuple[LicenseTerms, ...]:
        return (*self.own, *(terms for terms, _ in self.inherited))

    def duties(self, duties_of: Callable[[LicenseTerms], tuple[str, ...]]) -> tuple[str, ...]:
        """Each duty once; when more than one license binds, each names the license it comes
        from, and an inherited one also the ancestor it binds through."""
        many = len(self.terms) > 1
        own = (f"{t.name}: {d}" if many else d for t in self.own for d in duties_of(t))
        inherited = (
            f"from {origin(ancestors)} ({t.name}): {d}"
            for t, ancestors in self.inherited
            for d in duties_of(t)
        )
        return tuple(dict.fromkeys((*own, *inherited)))


def inherit(own: tuple[LicenseTerms, ...], lineage: tuple[Ancestor, ...]) -> Inheritance:
    own_ids = {t.id for t in own}
    through: dict[str, list[Ancestor]] = {}
    for ancestor in lineage:
        for license_id in ancestor.license_ids:
            if license_id not in own_ids:
                through.setdefault(license_id, []).append(ancestor)
    unknown = tuple(a for a in lineage if not a.license_ids and a.certainty == "declared")
    inherited = tuple((knowledge.by_id(i), tuple(found)) for i, found in through.items())
    return Inheritance(own, inherited, unknown)


def origin(ancestors: tuple[Ancestor, ...]) -> str:
    """How a report names where a duty comes from: "base model meta-llama/Llama-3.1-8B",
    "merged models A, B", "original model A, base model B", "likely base model X"."""
    by_noun: dict[str, list[str]] = {}
    for ancestor in ancestors:
        by_noun.setdefault(_NOUN.get(ancestor.relation, "base model"), []).append(ancestor.repo)
    named = ", ".join(
        f"{noun}{'s' if len(repos) > 1 else ''} {', '.join(repos)}"
        for noun, repos in by_noun.items()
    )
    return f"likely {named}" if all(a.certainty == "likely" for a in ancestors) else named


def carries_into_derivatives(terms: LicenseTerms) -> bool:
    """Whether a base's license binds what is built from it beyond keeping its notices: any
    license that is not open (custom terms, use restrictions, non-commercial) or that is
    share-alike. An open permissive base (Apache-2.0, MIT) lets a derivative take its own."""
    return not terms.open_license or terms.share_alike


def inheritance_findings(
    inheritance: Inheritance, files: dict[str, str], display: str, own_stated: bool
) -> Iterator[Finding]:
    """`files`: display name of each file in the folder, by its path relative to the folder;
    `own_stated`: the model states a license of its own (else AIR801 or inheritance covers it)."""
    own = " + ".join(t.name for t in inheritance.own)
    for terms, ancestors in inheritance.inherited:
        declared = tuple(a for a in ancestors if a.certainty == "declared")
        if not (own_stated and declared and carries_into_derivatives(terms)):
            continue
        where = "; ".join(a.declared_in for a in declared)
        yield _finding(
            "AIR809",
            files.get(declared[0].file, display),
            f"The model's own license ({own}) omits {terms.name}, which binds it through "
            f"{origin(declared)} (declared in {where}): a model built from another keeps that "
            "model's license. Its terms apply to this model too; they are listed under the "
            f'conditions, obligations and restrictions marked "from {origin(declared)}".',
            f"{', '.join(a.repo for a in declared)}: {terms.id}",
        )
    for ancestor in inheritance.unknown:
        yield _finding(
            "AIR811",
            files.get(ancestor.file, display),
            f"The {origin((ancestor,))} (declared in {ancestor.declared_in}) is not one whose "
            "license Airlock knows. A model built from another keeps that model's license, "
            f"so this model's terms are unknown until someone reads the license of "
            f"{ancestor.repo}; commercial use is treated as unknown.",
            ancestor.repo,
        )


def _finding(rule_id: str, file: str, message: str, evidence: str) -> Finding:
    return Finding(rule_id, rule(rule_id).default_severity, file, Location(), message, evidence)
