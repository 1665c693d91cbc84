"""The interpreter's fast path (the commonest opcodes done in place) behaves exactly like the
general path: same events, same values, same errors at the same offsets, same limits."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fuzz_strategies as fs
from airlock.scan.formats.pickle import interpreter
from airlock.scan.formats.pickle.interpreter import Interpreter


class Recorder:
    """Every listener event, rendered (symbolic values compare by identity, not content)."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("on_"):
            raise AttributeError(name)
        return lambda *args: self.events.append(f"{name}{args!r}")


def trace(data: bytes, fast: bool, budget: int | None = None) -> list[str]:
    """Events and stream results over every stream in `data`, as the pickle reader walks it."""
    saved = interpreter.FAST_OPS
    interpreter.FAST_OPS = saved if fast else frozenset()
    try:
        recorder = Recorder()
        machine = Interpreter(data, recorder)
        if budget is not None:
            machine.ops_budget = budget
        out: list[str] = []
        pos = 0
        for _ in range(20):
            result = machine.run(pos)
            error = result.error
            out.append(
                f"{result.start} {result.end} {result.protocol} {result.complete} "
                f"{type(error).__name__} {error} {result.result!r} {machine.ops_budget}"
            )
            if not result.complete or result.end >= len(data):
                break
            pos = result.end
        return recorder.events + out
    finally:
        interpreter.FAST_OPS = saved


def test_the_fast_path_covers_the_commonest_opcodes() -> None:
    # If a handler is swapped for another, its opcode leaves the fast path on its own.
    assert len(interpreter.FAST_OPS) == 19


REAL_OBJECTS: list[Any] = [
    {"config": {"name": "model-1", "dropout": 0.1, "tags": ["a", "b"]}},
    {f"token_number_{i:04d}": i for i in range(300)},
    [float(i) / 3 for i in range(200)] + ["a long enough string to be reported", "é" * 40],
    OrderedDict((f"layer.{i}.weight", (i, [i] * 3, None, True)) for i in range(70)),
    [b"bytes" * 10, bytearray(b"x" * 20), 2**40, -5, 70000, frozenset({1, 2}), {3, 4}],
]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("index", range(len(REAL_OBJECTS)))
def test_real_pickles(protocol: int, index: int) -> None:
    data = pickle.dumps(REAL_OBJECTS[index], protocol)
    assert trace(data, fast=True) == trace(data, fast=False)
    # Every cut: the errors (and where they are reported) must not change either.
    for cut in range(0, len(data), max(1, len(data) // 41)):
        assert trace(data[:cut], fast=True) == trace(data[:cut], fast=False)


def test_the_opcode_limit_stops_at_the_same_opcode() -> None:
    data = pickle.dumps([i % 200 for i in range(30_000)], 4)
    for budget in (4096 * 2 + 7, 4096 * 3, 4096 * 3 + 1, 5):
        fast = trace(data, fast=True, budget=budget)
        assert fast == trace(data, fast=False, budget=budget)
        assert "PickleLimitError" in fast[-1]


def test_bad_utf8_and_unknown_memo_take_the_general_path() -> None:
    for data in (
        b"\x80\x04\x8c\x02\xff\xfe.",  # SHORT_BINUNICODE that is not UTF-8
        b"\x80\x04X\x02\x00\x00\x00\xc3(.",  # BINUNICODE that is not UTF-8
        b"\x80\x04h\x05.",  # BINGET of a memo index never stored
        b"\x80\x04q\x00.",  # BINPUT on an empty stack
        b"\x80\x04\x94.",  # MEMOIZE on an empty stack
        b"\x80\x04K",  # BININT1 cut short
        b"\x80\x04G\x00\x00",  # BINFLOAT cut short
        b"\x80\x04X\xff\xff\x00\x00abc.",  # BINUNICODE longer than the data
    ):
        fast = trace(data, fast=True)
        assert fast == trace(data, fast=False)
        assert fast[-1].split()[4] != "NoneType", fast  # each of them is an error


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(st.one_of(fs.opcode_pickles(), fs.mutated_seeds().map(lambda s: s[1])))
def test_fuzzed_streams(data: bytes) -> None:
    assert trace(data, fast=True) == trace(data, fast=False)
