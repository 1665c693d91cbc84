"""Safetensors headers as tensor shapes: what `fit` needs, without reading tensor data; and the
format's limits and dtypes, which the scan's detection and reader share.

Only the 8-byte length and the JSON header are read, so header-only or sparse shards of a
model far larger than memory cost a few kilobytes each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# The format caps the JSON header at 100 MB (MAX_HEADER_SIZE in safetensors' own reader).
MAX_HEADER = 100_000_000
# Bits per element, as in safetensors' own Dtype (F4/F6 pack several elements in a byte).
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "U16": 16, "I16": 16, "U32": 32, "I32": 32, "U64": 64,
    "I64": 64, "F16": 16, "BF16": 16, "F32": 32, "F64": 64, "C64": 64,
    "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8, "F6_E2M3": 6, "F6_E3M2": 6, "F4": 4,
}  # fmt: skip


class HeaderError(ValueError):
    """The file is not a safetensors file whose header can be read."""


@dataclass(frozen=True)
class TensorHeader:
    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def nbytes(self) -> int:
        return self.elements * DTYPE_BITS[self.dtype] // 8


def read_header(path: Path) -> list[TensorHeader]:
    """The tensors a safetensors file declares, in header order; `__metadata__` is skipped."""
    with path.open("rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        if not 2 <= size <= MAX_HEADER:
            raise HeaderError(f"{path.name}: header length {size} is impossible for safetensors")
        raw = handle.read(size)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise HeaderError(f"{path.name}: the header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise HeaderError(f"{path.name}: the header is not a JSON object")
    tensors = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info.get("dtype") if isinstance(info, dict) else None
        shape = info.get("shape") if isinstance(info, dict) else None
        if dtype not in DTYPE_BITS or not isinstance(shape, list):
            raise HeaderError(f"{path.name}: tensor {name!r} has no valid dtype and shape")
        if not all(is_count(dim) for dim in shape):
            raise HeaderError(f"{path.name}: tensor {name!r} has a shape that is not counts")
        tensors.append(TensorHeader(name, str(dtype), tuple(shape)))
    return tensors


def is_count(value: object) -> bool:
    """A JSON number usable as a count or offset: an int (not a bool), not negative."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
