"""A minimal, bounds-checked protobuf wire-format decoder (no schemas, no copies).

Fields are yielded with absolute offsets into the buffer, so a length-delimited payload is
read by slicing only when a caller wants it; nested messages are decoded by iterating the
same buffer between the payload's bounds. Callers bound their own recursion depth.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from airlock.scan.context import Buffer

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
MAX_FIELD_NUMBER = (1 << 29) - 1
_MAX_VARINT_BYTES = 10


class WireError(ValueError):
    """The bytes are not valid protobuf wire format."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"{reason} at byte {offset}")
        self.reason = reason
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Field:
    number: int
    wire_type: int
    # The integer for VARINT/I64/I32 fields; the payload length for LEN fields.
    value: int
    # Where the value starts and ends in the buffer (for LEN: the payload's bounds).
    start: int
    end: int


def read_varint(data: Buffer, pos: int, end: int) -> tuple[int, int]:
    """The varint at `pos` and the offset after it; at most 10 bytes, never past `end`."""
    result, shift, start = 0, 0, pos
    while True:
        if pos >= end:
            raise WireError("truncated varint", start)
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if pos - start >= _MAX_VARINT_BYTES:
            raise WireError("varint longer than 10 bytes", start)
    if result >> 64:
        raise WireError("varint larger than 64 bits", start)
    return result, pos


def iter_fields(data: Buffer, start: int = 0, end: int | None = None) -> Iterator[Field]:
    """Every field of the message in data[start:end], in order; WireError on malformed bytes."""
    stop = len(data) if end is None else end
    if not 0 <= start <= stop <= len(data):
        raise WireError("message bounds outside the buffer", start)
    pos = start
    while pos < stop:
        key, value_start = read_varint(data, pos, stop)
        number, wire_type = key >> 3, key & 7
        if number == 0 or number > MAX_FIELD_NUMBER:
            raise WireError(f"invalid field number {number}", pos)
        if wire_type == VARINT:
            value, after = read_varint(data, value_start, stop)
            yield Field(number, wire_type, value, value_start, after)
        elif wire_type in (I64, I32):
            after = value_start + (8 if wire_type == I64 else 4)
            if after > stop:
                raise WireError("truncated fixed-width value", value_start)
            value = int.from_bytes(bytes(data[value_start:after]), "little")
            yield Field(number, wire_type, value, value_start, after)
        elif wire_type == LEN:
            length, payload = read_varint(data, value_start, stop)
            after = payload + length
            if after > stop:
                raise WireError(f"length {length} runs past the end of the message", value_start)
            yield Field(number, wire_type, length, payload, after)
        elif wire_type in (SGROUP, EGROUP):
            raise WireError("deprecated group encoding", pos)
        else:
            raise WireError(f"invalid wire type {wire_type}", pos)
        pos = after


def text(data: Buffer, field: Field, limit: int | None = None) -> str:
    """A LEN field's payload as text (invalid UTF-8 replaced), optionally only its start."""
    end = field.end if limit is None else min(field.end, field.start + limit)
    return bytes(data[field.start : end]).decode("utf-8", "replace")


def head_fields(data: Buffer, count: int) -> list[Field] | None:
    """The first `count` fields of a message head, or None if the head is not protobuf.

    A LEN payload may run past the end of the head (it continues in the file); any other
    malformation means the bytes are not protobuf.
    """
    found: list[Field] = []
    pos, stop = 0, len(data)
    try:
        while pos < stop and len(found) < count:
            key, value_start = read_varint(data, pos, stop)
            number, wire_type = key >> 3, key & 7
            if number == 0 or number > MAX_FIELD_NUMBER:
                return None
            if wire_type == LEN:
                length, payload = read_varint(data, value_start, stop)
                found.append(Field(number, LEN, length, payload, payload + length))
                pos = payload + length
            elif wire_type in (VARINT, I64, I32):
                field = next(iter_fields(data, pos, stop))
                found.append(field)
                pos = field.end
            else:
                return None
    except WireError:
        return None
    return found
