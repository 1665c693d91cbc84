"""Judge what a pickle stream does when loaded: turns interpreter events into findings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from airlock.findings import Finding, Location, Severity
from airlock.scan.context import Blob, ScanContext
from airlock.scan.formats.pickle.embedded import embedded_pickle
from airlock.scan.formats.pickle.flows import Flows
from airlock.scan.formats.pickle.listener import UNKNOWN
from airlock.scan.formats.pickle.payloads import DESERIALIZERS, concrete_bytes
from airlock.scan.formats.pickle.values import (
    Call,
    Extension,
    Global,
    SymDict,
    SymList,
    SymSet,
    render,
)
from airlock.scan.names.pickle_globals import Behaviour, GlobalsPolicy, Status


@dataclass
class _Import:
    glob: Global
    calls: list[Call] = field(default_factory=list)
    # Set when the import is handed to an unknown call, which may call it with arguments.
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


class PickleAnalysis:
    """Listens to one or more streams of a blob and reports imports, calls and writes."""

    def __init__(self, blob: Blob, ctx: ScanContext, policy: GlobalsPolicy) -> None:
        self.blob = blob
        self.ctx = ctx
        self.policy = policy
        self.findings: list[Finding] = []
        self._imports: dict[tuple[str, str], _Import] = {}
        # Digests of nested payloads already scanned: one payload, one set of findings.
        self._scanned: set[bytes] = set()
        self._embedded: list[tuple[bytes, str, int, str]] = []
        self._flows = Flows(policy, self._add, UNKNOWN)
        self._callees: dict[tuple[str, str], tuple[str, Behaviour | None]] = {}

    # Interpreter listener -------------------------------------------------------------
    def on_global(self, glob: Global) -> None:
        key = (glob.module, glob.name)
        if key not in self._imports:  # the first import of a name is the one reported
            self._imports[key] = _Import(glob)
        self._flows.note_global(glob)

    def on_dynamic_import(self, module: Any, name: Any, offset: int) -> None:
        self._flows.note_computed()
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
        if isinstance(func, Global):
            key = (func.module, func.name)
            record = self._imports.get(key)
            if record is None:
                record = self._imports[key] = _Import(func)
            record.calls.append(call)
            callee = self._callees.get(key)
            if callee is None:
                callee = self._callees[key] = self._callee(func)
            dotted, behaviour = callee
            if dotted in DESERIALIZERS:
                self._scan_payload(call, func)
            if behaviour is None:  # not allowlisted: whatever it is handed, it may call
                self._flows.on_call(call, None)
                self._note_passed_globals(call)
                return
            if self._flows.active:
                self._flows.on_call(call, behaviour)
            if behaviour.forwards is not None:
                self._follow_forwarded(call, behaviour)
            return
        self._flows.note_computed()
        self._flows.on_dynamic_call(call)
        self._flows.on_call(call, None)
        if not isinstance(func, Extension) and func is not UNKNOWN:
            # Extensions and computed imports were reported where they appeared.
            self._add(
                "AIR103",
                call.offset,
                "Loading this file calls a value produced while loading instead of a plainly "
                "imported function, a common way to hide a payload from scanners.",
                render(call),
            )

    def _callee(self, func: Global) -> tuple[str, Behaviour | None]:
        """A called global's name and, when it is allowlisted, what it does with arguments."""
        dotted = func.dotted
        if self._flows.verdict(func).status is not Status.ALLOWED:
            return dotted, None
        return dotted, self.policy.behaviour(dotted)

    def _follow_forwarded(self, call: Call, behaviour: Behaviour) -> None:
        """The call an allowlisted forwarder makes on load: copyreg.__newobj__ makes the
        pickle's own NEWOBJ; torch's _rebuild_from_type_v2 runs `func(*args)`."""
        inner = _forwarded_call(call, behaviour)
        if inner is None:
            return
        if behaviour.forwards_as_pickle or self._flows.origin(inner.func) is None:
            self.on_call(inner)
            if behaviour.forwards_as_pickle:
                call.taint = inner.taint
        else:
            self._flows.on_forwarded(call, inner)

    def on_persistent(self, pid: Any, offset: int) -> None:
        if self._flows.active:
            self._flows.on_persistent(pid, offset)

    def on_hashed(self, keys: list[Any], offset: int) -> None:
        if self._flows.active:
            self._flows.on_hashed(keys, offset)

    def on_build(self, target: Any, state: Any, offset: int) -> None:
        if self._flows.active:
            self._flows.on_build(target, state, offset)
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
        self._flows.note_computed()
        self._add(
            "AIR105",
            offset,
            f"The file refers to extension code {code}; what it resolves to depends on the "
            "loading program, so it cannot be checked.",
            f"EXT {code}",
        )

    def on_constant(self, value: str | bytes | bytearray, offset: int) -> None:
        found = embedded_pickle(value, self.ctx.max_decompressed_bytes)
        if found is not None:
            # Judged at the end: a deserializer call may still consume it (then it runs).
            self._embedded.append((found[0], found[1], offset, render(value, 120)))

    def _note_passed_globals(self, call: Call) -> None:
        """Unknown globals handed to an unknown callable, which may call them."""
        args = call.args if isinstance(call.args, tuple) else (call.args,)
        for arg in args:
            for glob in _globals_in(arg, depth=3):
                self._imports.setdefault((glob.module, glob.name), _Import(glob)).passed_to = call

    # Results ---------------------------------------------------------------------------
    def finish(self) -> list[Finding]:
        """Findings for every import that is not allowed, with the call that uses it."""
        self._report_embedded()
        for record in self._imports.values():
            dotted = record.glob.dotted
            verdict = self._flows.verdict(record.glob)
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
            elif record.calls:
                # Called without arguments from the file, its constructor (and any
                # __setstate__ a BUILD reaches) still runs while loading: fail closed.
                self._add(
                    "AIR102",
                    offset,
                    f"Loading this file creates objects of `{dotted}` (a class that ordinary "
                    "model files do not need), so its code runs while loading. Usually custom "
                    "code the model needs: allow the name in the policy if you trust where it "
                    "comes from.",
                    shown,
                )
            else:
                self._add(
                    "AIR102",
                    offset,
                    f"Loading this file imports `{dotted}` (a class or function that ordinary "
                    "model files do not need) without calling it or handing it to code that "
                    "could. Usually custom code the model needs; allow it in the policy if you "
                    "trust it.",
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
            self._add(
                "AIR110",
                call.offset,
                f"The file hands data computed while loading to `{func.dotted}`, which "
                "deserializes it (and can run code from it); what it receives cannot be "
                "determined without loading the file.",
                render(call, 200),
            )
            return
        where = self.blob.location.inside(f"payload of {func.dotted} at byte {call.offset}")
        self._scan_nested_once(data, where)
        if self.policy.judge(func.dotted).status is Status.ALLOWED:
            return  # e.g. torch.storage._load_from_bytes: routine, its content was scanned
        self._add(
            "AIR108",
            call.offset,
            f"The file hands {len(data)} bytes to `{func.dotted}` when loaded; they were "
            "decoded and scanned as well.",
            render(call, 200),
        )

    def _report_embedded(self) -> None:
        for data, encoding, offset, shown in self._embedded:
            if hashlib.sha256(data).digest() in self._scanned:
                continue  # handed to a deserializer: already scanned as a payload
            self._add(
                "AIR109",
                offset,
                f"A pickle ({len(data)} bytes, {encoding}) is stored inside a data field. It "
                "does not run when this file loads, but runs if an application later "
                "deserializes that field; it was decoded and scanned.",
                shown,
            )
            where = self.blob.location.inside(f"embedded pickle ({encoding}) at byte {offset}")
            self._scan_nested_once(data, where)
        self._embedded.clear()

    @property
    def handed_on(self) -> bool:
        """Whether content was handed back to the scanner (its verdict is not this stream's)."""
        return bool(self._scanned)

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


def _forwarded_call(call: Call, behaviour: Behaviour) -> Call | None:
    """The call an allowlisted forwarder makes on load, as a call of its own."""
    if behaviour.forwards is None:
        return None
    callee, given = behaviour.forwards
    args = call.args if isinstance(call.args, tuple) else ()
    if len(args) <= callee:
        return None
    if behaviour.forwards_as_pickle:
        # copyreg.__newobj__(cls, *args); copyreg.__newobj_ex__(cls, args, kwargs).
        if len(args) == 3 and isinstance(args[2], SymDict):
            return Call(args[0], _as_tuple(args[1]), args[2], call.opcode, call.offset)
        return Call(args[0], tuple(args[given:]), None, call.opcode, call.offset)
    inner_args = args[given] if len(args) > given else ()
    return Call(args[callee], _as_tuple(inner_args), None, call.opcode, call.offset)


def _as_tuple(value: Any) -> Any:
    return tuple(value.items) if isinstance(value, SymList) else value


def _globals_in(value: Any, depth: int) -> list[Global]:
    """Globals inside `value` (containers up to `depth` levels), each container visited once:
    memo-shared tuples must not turn a small pickle into an exponential walk."""
    found: list[Global] = []
    seen: set[int] = set()
    pending: list[tuple[Any, int]] = [(value, depth)]
    budget = 4096
    while pending and budget > 0:
        item, level = pending.pop()
        budget -= 1
        if isinstance(item, Global):
            found.append(item)
            continue
        if level == 0 or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, tuple):
            children: list[Any] = list(item[:64])
        elif isinstance(item, SymList | SymSet):
            children = item.items[:64]
        elif isinstance(item, SymDict):
            children = [v for pair in item.pairs[:32] for v in pair]
        else:
            continue
        pending.extend((child, level - 1) for child in children)
    return found
