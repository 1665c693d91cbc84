"""Array bytes that joblib writes straight into the pickle stream.

joblib pickles a `NumpyArrayWrapper` and, right after its BUILD opcode, writes the raw array
(or, for object arrays, a complete nested pickle). Its unpickler reads those bytes from the
file (joblib/numpy_pickle.py: NumpyUnpickler.load_build, NumpyArrayWrapper.read_array), so a
scanner must step over exactly as many bytes to reach the opcodes joblib runs next. The length
is modelled as joblib computes it: the wrapper's attributes (from `__init__` arguments and every
BUILD, later ones winning), `len(shape) == 0 -> 1 item`, the padding byte read whenever
`numpy_array_alignment_bytes` is not None, and the dtype's item size as numpy has it. Whatever
cannot be resolved that way is a `Desync`: the caller reports it (fail closed) instead of
guessing a length that could put its walk somewhere joblib's is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from airlock.scan.formats.archive_common import escapes
from airlock.scan.formats.pickle import numpy_dtype
from airlock.scan.formats.pickle.loader_layouts import layouts
from airlock.scan.formats.pickle.opcodes import Buffer
from airlock.scan.formats.pickle.values import Call, Global, SymDict, SymList, render

_MISSING = object()
# Values whose truth and identity are known without loading (a Global could be None).
_LITERALS = (int, float, complex, str, bytes, bytearray, tuple, SymList, SymDict, type(None))
# numpy multiplies the shape in int64; a larger product fails reshape.
_MAX_COUNT = 1 << 63
# Attributes whose assignment (setattr from a BUILD slot state) changes what an object is.
_CLASS_SWAPS = frozenset({"__class__", "__dict__"})
_ARRAY_WRAPPERS = frozenset({"NumpyArrayWrapper"})
# Every item size a numpy dtype can have short of flexible ones (bool ... complex256).
_ITEM_SIZES = (1, 2, 4, 8, 12, 16, 24, 32)
_COMPANION_WRAPPERS = frozenset({"NDArrayWrapper", "ZNDArrayWrapper"})
_ALL_WRAPPERS = _ARRAY_WRAPPERS | _COMPANION_WRAPPERS


@dataclass(frozen=True)
class InlineExtent:
    start: int
    length: int
    nested_pickle: bool


@dataclass(frozen=True)
class Desync:
    """The loader reads bytes here that cannot be located without loading the file; `resync`
    lists where it may go on (every item size numpy has, when only the dtype is unknown)."""

    reason: str
    resync: tuple[int, ...] = ()


class JoblibArrays:
    """Follows the NumpyArrayWrapper objects of one stream across their BUILDs."""

    def __init__(self) -> None:
        self._attributes: dict[int, tuple[Call, dict[str, Any]]] = {}

    def after_build(
        self, target: Call, state: Any, buf: Buffer, pos: int, frame_end: int
    ) -> InlineExtent | Desync | None:
        """The bytes joblib reads after this BUILD: none, an extent, or unknown."""
        slots = state[1] if isinstance(state, tuple) and len(state) == 2 else None
        if isinstance(slots, SymDict) and any(k in _CLASS_SWAPS for k, _ in slots.pairs):
            return Desync(
                "a BUILD assigns `__class__` or `__dict__`, which can turn any object into "
                "joblib's array wrapper (or a wrapper into something else)"
            )
        created = self._attributes.get(id(target))
        if created is None and not _names_a_wrapper(target):
            return None  # neither a wrapper nor made from one: joblib reads nothing here
        companion = companion_file(target, state)
        if companion is not None:
            return companion
        if created is None:
            made = _wrapper_attributes(target)
            if made is None or isinstance(made, Desync):
                return made
            created = (target, made)
            self._attributes[id(target)] = created
        attributes = created[1]
        problem = _apply_state(attributes, state)
        if problem is not None:
            return problem
        if frame_end > pos:
            return Desync(
                "the array wrapper's BUILD is inside a pickle frame that goes on after it; "
                "joblib reads the array bytes from after the frame, the opcodes from inside it"
            )
        return _extent(attributes, buf, pos)


def _is_wrapper(value: Any, names: frozenset[str] = _ARRAY_WRAPPERS) -> bool:
    """Whether `value` may be one of joblib's wrapper classes: judged by the class name alone,
    whatever module path leads to it (joblib.numpy_pickle, a re-export, an old vendored copy
    such as sklearn.externals.joblib). Modelling arrays a loader does not read costs nothing:
    the file is also read as pickle.load reads it."""
    return isinstance(value, Global) and value.name.rsplit(".", 1)[-1] in names


def _names_a_wrapper(call: Call) -> bool:
    """Whether `call` mentions any joblib wrapper class where `companion_file` and
    `_wrapper_attributes` look for one (its callable or its first 16 arguments): if not, both
    find nothing, and most BUILD targets are not wrappers."""
    if _is_wrapper(call.func, _ALL_WRAPPERS):
        return True
    args = call.args
    return isinstance(args, tuple) and any(_is_wrapper(value, _ALL_WRAPPERS) for value in args[:16])


def _instance_of(call: Call, names: frozenset[str]) -> bool:
    """Whether `call` makes an instance of a joblib class named in `names`."""
    func, args = call.func, call.args
    if _is_wrapper(func, names):
        return True
    instantiated = isinstance(func, Global) and func.dotted in layouts().joblib.instantiators
    return instantiated and isinstance(args, tuple) and bool(args) and _is_wrapper(args[0], names)


def companion_file(target: Call, state: Any) -> Desync | None:
    """joblib < 0.10 stored arrays in companion files: NDArrayWrapper.read np.loads (with
    allow_pickle) the file named by its `filename`, joined to the pickle's folder. A name that
    leaves that folder, or is computed, loads a file no scan of this folder has seen."""
    if not _instance_of(target, _COMPANION_WRAPPERS):
        return None
    attributes: dict[str, Any] = {}
    args = target.args
    initialised = target.opcode not in ("NEWOBJ", "NEWOBJ_EX")
    if initialised and _is_wrapper(target.func, _COMPANION_WRAPPERS) and isinstance(args, tuple):
        attributes["filename"] = args[0] if args else None
    problem = _apply_state(attributes, state)
    if problem is not None:
        return problem
    filename = attributes.get("filename")
    if filename is None or (isinstance(filename, str) and not escapes(filename)):
        return None  # a file next to this one: scanned as a file of the folder
    return Desync(
        f"joblib's NDArrayWrapper loads another file with numpy.load(allow_pickle=True), "
        f"named {render(filename, 120)}, outside the scanned folder or computed while loading"
    )


def _wrapper_attributes(call: Call) -> dict[str, Any] | Desync | None:
    """The attributes a new wrapper has before its BUILD; None if `call` makes no wrapper."""
    known = layouts().joblib
    func, args = call.func, call.args
    if not _instance_of(call, _ARRAY_WRAPPERS):
        handed = args if isinstance(args, tuple) else ()
        if any(_is_wrapper(value) for value in handed[:16]):
            # e.g. object.__new__(NumpyArrayWrapper) or type.__call__(...): an instance made
            # in a way not modelled here still makes joblib read array bytes after its BUILD.
            return Desync(f"joblib's array wrapper is made by {render(func, 120)}")
        return None
    if _is_wrapper(func):
        if call.opcode in ("NEWOBJ", "NEWOBJ_EX"):
            return {}  # cls.__new__(cls): __init__ does not run
        if not isinstance(args, tuple):
            return Desync(f"joblib's array wrapper gets computed arguments: {render(args)}")
        params = known.init_parameters
        if not known.init_required <= len(args) <= len(params):
            return None  # __init__ raises: the load stops here
        attributes: dict[str, Any] = {"allow_mmap": False}
        attributes["numpy_array_alignment_bytes"] = known.init_default_alignment
        attributes.update(zip(params, args, strict=False))
        return attributes
    return {}  # made by an instantiator: __init__ does not run


def _apply_state(attributes: dict[str, Any], state: Any) -> Desync | None:
    """Apply a BUILD state as pickle's load_build does (no __setstate__: dict, then slots)."""
    parts = state if isinstance(state, tuple) and len(state) == 2 else (state,)
    for part in parts:
        if part is None or (isinstance(part, _LITERALS) and not _truthy(part)):
            continue
        if not isinstance(part, SymDict):
            return Desync(f"joblib's array wrapper gets a computed state: {render(part)}")
        for key, value in part.pairs:
            if isinstance(key, str):
                attributes[key] = value
            elif not isinstance(key, _LITERALS):
                return Desync(f"joblib's array wrapper gets a computed attribute name: {key!r}")
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, SymList):
        return bool(value.items)
    if isinstance(value, SymDict):
        return bool(value.pairs)
    return bool(value)


