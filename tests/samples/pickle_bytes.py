"""A tiny pickle assembler: one function per opcode, each returning that opcode's bytes.

Samples are spelled out as concatenations of these pieces, so a test can build exactly the
stream a published bypass used (memo tricks, broken streams, odd opcodes) without pickling a
real object. Names follow `pickletools` (trailing underscore where a name is a Python builtin).
"""

from __future__ import annotations

import struct

# Protocol and framing ----------------------------------------------------------------------


def proto(version: int) -> bytes:
    return b"\x80" + bytes([version])


def frame(length: int) -> bytes:
    return b"\x95" + struct.pack("<Q", length)


def framed(body: bytes, version: int = 4) -> bytes:
    """PROTO, one FRAME holding `body` (which should end with STOP), as pickle 4+ writes it."""
    return proto(version) + frame(len(body)) + body


def stop() -> bytes:
    return b"."


# Imports -----------------------------------------------------------------------------------


def global_(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def stack_global() -> bytes:
    return b"\x93"


def inst(module: str, name: str) -> bytes:
    return b"i" + module.encode() + b"\n" + name.encode() + b"\n"


def ext1(code: int) -> bytes:
    return b"\x82" + struct.pack("<B", code)


def ext2(code: int) -> bytes:
    return b"\x83" + struct.pack("<H", code)


def ext4(code: int) -> bytes:
    return b"\x84" + struct.pack("<i", code)


# Constants ---------------------------------------------------------------------------------


def none() -> bytes:
    return b"N"


def newtrue() -> bytes:
    return b"\x88"


def newfalse() -> bytes:
    return b"\x89"


def int_(value: int) -> bytes:
    return b"I" + str(value).encode() + b"\n"


def binint(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def binint1(value: int) -> bytes:
    return b"K" + struct.pack("<B", value)


def binint2(value: int) -> bytes:
    return b"M" + struct.pack("<H", value)


def long1(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8 or 1, "little", signed=True)
    return b"\x8a" + struct.pack("<B", len(raw)) + raw


def string(text: str) -> bytes:
    """Protocol 0 STRING: a quoted Python literal on one line."""
    return b"S" + repr(text).encode("ascii") + b"\n"


def unicode_(text: str) -> bytes:
    """Protocol 0 UNICODE: raw-unicode-escape text on one line."""
    return b"V" + text.encode("raw-unicode-escape") + b"\n"


def short_binstring(text: str) -> bytes:
    raw = text.encode("latin-1")
    return b"U" + struct.pack("<B", len(raw)) + raw


def binstring(text: str) -> bytes:
    raw = text.encode("latin-1")
    return b"T" + struct.pack("<i", len(raw)) + raw


def short_binunicode(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"\x8c" + struct.pack("<B", len(raw)) + raw


def binunicode(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw


def binunicode8(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"\x8d" + struct.pack("<Q", len(raw)) + raw


def short_binbytes(data: bytes) -> bytes:
    return b"C" + struct.pack("<B", len(data)) + data


def binbytes(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data


def binbytes8(data: bytes) -> bytes:
    return b"\x8e" + struct.pack("<Q", len(data)) + data


def bytearray8(data: bytes) -> bytes:
    return b"\x96" + struct.pack("<Q", len(data)) + data


def text(value: str, version: int) -> bytes:
    """The opcode a pickler of `version` would use for a str."""
    if version == 0:
        return unicode_(value)
    if version < 4:
        return binunicode(value)
    return short_binunicode(value) if len(value.encode()) < 256 else binunicode(value)


# Memo --------------------------------------------------------------------------------------


def memoize() -> bytes:
    return b"\x94"


def put(index: int) -> bytes:
    return b"p" + str(index).encode() + b"\n"


def binput(index: int) -> bytes:
    return b"q" + struct.pack("<B", index)


def long_binput(index: int) -> bytes:
    return b"r" + struct.pack("<I", index)


def get(index: int) -> bytes:
    return b"g" + str(index).encode() + b"\n"


def binget(index: int) -> bytes:
    return b"h" + struct.pack("<B", index)


def long_binget(index: int) -> bytes:
    return b"j" + struct.pack("<I", index)


# Stack and containers ----------------------------------------------------------------------


def mark() -> bytes:
    return b"("


def pop() -> bytes:
    return b"0"


def pop_mark() -> bytes:
    return b"1"


def dup() -> bytes:
    return b"2"


def tuple_() -> bytes:
    return b"t"


def empty_tuple() -> bytes:
    return b")"


def tuple1() -> bytes:
    return b"\x85"


def tuple2() -> bytes:
    return b"\x86"


def tuple3() -> bytes:
    return b"\x87"


def list_() -> bytes:
    return b"l"


def empty_list() -> bytes:
    return b"]"


def append() -> bytes:
    return b"a"


def appends() -> bytes:
    return b"e"


def dict_() -> bytes:
    return b"d"


def empty_dict() -> bytes:
    return b"}"


def setitem() -> bytes:
    return b"s"


def setitems() -> bytes:
    return b"u"


# Calls -------------------------------------------------------------------------------------


def reduce() -> bytes:
    return b"R"


def build() -> bytes:
    return b"b"


def newobj() -> bytes:
    return b"\x81"


def newobj_ex() -> bytes:
    return b"\x92"


def obj() -> bytes:
    return b"o"


def binpersid() -> bytes:
    return b"Q"


# Convenience -------------------------------------------------------------------------------


def call_global(module: str, name: str, *args: bytes) -> bytes:
    """GLOBAL module.name, then MARK args TUPLE REDUCE (valid from protocol 0 on)."""
    return global_(module, name) + mark() + b"".join(args) + tuple_() + reduce()


def call_stack_global(module: str, name: str, *args: bytes) -> bytes:
    """Protocol 4 style: module and name strings, STACK_GLOBAL, then a tuple and REDUCE."""
    return (
        short_binunicode(module)
        + memoize()
        + short_binunicode(name)
        + memoize()
        + stack_global()
        + memoize()
        + mark()
        + b"".join(args)
        + tuple_()
        + reduce()
        + memoize()
    )


def pickle4(body: bytes) -> bytes:
    """A complete framed protocol 4 pickle whose top-level value is built by `body`."""
    return framed(body + stop(), 4)


def pickle2(body: bytes) -> bytes:
    return proto(2) + body + stop()
