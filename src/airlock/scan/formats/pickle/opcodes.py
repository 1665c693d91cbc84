"""A bounds-checked pickle opcode decoder.

`pickletools.genops` trusts declared lengths (a file that claims an 8 EiB string makes it
try to read one); this decoder checks every length against the bytes that are really there
and never copies more than one argument at a time.
"""

from __future__ import annotations

import codecs
import mmap
import pickletools
import struct
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

Buffer = bytes | bytearray | memoryview | mmap.mmap

# Longest text line (GLOBAL operands, protocol-0 numbers) the decoder accepts.
MAX_LINE = 1 << 16


class PickleDecodeError(Exception):
    """The bytes at `offset` are not a valid pickle opcode or argument."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at byte {offset}")
        self.reason = message
        self.offset = offset


class PickleLimitError(PickleDecodeError):
    """The stream exceeds a bound the interpreter keeps (values held, opcodes run)."""


class Op(NamedTuple):
    name: str
    arg: Any
    offset: int
    end: int


class _Cursor:
    __slots__ = ("buf", "pos", "start")

    def __init__(self, buf: Buffer, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        self.start = pos

    def take(self, n: int) -> bytes:
        if n < 0:
            raise PickleDecodeError("negative length", self.start)
        end = self.pos + n
        if end > len(self.buf):
            raise PickleDecodeError(
                f"declared length {n} runs past the end of the data", self.start
            )
        chunk = bytes(self.buf[self.pos : end])
        self.pos = end
        return chunk

    def line(self) -> bytes:
        limit = min(len(self.buf), self.pos + MAX_LINE)
        idx = _find_newline(self.buf, self.pos, limit)
        if idx < 0:
            raise PickleDecodeError("unterminated text argument", self.start)
        text = bytes(self.buf[self.pos : idx])
        self.pos = idx + 1
        return text

    def unsigned(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little", signed=False)


def _find_newline(buf: Buffer, start: int, end: int) -> int:
    """Index of the first b"\\n" in buf[start:end], or -1; copies nothing for bytes/mmap."""
    if not isinstance(buf, memoryview):
        return buf.find(b"\n", start, end)
    # memoryview has no find(): search growing chunks so short lines copy little.
    pos, step = start, 256
    while pos < end:
        stop = min(end, pos + step)
        idx = bytes(buf[pos:stop]).find(b"\n")
        if idx >= 0:
            return pos + idx
        pos, step = stop, step * 4
    return -1


def _decimal(text: bytes, cur: _Cursor) -> int | bool:
    if text == b"00":
        return False
    if text == b"01":
        return True
    try:
        return int(text.rstrip(b"L"))
    except ValueError:
        raise PickleDecodeError("malformed integer", cur.start) from None


def _utf8(raw: bytes, cur: _Cursor) -> str:
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        raise PickleDecodeError("malformed UTF-8 text", cur.start) from None


def _ascii_line(cur: _Cursor) -> str:
    raw = cur.line()
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        # The real unpickler decodes GLOBAL operands as UTF-8 and fails otherwise.
        return _utf8(raw, cur)


def _quoted_string(cur: _Cursor) -> bytes:
    # Exactly what the unpickler does: strip one pair of matching quotes, then undo
    # backslash escapes. (Never parse it as Python source: a 4 KB operand of nested unary
    # operators makes the compiler raise RecursionError.)
    raw = cur.line().rstrip(b"\r")
    if len(raw) < 2 or raw[0] != raw[-1] or raw[:1] not in (b"'", b'"'):
        raise PickleDecodeError("STRING argument is not quoted", cur.start)
    inner = raw[1:-1]
    if b"\\" not in inner:
        return inner
    try:
        with warnings.catch_warnings():
            # Unknown escapes (`\d`) stay as written, with a DeprecationWarning.
            warnings.simplefilter("ignore", DeprecationWarning)
            return codecs.escape_decode(inner)[0]
    except ValueError:
        raise PickleDecodeError("malformed STRING argument", cur.start) from None


def _raw_unicode_escape(cur: _Cursor) -> str:
    try:
        return cur.line().decode("raw-unicode-escape")
    except UnicodeDecodeError:
        raise PickleDecodeError("malformed UNICODE argument", cur.start) from None


def _float_line(cur: _Cursor) -> float:
    try:
        return float(cur.line())
    except ValueError:
        raise PickleDecodeError("malformed FLOAT argument", cur.start) from None


def _long_bytes(cur: _Cursor, n: int) -> int:
    return int.from_bytes(cur.take(n), "little", signed=True)


def _signed4(cur: _Cursor) -> int:
    return int.from_bytes(cur.take(4), "little", signed=True)


def _length_prefixed(cur: _Cursor, width: int) -> bytes:
    return cur.take(cur.unsigned(width))


_ARGS: dict[str, Callable[[_Cursor], Any]] = {
    "decimalnl_short": lambda c: _decimal(c.line(), c),
    "decimalnl_long": lambda c: _decimal(c.line(), c),
    "int4": _signed4,
    "uint1": lambda c: c.unsigned(1),
    "uint2": lambda c: c.unsigned(2),
    "uint4": lambda c: c.unsigned(4),
    "uint8": lambda c: c.unsigned(8),
    "long1": lambda c: _long_bytes(c, c.unsigned(1)),
    "long4": lambda c: _long_bytes(c, _nonneg(_signed4(c), c)),
    "stringnl": _quoted_string,
    "string4": lambda c: c.take(_nonneg(_signed4(c), c)),
    "string1": lambda c: _length_prefixed(c, 1),
    "bytes1": lambda c: _length_prefixed(c, 1),
    "bytes4": lambda c: _length_prefixed(c, 4),
    "bytes8": lambda c: _length_prefixed(c, 8),
    "bytearray8": lambda c: bytearray(_length_prefixed(c, 8)),
    "unicodestringnl": _raw_unicode_escape,
    "unicodestring1": lambda c: _utf8(_length_prefixed(c, 1), c),
    "unicodestring4": lambda c: _utf8(_length_prefixed(c, 4), c),
    "unicodestring8": lambda c: _utf8(_length_prefixed(c, 8), c),
    "floatnl": _float_line,
    "float8": lambda c: struct.unpack(">d", c.take(8))[0],
    "stringnl_noescape": _ascii_line,
    "stringnl_noescape_pair": lambda c: (_ascii_line(c), _ascii_line(c)),
}


def _nonneg(n: int, cur: _Cursor) -> int:
    if n < 0:
        raise PickleDecodeError("negative length", cur.start)
    return n


def _build_table() -> dict[int, tuple[str, Callable[[_Cursor], Any] | None]]:
    table: dict[int, tuple[str, Callable[[_Cursor], Any] | None]] = {}
    for info in pickletools.opcodes:
        reader = _ARGS[info.arg.name] if info.arg is not None else None
        table[ord(info.code)] = (info.name, reader)
    return table


OPCODES = _build_table()

# Fast paths for the binary arguments that make up almost every modern stream: read in place
# with struct, no cursor object. Each returns (value, end); a short buffer raises
# IndexError/struct.error, turned into a decode error below.
_U2, _U4, _I4, _U8, _F8 = (struct.Struct(f).unpack_from for f in ("<H", "<I", "<i", "<Q", ">d"))
FastReader = Callable[[Buffer, int], tuple[Any, int]]


def _sized(buf: Buffer, start: int, size: int) -> tuple[bytes, int]:
    end = start + size
    if size < 0 or end > len(buf):
        raise _TooLong(size)
    raw = buf[start:end]
    return (raw if type(raw) is bytes else bytes(raw)), end  # bytes(bytes) costs a call


def _text(buf: Buffer, start: int, size: int) -> tuple[str, int]:
    raw, end = _sized(buf, start, size)
    return raw.decode("utf-8", "surrogatepass"), end


class _TooLong(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


_FAST: dict[str, FastReader] = {
    "uint1": lambda b, p: (b[p], p + 1),
    "uint2": lambda b, p: (_U2(b, p)[0], p + 2),
    "uint4": lambda b, p: (_U4(b, p)[0], p + 4),
    "int4": lambda b, p: (_I4(b, p)[0], p + 4),
    "uint8": lambda b, p: (_U8(b, p)[0], p + 8),
    "float8": lambda b, p: (_F8(b, p)[0], p + 8),
    "unicodestring1": lambda b, p: _text(b, p + 1, b[p]),
    "unicodestring4": lambda b, p: _text(b, p + 4, _U4(b, p)[0]),
    "unicodestring8": lambda b, p: _text(b, p + 8, _U8(b, p)[0]),
    "bytes1": lambda b, p: _sized(b, p + 1, b[p]),
    "bytes4": lambda b, p: _sized(b, p + 4, _U4(b, p)[0]),
    "bytes8": lambda b, p: _sized(b, p + 8, _U8(b, p)[0]),
    "string1": lambda b, p: _sized(b, p + 1, b[p]),
}
_FAST_TABLE: dict[int, FastReader] = {
    ord(info.code): _FAST[info.arg.name]
    for info in pickletools.opcodes
    if info.arg is not None and info.arg.name in _FAST
}


# One lookup per opcode: name, fast reader (or None), general reader (or None: no argument).
_TABLE: dict[int, tuple[str, FastReader | None, Callable[[_Cursor], Any] | None]] = {
    code: (name, _FAST_TABLE.get(code), reader) for code, (name, reader) in OPCODES.items()
}


def decode_raw(buf: Buffer, pos: int) -> tuple[str, Any, int]:
    """(name, argument, end) of the opcode at `pos`: the interpreter's hot path, no objects."""
    try:
        name, fast, reader = _TABLE[buf[pos]]
    except IndexError:
        raise PickleDecodeError("stream ended before STOP", pos) from None
    except KeyError:
        raise PickleDecodeError(f"invalid opcode 0x{buf[pos]:02x}", pos) from None
    if reader is None:
        return name, None, pos + 1
    if fast is not None:
        try:
            value, end = fast(buf, pos + 1)
        except (IndexError, struct.error):
            raise PickleDecodeError("argument runs past the end of the data", pos) from None
        except _TooLong as exc:
            message = f"declared length {exc.size} runs past the end of the data"
            raise PickleDecodeError(message, pos) from None
        except UnicodeDecodeError:
            raise PickleDecodeError("malformed UTF-8 text", pos) from None
        return name, value, end
    cur = _Cursor(buf, pos + 1)
    cur.start = pos
    return name, reader(cur), cur.pos