def _extent(attributes: dict[str, Any], buf: Buffer, pos: int) -> InlineExtent | Desync | None:
    dtype_value = attributes.get("dtype", _MISSING)
    shape = attributes.get("shape", _MISSING)
    if dtype_value is _MISSING or shape is _MISSING:
        return None  # AttributeError in read_array: the load stops here
    dtype = numpy_dtype.resolve(dtype_value)
    if dtype is None:
        return Desync(
            f"joblib's array wrapper has a dtype not written as numpy writes one "
            f"({render(dtype_value, 120)}); its item size, and so the number of raw bytes "
            "joblib reads, cannot be known for sure",
            _resync_points(attributes, shape, buf, pos),
        )
    count = _count(shape)
    if count is None or isinstance(count, Desync):
        return count
    if dtype.hasobject:
        return InlineExtent(pos, 0, nested_pickle=True)
    if dtype.itemsize == 0:
        return None  # joblib divides by the item size: the load stops here
    start = pos
    alignment = attributes.get("numpy_array_alignment_bytes")
    if not isinstance(alignment, _LITERALS):
        return Desync(f"joblib's alignment setting is computed: {render(alignment, 120)}")
    if alignment is not None:
        start = pos + 1 + (buf[pos] if pos < len(buf) else 0)
    return InlineExtent(start, count * dtype.itemsize, nested_pickle=False)


