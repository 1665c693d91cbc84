"""Judge what a pickle stream does when loaded: turns interpreter events into findings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from airlock.findings import Finding, Location, Severity
from airlock.formats.interface import Blob, ScanContext
from airlock.formats.pickle.embedded import embedded_pickle
from airlock.formats.pickle.payloads import DESERIALIZERS, concrete_bytes
from airlock.formats.pickle.policy import GlobalsPolicy, Status
from airlock.formats.pickle.values import (
    Call,
    Extension,
    Global,
    SymDict,
    SymList,
    SymSet,
    render,
)


@dataclass
class _Import:
    glob: Global
    calls: list[Call] = field(default_factory=list)
    # Set when the import is handed to another call, which may call it with arguments.
    passed_to: Call | None = None

    def called_with_arguments(self) -> Call | None:
        for call in self.calls:
            if _has_arguments(call):
                return call
        return self.passed_to


def _has_arguments(call: Call) -> bool:
    args, kwargs = call.args, call.kwargs
    has_args = not (isinstance(args, tuple) and len(args) == 0)
    has_kwargs = kwargs is not None and not (isinstance(kwargs, SymDict) and not kwargs.pairs)
    return has_args or has_kwargs


# Calls that only instantiate the class in their first argument, without calling it with data.
_INSTANTIATORS = frozenset({"copyreg._reconstructor", "copyreg.__newobj__"})


class PickleAnalysis:
    """Listens to one or more streams of a blob and reports imports, calls and writes."""

    def __init__(self, blob: Blob, ctx: ScanContext, policy: GlobalsPolicy) -> None:
        self.blob = blob
        self.ctx = ctx
        self.policy = policy
        self.findings: list[Finding] = []
        self._imports: dict[str, _Import] = {}
        # Digests of nested payloads already scanned: one payload, one set of findings.
        self._scanned: set[bytes] = set()

    # Interpreter listener -------------------------------------------------------------
    def on_global(self, glob: Global) -> None:
        self._imports.setdefault(glob.dotted, _Import(glob))

    def on_dynamic_import(self, module: Any, name: Any, offset: int) -> None:
        self._add(
            "AIR103",
            offset,
            "Loading this file imports a name that is only computed while loading "
            "(the module or attribute name is not written in the file), a common way to "
            "hide a payload from scanners.",
            f"import {render(module, 120)} . {render(name, 120)}",
        )

    def on_call(self, call: Call) -> None:
        func = call.func
        self._note_passed_globals(call)
        if isinstance(func, Global):
            self._imports.setdefault(func.dotted, _Import(func)).calls.append(call)
            if func.dotted in DESERIALIZERS:
                self._scan_payload(call, func)
        elif not isinstance(func, Extension) and func is not None:
            self._add(
                "AIR103",
                call.offset,
                "Loading this file calls a value produced while loading instead of a plainly "
                "imported function, a common way to hide a payload from scanners.",
                render(call),
            )

    def on_build(self, target: Any, state: Any, offset: int) -> None:
        if isinstance(target, Global):
            self._add(
                "AIR104",
                offset,
                f"Loading this file overwrites attributes of `{target.dotted}`, which changes "
                "how code that uses it behaves (for example, swapping a safe function for a "
                "dangerous one).",
                f"setattr({target.dotted}, {render(state, 160)})",
            )

    def on_extension(self, code: int, offset: int) -> None:
        self._add(
            "AIR105",
            offset,
            f"The file refers to extension code {code}; what it resolves to depends on the "
            "loading program, so it cannot be checked.",
            f"EXT {code}",
        )

    def on_constant(self, value: str | bytes | bytearray, offset: int) -> None:
        found = embedded_pickle(value, self.ctx.max_decompressed_bytes)
        if found is None:
            return
        data, encoding = found
        self._add(
            "AIR109",
            offset,
            f"A pickle ({len(data)} bytes, {encoding}) is stored inside a data field. It does not "
            "run when this file loads, but runs if an application later deserializes that "
            "field; it was decoded and scanned.",
            render(value, 120),
        )
        where = self.blob.location.at(offset).inside(f"embedded pickle ({encoding})")
        self._scan_nested_once(data, where)

    def _note_passed_globals(self, call: Call) -> None:
        func = call.func
        skip_first = isinstance(func, Global) and func.dotted in _INSTANTIATORS
        args = call.args if isinstance(call.args, tuple) else (call.args,)
        for index, arg in enumerate(args):
            if index == 0 and skip_first:
                continue
            for glob in _globals_in(arg, depth=3):
                self._imports.setdefault(glob.dotted, _Import(glob)).passed_to = call

    # Results ---------------------------------------------------------------------------
    def finish(self) -> list[Finding]:
        """Findings for every import that is not allowed, with the call that uses it."""
        for dotted, record in self._imports.items():
            verdict = self.policy.judge(dotted)
            if verdict.status is Status.ALLOWED:
                continue
            armed = record.called_with_arguments()
            first = armed or (record.calls[0] if record.calls else None)
            shown = render(first, 400) if first is not None else f"import {dotted}"
            offset = first.offset if first is not None else record.glob.offset
            if verdict.status is Status.DANGEROUS:
                self._add(
                    "AIR101",
                    offset,
                    f"Loading this file runs `{dotted}`, which {verdict.why}. Do not load it.",
                    shown,
                )
            elif armed is not None:
                self._add(
                    "AIR102",
                    offset,
                    f"Loading this file calls `{dotted}` with arguments taken from the file; it "
                    "is not on the list of what ordinary model files need. Load it only if you "
                    "trust its source (an organization can allow the name in its policy).",
                    shown,
                )
            else:
                self._add(
                    "AIR102",
                    offset,
                    f"Loading this file imports `{dotted}` (a class or function that ordinary "
                    "model files do not need), without calling it with data from the file. "
                    "Usually custom code the model needs; allow it in the policy if you trust it.",
                    shown,
                    Severity.MEDIUM,
                )
        self._imports.clear()
        return self.findings

    def _scan_payload(self, call: Call, func: Global) -> None:
        args = call.args if isinstance(call.args, tuple) else ()
        if not args:
            return
        data = concrete_bytes(args[0], self.ctx.max_decompressed_bytes)
        if data is None:
            return
        where = self.blob.location.at(call.offset).inside(f"payload of {func.dotted}")
        self._scan_nested_once(data, where)
        self._add(
            "AIR108",
            call.offset,
            f"The file hands {len(data)} bytes to `{func.dotted}` when loaded; they were "
            "decoded and scanned as well.",
            render(call, 200),
        )

    def _scan_nested_once(self, data: bytes, where: Location) -> None:
        digest = hashlib.sha256(data).digest()
        if digest in self._scanned:
            return
        self._scanned.add(digest)
        self.findings.extend(self.ctx.scan_nested(data, where, f"{self.blob.name}:nested"))

    def _add(
        self,
        rule_id: str,
        offset: int,
        message: str,
        evidence: str,
        severity: Severity | None = None,
    ) -> None:
        location = self.blob.location.at(offset)
        self.findings.append(
            self.ctx.finding(rule_id, self.blob, location, message, evidence, severity)
        )


def _globals_in(value: Any, depth: int) -> list[Global]:
    if isinstance(value, Global):
        return [value]
    if depth == 0:
        return []
    if isinstance(value, tuple):
        items: list[Any] = list(value)
    elif isinstance(value, SymList | SymSet):
        items = value.items
    elif isinstance(value, SymDict):
        items = [v for pair in value.pairs for v in pair]
    else:
        return []
    return [g for item in items[:64] for g in _globals_in(item, depth - 1)]
