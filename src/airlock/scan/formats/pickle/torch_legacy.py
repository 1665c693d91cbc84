"""The oldest torch.save layout (a tar), whose `storages` and `tensors` members interleave pickles
with raw bytes that torch reads between them (torch/serialization.py, `legacy_load`):

- `storages`: pickle(n); n times pickle((key, location, storage_type)) then the storage as an
  int64 element count and count * element_size bytes; then pickle(storage_views).
- `tensors`: pickle(n); n times pickle((key, storage_id, tensor_type)) then int32 ndim, 4 unused
  bytes, ndim int64 sizes, ndim int64 strides and an int64 storage offset.

torch unpickles every one of those pickles, so each must be found exactly where torch finds it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from airlock.scan.formats.pickle.loader_layouts import layouts
from airlock.scan.formats.pickle.opcodes import Buffer
from airlock.scan.formats.pickle.values import Global, SymList, render


@dataclass(frozen=True)
class Step:
    """What torch reads after one pickle: `skip` raw bytes and then another pickle, or nothing
    more (`skip` None). `problem` says why the next pickle cannot be located."""

    skip: int | None
    problem: str | None = None


class TarMemberLayout:
    """Walks one `storages` or `tensors` member the way `legacy_load` reads it."""

    def __init__(self, member: str) -> None:
        self.member = member
        self.remaining: int | None = None  # records still to read; None before the count

    @classmethod
    def for_name(cls, name: str) -> TarMemberLayout | None:
        known = layouts().torch_legacy
        return cls(name) if name in (known.storages_member, known.tensors_member) else None

    def after(self, value: Any, buf: Buffer, pos: int) -> Step:
        """Called after each complete pickle with its value and end offset."""
        if self.remaining is None:
            if not isinstance(value, int):
                return Step(None, f"the record count is not a plain integer ({render(value)})")
            self.remaining = max(0, int(value))
            return self._then(0)
        if self.remaining == 0:
            return Step(None)  # the storage views were the last pickle torch reads here
        self.remaining -= 1
        if self.member == layouts().torch_legacy.storages_member:
            skip = _storage_bytes(value, buf, pos)
        else:
            skip = _tensor_bytes(buf, pos)
        if isinstance(skip, str):
            return Step(None, skip)
        if skip is None or pos + skip > len(buf):
            return Step(None)  # torch's read fails here: nothing after it runs
        return self._then(skip)

    def _then(self, skip: int) -> Step:
        """After the last tensor record torch reads no more; after the last storage record it
        reads the storage views pickle."""
        if self.remaining == 0 and self.member == layouts().torch_legacy.tensors_member:
            return Step(None)
        return Step(skip)


def _storage_bytes(record: Any, buf: Buffer, pos: int) -> int | str | None:
    items = record.items if isinstance(record, SymList) else record
    if not (isinstance(items, tuple | list) and len(items) == 3):
        return f"a storage record is not a (key, location, type) triple ({render(record)})"
    storage_type, known = items[2], layouts().torch_legacy
    size = None
    if isinstance(storage_type, Global) and storage_type.module in known.storage_modules:
        size = known.element_sizes.get(storage_type.name)
    if size is None:
        return f"the storage type {render(storage_type)} has no element size torch knows"
    if pos + 8 > len(buf):
        return None
    (count,) = struct.unpack_from("<q", buf, pos)
    return None if count < 0 else 8 + count * size


def _tensor_bytes(buf: Buffer, pos: int) -> int | None:
    if pos + 4 > len(buf):
        return None
    (ndim,) = struct.unpack_from("<i", buf, pos)
    return None if ndim < 0 else 8 + 16 * ndim + 8