def decode_op(buf: Buffer, pos: int) -> Op:
    """Decode the opcode that starts at `pos`."""
    if pos < 0:
        raise PickleDecodeError("negative position", pos)
    name, arg, end = decode_raw(buf, pos)
    return Op(name, arg, pos, end)


# Opcodes a real stream can start with: ones that push onto an empty stack. Anything else
# (POP_MARK, APPEND, LIST...) fails in the unpickler at once, so such bytes are not a pickle.
_OPENERS = frozenset(
    {
        "MARK", "GLOBAL", "EMPTY_LIST", "EMPTY_DICT", "EMPTY_TUPLE", "EMPTY_SET", "NONE",
        "NEWTRUE", "NEWFALSE", "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4",
        "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
        "BYTEARRAY8", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "FLOAT",
        "BINFLOAT", "PERSID", "FRAME",
    }
)  # fmt: skip


def looks_like_pickle(head: Buffer) -> bool:
    """Whether a file's first bytes read as the start of a pickle stream.

    A protocol 2+ header is decisive; protocol 0/1 streams have no header, so they must start
    with an opcode valid on an empty stack and decode for a while (text fails within a few
    bytes: spaces and most letters are not opcodes).
    """
    if len(head) >= 2 and head[0] == 0x80 and head[1] <= 5:
        return True
    pos, decoded = 0, 0
    while pos < len(head) and decoded < 16:
        try:
            op = decode_op(head, pos)
        except PickleDecodeError as exc:
            # A declared length that runs past the sample is not evidence against a pickle.
            return decoded > 0 and "past the end" in exc.reason
        if decoded == 0 and op.name not in _OPENERS:
            return False
        if op.name == "STOP":
            return decoded > 0
        decoded += 1
        pos = op.end
    return decoded >= 2


# First bytes of a stream the unpickler can start: an opener, PROTO or FRAME. PERSID is left
# out: at the first byte no standard loader has a persistent_load yet, so it fails at once.
FIRST_OPCODE_BYTES = frozenset(
    code
    for code, (name, _) in OPCODES.items()
    if (name in _OPENERS or name in ("PROTO", "FRAME")) and name != "PERSID"
)
