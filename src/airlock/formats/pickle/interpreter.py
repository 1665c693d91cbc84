"""Symbolic pickle interpreter: runs the opcode stream over symbolic values, never real objects.

It reproduces the unpickler's stack, memo and MARK discipline exactly, so a payload is seen
whatever shape the stream gives it (memo indirection, STACK_GLOBAL operands built earlier,
calls hidden in BUILD or NEWOBJ_EX). Every import, call and attribute write is reported to a
listener; judging them is the analysis module's job.
"""

from __future__ import annotations

import _compat_pickle
from dataclasses import dataclass
from typing import Any, Protocol

from airlock.formats.pickle import inline_arrays
from airlock.formats.pickle.opcodes import Buffer, Op, PickleDecodeError, decode_op
from airlock.formats.pickle.values import (
    Call,
    Extension,
    Global,
    OutOfBandBuffer,
    Persistent,
    SymDict,
    SymList,
    SymSet,
)

# Bounds that keep a hostile stream from costing unbounded time or memory.
MAX_OPS = 50_000_000
MAX_INLINE_DEPTH = 8
# Shorter strings cannot hold a pickle worth reporting; skipping them keeps the hot loop cheap.
MIN_REPORTED_CONSTANT = 16


class _Mark:
    __slots__ = ()


MARK = _Mark()
UNKNOWN = object()


class Listener(Protocol):
    def on_global(self, glob: Global) -> None: ...
    def on_dynamic_import(self, module: Any, name: Any, offset: int) -> None: ...
    def on_call(self, call: Call) -> None: ...
    def on_build(self, target: Any, state: Any, offset: int) -> None: ...
    def on_extension(self, code: int, offset: int) -> None: ...
    def on_constant(self, value: str | bytes | bytearray, offset: int) -> None: ...


@dataclass(frozen=True)
class StreamResult:
    """What one pickle stream did: where it started and ended, and whether it reached STOP."""

    start: int
    end: int
    protocol: int
    complete: bool
    error: PickleDecodeError | None
    result: Any = None


class _SemanticError(Exception):
    pass


def canonical_global(module: str, name: str, protocol: int) -> tuple[str, str]:
    """Apply the Python 2 name mapping the real unpickler applies to protocol < 3 streams."""
    if protocol < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            return _compat_pickle.NAME_MAPPING[(module, name)]
        if module in _compat_pickle.IMPORT_MAPPING:
            return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name


