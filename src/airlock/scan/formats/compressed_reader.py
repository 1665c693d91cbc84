"""Compressed streams (gzip, bz2, xz, lzma, zlib, lz4, joblib's legacy 'ZF'): decompress with a
bound, then scan what came out. joblib's compressed dumps are such streams around a pickle."""

from __future__ import annotations

import bz2
import functools
import importlib
import lzma
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from airlock.findings import Finding
from airlock.scan.context import Blob, Buffer, Kind, Reader, ScanContext
from airlock.scan.formats.decompress import Decompressor, ZlibStream, decompress

# joblib < 0.9.3: b"ZF", the uncompressed length in hex padded to 19 characters, then zlib
# data (sometimes after one more space); see joblib/numpy_pickle_compat.py.
_ZF_HEADER = 2 + 19
_SUFFIXES = (".gz", ".gzip", ".bz2", ".xz", ".lzma", ".z", ".zlib", ".lz4")


@dataclass(frozen=True)
class _Format:
    label: str
    make: Callable[[], Decompressor] | None  # None: the decompressor is not installed
    start: int = 0


class CompressedReader(Reader):
    kinds = (Kind.COMPRESSED,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        fmt = _format(blob.data)
        if fmt is None:
            message = "The compressed data is in no format Airlock can decompress."
            yield ctx.finding(
                "AIR002", blob, blob.location, message, bytes(blob.data[:16]).hex(" ")
            )
            return
        if fmt.make is None:
            message = (
                f"The file is {fmt.label}-compressed and the `{fmt.label}` module is not "
                "installed, so its content could not be inspected."
            )
            yield ctx.finding("AIR002", blob, blob.location, message)
            return
        limit = ctx.max_decompressed_bytes
        result = decompress(blob.data, fmt.start, len(blob.data), fmt.make, limit, chained=True)
        if result.over_limit:
            message = (
                f"The {fmt.label} data decompresses to more than {limit} bytes (a possible "
                "decompression bomb); only the first part was inspected."
            )
            yield ctx.finding("AIR003", blob, blob.location, message)
        elif result.error is not None:
            message = (
                f"The {fmt.label} data is corrupt or truncated ({result.error}). A loader may "
                f"still run the {len(result.data)} bytes before the break; they were scanned."
            )
            yield ctx.finding("AIR001", blob, blob.location.at(result.end), message)
        inner = memoryview(result.data)[:limit]
        where = blob.location.inside(f"{fmt.label} data")
        yield from ctx.scan_nested(inner, where, _inner_name(blob.name))


def _format(data: Buffer) -> _Format | None:
    head = bytes(data[: _ZF_HEADER + 1])
    if head.startswith(b"\x1f\x8b"):
        return _Format("gzip", functools.partial(ZlibStream, 16 + zlib.MAX_WBITS))
    if head.startswith(b"BZh"):
        return _Format("bzip2", bz2.BZ2Decompressor)
    if head.startswith(b"\xfd7zXZ\x00"):
        return _Format("xz", functools.partial(lzma.LZMADecompressor, lzma.FORMAT_XZ))
    if head.startswith(b"\x5d\x00\x00"):  # joblib's compress='lzma': the legacy .lzma format
        return _Format("lzma", functools.partial(lzma.LZMADecompressor, lzma.FORMAT_ALONE))
    if head.startswith(b"\x04\x22\x4d\x18"):
        return _Format("lz4", _lz4())
    if head.startswith(b"ZF"):
        start = _ZF_HEADER + 1 if head[_ZF_HEADER:] == b" " else _ZF_HEADER
        return _Format("zlib", functools.partial(ZlibStream, zlib.MAX_WBITS), start)
    if len(head) >= 2 and head[0] & 0x0F == 8 and int.from_bytes(head[:2], "big") % 31 == 0:
        return _Format("zlib", functools.partial(ZlibStream, zlib.MAX_WBITS))
    return None


def _lz4() -> Callable[[], Decompressor] | None:
    try:
        frame = importlib.import_module("lz4.frame")
    except ImportError:
        return None
    make: Callable[[], Decompressor] = frame.LZ4FrameDecompressor
    return make


def _inner_name(name: str) -> str:
    # Keep a model-like name ("model.pkl.gz" holds "model.pkl") so unknown content is flagged.
    lowered = name.lower()
    for suffix in _SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name
