"""Which licenses bind a dossier's model, and how a refusal names them: the model's own
licenses and those inherited through its base models (lineage), each with where it comes from."""

from __future__ import annotations

import re
from collections.abc import Callable

from airlock.dossier.model import LicenseSection
from airlock.license import knowledge
from airlock.license.inherit import origin
from airlock.license.knowledge import LicenseTerms

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
    """Every license that binds: the declared id, each license in the name, which lists all
    the model's own binding terms (when the card says apache-2.0 and LICENSE is the Llama 3.1
    text, both bind, and a deny list naming either must match), and every license inherited
    through a base model (a fine-tune of Llama 3.1 is bound by it whatever its card says)."""
    return _own_ids(lic) | set(_inherited(lic))


def _own_ids(lic: LicenseSection) -> set[str]:
    named = (knowledge.lookup(part) for part in lic.name.split(" + "))
    return license_ids(lic.id) | {terms.id for terms in named if terms is not None}


def _inherited(lic: LicenseSection) -> dict[str, str]:
    """Each license that binds only through ancestors, with where it comes from."""
    own = _own_ids(lic)
    ids = dict.fromkeys(i for a in lic.lineage for i in a.license_ids if i not in own)
    return {i: origin(tuple(a for a in lic.lineage if i in a.license_ids)) for i in ids}


def described(lic: LicenseSection, ids: list[str]) -> str:
    """`apache-2.0 (Apache License 2.0); llama3.1, inherited from base model X`."""
    inherited = _inherited(lic)
    own = [i for i in ids if i not in inherited]
    parts = [f"{', '.join(own)} ({lic.name})"] if own else []
    parts += [f"{i}, inherited from {inherited[i]}" for i in ids if i in inherited]
    return "; ".join(parts)


def named(lic: LicenseSection, restricted: set[str]) -> str:
    """The model's license by name, and each inherited license in `restricted` with where it
    comes from: the licenses a refusal is about."""
    inherited = _inherited(lic)
    parts = [] if set(inherited) >= restricted else [lic.name]
    for license_id in (i for i in inherited if i in restricted):
        terms = knowledge.lookup(license_id)
        name = terms.name if terms is not None else license_id
        parts.append(f"{name}, inherited from {inherited[license_id]}")
    return "; ".join(parts) or lic.name


def where(ids: set[str], test: Callable[[LicenseTerms], bool]) -> set[str]:
    """The ids whose knowledge entry passes `test` (forbids commercial use, limits outputs)."""
    return {i for i in ids if (terms := knowledge.lookup(i)) is not None and test(terms)}


def non_commercial(terms: LicenseTerms) -> bool:
    return terms.commercial_use == "no"


def limits_outputs(terms: LicenseTerms) -> bool:
    return terms.outputs_training != "free"
