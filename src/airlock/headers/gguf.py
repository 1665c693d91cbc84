"""GGUF (llama.cpp) parsing shared by the scan's reader and `gguf_index`: a bounds-checked cursor,
the preamble, tensor index entries and skipping values. Every length is checked against the
file before it is trusted; tensor data is never read."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from airlock.headers import Buffer

# Value types: fixed sizes in bytes; STRING = 8 and ARRAY = 9 are variable.
FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY, UINT32 = 8, 9, 4
# ggml tensor types: (elements per block, bytes per block), as in gguf-py's GGML_QUANT_SIZES.
GGML_BLOCKS = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176),
    14: (256, 210), 15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98),
    19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1),
    25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2),
    34: (256, 54), 35: (256, 66), 39: (32, 17), 40: (64, 36), 41: (128, 18),
}  # fmt: skip
# Far above real models (tens of thousands of tensors, vocabularies of a few hundred thousand),
# low enough that a forged count cannot keep the scan busy for long.
MAX_COUNT = 1_000_000
MAX_ELEMENTS = 10_000_000
MAX_ARRAY_DEPTH = 4
MAX_DIMS = 8


class Stop(Exception):
    """Parsing cannot go on: `rule` AIR001 (malformed) or AIR003 (over a limit)."""

    def __init__(self, rule: str, offset: int, message: str) -> None:
        super().__init__(message)
        self.rule, self.offset, self.message = rule, offset, message


@dataclass
class Cursor:
    data: Buffer
    order: str
    v1: bool
    pos: int = 0
    elements: int = 0
    keys: set[str] = field(default_factory=set)

    def unpack(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise Stop("AIR001", self.pos, "the file ends in the middle of a field")
        value: int = struct.unpack_from(self.order + fmt, self.data, self.pos)[0]
        self.pos += size
        return value

    def count(self, what: str, min_bytes: int, limit: int = MAX_COUNT) -> int:
        """A count (of items at least `min_bytes` long each) that the file can actually hold."""
        start = self.pos
        value = self.unpack("I" if self.v1 else "Q")
        if value * min_bytes > len(self.data) - self.pos:
            raise Stop("AIR001", start, f"{what} {value} does not fit in the file")
        if value > limit:
            raise Stop("AIR003", start, f"{what} {value} is over Airlock's limit of {limit}")
        return value

    def skip(self, length: int) -> int:
        start = self.pos
        if start + length > len(self.data):
            raise Stop("AIR001", start, "the file ends in the middle of a value")
        self.pos += length
        return start

    def string(self) -> str:
        length = self.count("a string length of", 1, len(self.data))
        return bytes(self.data[self.skip(length) : self.pos]).decode("utf-8", "replace")


def read_preamble(cursor: Cursor) -> tuple[int, int]:
    """Version and byte order, then (tensor count, key-value count)."""
    version = cursor.unpack("I")
    swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
    if version not in (1, 2, 3) and swapped in (1, 2, 3):
        cursor.order, version = ">", swapped  # big-endian: only the magic reads as LE
    if version not in (1, 2, 3):
        raise Stop("AIR001", 4, f"unknown GGUF version {version}")
    cursor.v1 = version == 1
    # Smallest possible tensor info and key-value, so a count must fit in the file.
    tensors = cursor.count("a tensor count of", 20 if cursor.v1 else 24)
    pairs = cursor.count("a key-value count of", 9 if cursor.v1 else 13)
    return tensors, pairs


def read_tensor_info(cursor: Cursor) -> tuple[str, list[int], int, int]:
    """One tensor index entry: (name, shape, ggml type, data offset)."""
    start = cursor.pos
    name = cursor.string()
    dims = cursor.unpack("I")
    if dims > MAX_DIMS:
        raise Stop("AIR001", start, f"tensor `{name[:80]}` has {dims} dimensions")
    shape = [cursor.unpack("I" if cursor.v1 else "Q") for _ in range(dims)]
    return name, shape, cursor.unpack("I"), cursor.unpack("Q")


def skip_value(cursor: Cursor, kind: int, depth: int) -> None:
    if kind in FIXED:
        cursor.skip(FIXED[kind])
    elif kind == STRING:
        cursor.string()
    elif kind == ARRAY:
        if depth >= MAX_ARRAY_DEPTH:
            raise Stop("AIR003", cursor.pos, f"arrays nest more than {MAX_ARRAY_DEPTH} deep")
        start = cursor.pos
        item = cursor.unpack("I")
        if item in FIXED:
            cursor.skip(FIXED[item] * cursor.count("an array of", FIXED[item], len(cursor.data)))
            return
        if item not in (STRING, ARRAY):
            raise Stop("AIR001", start, f"unknown array element type {item}")
        items = cursor.count("an array of", 8 if item == STRING else 12)
        cursor.elements += items
        if cursor.elements > MAX_ELEMENTS:
            raise Stop("AIR003", start, f"over {MAX_ELEMENTS} array elements in all")
        for _ in range(items):
            skip_value(cursor, item, depth + 1)
    else:
        raise Stop("AIR001", cursor.pos - 4, f"unknown value type {kind}")
