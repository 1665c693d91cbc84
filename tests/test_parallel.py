"""Scanning with several processes gives the same report, in the same order, as one process."""

from __future__ import annotations

import pickle
from pathlib import Path

from airlock.parallel import worker_count
from airlock.scanner import Scanner

PAYLOAD = b"\x80\x02cbuiltins\nexec\nX\x0b\x00\x00\x00print('hi')\x85R."


def test_workers_give_the_same_report_as_one_process(tmp_path: Path) -> None:
    for index in range(40):
        data = PAYLOAD if index % 13 == 0 else pickle.dumps({"layer": index, "w": [0.5] * index})
        (tmp_path / f"model_{index:02}.pkl").write_bytes(data)
    serial = Scanner().scan_paths([tmp_path], jobs=1)
    parallel = Scanner().scan_paths([tmp_path], jobs=2)
    assert parallel == serial
    assert sum(1 for r in serial.files if r.findings) == 4


def test_worker_count_scales_with_files_and_respects_requests() -> None:
    assert worker_count(5, None) == 1
    assert worker_count(10_000, None) >= 1
    assert worker_count(5, 3) == 3
