"""Safetensors headers as tensor shapes: what `airlock fit` needs, without reading tensor data.

Only the 8-byte length and the JSON header are read, so header-only or sparse shards of a
model far larger than memory cost a few kilobytes each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from airlock.formats.detect import SAFETENSORS_MAX_HEADER
from airlock.formats.safetensors_reader import DTYPE_BITS, _is_count


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
        if not 2 <= size <= SAFETENSORS_MAX_HEADER:
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
        if not all(_is_count(dim) for dim in shape):
            raise HeaderError(f"{path.name}: tensor {name!r} has a shape that is not counts")
        tensors.append(TensorHeader(name, str(dtype), tuple(shape)))
    return tensors
