"""Helpers the eval tests share: data sets written in the test, the command run to JSON."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from airlock.cli import main


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def run_json(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> dict[str, Any]:
    """`airlock eval ARGS --format json`, its exit code checked, its document parsed."""
    capsys.readouterr()
    assert main(["eval", *args, "--format", "json"]) == code, capsys.readouterr().err
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def run_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """`airlock eval ARGS` that must fail with exit 2 and one error line, no traceback."""
    capsys.readouterr()
    assert main(["eval", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("airlock: error: ")
    return line.removeprefix("airlock: error: ")


def values(document: Mapping[str, Any], metric: str) -> dict[str, float]:
    return {c["name"]: c["metrics"][metric]["value"] for c in document["candidates"]}


def tone_wav(path: Path, seconds: float = 1.0, frequency: float = 440.0, rate: int = 16000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * frequency * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path


# A small retrieval set written for these tests: support questions and the answers that resolve
# them, with distractors.
FAQ = [
    ("how do I reset my password", "Open Settings, choose Security, then Reset password."),
    ("when does the office open", "The office opens at nine in the morning on weekdays."),
    ("can I get a refund", "Refunds are paid within 14 days of a returned order."),
    ("where is my parcel", "Track a parcel with the link in your shipping e-mail."),
    ("how do I change my address", "Change the delivery address under Account, Addresses."),
    ("is there a student discount", "Students get ten percent off with a valid student card."),
    ("how do I delete my account", "Delete the account under Settings, Privacy, Delete."),
    ("which payment methods work", "We accept cards, bank transfer and invoices for companies."),
]
DISTRACTORS = [
    "The cafeteria serves lunch from noon.",
    "Our headquarters moved to a new building last year.",
    "Passwords must have at least twelve characters.",
    "Parcels above 30 kg ship by freight.",
]


def faq_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i, (query, answer) in enumerate(FAQ):
        negatives = [DISTRACTORS[i % len(DISTRACTORS)], FAQ[(i + 1) % len(FAQ)][1]]
        rows.append({"query": query, "positives": [answer], "negatives": negatives})
    return rows


def faq_beir(folder: Path) -> Path:
    """The same questions as a BEIR folder, with graded judgments and a second split."""
    corpus = [{"_id": f"a{i}", "title": "", "text": a} for i, (_, a) in enumerate(FAQ)]
    corpus += [{"_id": f"x{i}", "title": "Note", "text": d} for i, d in enumerate(DISTRACTORS)]
    write_jsonl(folder / "corpus.jsonl", corpus)
    queries = [{"_id": f"q{i}", "text": q} for i, (q, _) in enumerate(FAQ)]
    write_jsonl(folder / "queries.jsonl", queries)
    lines = ["query-id\tcorpus-id\tscore"]
    lines += [f"q{i}\ta{i}\t2" for i in range(len(FAQ) - 1)]  # the last query is dev only
    lines += [f"q{i}\tx{i % len(DISTRACTORS)}\t1" for i in range(0, len(FAQ) - 1, 2)]
    lines += ["q1\ta2\t0"]
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    (folder / "qrels" / "dev.tsv").write_text(f"q{len(FAQ) - 1}\ta{len(FAQ) - 1}\t1\n")
    return folder
