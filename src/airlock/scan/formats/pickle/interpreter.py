"""Symbolic pickle interpreter: runs the opcode stream over symbolic values, never real objects.

It reproduces the unpickler's stack, memo and MARK discipline exactly, so a payload is seen
whatever shape the stream gives it (memo indirection, STACK_GLOBAL operands built earlier,
calls hidden in BUILD or NEWOBJ_EX). Every import, call and attribute write is reported to a
listener; judging them is the analysis module's job.
"""

from __future__ import annotations

from typing import Any

from airlock.scan.formats.pickle import inline_arrays
from airlock.scan.formats.pickle.fast_opcodes import (
    BINFLOAT,
    BINGET,
    BININT,
    BININT1,
    BININT2,
    BINPUT,
    CODES,
    EMPTY_DICT,
    F8,
    FAST_PUSHED,
    FAST_TEXTS,
    FAST_TUPLES,
    I4,
    MARK,
    MEMOIZE,
    TUPLE,
    U2,
    fast_text,
)
from airlock.scan.formats.pickle.listener import (
    UNKNOWN,
    Listener,
    StreamResult,
    canonical_global,
)
from airlock.scan.formats.pickle.opcodes import (
    Buffer,
    PickleDecodeError,
    PickleLimitError,
    decode_raw,
)
from airlock.scan.formats.pickle.stack_machine import (
    MIN_REPORTED_CONSTANT,
    Handler,
    SemanticError,
    StackMachine,
    pusher,
    tuple_of,
)
from airlock.scan.formats.pickle.values import (
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
# Values held at once (stack + memo + open MARKs): ~100 bytes each, so about 200 MB at most.
MAX_VALUES = 2_000_000
MAX_INLINE_DEPTH = 8
# Opcodes each walk resumed at a plausible resync point may run.
MAX_RESYNC_OPS = 1_000_000


class Interpreter(StackMachine):
    def __init__(
        self, buf: Buffer, listener: Listener, depth: int = 0, joblib_arrays: bool = True
    ) -> None:
        super().__init__(listener)
        self.buf = buf
        self.listener: Listener = listener
        self.depth = depth
        # joblib's NumpyUnpickler reads array bytes after a wrapper's BUILD; a plain unpickler
        # (pickle.load, or joblib's own for object arrays) reads opcodes there instead.
        self.joblib_arrays = joblib_arrays
        self.resync = True
        # Where the first raw joblib array bytes were stepped over, and where the first object
        # array's nested pickle starts (-1: none).
        self.first_inline = -1
        self.first_nested = -1
        self.saw_wrapper = False  # a joblib array wrapper was built in any stream
        self.ops_budget = MAX_OPS
        # Places where a loader reads bytes this walk cannot follow: (offset, why). The reader
        # reports them (fail closed); the walk goes on as a plain unpickler would.
        self.desyncs: list[tuple[int, str]] = []
        self.joblib = inline_arrays.JoblibArrays()

    def run(self, start: int) -> StreamResult:
        """Interpret one stream from `start` up to and including its STOP."""
        self.stack = []
        self.marks = []
        self.memo = {}
        self.protocol = 0
        self.joblib = inline_arrays.JoblibArrays()
        self.frame_end = -1
        return self._walk(start, start)

    def _walk(self, start: int, offset: int) -> StreamResult:
        buf, handlers = self.buf, _HANDLERS
        if offset < 0:
            return StreamResult(start, start, 0, False, PickleDecodeError("bad start", start))
        # Locals for the fast path (see FAST_OPS): the same objects the handlers use.
        stack, memo, marks, size = self.stack, self.memo, self.marks, len(buf)
        fast, listener, budget = FAST_OPS, self.listener, self.ops_budget
        pushed, small_tuples, texts = FAST_PUSHED, FAST_TUPLES, FAST_TEXTS
        while True:
            code = buf[offset] if offset < size else -1
            # Fast path: the commonest opcodes in their ordinary case, done in place with the
            # handlers' exact effect (no call, no decoded tuple). Anything unusual (a short
            # buffer, an empty stack, an unknown memo index, bad UTF-8) and every 4096th
            # opcode (the limit check) take the general path below.
            if code in fast and budget & 0xFFF != 1:
                if code == BINPUT:
                    if stack and offset + 1 < size:
                        budget -= 1
                        memo[buf[offset + 1]] = stack[-1]
                        offset += 2
                        continue
                elif code == BININT1:
                    if offset + 1 < size:
                        budget -= 1
                        stack.append(buf[offset + 1])
                        offset += 2
                        continue
                elif code == MEMOIZE:
                    if stack:
                        budget -= 1
                        memo[len(memo)] = stack[-1]
                        offset += 1
                        continue
                elif code in texts:  # SHORT_BINUNICODE, BINUNICODE
                    text = fast_text(buf, offset, size, code)
                    if text is not None:
                        budget -= 1
                        if len(text[0]) >= MIN_REPORTED_CONSTANT:
                            listener.on_constant(text[0], offset)
                        stack.append(text[0])
                        offset = text[1]
                        continue
                elif code == BINGET:
                    if offset + 1 < size and buf[offset + 1] in memo:
                        budget -= 1
                        stack.append(memo[buf[offset + 1]])
                        offset += 2
                        continue
                elif code == MARK:
                    budget -= 1
                    marks.append(stack)
                    stack = self.stack = []
                    offset += 1
                    continue
                elif code == BINFLOAT:
                    if offset + 8 < size:
                        budget -= 1
                        stack.append(F8(buf, offset + 1)[0])
                        offset += 9
                        continue
                elif code in pushed:  # NONE, NEWTRUE, NEWFALSE, EMPTY_TUPLE
                    budget -= 1
                    stack.append(pushed[code])
                    offset += 1
                    continue
                elif code in small_tuples:  # TUPLE1, TUPLE2, TUPLE3
                    n = small_tuples[code]
                    if len(stack) >= n:
                        budget -= 1
                        packed = tuple(stack[-n:])
                        del stack[-n:]
                        stack.append(packed)
                        offset += 1
                        continue
                elif code == TUPLE:
                    if marks:
                        budget -= 1
                        packed = tuple(stack)
                        stack = self.stack = marks.pop()
                        stack.append(packed)
                        offset += 1
                        continue
                elif code == EMPTY_DICT:
                    budget -= 1
                    stack.append(SymDict())
                    offset += 1
                    continue
                elif code == BININT:
                    if offset + 4 < size:
                        budget -= 1
                        stack.append(I4(buf, offset + 1)[0])
                        offset += 5
                        continue
                elif code == BININT2 and offset + 2 < size:
                    budget -= 1
                    stack.append(U2(buf, offset + 1)[0])
                    offset += 3
                    continue
            self.ops_budget = budget  # the general path and nested interpreters share it
            try:
                name, arg, end = decode_raw(buf, offset)
            except PickleDecodeError as exc:
                # Drop the traceback: its frames pin views of the (memory-mapped) input.
                return self._stop(start, offset, exc.with_traceback(None))
            self.ops_budget -= 1
            if self.ops_budget & 0xFFF == 0 and (limit := self._over_limit(offset)) is not None:
                return self._stop(start, offset, limit)
            if name == "STOP":
                if not self.stack:  # both unpicklers pop the value: an empty stack is an error
                    return self._stop(start, offset, PickleDecodeError("STOP on empty", offset))
                if self.frame_end > end:
                    self._frame_past_stop(end)
                return StreamResult(start, end, self.protocol, True, None, self.stack[-1])
            try:
                jump = handlers[name](self, arg, offset, end)
            except SemanticError as exc:
                return self._stop(start, offset, PickleDecodeError(str(exc), offset))
            except (IndexError, KeyError, TypeError, ValueError):
                return self._stop(
                    start, offset, PickleDecodeError(f"{name} cannot apply here", offset)
                )
            stack, budget = self.stack, self.ops_budget  # handlers may swap the stack list
            offset = end if jump is None else jump

    def _over_limit(self, offset: int) -> PickleLimitError | None:
        if self.ops_budget < 0:
            return PickleLimitError(f"more than {MAX_OPS} opcodes", offset)
        held = len(self.stack) + len(self.memo) + len(self.marks)
        if held > MAX_VALUES:
            return PickleLimitError(f"more than {MAX_VALUES} values held at once", offset)
        return None

    def _frame_past_stop(self, end: int) -> None:
        self.desyncs.append(
            (
                end,
                f"the pickle frame around STOP goes on to byte {self.frame_end}: a loader that "
                "reads on (another pickle.load, joblib, torch's legacy format) may resume "
                "there instead of right after STOP",
            )
        )

    def _stop(self, start: int, offset: int, error: PickleDecodeError) -> StreamResult:
        return StreamResult(start, offset, self.protocol, False, error)

    def _global_op(self, arg: Any, offset: int, end: int) -> None:
        self.stack.append(self._global(arg[0], arg[1], self.protocol, offset))

    def _stack_global(self, arg: Any, offset: int, end: int) -> None:
        qual = self.stack.pop()
        module = self.stack.pop()
        if isinstance(module, str) and isinstance(qual, str):
            self.stack.append(self._global(module, qual, self.protocol, offset))
        else:
            self.listener.on_dynamic_import(module, qual, offset)
            self.stack.append(UNKNOWN)

    def _reduce(self, arg: Any, offset: int, end: int) -> None:
        args = self.stack.pop()
        func = self.stack.pop()
        self.stack.append(self._call(func, args, None, "REDUCE", offset))

    def _build(self, arg: Any, offset: int, end: int) -> int | None:
        state = self.stack.pop()
        target = self.stack[-1]
        self.listener.on_build(target, state, offset)
        if isinstance(target, Call):
            target.state = state
            return self._after_build(target, state, end)
        return None

    def _inst(self, arg: Any, offset: int, end: int) -> None:
        args = tuple(self._pop_mark())
        func = self._global(arg[0], arg[1], self.protocol, offset)
        self.stack.append(self._call(func, args, None, "INST", offset))

    def _obj(self, arg: Any, offset: int, end: int) -> None:
        items = self._pop_mark()
        if not items:
            raise SemanticError("OBJ without a class")
        self.stack.append(self._call(items[0], tuple(items[1:]), None, "OBJ", offset))

    def _newobj(self, arg: Any, offset: int, end: int) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self.stack.append(self._call(cls, args, None, "NEWOBJ", offset))

    def _newobj_ex(self, arg: Any, offset: int, end: int) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self.stack.append(self._call(cls, args, kwargs, "NEWOBJ_EX", offset))

    def _ext(self, arg: Any, offset: int, end: int) -> None:
        self.listener.on_extension(int(arg), offset)
        self.stack.append(Extension(int(arg)))

    def _persid(self, arg: Any, offset: int, end: int) -> None:
        self.listener.on_persistent(arg, offset)
        self.stack.append(_persistent(arg))

    def _binpersid(self, arg: Any, offset: int, end: int) -> None:
        pid = self.stack.pop()
        self.listener.on_persistent(pid, offset)
        self.stack.append(_persistent(pid))

    def _global(self, module: str, name: str, protocol: int, offset: int) -> Global:
        module, name = canonical_global(module, name, protocol)
        glob = Global(module, name, offset)
        self.listener.on_global(glob)
        return glob

    def _call(self, func: Any, args: Any, kwargs: Any, opcode: str, offset: int) -> Call:
        call = Call(func, args, kwargs, opcode, offset)
        self.listener.on_call(call)
        return call

    def _after_build(self, target: Call, state: Any, pos: int) -> int:
        """Skip (or interpret) the bytes some loaders read straight from the stream after BUILD."""
        if not self.joblib_arrays:
            return pos
        extent = self.joblib.after_build(target, state, self.buf, pos, self.frame_end)
        if extent is None:
            return pos
        self.saw_wrapper = True
        if isinstance(extent, inline_arrays.Desync):
            self.desyncs.append((pos, extent.reason))
            if self.resync:
                for offset in extent.resync:
                    self._fork()._walk(offset, offset)  # its imports and calls are judged
            return pos
        if extent.nested_pickle:
            if self.depth >= MAX_INLINE_DEPTH:
                raise SemanticError("inline pickles nested too deeply")
            if self.first_nested < 0 or pos < self.first_nested:
                self.first_nested = pos
            inner = Interpreter(self.buf, self.listener, self.depth + 1, joblib_arrays=False)
            inner.ops_budget = self.ops_budget
            result = inner.run(extent.start)
            self.ops_budget = inner.ops_budget
            self.desyncs.extend(inner.desyncs)
            if not result.complete:
                raise SemanticError("inline object array is not a complete pickle")
            return result.end
        self._stepped(pos)
        return extent.start + extent.length

    def _fork(self) -> Interpreter:
        """A copy of this walk's state, to go on from where the loader may really be."""
        clone = Interpreter(self.buf, self.listener, self.depth, self.joblib_arrays)
        clone.stack = list(self.stack)
        clone.marks = [list(mark) for mark in self.marks]
        clone.memo = dict(self.memo)
        clone.protocol = self.protocol
        clone.ops_budget = min(self.ops_budget, MAX_RESYNC_OPS)
        clone.resync = False  # one level: a resynchronised walk does not fork again
        return clone

    def _stepped(self, pos: int) -> None:
        if self.first_inline < 0 or pos < self.first_inline:
            self.first_inline = pos


_push_none = pusher(lambda: None)
_push_true = pusher(lambda: True)
_push_false = pusher(lambda: False)
_push_empty_tuple = pusher(tuple)
_push_empty_dict = pusher(SymDict)
_tuple1, _tuple2, _tuple3 = tuple_of(1), tuple_of(2), tuple_of(3)

_CONSTANT_OPS = frozenset(
    {
        "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4",
        "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES",
        "BINBYTES8", "BYTEARRAY8", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE",
        "BINUNICODE8", "FLOAT", "BINFLOAT",
    }
)  # fmt: skip
_STR_OPS = frozenset({"STRING", "BINSTRING", "SHORT_BINSTRING"})

_HANDLERS: dict[str, Handler] = {
    **{name: Interpreter._constant for name in _CONSTANT_OPS - _STR_OPS},
    **{name: Interpreter._old_string for name in _STR_OPS},
    "NONE": _push_none,
    "NEWTRUE": _push_true,
    "NEWFALSE": _push_false,
    "EMPTY_LIST": pusher(SymList),
    "EMPTY_TUPLE": _push_empty_tuple,
    "EMPTY_DICT": _push_empty_dict,
    "EMPTY_SET": pusher(SymSet),
    "NEXT_BUFFER": pusher(OutOfBandBuffer),
    "PROTO": Interpreter._proto,
    "MARK": Interpreter._mark,
    "LIST": Interpreter._list,
    "TUPLE": Interpreter._tuple,
    "TUPLE1": _tuple1,
    "TUPLE2": _tuple2,
    "TUPLE3": _tuple3,
    "DICT": Interpreter._dict,
    "FROZENSET": Interpreter._frozenset,
    "APPEND": Interpreter._append,
    "APPENDS": Interpreter._appends,
    "SETITEM": Interpreter._setitem,
    "SETITEMS": Interpreter._setitems,
    "ADDITEMS": Interpreter._additems,
    "POP": Interpreter._pop,
    "POP_MARK": Interpreter._pop_mark_op,
    "DUP": Interpreter._dup,
    "PUT": Interpreter._put,
    "BINPUT": Interpreter._put,
    "LONG_BINPUT": Interpreter._put,
    "MEMOIZE": Interpreter._memoize,
    "GET": Interpreter._get,
    "BINGET": Interpreter._get,
    "LONG_BINGET": Interpreter._get,
    "GLOBAL": Interpreter._global_op,
    "STACK_GLOBAL": Interpreter._stack_global,
    "REDUCE": Interpreter._reduce,
    "BUILD": Interpreter._build,
    "INST": Interpreter._inst,
    "OBJ": Interpreter._obj,
    "NEWOBJ": Interpreter._newobj,
    "NEWOBJ_EX": Interpreter._newobj_ex,
    "EXT1": Interpreter._ext,
    "EXT2": Interpreter._ext,
    "EXT4": Interpreter._ext,
    "PERSID": Interpreter._persid,
    "BINPERSID": Interpreter._binpersid,
    "READONLY_BUFFER": Interpreter._nothing,
    "FRAME": Interpreter._frame,
}


# The fast path in Interpreter.run: opcodes that make up most of every real stream (memo
# traffic, ints, strings, floats, MARK, None/True/False, tuples, empty dicts), each done in
# place exactly as its handler would (their byte values live in fast_opcodes). An opcode
# whose handler is changed drops out of the fast path by itself, and
# tests/scan/formats/test_pickle_fast_path.py runs streams both ways.
_FAST_HANDLERS: dict[str, Handler] = {
    "BINPUT": Interpreter._put,
    "BININT1": Interpreter._constant,
    "MEMOIZE": Interpreter._memoize,
    "BINGET": Interpreter._get,
    "MARK": Interpreter._mark,
    "BINFLOAT": Interpreter._constant,
    "SHORT_BINUNICODE": Interpreter._constant,
    "BINUNICODE": Interpreter._constant,
    "NONE": _push_none,
    "NEWTRUE": _push_true,
    "NEWFALSE": _push_false,
    "EMPTY_TUPLE": _push_empty_tuple,
    "EMPTY_DICT": _push_empty_dict,
    "TUPLE": Interpreter._tuple,
    "TUPLE1": _tuple1,
    "TUPLE2": _tuple2,
    "TUPLE3": _tuple3,
    "BININT": Interpreter._constant,
    "BININT2": Interpreter._constant,
}
FAST_OPS = frozenset(
    CODES[name] for name, handler in _FAST_HANDLERS.items() if _HANDLERS[name] is handler
)


def _persistent(pid: Any) -> Any:
    """What a persistent id stands for. Legacy torch.save writes whole-module classes as
    ('module', cls, source_file, source) and torch's loader returns `cls` itself, so the class
    is judged (and its calls followed) like any import."""
    if (
        isinstance(pid, tuple)
        and len(pid) >= 2
        and pid[0] == "module"
        and isinstance(pid[1], Global)
    ):
        return pid[1]
    return Persistent(pid)
