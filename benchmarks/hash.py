"""Benchmark `airlock hash` against `sha256sum` on the same files.

Usage (from the repository root, with the project venv)::

    .venv/bin/python benchmarks/hash.py [--workdir benchmarks/.work/hash] [--big 3]
                                        [--big-mb 256] [--small 500] [--repeat 5]

It generates (once; regenerated when a parameter changes) --big random files of --big-mb MB
and --small files of 1-64 KiB in nested folders, then times, as fresh processes, one warm-up
run of each tool (so the page cache is warm for both: this measures hashing, not the disk)
and --repeat rounds that run each tool once in turn (background load is shared out evenly).
Airlock runs as `<python> -m airlock hash DIR --format json --no-progress`; sha256sum runs
over the same file list in one process. It prints the median wall time, throughput (MB/s of
file data) for each, and the ratio; the goal is airlock >= 0.9x sha256sum's throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL = 0.9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/.work/hash"))
    parser.add_argument("--big", type=int, default=3, help="number of large files")
    parser.add_argument("--big-mb", type=int, default=256, help="size of each large file")
    parser.add_argument("--small", type=int, default=500, help="number of small files")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("sha256sum") is None:
        print("sha256sum not found", file=sys.stderr)
        return 2
    corpus = _corpus(args.workdir, args.big, args.big_mb, args.small)
    files = sorted(str(p) for p in corpus.rglob("*") if p.is_file())
    total = sum(os.path.getsize(f) for f in files)
    airlock = [sys.executable, "-m", "airlock", "hash", str(corpus), "--no-progress"]
    commands = {"airlock": [*airlock, "--format", "json"], "sha256sum": ["sha256sum", "--", *files]}
    print(f"{len(files)} files, {total / 1e6:.0f} MB; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():
        _run(command)  # warm-up: page cache, imports
    for _ in range(args.repeat):
        for name, command in commands.items():
            times[name].append(_run(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        best = min(times[name])
        print(f"{name:10} median {median:6.2f} s  best {best:6.2f} s  "
              f"{total / median / 1e6:8.0f} MB/s")  # fmt: skip
    ratio = medians["sha256sum"] / medians["airlock"]
    verdict = "PASS" if ratio >= GOAL else "FAIL"
    print(f"{verdict}: airlock throughput is {ratio:.2f}x sha256sum's (goal >= {GOAL}x)")
    return 0 if ratio >= GOAL else 1


def _corpus(workdir: Path, big: int, big_mb: int, small: int) -> Path:
    corpus = workdir / "corpus"
    stamp = workdir / "params.json"
    params = {"big": big, "big_mb": big_mb, "small": small}
    if stamp.is_file() and json.loads(stamp.read_text()) == params:
        return corpus
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    rng = random.Random(0)
    block = rng.randbytes(1 << 20)
    for index in range(big):
        with (corpus / f"model-{index:05d}.safetensors").open("wb") as out:
            for chunk in range(big_mb):  # vary each MiB so nothing is trivially repetitive
                out.write(bytes([index, chunk % 256]) + block[2:])
    for index in range(small):
        path = corpus / f"layer{index % 10}" / f"part{index % 7}" / f"shard-{index}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(1, 64) * 1024))
    stamp.write_text(json.dumps(params))
    return corpus


def _run(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())
