"""A declared license: one id, a name, or an SPDX expression (`apache-2.0 OR mit`), parsed with
license-expression and resolved against the knowledge base."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from license_expression import (  # type: ignore[import-untyped]
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)

import airlock.license.knowledge as knowledge
from airlock.license.knowledge import COMMERCIAL_RANK, LicenseTerms


@dataclass(frozen=True)
class Resolved:
    applies: tuple[str, ...]  # knowledge ids that bind (for OR: the most permissive choice)
    named: tuple[str, ...]  # every knowledge id the declaration names
    unknown: tuple[str, ...]  # parts that name no license Airlock knows
    operator: str  # "", "AND", "OR"


@functools.cache
def _licensing() -> Licensing:
    return Licensing()


def resolve(declared: str) -> Resolved:
    direct = knowledge.lookup(declared)
    if direct is not None:
        return Resolved((direct.id,), (direct.id,), (), "")
    try:
        parsed = _licensing().parse(declared)
    except ExpressionError:
        return Resolved((), (), (declared,), "")
    if parsed is None:
        return Resolved((), (), (), "")
    applies, unknown = _evaluate(parsed)
    named = [knowledge.lookup(_key(symbol)) for symbol in _licensing().license_symbols(parsed)]
    operator = type(parsed).__name__ if type(parsed).__name__ in ("AND", "OR") else ""
    return Resolved(
        tuple(dict.fromkeys(applies)),
        tuple(dict.fromkeys(t.id for t in named if t is not None)),
        tuple(dict.fromkeys(unknown)),
        operator,
    )


@functools.cache
def _spdx_exceptions() -> frozenset[str]:
    """SPDX `WITH` exceptions: each grants extra permissions, so the base license still binds."""
    symbols = get_spdx_licensing().known_symbols
    return frozenset(key.lower() for key, symbol in symbols.items() if symbol.is_exception)


def _key(symbol: object) -> str:
    if isinstance(symbol, LicenseWithExceptionSymbol):
        return str(symbol.license_symbol.key)
    return str(symbol.key) if isinstance(symbol, LicenseSymbol) else str(symbol)


def _evaluate(node: object) -> tuple[list[str], list[str]]:
    """(ids that apply, unknown parts): AND binds all parts, OR lets the organization pick."""
    kind = type(node).__name__
    if kind in ("AND", "OR"):
        parts = [_evaluate(arg) for arg in getattr(node, "args", ())]
        if kind == "AND":
            return [i for p in parts for i in p[0]], [u for p in parts for u in p[1]]
        return max(parts, key=_permissiveness)
    if isinstance(node, LicenseWithExceptionSymbol):
        return _with(node)
    terms = knowledge.lookup(_key(node))
    return ([terms.id], []) if terms is not None else ([], [_key(node)])


def _with(node: LicenseWithExceptionSymbol) -> tuple[list[str], list[str]]:
    """`X WITH Y`: a rider Y (Commons Clause) binds beside X; an SPDX exception only adds
    permissions to X; anything else is an unknown condition on X."""
    ids, unknown = _evaluate(node.license_symbol)
    exception = str(node.exception_symbol.key)
    terms = knowledge.lookup(exception)
    if terms is not None and terms.rider:
        return [*ids, terms.id], unknown
    if exception.lower() in _spdx_exceptions():
        return ids, unknown
    return ids, [*unknown, exception]


def _permissiveness(part: tuple[list[str], list[str]]) -> tuple[int, int]:
    ids, unknown = part
    if unknown or not ids:
        return (-1, 0)
    chosen: list[LicenseTerms] = [knowledge.by_id(i) for i in ids]
    rank = min(COMMERCIAL_RANK[t.commercial_use] for t in chosen)
    return rank, -sum(len(t.restrictions()) + len(t.obligations) for t in chosen)