def _resync_points(
    attributes: dict[str, Any], shape: Any, buf: Buffer, pos: int
) -> tuple[int, ...]:
    """Where joblib goes on if the item size is any of numpy's: after the padding (when there
    may be one) and count * size bytes."""
    count = _count(shape)
    if not isinstance(count, int):
        return ()
    alignment = attributes.get("numpy_array_alignment_bytes")
    starts = {pos} if alignment is None or not isinstance(alignment, _LITERALS) else set()
    if alignment is not None and pos < len(buf):
        starts.add(pos + 1 + buf[pos])
    ends = {start + count * size for start in starts for size in _ITEM_SIZES}
    return tuple(sorted(end for end in ends if end < len(buf)))


def _count(shape: Any) -> int | Desync | None:
    """Items joblib reads for `shape`: None when the load fails instead."""
    if isinstance(shape, SymList):
        shape = tuple(shape.items)
    if isinstance(shape, int):
        shape = (shape,)  # read_array fails on it, but read_mmap's numpy.memmap takes it
    if not isinstance(shape, tuple):
        if isinstance(shape, _LITERALS):
            return None  # len() or reshape fails
        return Desync(f"joblib's array wrapper has a computed shape: {render(shape, 120)}")
    dims: list[int] = []
    for dim in shape:
        if isinstance(dim, int):  # bools included: numpy.int64(True) == 1
            dims.append(int(dim))
        elif isinstance(dim, _LITERALS):
            return None  # reshape refuses it after the read: the load stops
        else:
            return Desync(f"joblib's array wrapper has a computed dimension: {render(dim, 120)}")
    count = math.prod(dims)
    if any(d < 0 for d in dims) or count >= _MAX_COUNT:
        return None
    return count
