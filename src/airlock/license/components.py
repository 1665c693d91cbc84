"""Code and weights under different licenses in one folder (DeepSeek's LICENSE-CODE and
LICENSE-MODEL, ChatGLM's LICENSE and MODEL_LICENSE): each component's license and answer.

The weights' license decides the model's answer: a license file for the code never binds the
weights. A card's declaration, GGUF metadata and a weights license are the weights'. A plain
LICENSE is everyone's, unless the folder has a license for the weights and none for the code:
then it is the code's, as these publishers split them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import airlock.license.knowledge as knowledge
from airlock.license.files import CODE, UNSPECIFIED, WEIGHTS
from airlock.license.knowledge import COMMERCIAL_RANK, CommercialUse
from airlock.license.sources import Claim

_LICENSE_SOURCES = ("license file",)


@dataclass(frozen=True)
class ComponentLicense:
    component: str  # weights | code | unspecified
    license_ids: tuple[str, ...]  # the licenses that bind it ("unknown" when one is not known)
    name: str
    commercial_use: CommercialUse
    files: tuple[str, ...]  # where it is stated


def settle(claims: tuple[Claim, ...]) -> tuple[Claim, ...]:
    """The claims with a plain LICENSE made the code's when it stands beside a weights license
    and no code license."""
    files = [c for c in claims if c.source in _LICENSE_SOURCES]
    if not any(c.component == WEIGHTS for c in files) or any(c.component == CODE for c in files):
        return claims
    return tuple(
        replace(c, component=CODE, role="code")
        if c.source in _LICENSE_SOURCES and c.component == UNSPECIFIED
        else c
        for c in claims
    )


def split(claims: tuple[Claim, ...]) -> tuple[ComponentLicense, ...]:
    """Each component's license, when the folder licenses the code apart from the weights."""
    if not any(c.component == CODE for c in claims):
        return ()
    found = []
    for component in (WEIGHTS, UNSPECIFIED, CODE):
        stated = [c for c in claims if c.component == component and c.role in ("model", "code")]
        if stated:
            found.append(_component(component, stated))
    return tuple(found)


def _component(component: str, claims: list[Claim]) -> ComponentLicense:
    ids = tuple(dict.fromkeys(i for c in claims for i in c.applies))
    unknown = any(c.unknown for c in claims) or not ids
    terms = [knowledge.by_id(i) for i in ids]
    commercial = (
        CommercialUse.UNKNOWN
        if unknown
        else min((t.commercial_use for t in terms), key=COMMERCIAL_RANK.__getitem__)
    )
    name = " + ".join(t.name for t in terms) + (" + unknown terms" if unknown and terms else "")
    return ComponentLicense(
        component,
        ids + (("unknown",) if unknown else ()),
        name or "unknown",
        commercial,
        tuple(dict.fromkeys(c.file for c in claims)),
    )
