"""Decompress with a hard bound on the output, so that a small bomb cannot exhaust memory."""

from __future__ import annotations

import lzma
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from airlock.scan.context import Buffer

# Compressed bytes fed per step: small, so that reading only a member's head stays cheap.
CHUNK = 64 * 1024
_ERRORS = (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError, RuntimeError)


class Decompressor(Protocol):
    """The incremental interface of bz2 and lzma decompressors (and lz4.frame's)."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class ZlibStream:
    """zlib's decompressobj behind the bz2/lzma interface (zlib hands back unused input)."""

    def __init__(self, wbits: int) -> None:
        self._inner = zlib.decompressobj(wbits)

    @property
    def eof(self) -> bool:
        return self._inner.eof

    @property
    def unused_data(self) -> bytes:
        return self._inner.unused_data

    @property
    def needs_input(self) -> bool:
        return not self._inner.unconsumed_tail

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        # zlib reads max_length 0 as "unlimited"; callers always pass a positive bound.
        return self._inner.decompress(self._inner.unconsumed_tail + data, max(max_length, 0))


@dataclass(frozen=True)
class Decompressed:
    data: bytearray  # at most limit + 1 bytes: one more than allowed marks a bomb
    error: str | None  # why the compressed data broke off; `data` holds what came before
    over_limit: bool
    end: int  # offset just past the last compressed byte used


def decompress(
    data: Buffer,
    start: int,
    end: int,
    make: Callable[[], Decompressor],
    limit: int,
    chained: bool = False,
) -> Decompressed:
    """Decompress data[start:end], stopping once the output passes `limit` bytes.

    With `chained`, streams that follow the first are decompressed too, as gzip, bz2, xz and
    joblib's readers do; bytes after the last stream that do not start a new one are ignored.
    """
    out = bytearray()
    pos, error, first = start, None, True
    while pos < end and len(out) <= limit:
        before = len(out)
        try:
            decompressor = make()
            pos = _one_stream(decompressor, data, pos, end, out, limit)
        except _ERRORS as exc:
            if not first and len(out) == before:
                break  # trailing bytes that are not another stream
            error = str(exc) or type(exc).__name__
            break
        if len(out) > limit:
            break
        if not decompressor.eof:
            error = "the compressed data ends early (truncated)"
            break
        if not chained:
            break
        first = False
    return Decompressed(out, error, len(out) > limit, pos)


def _one_stream(
    decompressor: Decompressor, data: Buffer, pos: int, end: int, out: bytearray, limit: int
) -> int:
    fed = pos
    while not decompressor.eof and len(out) <= limit:
        if decompressor.needs_input:
            if fed >= end:
                # No input left: drain what the decompressor still holds, then stop.
                tail = decompressor.decompress(b"", limit + 1 - len(out))
                if not tail:
                    break
                out += tail
                continue
            piece = bytes(data[fed : min(fed + CHUNK, end)])
            fed += len(piece)
        else:
            piece = b""
        out += decompressor.decompress(piece, limit + 1 - len(out))
    return fed - len(decompressor.unused_data) if decompressor.eof else fed
