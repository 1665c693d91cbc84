"""Data sets are written by each test, in its tmp_path; `check` runs the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airlock.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data

    def rule(self, rule_id: str) -> dict[str, Any]:
        """The JSON report's entry for `rule_id` (an empty one when it found nothing)."""
        found = {f["id"]: f for f in self.json()["findings"]}
        return found.get(rule_id, {"count": 0, "kinds": {}, "examples": []})


def write_jsonl(path: Path, rows: Iterable[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def check(capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*args: str | Path) -> Result:
        code = main(["data", "check", "--no-progress", *map(str, args)])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
