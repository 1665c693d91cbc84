"""GGUF (llama.cpp): header, metadata key-values and tensor index, every length checked against
the file before it is trusted. Tensor data is never read; chat templates are, because
llama-cpp-python and others render them (CVE-2024-34359)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from airlock.checks.chat_template import MAX_TEMPLATE_BYTES, oversized, template_findings
from airlock.findings import Finding
from airlock.formats.interface import Blob, Buffer, Kind, Reader, ScanContext

# Value types: fixed sizes in bytes; STRING = 8 and ARRAY = 9 are variable.
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY, _UINT32 = 8, 9, 4
# ggml tensor types: (elements per block, bytes per block), as in gguf-py's GGML_QUANT_SIZES.
GGML_BLOCKS = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176),
    14: (256, 210), 15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98),
    19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1),
    25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2),
    34: (256, 54), 35: (256, 66), 39: (32, 17), 40: (64, 36), 41: (128, 18),
}  # fmt: skip
DEFAULT_ALIGNMENT = 32
TEMPLATE_KEY = "tokenizer.chat_template"
# Far above real models (tens of thousands of tensors, vocabularies of a few hundred thousand),
# low enough that a forged count cannot keep the scan busy for long.
MAX_COUNT = 1_000_000
MAX_ELEMENTS = 10_000_000
MAX_ARRAY_DEPTH = 4
MAX_DIMS = 8
MAX_REPORTED = 10


class _Stop(Exception):
    """Parsing cannot go on: `rule` AIR001 (malformed) or AIR003 (over a limit)."""

    def __init__(self, rule: str, offset: int, message: str) -> None:
        super().__init__(message)
        self.rule, self.offset, self.message = rule, offset, message


@dataclass
class _Cursor:
    data: Buffer
    order: str
    v1: bool
    pos: int = 0
    elements: int = 0
    keys: set[str] = field(default_factory=set)

    def unpack(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise _Stop("AIR001", self.pos, "the file ends in the middle of a field")
        value: int = struct.unpack_from(self.order + fmt, self.data, self.pos)[0]
        self.pos += size
        return value

    def count(self, what: str, min_bytes: int, limit: int = MAX_COUNT) -> int:
        """A count (of items at least `min_bytes` long each) that the file can actually hold."""
        start = self.pos
        value = self.unpack("I" if self.v1 else "Q")
        if value * min_bytes > len(self.data) - self.pos:
            raise _Stop("AIR001", start, f"{what} {value} does not fit in the file")
        if value > limit:
            raise _Stop("AIR003", start, f"{what} {value} is over Airlock's limit of {limit}")
        return value

    def skip(self, length: int) -> int:
        start = self.pos
        if start + length > len(self.data):
            raise _Stop("AIR001", start, "the file ends in the middle of a value")
        self.pos += length
        return start

    def string(self) -> str:
        length = self.count("a string length of", 1, len(self.data))
        return bytes(self.data[self.skip(length) : self.pos]).decode("utf-8", "replace")


class GgufReader(Reader):
    kinds = (Kind.GGUF,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        cursor = _Cursor(blob.data, "<", v1=False, pos=4)
        try:
            tensors, pairs = read_preamble(cursor)
            alignment = DEFAULT_ALIGNMENT
            for _ in range(pairs):
                found, value = _key_value(cursor, blob, ctx)
                yield from found
                if value is not None:
                    alignment = value
            if alignment <= 0 or alignment & (alignment - 1):
                yield _layout(blob, ctx, 0, f"general.alignment {alignment} is not a power of 2")
                return
            problems = _tensor_index(cursor, tensors, alignment)
            for offset, problem in problems[:MAX_REPORTED]:
                yield _layout(blob, ctx, offset, problem)
            if len(problems) > MAX_REPORTED:
                more = f"{len(problems) - MAX_REPORTED} more tensor problems were not listed"
                yield _layout(blob, ctx, problems[MAX_REPORTED][0], more)
        except _Stop as stop:
            yield ctx.finding(
                stop.rule,
                blob,
                blob.location.at(stop.offset),
                f"The GGUF file could not be parsed past byte {stop.offset}: {stop.message}; "
                "the rest (metadata, chat templates, tensor index) was not inspected.",
            )


def read_preamble(cursor: _Cursor) -> tuple[int, int]:
    """Version and byte order, then (tensor count, key-value count); shared with `gguf_index`."""
    version = cursor.unpack("I")
    swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
    if version not in (1, 2, 3) and swapped in (1, 2, 3):
        cursor.order, version = ">", swapped  # big-endian: only the magic reads as LE
    if version not in (1, 2, 3):
        raise _Stop("AIR001", 4, f"unknown GGUF version {version}")
    cursor.v1 = version == 1
    # Smallest possible tensor info and key-value, so a count must fit in the file.
    tensors = cursor.count("a tensor count of", 20 if cursor.v1 else 24)
    pairs = cursor.count("a key-value count of", 9 if cursor.v1 else 13)
    return tensors, pairs


def read_tensor_info(cursor: _Cursor) -> tuple[str, list[int], int, int]:
    """One tensor index entry: (name, shape, ggml type, data offset)."""
    start = cursor.pos
    name = cursor.string()
    dims = cursor.unpack("I")
    if dims > MAX_DIMS:
        raise _Stop("AIR001", start, f"tensor `{name[:80]}` has {dims} dimensions")
    shape = [cursor.unpack("I" if cursor.v1 else "Q") for _ in range(dims)]
    return name, shape, cursor.unpack("I"), cursor.unpack("Q")


def _key_value(cursor: _Cursor, blob: Blob, ctx: ScanContext) -> tuple[list[Finding], int | None]:
    """Read one key-value; returns its findings and the alignment when this key sets it."""
    start = cursor.pos
    key = cursor.string()
    kind = cursor.unpack("I")
    findings = []
    if key in cursor.keys:
        findings.append(_layout(blob, ctx, start, f"key `{key[:80]}` appears twice"))
    cursor.keys.add(key)
    if (key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + ".")) and kind == _STRING:
        length = cursor.count("a string length of", 1, len(cursor.data))
        start = cursor.skip(length)
        location, label = blob.location.at(start), f"GGUF `{key[:80]}`"
        if length > MAX_TEMPLATE_BYTES:
            findings.append(oversized(length, label, blob, location, ctx))
        else:
            text = bytes(cursor.data[start : cursor.pos]).decode("utf-8", "replace")
            findings.extend(template_findings(text, label, blob, location, ctx))
        return findings, None
    if key == "general.alignment" and kind == _UINT32:
        return findings, cursor.unpack("I")
    _skip_value(cursor, kind, 0)
    return findings, None


def _skip_value(cursor: _Cursor, kind: int, depth: int) -> None:
    if kind in _FIXED:
        cursor.skip(_FIXED[kind])
    elif kind == _STRING:
        cursor.string()
    elif kind == _ARRAY:
        if depth >= MAX_ARRAY_DEPTH:
            raise _Stop("AIR003", cursor.pos, f"arrays nest more than {MAX_ARRAY_DEPTH} deep")
        start = cursor.pos
        item = cursor.unpack("I")
        if item in _FIXED:
            cursor.skip(_FIXED[item] * cursor.count("an array of", _FIXED[item], len(cursor.data)))
            return
        if item not in (_STRING, _ARRAY):
            raise _Stop("AIR001", start, f"unknown array element type {item}")
        items = cursor.count("an array of", 8 if item == _STRING else 12)
        cursor.elements += items
        if cursor.elements > MAX_ELEMENTS:
            raise _Stop("AIR003", start, f"over {MAX_ELEMENTS} array elements in all")
        for _ in range(items):
            _skip_value(cursor, item, depth + 1)
    else:
        raise _Stop("AIR001", cursor.pos - 4, f"unknown value type {kind}")


def _tensor_index(cursor: _Cursor, count: int, alignment: int) -> list[tuple[int, str]]:
    """(offset, problem) for each tensor whose type, placement or alignment is wrong."""
    problems: list[tuple[int, str]] = []
    spans: list[tuple[int, int, str]] = []
    for _ in range(count):
        start = cursor.pos
        name, shape, ggml_type, offset = read_tensor_info(cursor)
        name = name[:80]
        elements = 1
        for dim in shape:
            elements *= dim
        if ggml_type not in GGML_BLOCKS:
            problems.append((start, f"tensor `{name}` has unknown type {ggml_type}"))
            continue
        block, block_bytes = GGML_BLOCKS[ggml_type]
        if shape and shape[0] % block:
            problems.append((start, f"tensor `{name}` rows do not fill whole blocks"))
            continue
        spans.append((offset, offset + elements // block * block_bytes, name))
    data_start = -(-cursor.pos // alignment) * alignment
    end = data_start
    for offset, stop, name in sorted(spans):
        if offset % alignment:
            problems.append((data_start + offset, f"tensor `{name}` is not {alignment}-aligned"))
        if data_start + stop > len(cursor.data):
            problems.append((data_start + offset, f"tensor `{name}` ends past the end of the file"))
        elif data_start + offset < end and stop > offset:
            problems.append((data_start + offset, f"tensor `{name}` overlaps another tensor"))
        end = max(end, data_start + stop)
    return problems


def _layout(blob: Blob, ctx: ScanContext, offset: int, problem: str) -> Finding:
    return ctx.finding(
        "AIR411",
        blob,
        blob.location.at(offset),
        f"GGUF layout: {problem}. Loaders reject or misread such a file.",
    )
