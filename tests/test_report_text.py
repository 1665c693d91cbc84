"""The terminal report: ordering, wording a non-expert can act on, and safety in plain logs."""

from __future__ import annotations

from airlock.findings import Finding, Location, Severity
from airlock.report.scan.text import render_text
from airlock.scan.results import FileResult, ScanReport


def _finding(rule_id: str, severity: Severity, file: str, location: Location) -> Finding:
    return Finding(rule_id, severity, file, location, f"message of {rule_id}", f"call {rule_id}")


def _report() -> ScanReport:
    archive = Location(members=("archive/data.pkl",), offset=12)
    return ScanReport(
        (
            FileResult("a/low.pkl", "pickle", 10, True, (
                _finding("AIR107", Severity.LOW, "a/low.pkl", Location(offset=9)),
            )),
            FileResult("b/model.pt", "zip", 5000, True, (
                _finding("AIR102", Severity.MEDIUM, "b/model.pt", archive),
                _finding("AIR101", Severity.CRITICAL, "b/model.pt", archive.at(40)),
            )),
            FileResult("c/clean.pkl", "pickle", 29, True),
            *(FileResult(f"docs/{i}.md", "text", 3, False) for i in range(5)),
        )
    )  # fmt: skip


def test_summary_then_files_by_severity() -> None:
    out = render_text(_report(), Severity.HIGH)
    lines = out.splitlines()
    assert lines[0] == "Scanned 8 files, 3 inspected: 1 critical, 1 medium, 1 low."
    assert lines[1].startswith("Verdict: FAIL")
    # The file with the critical finding comes first, and within it the critical finding.
    assert out.index("b/model.pt") < out.index("a/low.pkl")
    assert out.index("AIR101") < out.index("AIR102")
    assert "AIR101 pickle-dangerous-callable" in out
    assert "where: archive/data.pkl > byte 40" in out
    assert "evidence: call AIR101" in out
    assert "Do not load this file" in out


def test_clean_and_skipped_files_are_counted_not_listed() -> None:
    out = render_text(_report(), Severity.HIGH)
    assert "1 other inspected file had no findings." in out
    assert "c/clean.pkl" not in out
    assert (
        "Not inspected: 5 files not in a model format (docs/0.md, docs/1.md, docs/2.md, ...)" in out
    )
    assert "docs/4.md" not in out


def test_pass_and_nothing_scanned_verdicts() -> None:
    low = ScanReport(_report().files[:1])
    assert "Verdict: PASS (nothing at or above critical)" in render_text(low, Severity.CRITICAL)
    skipped = ScanReport((FileResult("README.md", "text", 3, False),))
    assert "Verdict: NOTHING SCANNED" in render_text(skipped, Severity.HIGH)


def test_plain_without_terminal_and_within_width() -> None:
    out = render_text(_report(), Severity.HIGH, color=False, width=60)
    assert "\x1b" not in out
    assert all(len(line) <= 60 for line in out.splitlines())
    assert all(line == line.rstrip() for line in out.splitlines())


def test_color_on_a_terminal() -> None:
    assert "\x1b[" in render_text(_report(), Severity.HIGH, color=True)


def test_file_controlled_text_cannot_drive_the_terminal() -> None:
    hostile = Location(members=("evil\x1b[2J\u202egnp.pkl",))
    finding = Finding(
        "AIR101", Severity.CRITICAL, "x.pt", hostile, "msg", "exec('\x1b]0;pwned\x07')"
    )
    report = ScanReport((FileResult("x\x1b.pt", "zip", 1, True, (finding,)),))
    out = render_text(report, Severity.HIGH)
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b[2J" in out and "\\u202e" in out


def test_long_evidence_is_cut_with_a_pointer_to_json() -> None:
    finding = Finding("AIR108", Severity.INFO, "x.pkl", Location(), "nested", "A" * 5000)
    out = render_text(
        ScanReport((FileResult("x.pkl", "pickle", 1, True, (finding,)),)), Severity.HIGH
    )
    assert "more characters in --format json" in out
    assert "A" * 5000 not in out
