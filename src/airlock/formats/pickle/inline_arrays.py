"""Array bytes that joblib writes straight into the pickle stream.

joblib pickles a `NumpyArrayWrapper` and, right after its BUILD opcode, writes the raw array
(or, for object arrays, a complete nested pickle). Its unpickler reads those bytes from the
stream, so a scanner must step over them to reach the opcodes that follow.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from airlock.formats.pickle.opcodes import Buffer
from airlock.formats.pickle.values import Call, Global, SymDict

_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"
_DTYPE_STR = re.compile(r"^[<>|=]?([a-zA-Z])(\d*)")
# Sizes of the numpy kinds whose dtype string omits the item size.
# Structured dtypes nest; real ones are a few levels deep, a hostile one could be thousands.
_MAX_FIELD_DEPTH = 32
_FLEXIBLE_KINDS = frozenset("VSUa")
_KIND_SIZE = {"?": 1, "b": 1, "B": 1, "e": 2, "f": 4, "d": 8, "g": 16, "O": 8}


@dataclass(frozen=True)
class InlineExtent:
    start: int
    length: int
    nested_pickle: bool


def inline_extent(target: Call, buf: Buffer, pos: int) -> InlineExtent | None:
    """The extent of inline array bytes after BUILD on a joblib wrapper, or None if none follow."""
    func = target.func
    if not (isinstance(func, Global) and func.dotted == _WRAPPER):
        return None
    state = target.state
    if not isinstance(state, SymDict):
        return None
    dtype = _dtype_info(state.get("dtype"))
    shape = state.get("shape")
    if dtype is None or not isinstance(shape, tuple) or not all(_is_count(d) for d in shape):
        return None
    itemsize, has_object = dtype
    if has_object:
        return InlineExtent(pos, 0, nested_pickle=True)
    start = pos
    if state.get("numpy_array_alignment_bytes") is not None:
        if pos >= len(buf):
            return None
        start = pos + 1 + buf[pos]
    return InlineExtent(start, math.prod(shape) * itemsize, nested_pickle=False)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _dtype_info(value: Any, depth: int = 0) -> tuple[int, bool] | None:
    """(itemsize, holds Python objects) of a pickled `numpy.dtype(...)` call."""
    if depth > _MAX_FIELD_DEPTH:
        return None
    if not (isinstance(value, Call) and isinstance(value.func, Global)):
        return None
    if value.func.name != "dtype" or not value.func.module.startswith("numpy"):
        return None
    args = value.args
    if not (isinstance(args, tuple) and args and isinstance(args[0], str)):
        return None
    match = _DTYPE_STR.match(args[0])
    if match is None:
        return None
    kind, digits = match.group(1), match.group(2)
    state = value.state if isinstance(value.state, tuple) else ()
    # numpy honours the pickled item size only for flexible kinds; for fixed ones (f8, i4...)
    # the kind decides, and so must we, or a forged size would desynchronise us from joblib.
    declared = state[5] if len(state) > 5 and isinstance(state[5], int) else -1
    if declared >= 0 and kind in _FLEXIBLE_KINDS:
        itemsize = declared
    elif digits:
        itemsize = int(digits) * (4 if kind == "U" else 1)
    elif kind in _KIND_SIZE:
        itemsize = _KIND_SIZE[kind]
    else:
        return None
    return itemsize, kind == "O" or _fields_hold_objects(state, depth)


def _fields_hold_objects(state: tuple[Any, ...], depth: int) -> bool:
    fields = state[4] if len(state) > 4 else None
    if not isinstance(fields, SymDict):
        return False
    for _, spec in fields.pairs:
        inner = spec[0] if isinstance(spec, tuple) and spec else None
        info = _dtype_info(inner, depth + 1)
        if info is None or info[1]:
            return info is None or info[1]
    return False
