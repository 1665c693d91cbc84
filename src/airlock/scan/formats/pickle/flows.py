"""Where objects from outside the allowlist go while a pickle loads.

An unknown global that the pickle never calls is not harmless: handed to allowlisted code that
calls it or its methods (dict(x) runs `x.keys()`, numpy's `__randomstate_ctor` calls its
second argument, BUILD runs `state.items()` or a `__setstate__`), its code runs with data from
the file. Each value the interpreter builds is "foreign" when it is such a global, an object
built by calling one (`Call.taint`), or an import computed while loading; what allowlisted
callables do with each argument comes from the policy's data file (`Behaviour`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airlock.findings import Severity
from airlock.scan.formats.pickle.values import (
    Call,
    Extension,
    Global,
    Persistent,
    SymDict,
    SymList,
    SymSet,
    render,
)
from airlock.scan.names.pickle_globals import Behaviour, GlobalsPolicy, Status, Verdict

# (rule id, offset, message, evidence, severity or None for the rule's default)
Report = Callable[[str, int, str, str, Severity | None], None]

COMPUTED = "a value computed while loading"
# Bounds on one search for foreign values inside a value (memo-shared containers must not
# turn a small pickle into an exponential walk).
WALK_DEPTH = 4
WALK_BUDGET = 2048
WALK_WIDTH = 64
# Values that are never foreign and hold nothing: most arguments (sizes, flags, names).
_SCALARS = frozenset({str, int, float, bool, bytes, bytearray, type(None), Persistent})
# (A persistent id's content is judged once, when the loader is handed it.)


class Flows:
    def __init__(self, policy: GlobalsPolicy, report: Report, unknown: object) -> None:
        self.policy = policy
        self.report = report
        self.unknown = unknown
        # Until a foreign value exists nothing can flow: benign checkpoints pay nothing more.
        self.active = False
        self._verdicts: dict[tuple[str, str], Verdict] = {}
        # One finding per (rule, origin, callee): a loop over many objects reports once.
        self._reported: set[tuple[str, str, str]] = set()
        self._dangerous: set[str] = set()

    def verdict(self, glob: Global) -> Verdict:
        key = (glob.module, glob.name)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self.policy.judge(glob.dotted, glob.module)
            if verdict.status is Status.DANGEROUS:
                self._dangerous.add(glob.dotted)
        return verdict

    def note_global(self, glob: Global) -> None:
        if not self.active and self.verdict(glob).status is not Status.ALLOWED:
            self.active = True

    def note_computed(self) -> None:
        self.active = True

    # What a value is ----------------------------------------------------------------------
    def origin(self, value: Any) -> str | None:
        """What makes `value` foreign (an unknown name), or None for allowlisted values."""
        kind = type(value)
        if kind in _SCALARS:
            return None
        if kind is Call:
            taint: str | None = value.taint
            return taint
        if kind is Global:
            glob: Global = value
            return None if self.verdict(glob).status is Status.ALLOWED else glob.dotted
        if isinstance(value, Extension):
            return f"extension code {value.code}"
        if value is self.unknown:
            return COMPUTED
        return None

    def nested(self, value: Any) -> tuple[Any, str] | None:
        """A foreign value inside `value` (containers, and the arguments and state of
        allowlisted calls), within the walk's bounds."""
        if type(value) in _SCALARS or (
            type(value) is tuple and all(type(item) in _SCALARS for item in value)
        ):
            return None  # the common case (sizes, strides, flags), without building a walk
        seen: set[int] = set()
        pending: list[tuple[Any, int]] = [(value, WALK_DEPTH)]
        budget = WALK_BUDGET
        while pending and budget > 0:
            item, level = pending.pop()
            budget -= 1
            if type(item) in _SCALARS:
                continue
            found = self.origin(item)
            if found is not None:
                return item, found
            if level == 0 or id(item) in seen:
                continue
            seen.add(id(item))
            children = _children(item)
            if children:
                pending.extend((child, level - 1) for child in children)
        return None

    # Events -------------------------------------------------------------------------------
    def on_call(self, call: Call, behaviour: Behaviour | None) -> None:
        """Mark the result foreign when it is, and report foreign arguments that allowlisted
        code (`behaviour`, None for a callee outside the allowlist) calls or may call."""
        func = call.func
        if not isinstance(func, Global):
            call.taint = self.origin(func) or COMPUTED
            return
        taint = self.origin(func)
        if taint is not None:
            call.taint = taint
            return
        if not isinstance(call.args, tuple):
            self._unpacked_arguments(call, func)
        if behaviour is None:
            return
        args = call.args if isinstance(call.args, tuple) else (call.args,)
        if behaviour.result is not None:
            held = _argument(args, call.kwargs, behaviour.result)
            call.taint = self.origin(held) if held is not None else None
        for slot, value in enumerate(args[:WALK_WIDTH]):
            if type(value) not in _SCALARS:
                self._judge_argument(call, func, behaviour, slot, value)
        if call.kwargs is not None:
            for name, value in _keywords(call.kwargs):
                self._judge_argument(call, func, behaviour, name, value)

    def _unpacked_arguments(self, call: Call, func: Global) -> None:
        """`func(*args)` with args that are not a tuple: the pure-Python unpickler iterates
        them (C refuses anything but a tuple; fail closed)."""
        origin = self.origin(call.args)
        if origin is None:
            return
        self._once(
            "AIR111",
            origin,
            f"*{func.dotted}",
            call.offset,
            f"Loading this file calls `{func.dotted}` with {_described(origin)} as its argument "
            "list, which the loader iterates, so code from outside the allowlist runs while "
            "loading. Do not load it unless you trust its source.",
            render(call, 400),
        )

    def on_forwarded(self, outer: Call, inner: Call) -> None:
        """An allowlisted function calls `inner.func` with arguments from the file."""
        origin = self.origin(inner.func)
        if origin is None or not isinstance(outer.func, Global):
            return
        self._once(
            "AIR111",
            origin,
            outer.func.dotted,
            outer.offset,
            f"Loading this file makes `{outer.func.dotted}` (an allowlisted function) call "
            f"{_described(origin)} with arguments from the file, so code from outside the "
            "allowlist runs while loading. Do not load it unless you trust its source.",
            render(outer, 400),
        )

    def on_persistent(self, pid: Any, offset: int) -> None:
        """A persistent id is handed to the loader's persistent_load (torch.load reads the
        storage type's attributes and calls it)."""
        found = self.nested(pid)
        if found is None:
            return
        self._once(
            "AIR112",
            found[1],
            "persistent_load",
            offset,
            f"Loading this file hands {_described(found[1])} to the loader's persistent-id "
            "handler (PyTorch's reads and calls the storage type it names), which may call it "
            "while loading; ordinary checkpoints name only tensor storage types there. Load it "
            "only if you trust its source.",
            f"persistent_id({render(pid, 240)})",
        )

    def on_build(self, target: Any, state: Any, offset: int) -> None:
        """BUILD calls methods of its state (`state.items()` or the class's __setstate__)."""
        for value in _unpacked(state):
            origin = self.origin(value)
            if origin is None:
                continue
            self._once(
                "AIR113",
                origin,
                "BUILD",
                offset,
                f"Loading this file restores an object from state that is {_described(origin)}; "
                "restoring calls methods of the state, so code from outside the allowlist "
                "runs while loading. Do not load it unless you trust its source.",
                f"BUILD {render(target, 120)} with state {render(state, 240)}",
            )
            return
        cls = self._class_of(target)
        if cls is None:
            return
        if isinstance(state, tuple) and len(state) == 2:
            # (dict_state, slots_state): slot values go through setattr, which runs the
            # class's __setattr__ and descriptors on them (Module.__setattr__'s isinstance
            # checks reach a foreign object's __class__).
            found = self.nested(state[1])
            if found is not None:
                self._once(
                    "AIR112",
                    found[1],
                    f"BUILD slots {cls}",
                    offset,
                    f"Loading this file sets {_described(found[1])} as an attribute of a "
                    f"`{cls}` while restoring it, which may call that object's methods. Load "
                    "it only if you trust its source.",
                    f"BUILD {render(target, 120)} with state {render(state, 240)}",
                )
                return
        if self.policy.build_keeps_values(cls):
            return
        found = self.nested(state)
        if found is None:
            return
        calls = cls in self.policy.build_calls_values
        self._once(
            "AIR111" if calls else "AIR112",
            found[1],
            f"BUILD {cls}",
            offset,
            f"Loading this file restores a `{cls}` from state that holds "
            f"{_described(found[1])}; restoring it "
            + (
                "calls that object's methods while loading, so code from outside the "
                "allowlist runs. Do not load it unless you trust its source."
                if calls
                else "may call that object's methods while loading. Load it only if you "
                "trust its source."
            ),
            f"BUILD {render(target, 120)} with state {render(state, 240)}",
        )

    def _class_of(self, target: Any) -> str | None:
        """The allowlisted class (or rebuild function) an instance comes from; None when it
        is not an allowlisted instance (a foreign class restores itself: see AIR102)."""
        if not isinstance(target, Call) or target.taint is not None:
            return None
        func = target.func
        if not isinstance(func, Global):
            return None
        result = self.policy.behaviour(func.dotted).result
        if isinstance(result, int) and isinstance(target.args, tuple):
            held = target.args[result] if result < len(target.args) else None
            return held.dotted if isinstance(held, Global) else None
        return func.dotted

    def on_hashed(self, keys: list[Any], offset: int) -> None:
        """Dict keys and set elements are hashed on insertion (their __hash__/__eq__ run)."""
        for key in keys[:WALK_WIDTH]:
            for value in _unpacked(key):
                origin = self.origin(value)
                if origin is None:
                    continue
                instance = isinstance(value, Call)
                self._once(
                    "AIR111" if instance else "AIR112",
                    origin,
                    "hash",
                    offset,
                    f"Loading this file uses {_described(origin)} as a dictionary key or set "
                    "element, which calls its hashing methods while loading"
                    + (
                        ": code from outside the allowlist runs. Do not load it unless you "
                        "trust its source."
                        if instance
                        else "; an unusual use of a class or function from outside the "
                        "allowlist. Load it only if you trust its source."
                    ),
                    render(value, 240),
                    None if instance else Severity.HIGH,
                )
                return

    # Helpers ------------------------------------------------------------------------------
    def _judge_argument(
        self, call: Call, func: Global, behaviour: Behaviour, slot: int | str, value: Any
    ) -> None:
        role = behaviour.role(slot)
        if role == "stores":
            return
        where = f"argument {slot + 1}" if isinstance(slot, int) else f"argument `{slot}`"
        if role in ("calls", "methods"):
            for direct in _unpacked(value) if role == "methods" else (value,):
                origin = self.origin(direct)
                if origin is None:
                    continue
                what = "calls it" if role == "calls" else "calls its methods"
                self._once(
                    "AIR111",
                    origin,
                    func.dotted,
                    call.offset,
                    f"Loading this file hands {_described(origin)} to `{func.dotted}` "
                    f"({where}), an allowlisted function that {what} while loading, so code "
                    "from outside the allowlist runs with data from the file. Do not load it "
                    "unless you trust its source.",
                    render(call, 400),
                )
                return
        found = self.nested(value)
        if found is None:
            return
        use = (
            "which keeps it to call later"
            if role == "later"
            else "which may call it or its methods while loading"
        )
        self._once(
            "AIR112",
            found[1],
            func.dotted,
            call.offset,
            f"Loading this file hands {_described(found[1])} to `{func.dotted}` ({where}), "
            f"{use}; objects from outside the allowlist do not belong there in ordinary model "
            "files. Load it only if you trust its source (an organization can allow the name "
            "in its policy).",
            render(call, 400),
        )

    def on_dynamic_call(self, call: Call) -> None:
        """The pickle calls an object an allowlisted wrapper holds (a functools.partial of an
        unknown function, say)."""
        func = call.func
        if not isinstance(func, Call) or not isinstance(func.func, Global) or func.taint is None:
            return
        if self.origin(func.func) is not None:
            return  # an instance of the unknown class itself: its import is reported
        self._once(
            "AIR111",
            func.taint,
            func.func.dotted,
            call.offset,
            f"Loading this file calls a `{func.func.dotted}` object that wraps "
            f"{_described(func.taint)}, so code from outside the allowlist runs with data "
            "from the file. Do not load it unless you trust its source.",
            render(call, 400),
        )

    def _once(
        self,
        rule: str,
        origin: str,
        where: str,
        offset: int,
        message: str,
        evidence: str,
        severity: Severity | None = None,
    ) -> None:
        key = (rule, origin, where)
        if key in self._reported:
            return
        if origin in self._dangerous:
            return  # already critical as an import of a dangerous name (AIR101)
        self._reported.add(key)
        self.report(rule, offset, message, evidence, severity)


