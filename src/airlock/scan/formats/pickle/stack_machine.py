"""The unpickler's data machinery, symbolically: the stack, MARKs, the memo, and the opcodes
that build containers and constants from what is on the stack. The interpreter
(interpreter.py) adds imports, calls, BUILD and persistent ids on top, which are what a payload
is made of; the two together reproduce the unpickler exactly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from airlock.scan.formats.pickle.values import Call, SymDict, SymList, SymSet

# Shorter strings cannot hold a pickle worth reporting; skipping them keeps the hot loop cheap.
MIN_REPORTED_CONSTANT = 16
# Key types whose hashing runs no code from the pickle (the usual dict keys); others are
# reported to the listener, which decides (a tuple key hashes its items, for instance).
PLAIN_KEYS = frozenset({str, int, bytes, float, bool, type(None)})


class SemanticError(Exception):
    """The stream does something the unpickler would refuse (stack underflow, a memo miss)."""


class DataListener(Protocol):
    def on_constant(self, value: str | bytes | bytearray, offset: int) -> None: ...
    def on_hashed(self, keys: list[Any], offset: int) -> None: ...


class StackMachine:
    def __init__(self, listener: DataListener) -> None:
        self.listener = listener
        self.stack: list[Any] = []
        self.marks: list[list[Any]] = []
        self.memo: dict[int, Any] = {}
        self.protocol = 0
        self.frame_end = -1

    def _pop_mark(self) -> list[Any]:
        if not self.marks:
            raise SemanticError("MARK expected but none is open")
        items = self.stack
        self.stack = self.marks.pop()
        return items

    # One handler per opcode: (arg, offset, end) -> None, or the position to continue at.
    def _constant(self, arg: Any, offset: int, end: int) -> None:
        if isinstance(arg, str | bytes | bytearray) and len(arg) >= MIN_REPORTED_CONSTANT:
            self.listener.on_constant(arg, offset)
        self.stack.append(arg)

    def _old_string(self, arg: Any, offset: int, end: int) -> None:
        # Protocol 0-2 strings unpickle as str under the default ASCII/latin-1 encodings.
        self._constant(arg.decode("latin-1"), offset, end)

    def _proto(self, arg: Any, offset: int, end: int) -> None:
        self.protocol = int(arg)

    def _mark(self, arg: Any, offset: int, end: int) -> None:
        self.marks.append(self.stack)
        self.stack = []

    def _list(self, arg: Any, offset: int, end: int) -> None:
        items = self._pop_mark()
        self.stack.append(SymList(items))

    def _tuple(self, arg: Any, offset: int, end: int) -> None:
        items = self._pop_mark()
        self.stack.append(tuple(items))

    def _dict(self, arg: Any, offset: int, end: int) -> None:
        items = self._pop_mark()
        self._hashing(items[::2], offset)
        self.stack.append(SymDict(list(zip(items[::2], items[1::2], strict=False))))

    def _frozenset(self, arg: Any, offset: int, end: int) -> None:
        items = self._pop_mark()
        self._hashing(items, offset)
        self.stack.append(SymSet(items, frozen=True))

    def _hashing(self, keys: list[Any], offset: int) -> None:
        """Keys and set elements are hashed (their __hash__/__eq__ run) as they are inserted."""
        plain = PLAIN_KEYS
        for key in keys:
            if type(key) not in plain:
                self.listener.on_hashed(keys, offset)
                return

    def _append(self, arg: Any, offset: int, end: int) -> None:
        value = self.stack.pop()
        _extend(self.stack[-1], [value])

    def _appends(self, arg: Any, offset: int, end: int) -> None:
        items = self._pop_mark()
        _extend(self.stack[-1], items)

    def _setitem(self, arg: Any, offset: int, end: int) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        if type(key) not in PLAIN_KEYS:
            self.listener.on_hashed([key], offset)
        _set_items(self.stack[-1], [(key, value)])

    def _setitems(self, arg: Any, offset: int, end: int) -> None:
        items = self._pop_mark()
        self._hashing(items[::2], offset)
        _set_items(self.stack[-1], list(zip(items[::2], items[1::2], strict=False)))

    def _additems(self, arg: Any, offset: int, end: int) -> None:
        items = self._pop_mark()
        self._hashing(items, offset)
        target = self.stack[-1]
        if isinstance(target, SymSet):
            target.items.extend(items)

    def _pop(self, arg: Any, offset: int, end: int) -> None:
        if self.stack:
            self.stack.pop()
        else:
            self._pop_mark()

    def _pop_mark_op(self, arg: Any, offset: int, end: int) -> None:
        self._pop_mark()

    def _dup(self, arg: Any, offset: int, end: int) -> None:
        self.stack.append(self.stack[-1])

    def _put(self, arg: Any, offset: int, end: int) -> None:
        if int(arg) < 0:
            raise SemanticError("negative memo index")
        self.memo[int(arg)] = self.stack[-1]

    def _memoize(self, arg: Any, offset: int, end: int) -> None:
        self.memo[len(self.memo)] = self.stack[-1]

    def _get(self, arg: Any, offset: int, end: int) -> None:
        if int(arg) not in self.memo:
            raise SemanticError(f"memo index {arg} was never stored")
        self.stack.append(self.memo[int(arg)])

    def _nothing(self, arg: Any, offset: int, end: int) -> None:
        pass

    def _frame(self, arg: Any, offset: int, end: int) -> None:
        # Opcodes read on across frames; only loaders reading the file directly (joblib's
        # arrays, the next pickle.load) see where a frame ends.
        self.frame_end = end + int(arg)


Handler = Callable[[Any, Any, int, int], "int | None"]


def pusher(value_factory: Callable[[], Any]) -> Handler:
    def push(self: StackMachine, arg: Any, offset: int, end: int) -> None:
        self.stack.append(value_factory())

    return push


def tuple_of(n: int) -> Handler:
    def pack(self: StackMachine, arg: Any, offset: int, end: int) -> None:
        if len(self.stack) < n:
            raise SemanticError("stack underflow")
        packed = tuple(self.stack[-n:])
        del self.stack[-n:]
        self.stack.append(packed)

    return pack


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
