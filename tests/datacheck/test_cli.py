"""`airlock data check` exit codes, formats and help."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airlock.cli import main

from .conftest import write_jsonl

CLEAN = [
    {"text": "a clean record about shipping times", "label": "a"},
    {"text": "another one about refunds", "label": "b"},
]


def test_clean_data_exits_0(tmp_path: Path, check: Any) -> None:
    result = check(write_jsonl(tmp_path / "d.jsonl", CLEAN))
    assert result.code == 0 and result.err == ""
    assert result.out.splitlines()[-1] == "passed: no finding at high or above"
    assert "Latin" in result.out and "records    characters: min 25" in result.out


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 0), ("high", 1), ("info", 1)])
def test_fail_on_decides_the_exit_code(tmp_path: Path, check: Any, fail_on: str, code: int) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [*CLEAN, {"text": "mail jane.roe@contoso-mail.com"}])
    result = check(data, "--fail-on", fail_on)
    assert result.code == code
    assert result.out.splitlines()[-1] == (
        f"FAILED: 1 findings at {fail_on} or above"
        if code
        else "passed: no finding at critical or above"
    )


def test_no_records_is_not_a_pass(tmp_path: Path, check: Any) -> None:
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    result = check(tmp_path / "empty.jsonl")
    assert result.code == 2
    assert result.err == f"airlock: error: no records to check in {tmp_path}/empty.jsonl\n"


def test_duplicates_are_medium_and_pass_the_default_gate(tmp_path: Path, check: Any) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [*CLEAN, CLEAN[0]])
    assert check(data).code == 0
    assert check(data, "--fail-on", "medium").code == 1


def test_json_report_shape(tmp_path: Path, check: Any) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [*CLEAN, {"text": "mail jane.roe@contoso-mail.com"}])
    report = check(data, "--format", "json").json()
    assert report["schema"] == "airlock.data-check/1"
    assert set(report) == {
        "schema", "airlock_version", "records", "inputs", "fail_on", "failed",
        "findings_by_severity", "findings", "duplicates", "leakage", "lengths", "tokens",
        "labels", "scripts",
    }  # fmt: skip
    assert (report["records"], report["failed"], report["findings_by_severity"]["high"]) == (
        3,
        True,
        1,
    )
    assert (
        report["findings"][0]["id"] == "AIR930"
        and report["findings"][0]["name"] == "data-personal-data"
    )
    assert report["lengths"]["records"]["count"] == 3
    assert report["scripts"] == {"Latin": 3}


def test_output_file(tmp_path: Path, check: Any) -> None:
    out = tmp_path / "report.json"
    result = check(write_jsonl(tmp_path / "d.jsonl", CLEAN), "--format", "json", "-o", out)
    assert result.code == 0 and result.out == ""
    assert '"schema": "airlock.data-check/1"' in out.read_text()


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "check", "--help"]) == 0
    text = capsys.readouterr().out
    assert "airlock data check test.jsonl --against train.jsonl" in text
    assert "exit codes:" in text and "--near-threshold" in text


def test_writing_systems(tmp_path: Path, check: Any) -> None:
    rows = [
        {"text": "Привет, как дела"},
        {"text": "東京は日本の首都です"},
        {"text": "ひらがなだけ"},
        {"text": "1234 !!"},
        {"text": "plain"},
    ]
    report = check(write_jsonl(tmp_path / "d.jsonl", rows), "--format", "json").json()
    assert report["scripts"] == {"Cyrillic": 1, "Han": 1, "Hiragana": 1, "Latin": 1, "none": 1}


def test_label_imbalance_is_low(tmp_path: Path, check: Any) -> None:
    rows = [{"text": f"record {i}", "label": "common"} for i in range(30)] + [
        {"text": "rare one", "label": "rare"}
    ]
    result = check(write_jsonl(tmp_path / "d.jsonl", rows), "--format", "json")
    assert result.code == 0
    (example,) = result.rule("AIR940")["examples"]
    assert example["message"] == "label 'common' has 30 records, label 'rare' only 1"
    assert result.rule("AIR940")["severity"] == "low"


def test_progress_bar_follows_the_bytes_read(tmp_path: Path) -> None:
    from airlock.cli.progress import RecordProgress
    from airlock.datacheck.check import CheckOptions, run

    data = write_jsonl(tmp_path / "d.jsonl", CLEAN * 600)
    with RecordProgress() as progress:
        report = run([str(data)], [], CheckOptions(), progress)
        assert progress._bar is not None and progress._task is not None
        task = progress._bar.tasks[0]
        assert (task.total, task.completed) == (data.stat().st_size, data.stat().st_size)
        assert task.description == "Checking 1,200 records"
    assert report.records == 1200
