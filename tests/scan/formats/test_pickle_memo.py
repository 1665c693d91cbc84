"""Streams judged clean are remembered by content: a folder of checkpoints of one model walks
each distinct pickle once. Only clean verdicts that depended on nothing but the bytes are kept,
so a remembered stream can never hide a finding."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path

import pytest

from airlock.findings import Severity
from airlock.scan.formats import pickle_reader
from airlock.scan.formats.pickle.interpreter import Interpreter
from airlock.scan.scanner import Scanner


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many streams the interpreter walks (one entry per walk)."""
    seen: list[int] = []
    run = Interpreter.run

    def counted(self: Interpreter, pos: int) -> object:
        seen.append(pos)
        return run(self, pos)

    monkeypatch.setattr(Interpreter, "run", counted)
    return seen


def _clean_state() -> bytes:
    return pickle.dumps(OrderedDict(weight=[1.0, 2.0], step=3), protocol=4)


def test_identical_clean_streams_are_walked_once(tmp_path: Path, walks: list[int]) -> None:
    for i in range(5):
        (tmp_path / f"checkpoint-{i}.pkl").write_bytes(_clean_state())
    report = Scanner().scan_paths([tmp_path], jobs=1)
    assert len(report.files) == 5
    assert not report.findings
    assert len(walks) == 1


def test_a_new_scanner_starts_with_nothing_remembered(tmp_path: Path, walks: list[int]) -> None:
    (tmp_path / "a.pkl").write_bytes(_clean_state())
    Scanner().scan_paths([tmp_path], jobs=1)
    Scanner().scan_paths([tmp_path], jobs=1)
    assert len(walks) == 2


def test_streams_with_findings_are_judged_every_time(tmp_path: Path, walks: list[int]) -> None:
    payload = b"cos\nsystem\n(S'echo airlock-canary'\ntR."
    for i in range(3):
        (tmp_path / f"evil-{i}.pkl").write_bytes(payload)
    report = Scanner().scan_paths([tmp_path], jobs=1)
    flagged = {f.file for f in report.findings if f.rule_id.startswith("AIR1")}
    assert len(flagged) == 3
    assert len(walks) == 3


def test_streams_with_nested_content_are_not_remembered(tmp_path: Path, walks: list[int]) -> None:
    # A clean outer pickle carrying a pickle as bytes: the nested verdict belongs to the
    # scanner, so the outer stream is judged again in every file.
    outer = pickle.dumps({"blob": pickle.dumps({"a": 1})})
    for i in range(2):
        (tmp_path / f"nested-{i}.pkl").write_bytes(outer)
    report = Scanner().scan_paths([tmp_path], jobs=1)
    assert not [f for f in report.findings if f.severity >= Severity.HIGH]
    # The outer stream in both files; the inner one once (it is clean and holds nothing).
    assert len(walks) == 3


def test_remembered_streams_are_bounded(
    tmp_path: Path, walks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pickle_reader, "REMEMBER_AT_MOST", 2)
    for i in range(3):
        (tmp_path / f"s{i}.pkl").write_bytes(pickle.dumps({"step": i}))
    for i in range(3):
        (tmp_path / f"t{i}.pkl").write_bytes(pickle.dumps({"step": i}))
    report = Scanner().scan_paths([tmp_path], jobs=1)
    assert not report.findings
    assert 3 < len(walks) <= 6
