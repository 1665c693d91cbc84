"""The wire-format decoder: offsets without copies, typed errors, and fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from proto_builders import EDITS, bfield, mutate, varint, vfield

from airlock.scan.formats.protobuf_wire import (
    I32,
    I64,
    LEN,
    VARINT,
    WireError,
    head_fields,
    iter_fields,
    read_varint,
    text,
)

FUZZ = settings(max_examples=300, deadline=None, derandomize=True)


def test_iterates_every_wire_type_with_absolute_offsets() -> None:
    inner = bfield(1, "node")
    data = (
        vfield(1, 300)
        + varint(2 << 3 | I64) + (7).to_bytes(8, "little")
        + bfield(3, inner)
        + varint(4 << 3 | I32) + (9).to_bytes(4, "little")
    )  # fmt: skip
    fields = list(iter_fields(data))
    assert [(f.number, f.wire_type, f.value) for f in fields] == [
        (1, VARINT, 300),
        (2, I64, 7),
        (3, LEN, len(inner)),
        (4, I32, 9),
    ]
    nested = list(iter_fields(data, fields[2].start, fields[2].end))
    assert text(data, nested[0]) == "node"


def test_largest_varint_decodes_and_longer_ones_fail() -> None:
    assert read_varint(varint(2**64 - 1), 0, 10) == (2**64 - 1, 10)
    with pytest.raises(WireError, match="longer than 10 bytes"):
        read_varint(b"\xff" * 11, 0, 11)
    with pytest.raises(WireError, match="larger than 64 bits"):
        read_varint(b"\xff" * 9 + b"\x7f", 0, 10)
    with pytest.raises(WireError, match="truncated varint"):
        read_varint(b"\x80\x80", 0, 2)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (varint(1 << 3 | LEN) + varint(2**40) + b"abc", "runs past the end"),
        (varint(1 << 3 | 3), "deprecated group"),
        (varint(1 << 3 | 4), "deprecated group"),
        (varint(1 << 3 | 6), "invalid wire type"),
        (vfield(0, 1), "invalid field number 0"),
        (varint(1 << 3 | I64) + b"\x00" * 7, "truncated fixed-width"),
    ],
)
def test_malformed_input_is_a_typed_error(data: bytes, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        list(iter_fields(data))


def test_a_nested_message_cannot_read_past_its_parent() -> None:
    # The inner length claims 5 bytes but its parent payload has only 3.
    data = bfield(1, varint(1 << 3 | LEN) + varint(5) + b"x") + b"yyyy"
    outer = next(iter_fields(data))
    with pytest.raises(WireError):
        list(iter_fields(data, outer.start, outer.end))


def test_head_fields_accepts_a_payload_running_past_the_head() -> None:
    data = vfield(1, 8) + varint(7 << 3 | LEN) + varint(10_000) + b"\x0a"
    fields = head_fields(data, 4)
    assert fields is not None
    assert [(f.number, f.end > len(data)) for f in fields] == [(1, False), (7, True)]
    assert head_fields(b"\x80\x04\x95", 4) is None


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_never_raise_anything_but_wire_error(data: bytes) -> None:
    try:
        for field in iter_fields(data):
            assert field.start <= field.end <= len(data)
    except WireError as exc:
        assert 0 <= exc.offset <= len(data)
    head_fields(data, 8)


@FUZZ
@given(EDITS)
def test_mutated_messages_never_raise_anything_but_wire_error(
    edits: list[tuple[int, int, int]],
) -> None:
    seed = vfield(1, 7) + bfield(7, bfield(1, bfield(4, "Add") + bfield(7, "com.x"))) + vfield(9, 3)
    data = mutate(seed, edits)
    with contextlib.suppress(WireError):
        list(iter_fields(data))
