"""Which globals a pickle may import: an exact allowlist and a prefix denylist (data files)."""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources


class Status(enum.Enum):
    ALLOWED = "allowed"
    DANGEROUS = "dangerous"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verdict:
    status: Status
    why: str = ""


@dataclass(frozen=True)
class GlobalsPolicy:
    allowed: frozenset[str]
    dangerous: dict[str, str]
    # Top-level names that no Python module has (TorchScript's `__torch__`): nothing can be
    # imported under them, so every name beneath is allowed.
    namespaces: frozenset[str] = frozenset()

    @classmethod
    def default(cls) -> GlobalsPolicy:
        return _default_policy()

    def allowing(self, extra: Iterable[str]) -> GlobalsPolicy:
        """This policy plus exact names an organization trusts (never prefixes)."""
        return GlobalsPolicy(self.allowed | frozenset(extra), self.dangerous, self.namespaces)

    def judge(self, dotted: str) -> Verdict:
        if dotted in self.allowed or dotted.partition(".")[0] in self.namespaces:
            return Verdict(Status.ALLOWED)
        parts = dotted.split(".")
        for end in range(1, len(parts) + 1):
            why = self.dangerous.get(".".join(parts[:end]))
            if why is not None:
                return Verdict(Status.DANGEROUS, why)
        return Verdict(Status.UNKNOWN)


def _load(name: str) -> dict[str, dict[str, object]]:
    text = resources.files("airlock.data").joinpath(name).read_text("utf-8")
    return tomllib.loads(text)


@cache
def _default_policy() -> GlobalsPolicy:
    allowed: set[str] = set()
    namespaces: set[str] = set()
    for section in _load("pickle_allowlist.toml").values():
        allowed.update(str(n) for n in _names(section))
        namespaces.update(str(n) for n in _names(section, "namespaces"))
    dangerous: dict[str, str] = {}
    for section in _load("pickle_dangerous.toml").values():
        why = str(section.get("why", "is known to be dangerous"))
        for entry in _names(section):
            dangerous[str(entry)] = why
    return GlobalsPolicy(frozenset(allowed), dangerous, frozenset(namespaces))


def _names(section: dict[str, object], key: str = "names") -> list[object]:
    names = section.get(key, [])
    return list(names) if isinstance(names, list) else []
