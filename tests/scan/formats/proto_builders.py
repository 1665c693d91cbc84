"""A tiny protobuf encoder for hand-built test messages (SavedModel, GraphDef, ModelProto)."""

from __future__ import annotations

from hypothesis import strategies as st


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def vfield(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def bfield(number: int, payload: bytes | str) -> bytes:
    raw = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(raw)) + raw


# (operation, position, byte) triples that `mutate` applies: overwrite, insert or delete.
EDITS = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8
)


def mutate(seed: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Structure-blind mutations of a valid seed."""
    data = bytearray(seed)
    for op, where, byte in edits:
        pos = where % (len(data) + 1)
        if op == 1:
            data[pos:pos] = bytes([byte])
        elif data:
            index = min(pos, len(data) - 1)
            if op == 0:
                data[index] = byte
            else:
                del data[index]
    return bytes(data)
