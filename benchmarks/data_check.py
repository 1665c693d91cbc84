"""`airlock data check` throughput and peak memory on generated data (1 million records by
default), and whether it finds what was planted.

    PYTHONPATH=src .venv/bin/python benchmarks/data_check.py                 # 1M records
    PYTHONPATH=src .venv/bin/python benchmarks/data_check.py --records 200000 --keep

The data is written for the benchmark (never a copied data set): JSONL records
`{"id", "text", "label"}` of 8 to 40 words drawn from a generated vocabulary, with known
plants: exact copies (2%), near copies (2%: one word appended to an earlier record), e-mail
addresses (0.5%), Luhn-valid card numbers (0.1%) and AWS-style key ids (0.01%); and an
`--against` file (10% of the size) of which 1% are copies of checked records (leakage).

Each run is one `airlock data check ... --format json` process; its wall time and peak RSS
(ru_maxrss of that child, from os.wait4; the benchmark process itself stays small because the
data is streamed to disk) are reported with records per second, and the JSON report's counts
are compared with the plants (near copies are an estimate: MinHash finds most, not all).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "ta",
    "vo",
    "shi",
    "pen",
    "dor",
    "al",
    "ix",
    "um",
    "bra",
    "qua",
]


def _words(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(count)]


def _card(rng: random.Random) -> str:
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    total = 0
    for position, digit in enumerate(reversed(digits)):  # the check digit comes after these
        value = digit * 2 if position % 2 == 0 else digit
        total += value - 9 if value > 9 else value
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i : i + 4] for i in range(0, 16, 4))


def write_data(folder: Path, records: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    vocabulary = _words(rng, 20_000)
    planted = {"exact": 0, "near": 0, "email": 0, "card": 0, "aws": 0, "leaked": 0}
    recent: list[str] = []  # earlier texts to copy from (bounded, so the writer stays small)
    with open(folder / "train.jsonl", "w", encoding="utf-8") as out:
        for index in range(records):
            roll = rng.random()
            if recent and roll < 0.02:
                text = rng.choice(recent)
                planted["exact"] += 1
            elif recent and roll < 0.04:
                text = rng.choice(recent) + " " + rng.choice(vocabulary)
                planted["near"] += 1
            else:
                text = " ".join(rng.choices(vocabulary, k=rng.randint(8, 40)))
                extra = rng.random()
                if extra < 0.005:
                    text += f" write to {rng.choice(vocabulary)}.{index}@mail-{index % 97}.com"
                    planted["email"] += 1
                elif extra < 0.006:
                    text += f" card {_card(rng)}"
                    planted["card"] += 1
                elif extra < 0.0061:
                    text += " key AKIA" + "".join(
                        rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=16)
                    )
                    planted["aws"] += 1
                # Only records without personal data are copied, so those counts stay exact.
                elif len(recent) < 10_000:
                    recent.append(text)
                elif rng.random() < 0.01:
                    recent[rng.randrange(len(recent))] = text
            label = rng.choices(
                ["billing", "shipping", "returns", "account", "other"], [40, 30, 15, 10, 5]
            )[0]
            out.write(json.dumps({"id": index, "text": text, "label": label}) + "\n")
    with open(folder / "test.jsonl", "w", encoding="utf-8") as out:
        for index in range(max(records // 10, 1)):
            if rng.random() < 0.01 and recent:
                text = rng.choice(recent)
                planted["leaked"] += 1
            else:
                text = " ".join(rng.choices(vocabulary, k=rng.randint(8, 40))) + " zz"
            out.write(json.dumps({"id": index, "text": text, "label": "other"}) + "\n")
    return planted


def exact_counts(folder: Path) -> dict[str, int]:
    """Exact copies and leaked records counted the plain way, to compare with the report."""
    from collections import Counter

    def texts(name: str) -> list[str]:
        with open(folder / name, encoding="utf-8") as lines:
            return [" ".join(json.loads(line)["text"].split()) for line in lines]

    train = texts("train.jsonl")
    copies = sum(count - 1 for count in Counter(train).values())
    against = set(texts("test.jsonl"))
    return {"exact": copies, "leaked": sum(text in against for text in train)}


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit code) of one run of `cmd`."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="airlock-data-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    planted = write_data(folder, args.records)
    size = (folder / "train.jsonl").stat().st_size + (folder / "test.jsonl").stat().st_size
    written = time.perf_counter() - started
    print(
        f"data: {args.records:,} records + {args.records // 10:,} against, "
        f"{size / 2**20:,.0f} MiB, written in {written:.0f} s; planted {planted}"
    )
    env = dict(os.environ)
    src = Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    report = folder / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "airlock",
        "data",
        "check",
        str(folder / "train.jsonl"),
        "--against",
        str(folder / "test.jsonl"),
        "--format",
        "json",
        "-o",
        str(report),
        "--no-progress",
    ]
    wall, rss, code = measure(cmd, env)
    total = args.records + args.records // 10
    print(
        f"airlock data check: {wall:.1f} s, {total / wall:,.0f} records/s, "
        f"peak RSS {rss:,.0f} MB, exit {code}"
    )
    result = json.loads(report.read_text())
    kinds = {f["id"]: f for f in result["findings"]}
    found = {
        "exact": result["duplicates"]["exact"]["records"],
        "near": result["duplicates"]["near"]["records"],
        "email": kinds.get("AIR930", {}).get("kinds", {}).get("email", 0),
        "card": kinds.get("AIR930", {}).get("kinds", {}).get("payment-card", 0),
        "aws": kinds.get("AIR931", {}).get("kinds", {}).get("aws-access-key", 0),
        "leaked": result["leakage"]["exact"]["records"],
    }
    print(f"found:   {found}")
    truth = exact_counts(folder)
    print(f"counted independently (collections.Counter of the texts, after the run): {truth}")
    ok = truth == {"exact": found["exact"], "leaked": found["leaked"]} and all(
        found[k] == planted[k] for k in ("email", "card", "aws")
    )
    print("PASS" if ok else "FAIL", "exact copies, leaks, e-mails, cards and keys all found")
    if not args.keep and args.workdir is None:
        for name in ("train.jsonl", "test.jsonl", "report.json"):
            (folder / name).unlink(missing_ok=True)
        folder.rmdir()


if __name__ == "__main__":
    main()
