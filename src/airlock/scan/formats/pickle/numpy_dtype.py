"""Exactly which numpy dtype a pickled `numpy.dtype(...)` value stands for, or that it cannot
be known without loading it.

numpy pickles every dtype the same way (numpy/_core/src/multiarray/descriptor.c,
`arraydescr_reduce` / `arraydescr_setstate`): `numpy.dtype("<kind><size>", False, True)`, then
BUILD with `(version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])`.
A reader that must know how many raw bytes follow an array (joblib's inline arrays) accepts only
that form. numpy.dtype() also accepts 'float64', 'd', 'l', 'float', numpy.float64, field lists,
comma strings... some of them sized differently per platform; those are "unresolved", and the
caller fails closed rather than guess a size that the loader may not use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airlock.scan.formats.pickle.loader_layouts import layouts
from airlock.scan.formats.pickle.values import Call, Global, SymDict

# Structured dtypes nest; real ones are a few levels deep, a hostile one could be thousands.
_MAX_DEPTH = 32
_REDUCED = re.compile(r"([A-Za-z])(\d+)")


@dataclass(frozen=True)
class DType:
    itemsize: int
    hasobject: bool


def resolve(value: Any, depth: int = 0) -> DType | None:
    """The dtype of a pickled `numpy.dtype(...)` call in numpy's own reduce form, else None."""
    if depth > _MAX_DEPTH or not isinstance(value, Call):
        return None
    known = layouts().numpy
    func, args = value.func, value.args
    if not (isinstance(func, Global) and func.dotted in known.constructors):
        return None
    if not (isinstance(args, tuple) and len(args) == 3 and args[1:] == (False, True)):
        return None
    if value.opcode != "REDUCE":
        return None
    state = value.state
    if state is not None and not _valid_state(state):
        return None
    spec = args[0]
    if isinstance(spec, Global):
        # A record dtype (numpy.record) reduces to its scalar type; the state gives its size.
        if spec.dotted not in known.record_types or state is None:
            return None
        return _flexible(state, "V", None, depth)
    match = _REDUCED.fullmatch(spec) if isinstance(spec, str) else None
    if match is None:
        return None
    kind, size = match.group(1), int(match.group(2))
    if kind in known.flexible_kinds:
        return _flexible(state, kind, size, depth)
    if size not in known.fixed_sizes.get(kind, ()):
        return None
    if state is not None and (state[2] is not None or state[3] is not None):
        return None  # numpy writes these only for flexible kinds
    # For fixed kinds numpy ignores the pickled elsize (only flexible kinds take it).
    return DType(size, kind == "O")


def _valid_state(state: Any) -> bool:
    if not isinstance(state, tuple) or (state[:1], len(state)) not in (((3,), 8), ((4,), 9)):
        return False
    return state[1] in ("<", ">", "|", "=") and all(
        isinstance(v, int) and not isinstance(v, bool) for v in state[5:8]
    )


def _flexible(state: Any, kind: str, size: int | None, depth: int) -> DType | None:
    """Bytes, str and void (structured, subarray) dtypes: numpy sizes them from the state."""
    if state is None:
        return DType(size * (4 if kind == "U" else 1), False) if size is not None else None
    elsize, subarray, names, fields = state[5], state[2], state[3], state[4]
    if size is not None and elsize != size * (4 if kind == "U" else 1):
        return None  # the two sizes numpy writes disagree: which one a loader uses is moot
    if elsize < 0:
        return None
    hasobject = False
    if subarray is not None:
        base = _subarray_base(subarray, depth)
        if base is None or kind != "V":
            return None
        hasobject = base.hasobject
    if (names is None) != (fields is None):
        return None
    if fields is not None:
        inner = _fields_hold_objects(fields, depth) if kind == "V" else None
        if inner is None:
            return None
        hasobject = hasobject or inner
    return DType(elsize, hasobject)


def _subarray_base(subarray: Any, depth: int) -> DType | None:
    if not (isinstance(subarray, tuple) and len(subarray) == 2):
        return None
    shape = subarray[1]
    if not (isinstance(shape, tuple) and all(type(d) is int and d >= 0 for d in shape)):
        return None
    return resolve(subarray[0], depth + 1)


def _fields_hold_objects(fields: Any, depth: int) -> bool | None:
    """Whether any field holds Python objects; None when a field's dtype is unresolved."""
    if not isinstance(fields, SymDict):
        return None
    found = False
    for _, spec in fields.pairs:
        inner = resolve(spec[0], depth + 1) if isinstance(spec, tuple) and spec else None
        if inner is None:
            return None
        found = found or inner.hasobject
    return found
