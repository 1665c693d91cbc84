"""Scanning with several processes gives the same report, in the same order, as one process."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from pytest import MonkeyPatch

from airlock.artifact import ArtifactFile, collect
from airlock.scan import parallel
from airlock.scan.parallel import worker_count
from airlock.scan.results import FileResult
from airlock.scan.scanner import Scanner

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


def _folder(tmp_path: Path, count: int) -> Path:
    tmp_path.mkdir(exist_ok=True)
    for index in range(count):
        data = PAYLOAD if index % 13 == 0 else pickle.dumps({"layer": index, "w": [0.5] * index})
        (tmp_path / f"model_{index:03}.pkl").write_bytes(data)
    return tmp_path


def test_more_workers_than_cores_give_the_same_report(tmp_path: Path) -> None:
    folder = _folder(tmp_path, 150)
    serial = Scanner().scan_paths([folder], jobs=1)
    seen: list[str] = []
    parallel = Scanner().scan_paths([folder], jobs=3, on_file=lambda r: seen.append(r.path))
    assert parallel == serial
    assert seen == [r.path for r in serial.files]  # progress arrives in file order


def test_a_worker_that_dies_loses_no_file(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    folder = _folder(tmp_path / "models", 120)
    serial = Scanner().scan_paths([folder], jobs=1)
    parent, scan_file, scanned = os.getpid(), Scanner.scan_file, [0]

    def dying(self: Scanner, item: ArtifactFile) -> FileResult:
        # Each worker dies at its third file, mid-chunk, as if it were killed.
        if os.getpid() != parent:
            scanned[0] += 1
            if scanned[0] == 3:
                (tmp_path / f"died-{os.getpid()}").touch()
                os._exit(9)
        return scan_file(self, item)

    monkeypatch.setattr(Scanner, "scan_file", dying)
    assert Scanner().scan_paths([folder], jobs=2) == serial
    assert Scanner().scan_paths([folder], jobs=4) == serial
    assert len(list(tmp_path.glob("died-*"))) >= 2


def test_the_spawned_pool_gives_the_same_results(tmp_path: Path) -> None:
    # Used where the system cannot fork (Windows); exercised here directly.
    files = collect([_folder(tmp_path, 40)])
    serial = [Scanner().scan_file(item) for item in files]
    assert list(parallel._scan_in_pool(Scanner(), files, 2)) == serial
