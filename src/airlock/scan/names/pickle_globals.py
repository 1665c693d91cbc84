"""Which globals a pickle may import, judged by what the name resolves to (data files).

The unpickler imports the module and then looks the (possibly dotted) name up attribute by
attribute, so `torch.os.system` *is* `os.system`: every module re-exports what it imports.
A name is allowed only when it is on the allowlist exactly; it is dangerous when any part of
its path, read from any segment on (and through the aliases modules bind dangerous modules
to), is on the denylist; everything else is unknown.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

from airlock.data import load_compiled

# Verdicts a policy remembers: far more than the distinct names of any real folder of models.
_MAX_REMEMBERED = 1 << 16
# Keys of a callable's behaviour entry: argument positions (ints) or keyword names (strs).
Slot = int | str
EVERY = "*"


class Status(enum.Enum):
    ALLOWED = "allowed"
    DANGEROUS = "dangerous"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verdict:
    status: Status
    why: str = ""


@dataclass(frozen=True)
class Behaviour:
    """What an allowlisted callable does, while loading, with what it receives.

    `calls`: arguments it calls; `methods`: arguments whose methods (or dunder methods such as
    `__hash__`) it calls; `stores`: arguments it only keeps; `later`: arguments it keeps to
    call after loading (a partial's function, a defaultdict's factory); `result`: the argument
    whose class the result is an instance of, or that the result wraps; `forwards`:
    (callee, arguments) positions of a call it makes on the pickle's behalf. An argument in
    none of `calls`, `methods` and `stores` may be used in any way (fail closed).
    """

    calls: frozenset[Slot] = frozenset()
    methods: frozenset[Slot] = frozenset()
    stores: frozenset[Slot] = frozenset()
    later: frozenset[Slot] = frozenset()
    result: Slot | None = None
    forwards: tuple[int, int] | None = None
    # The forwarded call is the pickle's own (copyreg.__newobj__ is how protocol 2 spells NEWOBJ).
    forwards_as_pickle: bool = False

    def role(self, slot: Slot) -> str:
        """'calls', 'methods', 'later', 'stores' or 'unknown' for one argument."""
        roles = (
            ("calls", self.calls),
            ("methods", self.methods),
            ("later", self.later),
            ("stores", self.stores),
        )
        for key in (slot, EVERY):
            for role, slots in roles:
                if key in slots:
                    return role
        return "unknown"


UNANNOTATED = Behaviour()


@dataclass(frozen=True)
class GlobalsPolicy:
    allowed: frozenset[str]
    dangerous: dict[str, str]
    # Top-level names that no Python module has (TorchScript's `__torch__`): nothing can be
    # imported under them, so every name beneath is allowed.
    namespaces: frozenset[str] = frozenset()
    # Attribute names under which modules bind a dangerous module or callable (`_os` -> `os`).
    aliases: Mapping[str, str] = field(default_factory=dict)
    behaviours: Mapping[str, Behaviour] = field(default_factory=dict)
    # Classes whose BUILD only keeps the values inside their state (exact names, prefixes,
    # and prefixes excepted from those).
    build_keeps: frozenset[str] = frozenset()
    build_keeps_under: tuple[str, ...] = ()
    build_uses_under: tuple[str, ...] = ()
    build_calls_values: frozenset[str] = frozenset()
    # judge()'s answers: the policy never changes, and the same names recur in every file.
    _verdicts: dict[tuple[str, str | None], Verdict] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def default(cls) -> GlobalsPolicy:
        return _default_policy()

    def allowing(self, extra: Iterable[str]) -> GlobalsPolicy:
        """This policy plus exact names an organization trusts (never prefixes)."""
        return GlobalsPolicy(
            self.allowed | frozenset(extra),
            self.dangerous,
            self.namespaces,
            self.aliases,
            self.behaviours,
            self.build_keeps,
            self.build_keeps_under,
            self.build_uses_under,
            self.build_calls_values,
        )

    def judge(self, dotted: str, module: str | None = None) -> Verdict:
        """What importing `dotted` gives. `module`, when known (a pickle's GLOBAL names it), is
        the part the loader imports as a module; every segment after it is an attribute
        lookup, as is every segment when the split is not known (fail closed)."""
        key = (dotted, module)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._judge(dotted, module)
            if len(self._verdicts) < _MAX_REMEMBERED:  # a hostile folder's names are endless
                self._verdicts[key] = verdict
        return verdict

    def _judge(self, dotted: str, module: str | None) -> Verdict:
        if dotted in self.allowed or dotted.partition(".")[0] in self.namespaces:
            return Verdict(Status.ALLOWED)
        parts = dotted.split(".")
        first_attribute = 1
        if module is not None and dotted.startswith(module + "."):
            first_attribute = module.count(".") + 1
        # From the last segment back: the most specific meaning names what is really run.
        for start in range(len(parts) - 1, -1, -1):
            segment = parts[start]
            if start and len(segment) > 4 and segment.startswith("__") and segment.endswith("__"):
                return Verdict(
                    Status.DANGEROUS,
                    f"reaches Python internals through `{segment}` (from there any function, "
                    "including ones that run commands, can be reached)",
                )
            if 0 < start < first_attribute:
                continue  # a submodule imported by its full path, not looked up by name
            heads = [segment]
            alias = self.aliases.get(segment)
            if alias is not None:
                heads.append(alias)
            for head in heads:
                if 0 < start == len(parts) - 1 and "." not in head:
                    # `torch.sys`, `torch.profiler.profile`: at most the module object itself
                    # (or a namesake), which does nothing unless something of it is used.
                    continue
                resolved = [*head.split("."), *parts[start + 1 :]]
                why = self._denied(resolved)
                if why is None:
                    continue
                meant = ".".join(resolved)
                if meant == dotted:
                    return Verdict(Status.DANGEROUS, why)
                return Verdict(Status.DANGEROUS, f"is `{meant}` under another name, and {why}")
        return Verdict(Status.UNKNOWN)

    def behaviour(self, dotted: str) -> Behaviour:
        return self.behaviours.get(dotted, UNANNOTATED)

    def build_keeps_values(self, cls: str) -> bool:
        """Whether restoring an instance of `cls` only keeps the values inside its state."""
        if cls in self.build_keeps:
            return True
        return cls.startswith(self.build_keeps_under) and not cls.startswith(self.build_uses_under)

    def _denied(self, parts: list[str]) -> str | None:
        for end in range(1, len(parts) + 1):
            why = self.dangerous.get(".".join(parts[:end]))
            if why is not None:
                return why
        return None


def _load(name: str) -> dict[str, dict[str, object]]:
    return load_compiled(name)  # the TOML file, read from its JSON copy (faster start-up)


@cache
def _default_policy() -> GlobalsPolicy:
    allowed: set[str] = set()
    namespaces: set[str] = set()
    allow_data = _load("pickle_allowlist.toml")
    for section in allow_data.values():
        allowed.update(str(n) for n in _names(section))
        namespaces.update(str(n) for n in _names(section, "namespaces"))
    dangerous: dict[str, str] = {}
    deny_data = _load("pickle_dangerous.toml")
    aliases = {str(k): str(v) for k, v in deny_data.pop("aliases", {}).items()}
    for section in deny_data.values():
        why = str(section.get("why", "is known to be dangerous"))
        for entry in _names(section):
            dangerous[str(entry)] = why
    behaviours = {
        str(name): _behaviour(entry)
        for name, entry in allow_data.get("behaviour", {}).items()
        if isinstance(entry, dict)
    }
    build = allow_data.get("build", {})
    return GlobalsPolicy(
        frozenset(allowed),
        dangerous,
        frozenset(namespaces),
        aliases,
        behaviours,
        frozenset(str(n) for n in _names(build, "keeps")),
        tuple(str(n) for n in _names(build, "keeps_under")),
        tuple(str(n) for n in _names(build, "uses_under")),
        frozenset(str(n) for n in _names(build, "calls_values")),
    )


def _behaviour(entry: dict[str, object]) -> Behaviour:
    def slots(key: str) -> frozenset[Slot]:
        value = entry.get(key, [])
        if not isinstance(value, list):
            return frozenset()
        return frozenset(v for v in value if isinstance(v, int | str))

    result = entry.get("result")
    forwards = entry.get("forwards")
    return Behaviour(
        calls=slots("calls"),
        methods=slots("methods"),
        stores=slots("stores"),
        later=slots("later"),
        result=result if isinstance(result, int | str) else None,
        forwards=(int(forwards[0]), int(forwards[1]))
        if isinstance(forwards, list) and len(forwards) == 2
        else None,
        forwards_as_pickle=bool(entry.get("forwards_as_pickle", False)),
    )


def _names(section: dict[str, object], key: str = "names") -> list[object]:
    names = section.get(key, [])
    return list(names) if isinstance(names, list) else []
