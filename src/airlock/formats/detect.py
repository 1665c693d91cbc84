"""Decide what a file is from its first bytes: magic numbers first, the name only as a hint."""

from __future__ import annotations

import zlib

from airlock.formats.interface import Buffer, Kind
from airlock.formats.pickle.opcodes import looks_like_pickle

HEAD_BYTES = 4096

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_COMPRESSED_MAGICS = (
    b"\x1f\x8b",  # gzip
    b"BZh",  # bzip2
    b"\xfd7zXZ\x00",  # xz
    b"\x04\x22\x4d\x18",  # lz4 frame
    b"ZF",  # joblib's legacy zlib container
)
_SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"

# Names that say "this is a model file": an unrecognized one is suspicious, not skipped.
MODEL_SUFFIXES = frozenset(
    {
        ".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz",
        ".dat", ".data", ".model", ".mar", ".pt2", ".pkl.gz", ".sav", ".dill", ".p",
    }
)  # fmt: skip


def detect(head: Buffer, name: str) -> Kind:
    """The kind of a blob whose first bytes are `head` (at least HEAD_BYTES when available)."""
    head = bytes(head[:HEAD_BYTES])
    if head.startswith(_ZIP_MAGICS):
        return Kind.ZIP
    if head.startswith(b"\x93NUMPY"):
        return Kind.NUMPY
    if head.startswith(_SEVEN_ZIP_MAGIC):
        return Kind.SEVEN_ZIP
    if head.startswith(_COMPRESSED_MAGICS):
        return Kind.COMPRESSED
    if looks_like_pickle(head):
        return Kind.PICKLE
    if _is_zlib(head):
        return Kind.COMPRESSED
    if _is_text(head):
        return Kind.TEXT
    return Kind.UNKNOWN


def claims_model_format(name: str) -> bool:
    lowered = name.lower()
    return any(lowered.endswith(suffix) for suffix in MODEL_SUFFIXES)


def _is_zlib(head: bytes) -> bool:
    # RFC 1950 header (deflate, window <= 32K, header a multiple of 31), then a trial inflate.
    if not (len(head) >= 2 and head[0] & 0x0F == 8 and head[0] >> 4 <= 7):
        return False
    if int.from_bytes(head[:2], "big") % 31 != 0:
        return False
    try:
        zlib.decompressobj().decompress(head, 64)
    except zlib.error:
        return False
    return True


def _is_text(head: bytes) -> bool:
    if not head:
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample boundary is still text.
        return exc.start >= len(head) - 3
    return True
