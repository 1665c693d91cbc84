"""The opcodes of the interpreter's fast path (Interpreter._walk) as byte values, what the
pushing ones push, and the decoders it uses in place of pickletools' general argument readers.
Which opcodes take the fast path is decided in interpreter.py (FAST_OPS): only those whose
handler is still the one the fast path copies."""

from __future__ import annotations

import pickletools
import struct

from airlock.scan.formats.pickle.opcodes import Buffer

CODES = {info.name: ord(info.code) for info in pickletools.opcodes}
BINPUT, BININT1, MEMOIZE, BINGET = (
    CODES[name] for name in ("BINPUT", "BININT1", "MEMOIZE", "BINGET")
)
MARK, BINFLOAT, SHORT_BINUNICODE = CODES["MARK"], CODES["BINFLOAT"], CODES["SHORT_BINUNICODE"]
# What the pushing opcodes push (immutable values: the same object each time is exact), and
# how many items each small TUPLEn packs.
FAST_PUSHED = {
    CODES["NONE"]: None,
    CODES["NEWTRUE"]: True,
    CODES["NEWFALSE"]: False,
    CODES["EMPTY_TUPLE"]: (),
}
FAST_TUPLES = {CODES["TUPLE1"]: 1, CODES["TUPLE2"]: 2, CODES["TUPLE3"]: 3}
FAST_TEXTS = frozenset({SHORT_BINUNICODE, CODES["BINUNICODE"]})
TUPLE, EMPTY_DICT = CODES["TUPLE"], CODES["EMPTY_DICT"]
BININT, BININT2 = CODES["BININT"], CODES["BININT2"]
F8 = struct.Struct(">d").unpack_from
I4 = struct.Struct("<i").unpack_from
U2 = struct.Struct("<H").unpack_from
U4 = struct.Struct("<I").unpack_from


def fast_text(buf: Buffer, offset: int, size: int, code: int) -> tuple[str, int] | None:
    """(text, end) of the SHORT_BINUNICODE or BINUNICODE at `offset`, or None when its length
    runs past the data or it is not UTF-8 (the general path then reports the error)."""
    if code == SHORT_BINUNICODE:
        if offset + 1 >= size:
            return None
        begin = offset + 2
        end = begin + buf[offset + 1]
    else:
        if offset + 4 >= size:
            return None
        begin = offset + 5
        end = begin + U4(buf, offset + 1)[0]
    if end > size:
        return None
    raw = buf[begin:end]  # bytes from bytes and mmap; a memoryview is decoded by str()
    try:
        if type(raw) is bytes:
            return raw.decode("utf-8", "surrogatepass"), end
        return str(raw, "utf-8", "surrogatepass"), end
    except UnicodeDecodeError:
        return None
