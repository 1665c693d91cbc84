"""GGUF metadata and tensor index as values, for `fit` and `license`; tensor data is never read.

Parsed with the same cursor, preamble and tensor entries as the scan's reader (`headers.gguf`),
so both agree on what a GGUF file says.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from airlock.headers.gguf import (
    ARRAY,
    FIXED,
    GGML_BLOCKS,
    MAX_ELEMENTS,
    STRING,
    Cursor,
    Stop,
    read_preamble,
    read_tensor_info,
    skip_value,
)

# struct formats of the scalar value types (GGUF spec: uint8 .. float64).
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
# Per-layer arrays (e.g. head_count_kv) are kept; long ones (vocabularies) only counted.
_MAX_KEPT = 4096
_MAGIC = b"GGUF"
VOCABULARY = "tokenizer.ggml.tokens"

Value = int | float | bool | str | tuple[int | float, ...]


class GgufError(ValueError):
    """The file is not a GGUF file whose index can be read."""


@dataclass(frozen=True)
class GgufTensor:
    name: str
    shape: tuple[int, ...]
    ggml_type: int

    @property
    def elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def nbytes(self) -> int:
        block, block_bytes = GGML_BLOCKS[self.ggml_type]
        return -(-self.elements // block) * block_bytes


@dataclass(frozen=True)
class GgufIndex:
    metadata: dict[str, Value]
    tensors: tuple[GgufTensor, ...]
    lengths: dict[str, int] = field(default_factory=dict)  # every array's length, kept or not
    token_ids: dict[str, int] = field(default_factory=dict)  # asked-for vocabulary entries


def read_index(path: Path, tokens: Collection[str] = ()) -> GgufIndex:
    """The metadata and tensor index; `tokens`: vocabulary entries whose ids to look up in
    `tokenizer.ggml.tokens` (e.g. a model family's special tokens)."""
    wanted = {token.encode("utf-8"): token for token in tokens}
    with path.open("rb") as handle:
        if handle.read(4) != _MAGIC:
            raise GgufError(f"{path.name}: not a GGUF file")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            try:
                return _parse(Cursor(data, "<", v1=False, pos=4), wanted)
            except (Stop, struct.error) as exc:
                raise GgufError(f"{path.name}: {exc}") from None


def _parse(cursor: Cursor, wanted: dict[bytes, str]) -> GgufIndex:
    tensor_count, pairs = read_preamble(cursor)
    metadata: dict[str, Value] = {}
    lengths: dict[str, int] = {}
    token_ids: dict[str, int] = {}
    for _ in range(pairs):
        key = cursor.string()
        kind = cursor.unpack("I")
        if kind == ARRAY:
            lengths[key] = _length(cursor)
            if key == VOCABULARY and wanted:
                token_ids = _find_strings(cursor, wanted)
                continue
        value = _value(cursor, kind)
        if value is not None:
            metadata[key] = value
    tensors = []
    for _ in range(tensor_count):
        name, shape, ggml_type, _offset = read_tensor_info(cursor)
        if ggml_type not in GGML_BLOCKS:
            raise GgufError(f"tensor {name[:80]!r} has unknown ggml type {ggml_type}")
        tensors.append(GgufTensor(name, tuple(shape), ggml_type))
    return GgufIndex(metadata, tuple(tensors), lengths, token_ids)


def _length(cursor: Cursor) -> int:
    """An array's element count, read ahead: the cursor stays at the array's start."""
    start = cursor.pos
    cursor.unpack("I")
    length = cursor.unpack("Q")
    cursor.pos = start
    return length


def _find_strings(cursor: Cursor, wanted: dict[bytes, str]) -> dict[str, int]:
    """Walk a string array (the vocabulary) to its end, noting the index of each wanted string;
    bytes are compared only where the length matches, so a 150k-entry vocabulary stays cheap."""
    start = cursor.pos
    if cursor.unpack("I") != STRING:
        cursor.pos = start
        skip_value(cursor, ARRAY, 0)
        return {}
    items = cursor.count("an array of", 8)
    cursor.elements += items
    if cursor.elements > MAX_ELEMENTS:
        raise Stop("AIR003", start, f"over {MAX_ELEMENTS} array elements in all")
    sizes = {len(piece) for piece in wanted}
    found: dict[str, int] = {}
    for index in range(items):
        length = cursor.count("a string length of", 1, len(cursor.data))
        at = cursor.skip(length)
        if length in sizes:
            piece = bytes(cursor.data[at : cursor.pos])
            if piece in wanted:
                found.setdefault(wanted[piece], index)
    return found


def _value(cursor: Cursor, kind: int) -> Value | None:
    if kind in _SCALARS:
        value: int | float | bool = cursor.unpack(_SCALARS[kind])
        return value
    if kind == STRING:
        return cursor.string()
    if kind == ARRAY:
        start = cursor.pos
        item = cursor.unpack("I")
        if item in _SCALARS:
            size = FIXED[item]
            length = cursor.count("an array of", size, len(cursor.data))
            if length <= _MAX_KEPT:
                return tuple(cursor.unpack(_SCALARS[item]) for _ in range(length))
            cursor.skip(size * length)
            return None
        cursor.pos = start
    skip_value(cursor, kind, 0)
    return None
