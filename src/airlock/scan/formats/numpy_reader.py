"""NumPy .npy files: only an array of Python objects loads code, and it is stored as a pickle."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from airlock.findings import Finding
from airlock.scan.context import Blob, Buffer, Kind, Reader, ScanContext

# numpy itself accepts any header size when allow_pickle is set; this bounds the parse.
MAX_HEADER = 1 << 20
NPY_MAGIC = b"\x93NUMPY"
MAX_DIMS = 64
_VERSIONS = {(1, 0): (2, "latin1"), (2, 0): (4, "latin1"), (3, 0): (4, "utf8")}
_KEYS = {"descr", "fortran_order", "shape"}
# A type string such as '<f8', '|S10', '(2,3)<i4' or '<M8[ns]'.
_TYPESTR = re.compile(
    r"\s*(?:\((?P<shape>[\d,\s]{0,200})\))?\s*[<>|=]?(?P<char>[a-zA-Z?])(?P<num>\d{0,9})"
    r"(?:\[\w{1,10}\])?\s*"
)
# What numpy itself writes: {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), },
# padded with spaces and ended by a newline. ASCII digits only, no leading zeros, no escapes.
_DIM = r"[1-9][0-9]{0,17}|0"
_CANONICAL = re.compile(
    r"\{'descr': '(?P<descr>[A-Za-z0-9<>|=?\[\]]{1,64})', "
    r"'fortran_order': (?P<fortran>True|False), "
    rf"'shape': \((?P<shape>|(?:{_DIM}),|(?:{_DIM})(?:, (?:{_DIM}))+,?)\), \}}[ \n]*"
)
_SIZED_KINDS = "biufcmMSaVO"  # the number after these is the size in bytes
_CHAR_SIZES = {
    "?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8, "Q": 8,
    "p": 8, "P": 8, "e": 2, "f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32, "O": 8,
    "m": 8, "M": 8, "S": 0, "a": 0, "U": 0, "V": 0,
}  # fmt: skip


@dataclass(frozen=True)
class NpyHeader:
    descr: object
    data_offset: int
    objects: bool | None  # None: the dtype was not understood, so it might hold objects
    nbytes: int | None  # None when the dtype's size is not known


def parse_header(data: Buffer) -> NpyHeader | str:
    """The header of a .npy file, or why it is malformed."""
    if len(data) < 10:
        return "the file is too short for a .npy header"
    layout = _VERSIONS.get((data[6], data[7]))
    if layout is None:
        return f"unknown .npy format version {data[6]}.{data[7]}"
    width, encoding = layout
    length = int.from_bytes(bytes(data[8 : 8 + width]), "little")
    start = 8 + width
    if length > MAX_HEADER:
        return f"the header is {length} bytes long, more than the {MAX_HEADER} Airlock reads"
    if start + length > len(data):
        return "the header runs past the end of the file"
    try:
        text = bytes(data[start : start + length]).decode(encoding)
        header = _canonical_header(text)
        if header is None:
            header = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, UnicodeError):
        return "the header is not a Python literal"
    if not isinstance(header, dict) or set(header) != _KEYS:
        return "the header is not a dict of descr, fortran_order and shape"
    shape = header["shape"]
    if not (
        isinstance(shape, tuple)
        and len(shape) <= MAX_DIMS
        and all(type(n) is int and n >= 0 for n in shape)
        and isinstance(header["fortran_order"], bool)
    ):
        return "the header's shape or fortran_order is invalid"
    dtype = _dtype(header["descr"], 0)
    if dtype is None:
        return NpyHeader(header["descr"], start + length, None, None)
    objects, itemsize = dtype
    return NpyHeader(header["descr"], start + length, objects, math.prod(shape) * itemsize)


def _canonical_header(text: str) -> dict[str, object] | None:
    """The header as literal_eval reads it, when it is in the exact form numpy writes;
    None for anything else (literal_eval then decides). Compiling it costs ten times more."""
    match = _CANONICAL.fullmatch(text)
    if match is None:
        return None
    shape = tuple(int(n) for n in match["shape"].replace(",", " ").split())
    return {"descr": match["descr"], "fortran_order": match["fortran"] == "True", "shape": shape}


def size_problem(header: NpyHeader, total: int) -> str | None:
    """Why the declared array does not fit in `total` bytes, if it does not."""
    if header.nbytes is None or header.data_offset + header.nbytes <= total:
        return None
    held = max(total - header.data_offset, 0)
    return f"The header declares {header.nbytes} bytes of array data but only {held} follow it."


class NumpyReader(Reader):
    kinds = (Kind.NUMPY,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        header = parse_header(blob.data)
        if isinstance(header, str):
            message = f"The .npy header is malformed ({header}); NumPy may still load the file."
            yield ctx.finding("AIR001", blob, blob.location.at(0), message)
            return
        if header.objects is False:
            problem = size_problem(header, len(blob.data))
            if problem is not None:
                yield ctx.finding("AIR001", blob, blob.location.at(0), problem)
            return
        where = blob.location.at(header.data_offset)
        if header.objects:
            message = (
                "This is an array of Python objects: numpy.load(allow_pickle=True) unpickles "
                "the bytes after the header, so they were scanned as a pickle."
            )
            yield ctx.finding("AIR301", blob, where, message, repr(header.descr)[:200])
        else:
            message = (
                "The array's dtype is not one Airlock understands; the bytes after the header "
                "were scanned in case NumPy reads them as a pickle of objects."
            )
            yield ctx.finding("AIR001", blob, where, message, repr(header.descr)[:200])
        body = memoryview(blob.data)[header.data_offset :]
        yield from ctx.scan_nested(
            body, blob.location.inside("object array pickle"), f"{blob.name}:pickle"
        )


def _dtype(descr: object, depth: int) -> tuple[bool, int] | None:
    """Whether a header's descr holds Python objects, and its item size; None if unknown."""
    if depth > 32:
        return None
    if isinstance(descr, str):
        if descr.strip() in ("object", "object_"):
            return True, 8
        parts = [_typestr(token) for token in _split_fields(descr)]
        return None if None in parts else _combine([p for p in parts if p is not None])
    if isinstance(descr, tuple) and len(descr) == 2 and _is_shape(descr[1]):
        base = _dtype(descr[0], depth + 1)
        count = descr[1] if isinstance(descr[1], int) else math.prod(descr[1])
        return None if base is None else (base[0], base[1] * count)
    if isinstance(descr, list):
        fields = []
        for item in descr:
            if not (isinstance(item, tuple) and len(item) in (2, 3)):
                return None
            field = _dtype(item[1] if len(item) == 2 else (item[1], item[2]), depth + 1)
            if field is None:
                return None
            fields.append(field)
        return _combine(fields)
    return None


def _typestr(token: str) -> tuple[bool, int] | None:
    match = _TYPESTR.fullmatch(token)
    if match is None:
        return None
    char, num = match["char"], match["num"]
    if num and char in _SIZED_KINDS:
        size = int(num)
    elif num and char == "U":
        size = 4 * int(num)
    elif not num and char in _CHAR_SIZES:
        size = _CHAR_SIZES[char]
    else:
        return None
    dims = [int(n) for n in (match["shape"] or "").replace(" ", "").split(",") if n]
    return char == "O", size * math.prod(dims)


def _split_fields(descr: str) -> list[str]:
    # Commas separate the fields of 'i4,O', except inside a shape such as '(2,3)i4'.
    fields, depth, current = [], 0, ""
    for ch in descr:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            fields.append(current)
            current = ""
        else:
            current += ch
    return [*fields, current]


def _is_shape(value: object) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value >= 0
    return (
        isinstance(value, tuple)
        and len(value) <= MAX_DIMS
        and all(type(n) is int and n >= 0 for n in value)
    )


def _combine(parts: list[tuple[bool, int]]) -> tuple[bool, int]:
    return any(objects for objects, _ in parts), sum(size for _, size in parts)
