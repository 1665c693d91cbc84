"""200,000 records are checked in bounded memory: the peak RSS of the whole `airlock data
check` process stays under a generous bound (about 120 bytes of sketch per record, on top of
the interpreter and its libraries; benchmarks/data_check.py measures a million)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

RECORDS = 200_000
# Measured about 150 MB here; the bound leaves room for other Python builds and libraries,
# and fails for anything that keeps records (200k Python records with their texts are 300+ MB).
BOUND_MB = 300
# A forked child's ru_maxrss starts at its parent's resident size (pytest's, with torch loaded by
# other tests): a small launcher forks the check and reports that child's own peak (kilobytes).
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def test_200k_records_in_bounded_memory(tmp_path: Path) -> None:
    rng = random.Random(5)
    words = [f"word{i}" for i in range(5000)]
    data = tmp_path / "big.jsonl"
    with open(data, "w", encoding="utf-8") as out:
        for i in range(RECORDS):
            text = " ".join(rng.choices(words, k=rng.randint(10, 60)))
            out.write(json.dumps({"id": i, "text": text, "label": str(i % 4)}) + "\n")
    report = tmp_path / "report.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    cmd = [sys.executable, "-m", "airlock", "data", "check", str(data), "--format", "json"]
    launched = subprocess.run(
        [sys.executable, "-I", "-S", "-c", LAUNCHER, *cmd, "-o", str(report)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    peak_kb, code = map(int, launched.stdout.split())
    assert code == 0, launched.stderr
    assert json.loads(report.read_text())["records"] == RECORDS
    assert peak_kb / 1024 < BOUND_MB, f"peak RSS {peak_kb / 1024:.0f} MB"