def _described(origin: str) -> str:
    if origin == COMPUTED or origin.startswith("extension code"):
        return origin
    return f"an object from `{origin}` (not on the allowlist)"


def _keywords(kwargs: Any) -> list[tuple[int | str, Any]]:
    if isinstance(kwargs, SymDict):
        return [(k if isinstance(k, str) else "?", v) for k, v in kwargs.pairs[:WALK_WIDTH]]
    return [("**", kwargs)]


def _argument(args: tuple[Any, ...], kwargs: Any, slot: int | str) -> Any:
    if isinstance(slot, int):
        return args[slot] if slot < len(args) else None
    return kwargs.get(slot) if isinstance(kwargs, SymDict) else None


def _unpacked(value: Any) -> tuple[Any, ...]:
    """A value, or the items of a tuple (state tuples: `(dict_state, slots_state)`)."""
    if isinstance(value, tuple):
        return value[:WALK_WIDTH]
    return (value,)


def _children(item: Any) -> list[Any] | None:
    if isinstance(item, tuple):
        return list(item[:WALK_WIDTH])
    if isinstance(item, SymList | SymSet):
        return item.items[:WALK_WIDTH]
    if isinstance(item, SymDict):
        return [v for pair in item.pairs[: WALK_WIDTH // 2] for v in pair]
    if isinstance(item, Call) and item.taint is None:
        # An allowlisted object: what it was built from and restored with travels with it.
        args = item.args if isinstance(item.args, tuple) else (item.args,)
        return [*args[:WALK_WIDTH], item.kwargs, item.state]
    return None