class Interpreter:
    def __init__(self, buf: Buffer, listener: Listener, depth: int = 0) -> None:
        self.buf = buf
        self.listener = listener
        self.depth = depth
        self.ops_budget = MAX_OPS
        self.stack: list[Any] = []
        self.marks: list[list[Any]] = []

    def run(self, start: int) -> StreamResult:
        """Interpret one stream from `start` up to and including its STOP."""
        self.stack = []
        self.marks = []
        memo: dict[int, Any] = {}
        protocol = 0
        pos = start
        while True:
            try:
                op = decode_op(self.buf, pos)
            except PickleDecodeError as exc:
                return StreamResult(start, pos, protocol, False, exc)
            self.ops_budget -= 1
            if self.ops_budget < 0:
                error = PickleDecodeError("opcode budget exhausted", op.offset)
                return StreamResult(start, op.offset, protocol, False, error)
            if op.name == "STOP":
                result = self.stack[-1] if self.stack else None
                return StreamResult(start, op.end, protocol, True, None, result)
            if op.name == "PROTO":
                protocol = int(op.arg)
            try:
                pos = self._step(op, memo, protocol)
            except _SemanticError as exc:
                error = PickleDecodeError(str(exc), op.offset)
                return StreamResult(start, op.offset, protocol, False, error)
            except (IndexError, KeyError, TypeError, ValueError):
                error = PickleDecodeError(f"{op.name} cannot apply here", op.offset)
                return StreamResult(start, op.offset, protocol, False, error)

    def _pop_mark(self) -> list[Any]:
        if not self.marks:
            raise _SemanticError("MARK expected but none is open")
        items = self.stack
        self.stack = self.marks.pop()
        return items

    def _step(self, op: Op, memo: dict[int, Any], protocol: int) -> int:
        name, arg = op.name, op.arg
        pop_mark = self._pop_mark

        if name in _CONSTANT_OPS:
            value = arg.decode("latin-1") if isinstance(arg, bytes) and name in _STR_OPS else arg
            if isinstance(value, str | bytes | bytearray) and len(value) >= MIN_REPORTED_CONSTANT:
                self.listener.on_constant(value, op.offset)
            self.stack.append(value)
        elif name in ("NONE",):
            self.stack.append(None)
        elif name == "NEWTRUE":
            self.stack.append(True)
        elif name == "NEWFALSE":
            self.stack.append(False)
        elif name == "EMPTY_LIST":
            self.stack.append(SymList())
        elif name == "EMPTY_TUPLE":
            self.stack.append(())
        elif name == "EMPTY_DICT":
            self.stack.append(SymDict())
        elif name == "EMPTY_SET":
            self.stack.append(SymSet())
        elif name == "MARK":
            self.marks.append(self.stack)
            self.stack = []
        elif name == "LIST":
            items = pop_mark()
            self.stack.append(SymList(items))
        elif name == "TUPLE":
            items = pop_mark()
            self.stack.append(tuple(items))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            if len(self.stack) < n:
                raise _SemanticError("stack underflow")
            packed = tuple(self.stack[-n:])
            del self.stack[-n:]
            self.stack.append(packed)
        elif name == "DICT":
            items = pop_mark()
            self.stack.append(SymDict(list(zip(items[::2], items[1::2], strict=False))))
        elif name == "FROZENSET":
            items = pop_mark()
            self.stack.append(SymSet(items, frozen=True))
        elif name == "APPEND":
            value = self.stack.pop()
            _extend(self.stack[-1], [value])
        elif name == "APPENDS":
            items = pop_mark()
            _extend(self.stack[-1], items)
        elif name == "SETITEM":
            value = self.stack.pop()
            key = self.stack.pop()
            _set_items(self.stack[-1], [(key, value)])
        elif name == "SETITEMS":
            items = pop_mark()
            _set_items(self.stack[-1], list(zip(items[::2], items[1::2], strict=False)))
        elif name == "ADDITEMS":
            items = pop_mark()
            target = self.stack[-1]
            if isinstance(target, SymSet):
                target.items.extend(items)
        elif name == "POP":
            if self.stack:
                self.stack.pop()
            else:
                pop_mark()
        elif name == "POP_MARK":
            pop_mark()
        elif name == "DUP":
            self.stack.append(self.stack[-1])
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            if int(arg) < 0:
                raise _SemanticError("negative memo index")
            memo[int(arg)] = self.stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = self.stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            if int(arg) not in memo:
                raise _SemanticError(f"memo index {arg} was never stored")
            self.stack.append(memo[int(arg)])
        elif name == "GLOBAL":
            self.stack.append(self._global(arg[0], arg[1], protocol, op.offset))
        elif name == "STACK_GLOBAL":
            qual = self.stack.pop()
            module = self.stack.pop()
            if isinstance(module, str) and isinstance(qual, str):
                self.stack.append(self._global(module, qual, protocol, op.offset))
            else:
                self.listener.on_dynamic_import(module, qual, op.offset)
                self.stack.append(UNKNOWN)
        elif name == "REDUCE":
            args = self.stack.pop()
            func = self.stack.pop()
            self.stack.append(self._call(func, args, None, name, op.offset))
        elif name == "BUILD":
            state = self.stack.pop()
            target = self.stack[-1]
            self.listener.on_build(target, state, op.offset)
            if isinstance(target, Call):
                target.state = state
                return self._after_build(target, op.end)
        elif name == "INST":
            args = tuple(pop_mark())
            func = self._global(arg[0], arg[1], protocol, op.offset)
            self.stack.append(self._call(func, args, None, name, op.offset))
        elif name == "OBJ":
            items = pop_mark()
            if not items:
                raise _SemanticError("OBJ without a class")
            self.stack.append(self._call(items[0], tuple(items[1:]), None, name, op.offset))
        elif name == "NEWOBJ":
            args = self.stack.pop()
            cls = self.stack.pop()
            self.stack.append(self._call(cls, args, None, name, op.offset))
        elif name == "NEWOBJ_EX":
            kwargs = self.stack.pop()
            args = self.stack.pop()
            cls = self.stack.pop()
            self.stack.append(self._call(cls, args, kwargs, name, op.offset))
        elif name in ("EXT1", "EXT2", "EXT4"):
            self.listener.on_extension(int(arg), op.offset)
            self.stack.append(Extension(int(arg)))
        elif name == "PERSID":
            self.stack.append(Persistent(arg))
        elif name == "BINPERSID":
            self.stack.append(Persistent(self.stack.pop()))
        elif name == "NEXT_BUFFER":
            self.stack.append(OutOfBandBuffer())
        elif name in ("READONLY_BUFFER", "FRAME", "PROTO"):
            pass
        else:  # pragma: no cover - every opcode in pickletools is handled above
            raise _SemanticError(f"unhandled opcode {name}")
        return op.end

    def _global(self, module: str, name: str, protocol: int, offset: int) -> Global:
        module, name = canonical_global(module, name, protocol)
        glob = Global(module, name, offset)
        self.listener.on_global(glob)
        return glob

    def _call(self, func: Any, args: Any, kwargs: Any, opcode: str, offset: int) -> Call:
        call = Call(func, args, kwargs, opcode, offset)
        self.listener.on_call(call)
        return call

    def _after_build(self, target: Call, pos: int) -> int:
        """Skip (or interpret) the bytes some loaders read straight from the stream after BUILD."""
        extent = inline_arrays.inline_extent(target, self.buf, pos)
        if extent is None:
            return pos
        if extent.nested_pickle:
            if self.depth >= MAX_INLINE_DEPTH:
                raise _SemanticError("inline pickles nested too deeply")
            inner = Interpreter(self.buf, self.listener, self.depth + 1)
            inner.ops_budget = self.ops_budget
            result = inner.run(extent.start)
            self.ops_budget = inner.ops_budget
            if not result.complete:
                raise _SemanticError("inline object array is not a complete pickle")
            return result.end
        return extent.start + extent.length


_CONSTANT_OPS = frozenset(
    {
        "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4",
        "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES",
        "BINBYTES8", "BYTEARRAY8", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE",
        "BINUNICODE8", "FLOAT", "BINFLOAT",
    }
)  # fmt: skip
# Protocol 0-2 strings unpickle as str under the default ASCII/latin-1 encodings.
_STR_OPS = frozenset({"STRING", "BINSTRING", "SHORT_BINSTRING"})


def _extend(target: Any, items: list[Any]) -> None:
    if isinstance(target, SymList):
        target.items.extend(items)
    elif isinstance(target, Call):
        target.state = ("appended", items)


def _set_items(target: Any, pairs: list[tuple[Any, Any]]) -> None:
    if isinstance(target, SymDict):
        target.pairs.extend(pairs)
    elif isinstance(target, Call):
        target.state = SymDict(pairs)
