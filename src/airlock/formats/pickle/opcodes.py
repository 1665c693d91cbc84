"""A bounds-checked pickle opcode decoder.

`pickletools.genops` trusts declared lengths (a file that claims an 8 EiB string makes it
try to read one); this decoder checks every length against the bytes that are really there
and never copies more than one argument at a time.
"""

from __future__ import annotations

import ast
import mmap
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Buffer = bytes | bytearray | memoryview | mmap.mmap

# Longest text line (GLOBAL operands, protocol-0 numbers) the decoder accepts.
MAX_LINE = 1 << 16


class PickleDecodeError(Exception):
    """The bytes at `offset` are not a valid pickle opcode or argument."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at byte {offset}")
        self.reason = message
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Op:
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
        view = self.buf[self.pos : limit]
        idx = bytes(view).find(b"\n") if not isinstance(view, bytes) else view.find(b"\n")
        if idx < 0:
            raise PickleDecodeError("unterminated text argument", self.start)
        text = bytes(self.buf[self.pos : self.pos + idx])
        self.pos += idx + 1
        return text

    def unsigned(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little", signed=False)


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
    raw = cur.line().rstrip(b"\r")
    if len(raw) < 2 or raw[0] != raw[-1] or raw[:1] not in (b"'", b'"'):
        raise PickleDecodeError("STRING argument is not quoted", cur.start)
    try:
        value = ast.literal_eval("b" + raw.decode("latin-1"))
    except (ValueError, SyntaxError):
        raise PickleDecodeError("malformed STRING argument", cur.start) from None
    if not isinstance(value, bytes):
        raise PickleDecodeError("malformed STRING argument", cur.start)
    return value


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
    import pickletools

    table: dict[int, tuple[str, Callable[[_Cursor], Any] | None]] = {}
    for info in pickletools.opcodes:
        reader = _ARGS[info.arg.name] if info.arg is not None else None
        table[ord(info.code)] = (info.name, reader)
    return table


OPCODES = _build_table()


def decode_op(buf: Buffer, pos: int) -> Op:
    """Decode the opcode that starts at `pos`."""
    if pos >= len(buf):
        raise PickleDecodeError("stream ended before STOP", pos)
    entry = OPCODES.get(buf[pos])
    if entry is None:
        raise PickleDecodeError(f"invalid opcode 0x{buf[pos]:02x}", pos)
    name, reader = entry
    cur = _Cursor(buf, pos + 1)
    cur.start = pos
    arg = reader(cur) if reader is not None else None
    return Op(name, arg, pos, cur.pos)


def looks_like_pickle(head: Buffer) -> bool:
    """Whether a file's first bytes read as the start of a pickle stream.

    A protocol 2+ header is decisive; protocol 0/1 streams have no header, so the first
    opcodes must decode (text files fail within a few bytes: spaces and most letters are
    not opcodes).
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
        if op.name == "STOP":
            return decoded > 0
        decoded += 1
        pos = op.end
    return decoded > 0
